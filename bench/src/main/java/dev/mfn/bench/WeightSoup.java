package dev.mfn.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.djl.nn.ParameterList;
import dev.mfn.model.net.MobileFaceNet;
import dev.mfn.model.net.ParameterFiles;
import dev.mfn.model.store.ModelConfig;
import dev.mfn.model.store.ModelStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * A "model soup" (Wortsman et al., 2022): the element-wise mean of several trained MobileFaceNets'
 * parameters, BatchNorm's running statistics included, written as a model-store version folder
 * (the averaged parameters and a config.json of their own, without a threshold; then {@code mfn
 * export --model OUT} for ONNX Runtime, and {@code bench/ensemble.sh} or {@code mfn eval --lfw} to
 * score it).
 *
 * <p>The question it answers: do runs of one recipe from the same initial weights (seed) end in one
 * basin of the loss, so that their mean is a model at least as good as each (the cheap way to the
 * gain of an ensemble: one network, one forward pass), or in different ones (then the mean is far
 * worse than any)? {@link dev.mfn.training.optim.WeightAverage} is the same idea along one run.
 *
 * <p>Usage: bench/run soup OUT_DIR MODEL_DIR MODEL_DIR [...] (version folders with
 * mobilefacenet.params)
 */
public final class WeightSoup {
  private WeightSoup() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 3) {
      System.err.println("usage: bench/run soup OUT_DIR MODEL_DIR MODEL_DIR [...]");
      System.exit(2);
    }
    Path out = Path.of(args[0]);
    List<Path> models = new ArrayList<>();
    for (int i = 1; i < args.length; i++) {
      models.add(Path.of(args[i]));
    }
    try (NDManager manager = NDManager.newBaseManager()) {
      List<Block> bodies = new ArrayList<>();
      for (Path model : models) {
        Block body = MobileFaceNet.body();
        body.initialize(manager, DataType.FLOAT32, MobileFaceNet.inputShape(1));
        ParameterFiles.load(body, manager, model.resolve("mobilefacenet.params"));
        bodies.add(body);
      }
      ParameterList soup = bodies.get(0).getParameters();
      for (int k = 0; k < soup.size(); k++) {
        NDArray sum = soup.get(k).getValue().getArray().duplicate();
        for (int j = 1; j < bodies.size(); j++) {
          sum.addi(bodies.get(j).getParameters().get(k).getValue().getArray());
        }
        soup.get(k).getValue().getArray().set(sum.divi(bodies.size()).toFloatArray());
      }
      Files.createDirectories(out);
      ParameterFiles.save(bodies.get(0), out.resolve(ModelConfig.PARAMETERS));
      // A config of its own: no threshold (none was measured for the average), the checksum of
      // the averaged parameters and an id from it, so it is never taken for the first model.
      ModelConfig.mobileFaceNet("v1", Instant.now().toString(), null).write(out);
      String sum = ModelStore.checksum(out);
      ModelConfig.read(out).withChecksum(sum).withStoreId("soup" + sum.substring(0, 8)).write(out);
      System.out.printf(
          "%d models averaged (%d arrays) into %s; next: mfn export --model %s%n",
          models.size(), soup.size(), out.resolve("mobilefacenet.params"), out);
    }
  }
}
