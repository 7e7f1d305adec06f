package dev.mfn.model.net;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.ConstantInitializer;
import ai.djl.util.PairList;

/**
 * PReLU with one learned slope per channel, as in the MobileFaceNet paper. DJL's own {@code Prelu}
 * learns a single slope for the whole tensor, and DJL's PyTorch engine has no prelu op; this block
 * runs PyTorch's fused {@code torch.prelu} through {@link TorchPrelu} (a one-line TorchScript
 * module), and can still be written out as ops for comparison (the formulas compute the same
 * values; the bench and {@code TorchPreluTest} hold them to it).
 */
public final class ChannelPrelu extends AbstractBlock {
  private static final byte VERSION = 1;

  /** How the forward pass is written: the same function, different kernels (see the bench). */
  public enum Formula {
    /** max(x, 0) + alpha * min(x, 0): four kernels forward. */
    MAX_MIN,
    /** where(x > 0, x, alpha * x): three kernels forward, and a masked backward. */
    WHERE,
    /** torch.prelu: one kernel forward, one backward (the PyTorch engine only). */
    FUSED
  }

  /**
   * The formula every new block uses: FUSED, the fastest in the bare training step ({@code bench/run
   * train --activations}, bench/RESULTS.md); the forward is identical to the others.
   */
  public static final Formula DEFAULT = Formula.FUSED;

  private final Parameter alpha;
  private final Formula formula;

  public ChannelPrelu() {
    this(DEFAULT);
  }

  public ChannelPrelu(Formula formula) {
    super(VERSION);
    this.formula = formula;
    // Type OTHER: a trainer's WEIGHT initializer (Kaiming) must not touch the 0.25 start value
    alpha =
        addParameter(
            Parameter.builder()
                .setName("alpha")
                .setType(Parameter.Type.OTHER)
                .optInitializer(new ConstantInitializer(0.25f))
                .build());
  }

  @Override
  protected void prepare(Shape[] inputShapes) {
    alpha.setShape(new Shape(inputShapes[0].get(1)));
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
    NDArray x = inputs.singletonOrThrow();
    NDArray slope = store.getValue(alpha, x.getDevice(), training);
    if (formula == Formula.FUSED && TorchPrelu.available(x)) {
      return new NDList(TorchPrelu.apply(x, slope));
    }
    long channels = slope.getShape().get(0);
    NDArray broadcast = x.getShape().dimension() == 4 ? slope.reshape(1, channels, 1, 1) : slope.reshape(1, channels);
    if (formula == Formula.WHERE) {
      // x > 0 is exact, so this equals MAX_MIN bit for bit (x, or alpha * x)
      return new NDList(ai.djl.ndarray.NDArrays.where(x.gt(0f), x, x.mul(broadcast)));
    }
    return new NDList(x.maximum(0f).add(x.minimum(0f).mul(broadcast)));
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputShapes) {
    return new Shape[] {inputShapes[0]};
  }
}
