package dev.mfn.model.net;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.training.ParameterStore;
import org.junit.jupiter.api.Test;

class MobileFaceNetTest {
  @Test
  void hasThePapersSizeAndShapes() {
    try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
      SequentialBlock body = MobileFaceNet.body();
      body.initialize(manager, DataType.FLOAT32, MobileFaceNet.inputShape(2));

      long trainable =
          body.getParameters().values().stream()
              .filter(Parameter::requiresGradient)
              .mapToLong(p -> p.getArray().size())
              .sum();
      // The paper: "0.99M parameters"; with BatchNorm scales/shifts and per-channel PReLU slopes
      // the trainable count is 1,003,136 (running statistics are not trainable and not counted).
      assertThat(trainable).isBetween(950_000L, 1_050_000L);
      assertThat(body.getOutputShapes(new Shape[] {MobileFaceNet.inputShape(2)})[0])
          .isEqualTo(new Shape(2, 128));

      NDArray crops = manager.randomNormal(MobileFaceNet.inputShape(2));
      NDArray out = body.forward(new ParameterStore(manager, false), new ai.djl.ndarray.NDList(crops), false).singletonOrThrow();
      assertThat(out.getShape()).isEqualTo(new Shape(2, 128));
      assertThat(out.isNaN().any().getBoolean()).isFalse();
    }
  }

  @Test
  void preluLearnsOneSlopePerChannel() {
    try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
      ChannelPrelu prelu = new ChannelPrelu();
      prelu.initialize(manager, DataType.FLOAT32, new Shape(1, 3, 1, 1));
      Parameter alpha = prelu.getParameters().valueAt(0);
      alpha.getArray().set(new float[] {0.1f, 0.2f, 0.3f});
      NDArray x = manager.create(new float[] {-1f, -1f, 2f}, new Shape(1, 3, 1, 1));
      float[] y = prelu.forward(new ParameterStore(manager, false), new ai.djl.ndarray.NDList(x), false)
          .singletonOrThrow().toFloatArray();
      assertThat(y).containsExactly(new float[] {-0.1f, -0.2f, 2f}, org.assertj.core.data.Offset.offset(1e-6f));
    }
  }
}
