package dev.mfn.model;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.translate.NoopTranslator;
import ai.djl.translate.TranslateException;
import dev.mfn.model.net.MobileFaceNet;
import dev.mfn.model.net.ParameterFiles;
import dev.mfn.model.store.ModelConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.opencv.core.Mat;

/**
 * A MobileFaceNet we trained, from a model-store version folder, run by DJL's PyTorch engine in
 * inference mode (BatchNorm on its running statistics), one forward pass per batch of crops.
 */
public final class TorchEmbedder implements Embedder {
  private final Path folder;
  private final ModelConfig config;
  private final CropTensor preprocessing;
  private final Model model;
  private final Predictor<NDList, NDList> predictor;

  public TorchEmbedder(Path folder) throws IOException {
    this(folder, Device.cpu());
  }

  public TorchEmbedder(Path folder, Device device) throws IOException {
    this.folder = folder;
    this.config = ModelConfig.read(folder);
    this.preprocessing = config.preprocessing();
    Block body = MobileFaceNet.body();
    this.model = Model.newInstance(config.version(), device, "PyTorch");
    try {
      model.setBlock(body);
      body.initialize(model.getNDManager(), DataType.FLOAT32, MobileFaceNet.inputShape(1));
      ParameterFiles.load(body, model.getNDManager(), folder.resolve(config.parameters()));
    } catch (IOException | RuntimeException e) {
      model.close();
      throw e;
    }
    this.predictor = model.newPredictor(new NoopTranslator());
  }

  public ModelConfig config() {
    return config;
  }

  @Override
  public float[][] embed(List<Mat> crops) {
    if (crops.isEmpty()) {
      return new float[0][];
    }
    int size = config.inputSize();
    float[] input = preprocessing.pack(crops, size);
    try (NDManager manager = model.getNDManager().newSubManager()) {
      NDArray x = manager.create(input, new Shape(crops.size(), 3, size, size));
      float[] flat = predictor.predict(new NDList(x)).get(0).toFloatArray();
      int dim = config.embeddingSize();
      float[][] vectors = new float[crops.size()][];
      for (int n = 0; n < crops.size(); n++) {
        float[] v = new float[dim];
        System.arraycopy(flat, n * dim, v, 0, dim);
        vectors[n] = Embedder.normalize(v);
      }
      return vectors;
    } catch (TranslateException e) {
      throw new IllegalStateException("inference failed on " + folder + ": " + e.getMessage(), e);
    }
  }

  @Override
  public int dimension() {
    return config.embeddingSize();
  }

  @Override
  public String runtime() {
    return "PyTorch";
  }

  @Override
  public java.util.Optional<ModelConfig> storeConfig() {
    return java.util.Optional.of(config);
  }

  @Override
  public String describe() {
    return config.version() + " (" + folder + ", MobileFaceNet parameters on DJL PyTorch)";
  }

  @Override
  public void close() {
    predictor.close();
    model.close();
  }
}
