package dev.mfn.face.detect.blazeface;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mfn.face.detect.Box;
import dev.mfn.face.detect.DetectedFace;
import dev.mfn.face.detect.Landmarks;
import dev.mfn.face.detect.blazeface.BlazeFaceDetector.Options;
import dev.mfn.face.detect.blazeface.BlazeFaceDetector.Passes;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The gate's rule on made-up full-range faces (no networks): when the short-range pass runs. */
class BlazeFaceGateTest {
  private final Options gate = Options.DEFAULT.withConfidentScore(0.75).withCloseUpFraction(0.5);

  private static DetectedFace face(double size, double score) {
    return new DetectedFace(new Box(10, 10, size, size), score, new Landmarks(new double[10]), "test", 2);
  }

  @Test
  void runsWhenNothingConfidentWasFound() {
    assertThat(gate.closeUpPassNeeded(List.of(), 250, 250)).isTrue();
    assertThat(gate.closeUpPassNeeded(List.of(face(100, 0.6)), 250, 250)).isTrue();
  }

  @Test
  void runsForACloseUpOnTheLongerSide() {
    assertThat(gate.closeUpPassNeeded(List.of(face(130, 0.9)), 250, 250)).isTrue();
    // 130 px is half of the shorter side but not of the longer one
    assertThat(gate.closeUpPassNeeded(List.of(face(130, 0.9)), 260, 400)).isFalse();
    // a large face counts even when a smaller one is the confident one
    assertThat(gate.closeUpPassNeeded(List.of(face(60, 0.95), face(200, 0.6)), 250, 250)).isTrue();
  }

  @Test
  void skipsForAConfidentFaceOfOrdinarySize() {
    assertThat(gate.closeUpPassNeeded(List.of(face(110, 0.9)), 250, 250)).isFalse();
  }

  @Test
  void defaultsToBothPassesAndParsesTheCommandLineWords() {
    assertThat(Options.DEFAULT.passes()).isEqualTo(Passes.ALWAYS_BOTH);
    assertThat(Passes.parse("both")).isEqualTo(Passes.ALWAYS_BOTH);
    assertThat(Passes.parse("gated")).isEqualTo(Passes.GATED);
    assertThatThrownBy(() -> Passes.parse("sometimes")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> gate.withCloseUpFraction(0)).isInstanceOf(IllegalArgumentException.class);
  }
}
