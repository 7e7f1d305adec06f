package dev.mfn.model.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Blocks;
import ai.djl.nn.Parameter;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.XavierInitializer;
import org.junit.jupiter.api.Test;

class FaceClassifierTest {
  private static final float RATE = 0.5f;

  @Test
  void dropoutActsOnTheLastConvolutionsInputInTrainingOnly() {
    try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
      // the identity head: the classifier's output is the body's embedding
      FaceClassifier net = new FaceClassifier(MobileFaceNet.body(), Blocks.identityBlock(), RATE);
      net.setInitializer(new XavierInitializer(), Parameter.Type.WEIGHT);
      net.initialize(manager, DataType.FLOAT32, MobileFaceNet.inputShape(2));
      NDList crops = new NDList(manager.randomNormal(MobileFaceNet.inputShape(2)));
      ParameterStore store = new ParameterStore(manager, false);

      // inference (and so every served or exported model) never drops anything
      assertThat(net.forward(store, crops, false).singletonOrThrow().toFloatArray())
          .containsExactly(net.body().forward(store, crops, false).singletonOrThrow().toFloatArray());

      // in training the masks come from the engine's generator: the same seed, the same masks
      float[] seeded1 = trainingForward(net, store, crops, 1);
      assertThat(trainingForward(net, store, crops, 1)).containsExactly(seeded1);
      assertThat(trainingForward(net, store, crops, 2)).isNotEqualTo(seeded1);
      // without dropout a training forward (BatchNorm on the batch's statistics) does not depend on the seed
      float[] plain = net.body().forward(store, crops, true).singletonOrThrow().toFloatArray();
      assertThat(plain).isNotEqualTo(seeded1);

      // where: the blocks in order, the mask drawn right before the last convolution (the 1x1 to 128)
      Engine.getEngine("PyTorch").setRandomSeed(1);
      NDList x = crops;
      Block last = null;
      for (Block child : net.body().getChildren().values()) {
        if (child instanceof Conv2d) {
          last = child;
        }
      }
      // the last convolution is the linear 1x1 from the GDConv's 512 features to the 128-d embedding
      Conv2d embedding = (Conv2d) last;
      assertThat(embedding.getKernelShape()).isEqualTo(new Shape(1, 1));
      assertThat(embedding.getFilters()).isEqualTo(MobileFaceNet.EMBEDDING_SIZE);
      for (Block child : net.body().getChildren().values()) {
        if (child == last) {
          assertThat(x.singletonOrThrow().getShape()).isEqualTo(new Shape(2, 512, 1, 1));
          x = Dropout.dropout(x.singletonOrThrow(), RATE, true);
        }
        x = child.forward(store, x, true);
      }
      assertThat(x.singletonOrThrow().toFloatArray()).containsExactly(seeded1);
    }
  }

  @Test
  void refusesRatesOutsideZeroToOne() {
    for (float bad : new float[] {-0.1f, 1f, Float.NaN}) {
      assertThatThrownBy(() -> new FaceClassifier(MobileFaceNet.body(), Blocks.identityBlock(), bad))
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  private static float[] trainingForward(FaceClassifier net, ParameterStore store, NDList crops, int seed) {
    Engine.getEngine("PyTorch").setRandomSeed(seed);
    NDArray out = net.forward(store, crops, true).singletonOrThrow();
    return out.toFloatArray();
  }
}
