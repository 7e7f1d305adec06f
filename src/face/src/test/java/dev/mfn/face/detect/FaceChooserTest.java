package dev.mfn.face.detect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mfn.face.FaceRejected;
import dev.mfn.face.RejectReason;
import java.util.List;
import org.junit.jupiter.api.Test;

class FaceChooserTest {
  private final FaceChooser chooser = new FaceChooser(0.5, 20);

  private static DetectedFace face(double x, double y, double size, double score) {
    double[] p = {x + 0.3 * size, y + 0.4 * size, x + 0.7 * size, y + 0.4 * size, x + 0.5 * size,
        y + 0.6 * size, x + 0.35 * size, y + 0.8 * size, x + 0.65 * size, y + 0.8 * size};
    return new DetectedFace(new Box(x, y, size, size), score, new Landmarks(p), "test", 0);
  }

  @Test
  void prefersTheLargeCentralFaceOverALargerOneAtTheEdgeOrABetterScore() throws Exception {
    DetectedFace central = face(400, 300, 150, 0.8);
    DetectedFace edge = face(0, 0, 170, 0.99);
    DetectedFace small = face(480, 360, 40, 0.99);
    assertThat(chooser.choose(List.of(edge, small, central), 1000, 750)).isSameAs(central);
  }

  @Test
  void refusesWithTheRightReason() {
    assertReason(List.of(), RejectReason.NO_FACE);
    assertReason(List.of(face(100, 100, 100, 0.3)), RejectReason.LOW_SCORE);
    assertReason(List.of(face(100, 100, 12, 0.9)), RejectReason.FACE_TOO_SMALL);
  }

  private void assertReason(List<DetectedFace> faces, RejectReason reason) {
    assertThatThrownBy(() -> chooser.choose(faces, 300, 300))
        .isInstanceOfSatisfying(FaceRejected.class, e -> assertThat(e.reason()).isEqualTo(reason));
  }
}
