package dev.mfn.model.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.loss.SoftmaxCrossEntropyLoss;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SmoothedCrossEntropyTest {
  private static final int N = 4;
  private static final int C = 5;

  @Test
  void theLossIsTheCrossEntropyAgainstTheSmoothedTargetAveragedOverTheBatch() {
    float[][] logits = randomLogits(1);
    long[] labels = {0, 3, 4, 3};
    float eps = 0.1f;
    double expected = 0;
    for (int i = 0; i < N; i++) {
      double[] logP = logSoftmax(logits[i]);
      for (int c = 0; c < C; c++) {
        // torch's label_smoothing: 1 - eps on the true class, eps / C on every class (it included)
        double target = (c == labels[i] ? 1 - eps : 0) + eps / C;
        expected -= target * logP[c];
      }
    }
    expected /= N;
    assertThat(loss(new SmoothedCrossEntropy("t", eps), logits, labels)).isCloseTo(expected, within(1e-5));
  }

  @Test
  void withoutSmoothingItIsDjlsSoftmaxCrossEntropy() {
    float[][] logits = randomLogits(2);
    long[] labels = {1, 1, 2, 0};
    assertThat(loss(new SmoothedCrossEntropy("t", 0f), logits, labels))
        .isCloseTo(loss(new SoftmaxCrossEntropyLoss("ce"), logits, labels), within(1e-6));
  }

  @Test
  void aConfidentRightAnswerStillCostsSomethingWithSmoothing() {
    float[][] logits = new float[N][C];
    long[] labels = {0, 1, 2, 3};
    for (int i = 0; i < N; i++) {
      logits[i][(int) labels[i]] = 40f; // p[y] ~ 1: the plain loss is ~0
    }
    assertThat(loss(new SmoothedCrossEntropy("t", 0f), logits, labels)).isLessThan(1e-6);
    // eps / C of the target sits on classes of log p ~ -40: (C - 1) * eps / C * 40 = 3.2
    assertThat(loss(new SmoothedCrossEntropy("t", 0.1f), logits, labels)).isCloseTo(3.2, within(1e-3));
  }

  @Test
  void theMarginLossSmoothsTheLogitsAfterTheMargin() {
    float[][] cos = randomLogits(3);
    for (float[] row : cos) {
      for (int c = 0; c < C; c++) {
        row[c] = (float) Math.tanh(row[c]); // cosines in (-1, 1)
      }
    }
    long[] labels = {2, 0, 4, 1};
    MarginSoftmaxLoss arc = MarginSoftmaxLoss.arcFace(32f, 0.5f).withLabelSmoothing(0.2f);
    assertThat(arc.labelSmoothing()).isEqualTo(0.2f);
    try (NDManager m = NDManager.newBaseManager("PyTorch")) {
      NDArray y = m.create(labels);
      NDArray logits = arc.logits(m.create(cos), y);
      double expected = new SmoothedCrossEntropy("t", 0.2f).evaluate(new NDList(y), new NDList(logits)).getFloat();
      assertThat((double) arc.evaluate(new NDList(y), new NDList(m.create(cos))).getFloat())
          .isCloseTo(expected, within(1e-5));
      assertThat((double) MarginSoftmaxLoss.arcFace(32f, 0.5f).evaluate(new NDList(y), new NDList(m.create(cos))).getFloat())
          .isNotCloseTo(expected, within(1e-2));
    }
  }

  @Test
  void refusesSharesOutsideZeroToOne() {
    for (float bad : new float[] {-0.1f, 1f, Float.NaN}) {
      assertThatThrownBy(() -> new SmoothedCrossEntropy("t", bad)).isInstanceOf(IllegalArgumentException.class);
    }
  }

  private static double loss(ai.djl.training.loss.Loss loss, float[][] logits, long[] labels) {
    try (NDManager m = NDManager.newBaseManager("PyTorch")) {
      return loss.evaluate(new NDList(m.create(labels)), new NDList(m.create(logits))).getFloat();
    }
  }

  private static float[][] randomLogits(long seed) {
    Random r = new Random(seed);
    float[][] x = new float[N][C];
    for (float[] row : x) {
      for (int c = 0; c < C; c++) {
        row[c] = (float) (r.nextGaussian() * 2);
      }
    }
    return x;
  }

  private static double[] logSoftmax(float[] row) {
    double max = Double.NEGATIVE_INFINITY;
    for (float v : row) {
      max = Math.max(max, v);
    }
    double sum = 0;
    for (float v : row) {
      sum += Math.exp(v - max);
    }
    double[] out = new double[row.length];
    for (int c = 0; c < row.length; c++) {
      out[c] = row[c] - max - Math.log(sum);
    }
    return out;
  }
}
