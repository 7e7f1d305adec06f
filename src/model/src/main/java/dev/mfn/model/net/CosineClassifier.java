package dev.mfn.model.net;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * The ArcFace classifier: one learned class centre per identity, and as logits the cosine between
 * the normalised embedding and each normalised centre ([N,128] -> [N,classes], values in [-1,1]).
 * The margin and the scale are the loss's job ({@link MarginSoftmaxLoss}), so validation can read
 * plain cosines from the same block.
 */
public final class CosineClassifier extends AbstractBlock {
  private static final byte VERSION = 1;
  private static final float EPSILON = 1e-12f;

  private final int classes;
  private final Parameter weight;

  public CosineClassifier(int classes) {
    super(VERSION);
    this.classes = classes;
    weight =
        addParameter(Parameter.builder().setName("weight").setType(Parameter.Type.WEIGHT).build());
  }

  public int classes() {
    return classes;
  }

  /** The class centres [classes, embedding], e.g. to start them from a softmax layer's weights. */
  public Parameter weight() {
    return weight;
  }

  @Override
  protected void prepare(Shape[] inputShapes) {
    weight.setShape(new Shape(classes, inputShapes[0].get(1)));
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
    NDArray x = inputs.singletonOrThrow();
    NDArray w = store.getValue(weight, x.getDevice(), training);
    return new NDList(unit(x).matMul(unit(w).transpose()));
  }

  private static NDArray unit(NDArray rows) {
    return rows.div(rows.norm(new int[] {1}, true).maximum(EPSILON));
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputShapes) {
    return new Shape[] {new Shape(inputShapes[0].get(0), classes)};
  }
}
