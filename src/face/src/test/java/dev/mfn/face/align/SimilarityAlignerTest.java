package dev.mfn.face.align;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.mfn.face.FaceRejected;
import dev.mfn.face.OpenCv;
import dev.mfn.face.RejectReason;
import dev.mfn.face.crop.FaceCrop;
import dev.mfn.face.crop.FaceCropper;
import dev.mfn.face.decode.ImageDecoder;
import dev.mfn.face.detect.DetectorConfig;
import dev.mfn.face.detect.FaceChooser;
import dev.mfn.face.detect.Landmarks;
import dev.mfn.testkit.DetectorFiles;
import dev.mfn.testkit.SharedData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SimilarityAlignerTest {

  @Test
  void recoversAKnownSimilarityExactly() throws Exception {
    // Move the template by a known similarity (scale 2.5, 20 degrees, shift), then estimate back.
    double s = 2.5, t = Math.toRadians(20);
    double[] known = {s * Math.cos(t), -s * Math.sin(t), 300, s * Math.sin(t), s * Math.cos(t), 120};
    Landmarks moved = SimilarityAligner.apply(known, SimilarityAligner.TEMPLATE);
    double[] back = SimilarityAligner.estimate(moved, SimilarityAligner.TEMPLATE);
    Landmarks recovered = SimilarityAligner.apply(back, moved);
    assertThat(SimilarityAligner.rms(recovered, SimilarityAligner.TEMPLATE)).isLessThan(1e-9);
    assertThat(Math.hypot(back[0], back[3])).isCloseTo(1 / s, within(1e-12));
  }

  @Test
  void degenerateLandmarksAreRefusedWithAReason() {
    Landmarks point = new Landmarks(new double[] {5, 5, 5, 5, 5, 5, 5, 5, 5, 5});
    Assertions.assertThatThrownBy(() -> SimilarityAligner.estimate(point, SimilarityAligner.TEMPLATE))
        .isInstanceOfSatisfying(FaceRejected.class, e -> assertThat(e.reason()).isEqualTo(RejectReason.ALIGNMENT_FAILED));
  }

  /** On real LFW photos, each detector's landmarks land within a few pixels of the template. */
  @ParameterizedTest
  @ValueSource(strings = {"blazeface", "mtcnn", "yunet"})
  void alignedLfwLandmarksLandNearTheTemplate(String detector) throws Exception {
    OpenCv.load();
    Path images = SharedData.require("data/lfw/images");
    List<Path> photos;
    try (Stream<Path> s = Files.walk(images)) {
      photos = s.filter(p -> p.toString().endsWith(".jpg")).sorted().limit(60).toList();
    }
    DetectorConfig config =
        new DetectorConfig(
            DetectorFiles.blazefaceDir(),
            SharedData.require("models/yunet/face_detection_yunet_2023mar.onnx"),
            SharedData.require("models/mtcnn"),
            0.5);
    double worst = 0;
    double sum = 0;
    int n = 0;
    try (FaceCropper cropper = new FaceCropper(new ImageDecoder(), config.open(detector), new FaceChooser(0.5, 20))) {
      for (Path photo : photos) {
        FaceCrop crop = cropper.cropChosen(Files.readAllBytes(photo));
        assertThat(crop.aligned().crop().cols()).isEqualTo(112);
        assertThat(crop.aligned().crop().rows()).isEqualTo(112);
        double residual = crop.aligned().residual();
        worst = Math.max(worst, residual);
        sum += residual;
        n++;
        crop.release();
      }
    }
    assertThat(n).isEqualTo(60);
    assertThat(sum / n).as("mean RMS landmark distance to the template, px").isLessThan(3.0);
    assertThat(worst).as("worst RMS landmark distance, px").isLessThan(8.0);
  }
}
