package dev.mfn.evaluate;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mfn.face.crop.FaceCropper;
import dev.mfn.face.decode.ImageDecoder;
import dev.mfn.face.detect.DetectorConfig;
import dev.mfn.face.detect.FaceChooser;
import dev.mfn.model.CropTensor;
import dev.mfn.model.Embedder;
import dev.mfn.model.OnnxEmbedder;
import dev.mfn.model.TorchEmbedder;
import dev.mfn.testkit.DetectorFiles;
import dev.mfn.testkit.SharedData;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opencv.core.Mat;

/**
 * The model gate on real models and 100 real LFW pairs: our committed model (83% on LFW) is
 * refused against the reference model (99%), the reference passes against ours, and models whose
 * embeddings are broken (one constant vector, NaN) are refused as not sane whatever serves.
 */
class ModelGateTest {
  @TempDir static Path dir;
  static FaceCropper cropper;
  static Embedder reference;
  static Embedder ours;
  static ModelGate gate;

  @BeforeAll
  static void open() throws Exception {
    Path pairs = PairSets.lfwSlice(SharedData.require("data/lfw"), dir.resolve("gate-pairs"), 100);
    cropper = new FaceCropper(new ImageDecoder(),
        new DetectorConfig(DetectorFiles.blazefaceDir(), null, null, 0.5).open("blazeface"), new FaceChooser(0.5, 20));
    reference = new OnnxEmbedder(SharedData.require("models/reference/MobileFaceNet_paddlex.onnx"), CropTensor.REFERENCE);
    ours = new TorchEmbedder(Path.of(System.getProperty("mfn.repo", "../..")).resolve("models/default").toAbsolutePath().normalize());
    gate = new ModelGate(cropper, new ModelGate.Options(PairSets.lfw(pairs), "100 LFW pairs", 0.01, 16));
  }

  @AfterAll
  static void close() {
    for (AutoCloseable c : new AutoCloseable[] {ours, reference, cropper}) {
      try {
        if (c != null) {
          c.close();
        }
      } catch (Exception e) {
        // closing test resources
      }
    }
  }

  @Test
  void aWorseModelIsRefusedAndABetterOnePasses() {
    ModelGate.Verdict worse = gate.check(ours, reference);
    assertThat(worse.passed()).as(worse.reason()).isFalse();
    assertThat(worse.servedAccuracy()).isGreaterThan(0.95);
    assertThat(worse.candidateAccuracy()).isLessThan(worse.servedAccuracy() - 0.01);
    assertThat(worse.reason()).contains("worse than what serves");

    ModelGate.Verdict better = gate.check(reference, ours);
    assertThat(better.passed()).as(better.reason()).isTrue();
    assertThat(better.candidateAccuracy()).isGreaterThan(better.servedAccuracy());

    ModelGate.Verdict alone = gate.check(ours, null);
    assertThat(alone.passed()).as("nothing serves: sane embeddings are enough").isTrue();
    assertThat(alone.servedAccuracy()).isNull();
  }

  @Test
  void brokenEmbeddingsAreRefusedWhateverServes() {
    ModelGate.Verdict constant = gate.check(new Broken(reference, false), null);
    assertThat(constant.passed()).isFalse();
    assertThat(constant.reason()).contains("nearly the same vector");

    ModelGate.Verdict nan = gate.check(new Broken(reference, true), ours);
    assertThat(nan.passed()).isFalse();
    assertThat(nan.reason()).contains("NaN");
  }

  /** A model that went wrong: every face maps to one vector, or to NaN (as a diverged run would). */
  private record Broken(Embedder real, boolean nan) implements Embedder {
    @Override
    public float[][] embed(List<Mat> crops) {
      float[][] out = real.embed(crops);
      for (float[] v : out) {
        Arrays.fill(v, nan ? Float.NaN : (float) (1 / Math.sqrt(v.length)));
      }
      return out;
    }

    @Override
    public int dimension() {
      return real.dimension();
    }

    @Override
    public String runtime() {
      return real.runtime();
    }

    @Override
    public String describe() {
      return "broken " + real.describe();
    }

    @Override
    public void close() {}
  }
}
