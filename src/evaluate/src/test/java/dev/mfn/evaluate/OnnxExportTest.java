package dev.mfn.evaluate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mfn.face.FaceRejected;
import dev.mfn.face.crop.FaceCrop;
import dev.mfn.face.crop.FaceCropper;
import dev.mfn.face.decode.ImageDecoder;
import dev.mfn.face.decode.PhotoFiles;
import dev.mfn.face.detect.DetectorConfig;
import dev.mfn.face.detect.FaceChooser;
import dev.mfn.model.EmbedRuntime;
import dev.mfn.model.Embedder;
import dev.mfn.model.EmbeddingModels;
import dev.mfn.model.export.OnnxExport;
import dev.mfn.model.store.ModelConfig;
import dev.mfn.testkit.DetectorFiles;
import dev.mfn.testkit.SharedData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opencv.core.Core;
import org.opencv.core.Mat;

/**
 * The ONNX export against the PyTorch path it replaces in serving, on the committed model's
 * parameters, exported afresh into a temporary store: every real aligned LFW crop (and its mirror)
 * embeds to the same direction (cosine >= 0.9999), and verification on LFW folds 1-2 (1,200 pairs)
 * scores the same accuracy to 0.1 point. A wrong fold (bias sign, variance instead of its root,
 * the scale on the wrong axis), a missing PReLU, a wrong padding or stride, or a residual added at the wrong place moves
 * the cosines far below that. Also: what is served when the export is missing or stale.
 */
class OnnxExportTest {
  private static final Path DEFAULT_MODEL =
      Path.of(System.getProperty("mfn.repo", "../..")).resolve("models/default").toAbsolutePath().normalize();

  @TempDir Path dir;

  @Test
  void theExportEmbedsRealCropsLikeThePyTorchPathAndVerifiesLfwTheSame() throws Exception {
    Path version = freshCopyOfTheDefaultModel();
    ModelConfig config = OnnxExport.export(version);
    assertThat(config.onnx().batchNormFolded()).isTrue();
    assertThat(ModelConfig.read(version).onnx()).isEqualTo(config.onnx());
    assertThat(OnnxExport.usable(version, config)).contains(version.resolve("model.onnx"));

    List<Pair> pairs = PairSets.lfw(SharedData.require("data/lfw")).stream().filter(p -> p.fold() < 2).toList();
    List<Path> photos = VerificationRun.photos(pairs);
    List<Mat> crops = new ArrayList<>();
    try (FaceCropper cropper = new FaceCropper(new ImageDecoder(),
        new DetectorConfig(DetectorFiles.blazefaceDir(), null, null, 0.5).open("blazeface"), new FaceChooser(0.5, 20))) {
      for (Path photo : photos) {
        try {
          FaceCrop crop = cropper.cropChosenOrCenter(PhotoFiles.read(photo, cropper.maxBytes()));
          crops.add(crop.aligned().crop());
        } catch (FaceRejected e) {
          throw new AssertionError(photo + " is a normal LFW photo: " + e.getMessage(), e);
        }
      }
    }
    List<Mat> mirrored = new ArrayList<>();
    for (Mat crop : crops) {
      Mat m = new Mat();
      Core.flip(crop, m, 1);
      mirrored.add(m);
    }

    float[][] onnxCrops, onnxMirrored, torchCrops, torchMirrored;
    try (Embedder onnx = EmbeddingModels.open(version, EmbedRuntime.AUTO.withChoice(EmbedRuntime.Choice.ONNX))) {
      assertThat(onnx.runtime()).isEqualTo("ONNX Runtime");
      onnxCrops = embed(onnx, crops);
      onnxMirrored = embed(onnx, mirrored);
    }
    try (Embedder torch = EmbeddingModels.open(version, EmbedRuntime.AUTO.withChoice(EmbedRuntime.Choice.PYTORCH))) {
      assertThat(torch.runtime()).isEqualTo("PyTorch");
      torchCrops = embed(torch, crops);
      torchMirrored = embed(torch, mirrored);
    }

    assertThat(crops.size()).as("real aligned crops compared").isGreaterThanOrEqualTo(1000);
    double worst = 1;
    int worstAt = -1;
    for (int i = 0; i < crops.size(); i++) {
      for (double c : new double[] {dot(onnxCrops[i], torchCrops[i]), dot(onnxMirrored[i], torchMirrored[i])}) {
        if (c < worst) {
          worst = c;
          worstAt = i;
        }
      }
    }
    assertThat(worst).as("lowest cosine(ONNX, PyTorch) over %d crops and mirrors (at %s)", crops.size(),
        worstAt < 0 ? "-" : photos.get(worstAt)).isGreaterThanOrEqualTo(0.9999);

    double onnxAccuracy = accuracy(pairs, photos, onnxCrops, onnxMirrored);
    double torchAccuracy = accuracy(pairs, photos, torchCrops, torchMirrored);
    System.out.printf("ONNX vs PyTorch on %d LFW pairs (%d crops): lowest cosine %.7f, accuracy %.4f vs %.4f%n",
        pairs.size(), crops.size(), worst, onnxAccuracy, torchAccuracy);
    assertThat(onnxAccuracy).isCloseTo(torchAccuracy, org.assertj.core.data.Offset.offset(0.001));
    assertThat(torchAccuracy).as("the model really verifies (not two equally broken paths)").isGreaterThan(0.75);
  }

  @Test
  void aMissingOrStaleExportIsNeverServed() throws Exception {
    Path version = freshCopyOfTheDefaultModel();
    try (Embedder e = EmbeddingModels.open(version, EmbedRuntime.AUTO)) {
      assertThat(e.runtime()).as("no export yet: the parameters on PyTorch").isEqualTo("PyTorch");
    }
    assertThatThrownBy(() -> EmbeddingModels.open(version, EmbedRuntime.AUTO.withChoice(EmbedRuntime.Choice.ONNX)))
        .hasMessageContaining("mfn export");

    ModelConfig exported = OnnxExport.export(version);
    try (Embedder e = EmbeddingModels.open(version, EmbedRuntime.AUTO)) {
      assertThat(e.runtime()).isEqualTo("ONNX Runtime");
      assertThat(EmbeddingModels.version(e, version)).isEqualTo(exported.id());
      assertThat(e.storeConfig().orElseThrow().threshold()).isEqualTo(exported.threshold());
    }

    // the parameters changed after the export (a re-trained file copied over): the export is stale
    ModelConfig stale = exported.withOnnx(new ModelConfig.OnnxFile(exported.onnx().file(), exported.onnx().sha256(),
        "0".repeat(64), exported.onnx().opset(), true, exported.onnx().input(), exported.onnx().output(), OnnxExport.EXPORTER));
    stale.write(version);
    try (Embedder e = EmbeddingModels.open(version, EmbedRuntime.AUTO)) {
      assertThat(e.runtime()).isEqualTo("PyTorch");
    }

    // another model.onnx in its place (a copy from another version): not the exported file
    exported.write(version);
    byte[] original = Files.readAllBytes(version.resolve("model.onnx"));
    byte[] other = original.clone();
    other[other.length - 100] ^= 1;
    Files.write(version.resolve("model.onnx"), other);
    try (Embedder e = EmbeddingModels.open(version, EmbedRuntime.AUTO)) {
      assertThat(e.runtime()).isEqualTo("PyTorch");
    }
    Files.write(version.resolve("model.onnx"), original);

    // an export by an older exporter (its graph may lack a later fix)
    exported.withOnnx(new ModelConfig.OnnxFile(exported.onnx().file(), exported.onnx().sha256(), exported.onnx().parametersSha256(),
        exported.onnx().opset(), true, exported.onnx().input(), exported.onnx().output(), OnnxExport.EXPORTER - 1)).write(version);
    try (Embedder e = EmbeddingModels.open(version, EmbedRuntime.AUTO)) {
      assertThat(e.runtime()).isEqualTo("PyTorch");
    }

    exported.write(version);
    Files.delete(version.resolve("model.onnx"));
    try (Embedder e = EmbeddingModels.open(version, EmbedRuntime.AUTO)) {
      assertThat(e.runtime()).isEqualTo("PyTorch");
    }
  }

  @Test
  void theCommittedDefaultModelIsServedByOnnxRuntimeAndIsWhatThisExporterWrites() throws Exception {
    ModelConfig config = ModelConfig.read(DEFAULT_MODEL);
    assertThat(OnnxExport.usable(DEFAULT_MODEL, config)).as("models/default/model.onnx is current").isPresent();
    Path fresh = freshCopyOfTheDefaultModel();
    OnnxExport.export(fresh);
    assertThat(Files.readAllBytes(fresh.resolve("model.onnx")))
        .as("a fresh export of the committed parameters, byte for byte the committed model.onnx")
        .isEqualTo(Files.readAllBytes(DEFAULT_MODEL.resolve("model.onnx")));
    try (Embedder e = EmbeddingModels.open(DEFAULT_MODEL, EmbedRuntime.AUTO)) {
      assertThat(e.runtime()).isEqualTo("ONNX Runtime");
    }
    // the version's model.onnx given by its path is the version (its normalisation, id, thresholds),
    // not a bare .onnx with the reference model's normalisation
    try (Embedder e = EmbeddingModels.open(DEFAULT_MODEL.resolve("model.onnx"), EmbedRuntime.AUTO)) {
      assertThat(e.storeConfig()).contains(config);
    }
  }

  /** config.json and the parameters of models/default, without its export. */
  private Path freshCopyOfTheDefaultModel() throws Exception {
    Path version = Files.createDirectories(dir.resolve("store").resolve("v1"));
    ModelConfig config = ModelConfig.read(DEFAULT_MODEL);
    Files.copy(DEFAULT_MODEL.resolve(config.parameters()), version.resolve(config.parameters()));
    config.withOnnx(null).write(version);
    return version;
  }

  private static float[][] embed(Embedder embedder, List<Mat> crops) {
    float[][] out = new float[crops.size()][];
    for (int from = 0; from < crops.size(); from += 32) {
      float[][] batch = embedder.embed(crops.subList(from, Math.min(crops.size(), from + 32)));
      System.arraycopy(batch, 0, out, from, batch.length);
    }
    return out;
  }

  private static double accuracy(List<Pair> pairs, List<Path> photos, float[][] crops, float[][] mirrored) {
    Map<Path, float[]> vectors = new HashMap<>();
    for (int i = 0; i < photos.size(); i++) {
      float[] v = crops[i].clone();
      for (int d = 0; d < v.length; d++) {
        v[d] += mirrored[i][d];
      }
      vectors.put(photos.get(i), Embedder.normalize(v));
    }
    double[] scores = new double[pairs.size()];
    boolean[] same = new boolean[pairs.size()];
    int[] fold = new int[pairs.size()];
    for (int i = 0; i < pairs.size(); i++) {
      scores[i] = dot(vectors.get(pairs.get(i).first()), vectors.get(pairs.get(i).second()));
      same[i] = pairs.get(i).same();
      fold[i] = pairs.get(i).fold();
    }
    return Verification.evaluate(scores, same, fold).meanAccuracy();
  }

  private static double dot(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }
}
