package dev.mfn.model.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

class MarginSoftmaxLossTest {
  private static final float S = 64f;
  private static final float M = 0.5f;

  @Test
  void targetGetsTheAngularMarginAndOthersOnlyTheScale() {
    double[] thetas = {0.3, 1.2, 2.0}; // theta + m < pi for all three
    float[][] cos = {
      {(float) Math.cos(thetas[0]), 0.1f, -0.4f},
      {0.25f, (float) Math.cos(thetas[1]), 0.9f},
      {-0.7f, 0.05f, (float) Math.cos(thetas[2])}
    };
    float[] logits = logits(cos, new long[] {0, 1, 2});
    for (int row = 0; row < 3; row++) {
      for (int c = 0; c < 3; c++) {
        double expected = row == c ? S * Math.cos(thetas[row] + M) : S * cos[row][c];
        assertThat((double) logits[row * 3 + c]).as("row %d class %d", row, c).isCloseTo(expected, within(1e-3));
      }
    }
  }

  @Test
  void aCosineMarginComesOffTheTargetAfterTheAngularOne() {
    double theta = 1.1;
    float[][] cos = {{(float) Math.cos(theta), 0.2f}};
    try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
      NDArray c = manager.create(cos);
      NDArray labels = manager.create(new long[] {0});
      // CosFace: s * (cos(theta) - m3)
      float[] cosFace = new MarginSoftmaxLoss(S, 0f, 0.35f).logits(c, labels).toFloatArray();
      assertThat((double) cosFace[0]).isCloseTo(S * (Math.cos(theta) - 0.35), within(1e-3));
      assertThat((double) cosFace[1]).isCloseTo(S * 0.2, within(1e-3));
      // insightface's combined margin: s * (cos(theta + m2) - m3)
      float[] combined = new MarginSoftmaxLoss(S, 0.3f, 0.2f).logits(c, labels).toFloatArray();
      assertThat((double) combined[0]).isCloseTo(S * (Math.cos(theta + 0.3) - 0.2), within(1e-3));
      assertThat((double) combined[1]).isCloseTo(S * 0.2, within(1e-3));
      // past pi - m2 the fallback's target, and the cosine margin still comes off it
      double far = 2.9;
      NDArray farCos = manager.create(new float[][] {{(float) Math.cos(far), 0.2f}});
      float[] fallback = new MarginSoftmaxLoss(S, M, 0.2f).logits(farCos, labels).toFloatArray();
      assertThat((double) fallback[0]).isCloseTo(S * (Math.cos(far) - M * Math.sin(M) - 0.2), within(1e-3));
      // CosFace has no fallback: near pi the target is still cos(theta) - m3
      float[] cosFaceFar = new MarginSoftmaxLoss(S, 0f, 0.35f).logits(farCos, labels).toFloatArray();
      assertThat((double) cosFaceFar[0]).isCloseTo(S * (Math.cos(far) - 0.35), within(1e-3));
    }
  }

  @Test
  void pastPiMinusMarginTheTargetFallsBackToACosinePenalty() {
    double theta = 2.9; // theta + m > pi: cos(theta + m) would rise again
    float[][] cos = {{(float) Math.cos(theta), 0.2f}};
    float[] logits = logits(cos, new long[] {0});
    double expected = S * (Math.cos(theta) - Math.sin(Math.PI - M) * M);
    assertThat((double) logits[0]).isCloseTo(expected, within(1e-3));
    assertThat((double) logits[1]).isCloseTo(S * 0.2, within(1e-3));
  }

  @Test
  void theMarginMakesTheLossLargerThanPlainScaledSoftmax() {
    try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
      NDArray cos = manager.create(new float[] {0.8f, 0.1f, 0.3f, 0.6f}, new Shape(2, 2));
      NDArray labels = manager.create(new long[] {0, 1});
      float withMargin =
          MarginSoftmaxLoss.arcFace(S, M).evaluate(new NDList(labels), new NDList(cos)).getFloat();
      float without =
          MarginSoftmaxLoss.arcFace(S, 0f).evaluate(new NDList(labels), new NDList(cos)).getFloat();
      assertThat(withMargin).isGreaterThan(without + 1f);
    }
  }

  private static float[] logits(float[][] cos, long[] labels) {
    try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
      NDArray c = manager.create(cos);
      return MarginSoftmaxLoss.arcFace(S, M).logits(c, manager.create(labels)).toFloatArray();
    }
  }
}
