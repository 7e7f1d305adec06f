package dev.mfn.training.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.util.Pair;
import java.nio.file.Path;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The moving average of the weights: its arithmetic, its warm-up, and its trip through a file. */
class WeightAverageTest {

  private static Block net(NDManager manager) {
    SequentialBlock b = new SequentialBlock().add(Linear.builder().setUnits(3).build()).add(BatchNorm.builder().build());
    b.initialize(manager, DataType.FLOAT32, new Shape(2, 4));
    return b;
  }

  /**
   * Sets every parameter (BatchNorm's running statistics too) to values of its own: element j of
   * parameter i is {@link #value}(v, i, j), so a mix-up of parameters or elements shows.
   */
  private static void fill(Block net, float v) {
    int i = 0;
    for (Pair<String, Parameter> p : net.getParameters()) {
      NDArray a = p.getValue().getArray();
      float[] values = new float[(int) a.size()];
      for (int j = 0; j < values.length; j++) {
        values[j] = value(v, i, j);
      }
      a.set(values);
      i++;
    }
  }

  private static float value(float v, int parameter, int element) {
    return v * (1 + parameter) + 0.01f * element;
  }

  private static float first(Block net, String name) {
    return net.getParameters().get(name).getArray().toFloatArray()[0];
  }

  @Test
  void theAverageFollowsTheWarmedUpDecayForEveryParameterRunningStatisticsIncluded() {
    try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
      Block net = net(manager);
      assertThat(net.getParameters().keys()).anyMatch(k -> k.contains("runningMean")).anyMatch(k -> k.contains("runningVar"));
      fill(net, 0f);
      WeightAverage average = WeightAverage.start(net, 0.5, manager);
      // warm-up: (1 + t) / (10 + t) until it reaches the decay (0.5 from step 8 on)
      assertThat(average.decayAt(1)).isEqualTo(2.0 / 11);
      assertThat(average.decayAt(7)).isEqualTo(8.0 / 17);
      assertThat(average.decayAt(8)).isEqualTo(0.5);
      assertThat(average.decayAt(30)).isEqualTo(0.5);
      // the average of v's: written out here, not with the class's own decayAt
      double expected = 0;
      for (int step = 1; step <= 12; step++) {
        fill(net, step); // the weights after step `step`
        average.update(net, step);
        double d = Math.min(0.5, (1.0 + step) / (10 + step));
        expected = d * expected + (1 - d) * step;
      }
      average.copyInto(net);
      int i = 0;
      for (Pair<String, Parameter> p : net.getParameters()) {
        float[] got = p.getValue().getArray().toFloatArray();
        for (int j = 0; j < got.length; j++) {
          // value() is linear in v: the average of value(v_t, i, j) is value(average of v_t, i, j)
          assertThat((double) got[j]).as("%s[%d]", p.getKey(), j)
              .isCloseTo(value((float) expected, i, j), Offset.offset(1e-3));
        }
        i++;
      }
      // an average past the warm-up, not the last weights (12) nor their plain mean (6.5)
      assertThat(expected).isBetween(10.5, 11.5);
    }
  }

  @Test
  void aSavedAverageGoesOnAsIfNeverInterrupted(@TempDir Path dir) throws Exception {
    try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
      Block straight = net(manager);
      Block resumed = net(manager);
      fill(straight, 1f);
      fill(resumed, 1f);
      WeightAverage a = WeightAverage.start(straight, 0.5, manager);
      WeightAverage b = WeightAverage.start(resumed, 0.5, manager);
      for (int step = 1; step <= 3; step++) {
        fill(straight, 10f * step);
        fill(resumed, 10f * step);
        a.update(straight, step);
        b.update(resumed, step);
      }
      b.save(dir.resolve("average.ndlist"));
      // a new process: the average comes back from the file, not from the current weights
      WeightAverage loaded = WeightAverage.load(dir.resolve("average.ndlist"), resumed, 0.5, manager);
      for (int step = 4; step <= 5; step++) {
        fill(straight, 10f * step);
        fill(resumed, 10f * step);
        a.update(straight, step);
        loaded.update(resumed, step);
      }
      a.copyInto(straight);
      loaded.copyInto(resumed);
      for (Pair<String, Parameter> p : straight.getParameters()) {
        assertThat(resumed.getParameters().get(p.getKey()).getArray().toFloatArray())
            .as(p.getKey()).containsExactly(p.getValue().getArray().toFloatArray());
      }
      assertThat(first(resumed, straight.getParameters().keys().get(0))).isNotEqualTo(value(50f, 0, 0));

      // a file made for another network is refused with the parameter it lacks
      SequentialBlock other = new SequentialBlock().add(Linear.builder().setUnits(5).build());
      other.initialize(manager, DataType.FLOAT32, new Shape(2, 4));
      assertThatThrownBy(() -> WeightAverage.load(dir.resolve("average.ndlist"), other, 0.5, manager))
          .hasMessageContaining("holds no average of");
    }
  }

  @Test
  void aDecayOutsideZeroToOneIsRefused() {
    try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
      Block net = net(manager);
      assertThatThrownBy(() -> WeightAverage.start(net, 1.0, manager)).hasMessageContaining("(0, 1)");
    }
  }
}
