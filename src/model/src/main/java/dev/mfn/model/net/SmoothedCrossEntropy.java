package dev.mfn.model.net;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.loss.Loss;
import ai.djl.training.loss.SoftmaxCrossEntropyLoss;

/**
 * Softmax cross-entropy over logits with label smoothing (Szegedy et al., 2016), as PyTorch's
 * {@code cross_entropy(label_smoothing=eps)}: the target puts {@code 1 - eps} on the true class
 * and spreads {@code eps} evenly over all C classes (the true one included), so
 *
 * <pre>
 *   loss = mean over the batch of  -((1 - eps) * log p[y] + eps / C * sum_c log p[c])
 * </pre>
 *
 * With 14 photos a person the network soon puts all its probability on the right one of 350
 * classes and the loss has nothing left to teach; smoothing keeps a pull towards the other
 * classes, which limits how far the logits (and so the features) are driven to fit each photo.
 * With {@code eps = 0} this is DJL's own {@link SoftmaxCrossEntropyLoss}, the same computation.
 */
public final class SmoothedCrossEntropy extends Loss {
  private final float epsilon;
  private final SoftmaxCrossEntropyLoss plain;

  public SmoothedCrossEntropy(String name, float epsilon) {
    super(name);
    if (!(epsilon >= 0 && epsilon < 1)) {
      throw new IllegalArgumentException("label smoothing must be in [0, 1), got " + epsilon);
    }
    this.epsilon = epsilon;
    this.plain = new SoftmaxCrossEntropyLoss(name);
  }

  public float epsilon() {
    return epsilon;
  }

  @Override
  public NDArray evaluate(NDList labels, NDList predictions) {
    if (epsilon == 0) {
      return plain.evaluate(labels, predictions);
    }
    NDArray logits = predictions.singletonOrThrow();
    int classes = (int) logits.getShape().get(1);
    NDArray logP = logits.logSoftmax(1);
    NDArray oneHot = labels.singletonOrThrow().toType(DataType.INT64, false).oneHot(classes)
        .toType(logP.getDataType(), false);
    NDArray target = oneHot.mul(1 - epsilon).add(epsilon / classes);
    return logP.mul(target).sum(new int[] {1}).neg().mean();
  }
}
