package dev.mfn.model.net;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.loss.Loss;

/**
 * Additive angular margin (ArcFace, m2) and additive cosine margin (CosFace, m3) softmax loss over
 * the cosines of a {@link CosineClassifier}:
 *
 * <pre>
 *   target logit  = s * (cos(theta + m2) - m3)     for the true class
 *   other logits  = s * cos(theta)
 * </pre>
 *
 * m3 = 0 is ArcFace, m2 = 0 CosFace, both together the combined margin of insightface's mxnet
 * recipes ({@code cos(m1 * theta + m2) - m3} with m1 = 1, e.g. m2 = 0.3, m3 = 0.2); arcface_torch's
 * {@code CombinedMarginLoss} applies one or the other, not both. When theta + m2 would pass pi,
 * cos(theta + m2) stops falling with theta and the loss would reward a worse angle, so there the
 * target becomes cos(theta) - m2 * sin(m2) (insightface's {@code easy_margin=False} rule), and m3
 * still comes off it (our choice: the mxnet recipe has no such branch; with m2 = 0 it never
 * applies). The seed project's layer had an assignment typo and trained with no margin at all;
 * {@code MarginSoftmaxLossTest} holds this class to the formula.
 */
public final class MarginSoftmaxLoss extends Loss {
  private static final float CLIP = 1e-7f;

  private final float scale;
  private final float angularMargin;
  private final float cosineMargin;
  private final float cosM;
  private final float sinM;
  private final float threshold;
  private final float fallbackPenalty;
  private final SmoothedCrossEntropy crossEntropy;

  /** ArcFace with scale s and angular margin m (the paper: s = 64, m = 0.5). */
  public static MarginSoftmaxLoss arcFace(float s, float m) {
    return new MarginSoftmaxLoss(s, m, 0f);
  }

  public MarginSoftmaxLoss(float scale, float angularMargin, float cosineMargin) {
    this(scale, angularMargin, cosineMargin, 0f);
  }

  /**
   * @param labelSmoothing the share of the target spread over all classes ({@link
   *     SmoothedCrossEntropy}; 0: none), applied to the logits after the margin
   */
  public MarginSoftmaxLoss(float scale, float angularMargin, float cosineMargin, float labelSmoothing) {
    super("margin-softmax");
    if (scale <= 0 || angularMargin < 0 || angularMargin >= Math.PI / 2 || cosineMargin < 0) {
      throw new IllegalArgumentException(
          "need s > 0, 0 <= m < pi/2 and a cosine margin >= 0, got s=" + scale + " m=" + angularMargin
              + " cosine margin=" + cosineMargin);
    }
    this.scale = scale;
    this.angularMargin = angularMargin;
    this.cosineMargin = cosineMargin;
    this.cosM = (float) Math.cos(angularMargin);
    this.sinM = (float) Math.sin(angularMargin);
    this.threshold = (float) Math.cos(Math.PI - angularMargin);
    this.fallbackPenalty = (float) (Math.sin(Math.PI - angularMargin) * angularMargin);
    this.crossEntropy = new SmoothedCrossEntropy("ce", labelSmoothing);
  }

  /** This loss with label smoothing {@code epsilon} (0: none). */
  public MarginSoftmaxLoss withLabelSmoothing(float epsilon) {
    return new MarginSoftmaxLoss(scale, angularMargin, cosineMargin, epsilon);
  }

  public float labelSmoothing() {
    return crossEntropy.epsilon();
  }

  public float scale() {
    return scale;
  }

  public float angularMargin() {
    return angularMargin;
  }

  public float cosineMargin() {
    return cosineMargin;
  }

  /** The scaled logits with the margin applied to each row's true class. */
  public NDArray logits(NDArray cosines, NDArray labels) {
    NDArray cos = cosines.clip(-1 + CLIP, 1 - CLIP);
    NDArray oneHot = labels.toType(DataType.INT64, false).oneHot((int) cos.getShape().get(1));
    oneHot = oneHot.toType(cos.getDataType(), false);
    NDArray target = cos.mul(oneHot).sum(new int[] {1}, true);
    NDArray sin = target.square().neg().add(1f).maximum(0f).sqrt();
    NDArray shifted = target.mul(cosM).sub(sin.mul(sinM));
    NDArray marginal =
        NDArrays.where(target.gt(threshold), shifted, target.sub(fallbackPenalty)).sub(cosineMargin);
    return cos.add(oneHot.mul(marginal.sub(target))).mul(scale);
  }

  @Override
  public NDArray evaluate(NDList labels, NDList predictions) {
    NDArray logits = logits(predictions.singletonOrThrow(), labels.singletonOrThrow());
    return crossEntropy.evaluate(labels, new NDList(logits));
  }
}
