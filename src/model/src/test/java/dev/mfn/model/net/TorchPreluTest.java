package dev.mfn.model.net;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.Test;

class TorchPreluTest {
  @Test
  void fusedKernelEqualsTheOpsForwardAndBackward() {
    try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
      manager.getEngine().setRandomSeed(7);
      NDArray x = manager.randomNormal(new Shape(4, 6, 5, 5));
      NDArray a = manager.create(new float[] {0.25f, -0.1f, 0.9f, 1.5f, 0f, 0.3f});
      NDArray x2 = x.duplicate();
      NDArray a2 = a.duplicate();
      x.setRequiresGradient(true);
      a.setRequiresGradient(true);
      x2.setRequiresGradient(true);
      a2.setRequiresGradient(true);
      NDArray weights = manager.randomNormal(new Shape(4, 6, 5, 5));
      NDArray fused;
      NDArray ops;
      try (GradientCollector gc = Engine.getEngine("PyTorch").newGradientCollector()) {
        fused = TorchPrelu.apply(x, a);
        gc.backward(fused.mul(weights).sum());
      }
      try (GradientCollector gc = Engine.getEngine("PyTorch").newGradientCollector()) {
        ops = NDArrays.where(x2.gt(0f), x2, x2.mul(a2.reshape(1, 6, 1, 1)));
        gc.backward(ops.mul(weights).sum());
      }
      assertThat(TorchPrelu.available(x)).isTrue();
      assertThat(fused.toFloatArray()).containsExactly(ops.toFloatArray());
      // equal as numbers (the fused backward writes -0.0 where alpha = 0 and the ops write 0.0)
      assertThat(x.getGradient().toFloatArray())
          .containsExactly(x2.getGradient().toFloatArray(), org.assertj.core.data.Offset.offset(0f));
      assertThat(a.getGradient().toFloatArray())
          .containsExactly(a2.getGradient().toFloatArray(), org.assertj.core.data.Offset.offset(1e-4f));
    }
  }

  @Test
  void anEvaluationForwardInsideAGradientCollectorStillTrains() {
    // a validation forward (training = false) while gradients are being recorded: its output must
    // be an ordinary tensor that later ops can save for backward (an inference-mode tensor cannot)
    try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
      ChannelPrelu prelu = new ChannelPrelu();
      prelu.initialize(manager, DataType.FLOAT32, new Shape(2, 3, 4, 4));
      NDArray w = manager.ones(new Shape(2, 3, 4, 4));
      w.setRequiresGradient(true);
      try (GradientCollector gc = Engine.getEngine("PyTorch").newGradientCollector()) {
        NDArray y = prelu.forward(new ai.djl.training.ParameterStore(manager, false),
            new ai.djl.ndarray.NDList(manager.randomNormal(new Shape(2, 3, 4, 4))), false).singletonOrThrow();
        gc.backward(y.mul(w).sum());
      }
      assertThat(w.getGradient().abs().sum().getFloat()).isPositive();
    }
  }
}
