package dev.mfn.bench;

import dev.mfn.config.MfnSettings;
import dev.mfn.face.crop.FaceCrop;
import dev.mfn.face.crop.FaceCropper;
import dev.mfn.face.decode.ImageDecoder;
import dev.mfn.face.detect.DetectorConfig;
import dev.mfn.face.detect.FaceChooser;
import dev.mfn.model.CropTensor;
import dev.mfn.model.EmbedRuntime;
import dev.mfn.model.Embedder;
import dev.mfn.model.EmbeddingModels;
import dev.mfn.model.OnnxEmbedder;
import dev.mfn.publish.ImagePublisher;
import dev.mfn.publish.PhotoFile;
import dev.mfn.services.LocalServices;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.opencv.core.Mat;

/**
 * The bare embedders on the same real aligned crops (the first N LFW photos, detected and aligned
 * once), at batch 1, 8 and 32, in one process: our trained MobileFaceNet from its model.onnx on ONNX
 * Runtime (what serves by default), the same version's parameters on DJL's PyTorch engine, and the
 * reference MobileFaceNet (.onnx from ../shared) on ONNX Runtime. Each cell: crops/s over all crops,
 * after one warm-up pass, median and range of the rounds.
 *
 * <p>Usage: {@code bench/run embedder [--model MODEL] [--photos 500] [--rounds 3] [--threads 0]}
 */
public final class EmbedderBench {
  public static void main(String[] args) throws Exception {
    MfnSettings settings = MfnSettings.load();
    Path model = settings.getPath("model.default");
    int count = 500;
    int rounds = 3;
    int threads = 0;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--model" -> model = Path.of(args[++i]);
        case "--photos" -> count = Integer.parseInt(args[++i]);
        case "--rounds" -> rounds = Integer.parseInt(args[++i]);
        case "--threads" -> threads = Integer.parseInt(args[++i]);
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    Path lfw = settings.repo().resolve("../shared/data/lfw/images").normalize();
    Path reference = settings.repo().resolve("../shared/models/reference/MobileFaceNet_paddlex.onnx").normalize();
    List<PhotoFile> photos = ImagePublisher.scan(lfw).stream()
        .sorted(java.util.Comparator.comparing(p -> p.path().toString())).limit(count).toList();
    Path blazeface = new LocalServices(settings).detector().fetch();
    List<Mat> crops = new ArrayList<>();
    try (FaceCropper cropper = new FaceCropper(new ImageDecoder(64L << 20, 60_000_000),
        new DetectorConfig(blazeface, null, null, 0.5).open("blazeface"), new FaceChooser(0.5, 20))) {
      for (PhotoFile p : photos) {
        FaceCrop c = cropper.cropChosenOrCenter(Files.readAllBytes(p.path()));
        crops.add(c.aligned().crop());
      }
    }
    System.out.printf(Locale.ROOT, "%d aligned LFW crops, %d rounds, %d cores, ONNX Runtime threads %s%n",
        crops.size(), rounds, Runtime.getRuntime().availableProcessors(), threads == 0 ? "default" : threads);
    System.out.println("| embedder | runtime | batch 1 crops/s | batch 8 crops/s | batch 32 crops/s |");
    System.out.println("|---|---|---|---|---|");
    EmbedRuntime runtime = new EmbedRuntime(EmbedRuntime.Choice.ONNX, threads);
    try (Embedder ours = EmbeddingModels.open(model, runtime)) {
      row("ours (" + EmbeddingModels.name(model) + ", model.onnx)", ours, crops, rounds);
    }
    try (Embedder ours = EmbeddingModels.open(model, runtime.withChoice(EmbedRuntime.Choice.PYTORCH))) {
      row("ours (" + EmbeddingModels.name(model) + ", parameters)", ours, crops, rounds);
    }
    try (Embedder ref = new OnnxEmbedder(reference, CropTensor.REFERENCE, null, threads)) {
      row("reference (" + reference.getFileName() + ")", ref, crops, rounds);
    }
  }

  private static void row(String name, Embedder embedder, List<Mat> crops, int rounds) {
    StringBuilder line = new StringBuilder("| " + name + " | " + embedder.runtime() + " |");
    for (int batch : new int[] {1, 8, 32}) {
      pass(embedder, crops, batch); // warm-up: first-call allocations and kernel choices
      double[] rates = new double[rounds];
      for (int r = 0; r < rounds; r++) {
        long t0 = System.nanoTime();
        pass(embedder, crops, batch);
        rates[r] = crops.size() / ((System.nanoTime() - t0) / 1e9);
      }
      Arrays.sort(rates);
      line.append(String.format(Locale.ROOT, " %.0f (%.0f-%.0f) |", rates[rounds / 2], rates[0], rates[rounds - 1]));
    }
    System.out.println(line);
  }

  private static void pass(Embedder embedder, List<Mat> crops, int batch) {
    for (int i = 0; i < crops.size(); i += batch) {
      embedder.embed(crops.subList(i, Math.min(crops.size(), i + batch)));
    }
  }
}
