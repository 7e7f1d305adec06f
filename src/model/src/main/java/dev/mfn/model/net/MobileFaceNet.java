package dev.mfn.model.net;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Blocks;
import ai.djl.nn.ParallelBlock;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.norm.BatchNorm;
import java.util.List;

/**
 * MobileFaceNet (Chen et al., 2018, table 1): 112x112x3 in, a 128-d embedding out.
 *
 * <pre>
 *   input      operator            t   c    n  s
 *   112x112x3  conv3x3             -   64   1  2
 *   56x56x64   depthwise conv3x3   -   64   1  1
 *   56x56x64   bottleneck          2   64   5  2
 *   28x28x64   bottleneck          4   128  1  2
 *   14x14x128  bottleneck          2   128  6  1
 *   14x14x128  bottleneck          4   128  1  2
 *   7x7x128    bottleneck          2   128  2  1
 *   7x7x128    conv1x1             -   512  1  1
 *   7x7x512    linear GDConv7x7    -   512  1  1
 *   1x1x512    linear conv1x1      -   128  1  1
 * </pre>
 *
 * Every convolution is followed by BatchNorm; non-linear ones by a per-channel PReLU. A bottleneck
 * is expand (1x1, t times) -> depthwise 3x3 (stride s on its first repeat) -> linear project
 * (1x1), with a residual connection when the stride is 1 and the width is unchanged.
 */
public final class MobileFaceNet {
  public static final int INPUT_SIZE = 112;
  public static final int EMBEDDING_SIZE = 128;
  /** DJL's default, named because the ONNX export folds BatchNorm with it. */
  public static final float BATCH_NORM_EPSILON = 1e-5f;

  /** (t, c, n, s) rows of the paper's table. */
  private static final int[][] BOTTLENECKS = {
    {2, 64, 5, 2}, {4, 128, 1, 2}, {2, 128, 6, 1}, {4, 128, 1, 2}, {2, 128, 2, 1}
  };

  private MobileFaceNet() {}

  /** The input shape for a batch of {@code n} crops. */
  public static Shape inputShape(int n) {
    return new Shape(n, 3, INPUT_SIZE, INPUT_SIZE);
  }

  /** A fresh, uninitialised body: crops [N,3,112,112] -> embeddings [N,128] (not normalised). */
  public static SequentialBlock body() {
    return body(ChannelPrelu::new);
  }

  /**
   * The body with another non-linearity (benchmarks compare PReLU formulas and the plain ReLU a
   * fused kernel would approach); the parameters keep their names when it is a {@link ChannelPrelu}.
   */
  public static SequentialBlock body(java.util.function.Supplier<Block> activation) {
    SequentialBlock net = new SequentialBlock();
    net.add(conv(64, 3, 2, 1, 1)).add(batchNorm()).add(activation.get());
    net.add(conv(64, 3, 1, 1, 64)).add(batchNorm()).add(activation.get());
    int channels = 64;
    for (int[] row : BOTTLENECKS) {
      int t = row[0], c = row[1], n = row[2], s = row[3];
      for (int i = 0; i < n; i++) {
        net.add(bottleneck(channels, c, t, i == 0 ? s : 1, activation));
        channels = c;
      }
    }
    net.add(conv(512, 1, 1, 0, 1)).add(batchNorm()).add(activation.get());
    // linear global depthwise convolution: a learned weighting of the 7x7 positions per channel
    net.add(conv(512, 7, 1, 0, 512)).add(batchNorm());
    net.add(conv(EMBEDDING_SIZE, 1, 1, 0, 1)).add(batchNorm());
    net.add(Blocks.batchFlattenBlock());
    return net;
  }

  private static Block bottleneck(int in, int out, int expansion, int stride, java.util.function.Supplier<Block> activation) {
    int hidden = in * expansion;
    SequentialBlock branch =
        new SequentialBlock()
            .add(conv(hidden, 1, 1, 0, 1))
            .add(batchNorm())
            .add(activation.get())
            .add(conv(hidden, 3, stride, 1, hidden))
            .add(batchNorm())
            .add(activation.get())
            .add(conv(out, 1, 1, 0, 1))
            .add(batchNorm());
    if (stride != 1 || in != out) {
      return branch;
    }
    return new ParallelBlock(
        (List<NDList> outputs) ->
            new NDList(outputs.get(0).singletonOrThrow().add(outputs.get(1).singletonOrThrow())),
        List.of(branch, Blocks.identityBlock()));
  }

  private static BatchNorm batchNorm() {
    return BatchNorm.builder().optEpsilon(BATCH_NORM_EPSILON).build();
  }

  private static Conv2d conv(int filters, int kernel, int stride, int padding, int groups) {
    return Conv2d.builder()
        .setFilters(filters)
        .setKernelShape(new Shape(kernel, kernel))
        .optStride(new Shape(stride, stride))
        .optPadding(new Shape(padding, padding))
        .optGroups(groups)
        .optBias(false) // BatchNorm follows every convolution
        .build();
  }
}
