package dev.mfn.model.net;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * What is trained: the MobileFaceNet body followed by a classification head (a softmax layer, or a
 * {@link CosineClassifier} for ArcFace). Only the body is kept as the embedding model. Parameter
 * names start with {@value #BODY} and {@value #HEAD}, which the optimiser uses to decay them
 * differently.
 *
 * <p>With a dropout rate P, training zeroes each feature entering the body's last
 * convolution (the linear 1x1 from the 512 GDConv features to the 128-d embedding), "dropout before
 * the embedding" as insightface's output layers place it, with probability P. It lives here, not in the body, so that
 * the body's blocks, parameter names and saved bytes stay those every served model has; inference
 * (and the exported model) never drops anything.
 */
public final class FaceClassifier extends AbstractBlock {
  public static final String BODY = "01body";
  public static final String HEAD = "02head";
  private static final byte VERSION = 1;

  private final Block body;
  private final Block head;
  private final float dropout;
  private final Block lastConv;

  public FaceClassifier(Block body, Block head) {
    this(body, head, 0f);
  }

  /**
   * @param body a {@link SequentialBlock} whose last convolution makes the embedding (as {@link
   *     MobileFaceNet#body()}) when {@code dropout} is above 0
   * @param dropout probability that a feature before the embedding is zeroed in training (0: none)
   */
  public FaceClassifier(Block body, Block head, float dropout) {
    super(VERSION);
    if (!(dropout >= 0 && dropout < 1)) {
      throw new IllegalArgumentException("dropout must be in [0, 1), got " + dropout);
    }
    this.body = addChildBlock("body", body);
    this.head = addChildBlock("head", head);
    this.dropout = dropout;
    this.lastConv = dropout > 0 ? lastConvolution(body) : null;
  }

  private static Block lastConvolution(Block body) {
    if (!(body instanceof SequentialBlock)) {
      throw new IllegalArgumentException("dropout before the embedding needs a SequentialBlock body");
    }
    Block last = null;
    for (Block child : body.getChildren().values()) {
      if (child instanceof Conv2d) {
        last = child;
      }
    }
    if (last == null) {
      throw new IllegalArgumentException("dropout before the embedding: the body has no convolution");
    }
    return last;
  }

  public float dropout() {
    return dropout;
  }

  public Block body() {
    return body;
  }

  public Block head() {
    return head;
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
    NDList features = dropout > 0 && training
        ? bodyWithDropout(store, inputs, params)
        : body.forward(store, inputs, training, params);
    return head.forward(store, features, training, params);
  }

  /** The body's blocks in order (as SequentialBlock runs them), dropping out the last convolution's input. */
  private NDList bodyWithDropout(ParameterStore store, NDList inputs, PairList<String, Object> params) {
    NDList current = inputs;
    for (Block child : body.getChildren().values()) {
      if (child == lastConv) {
        current = Dropout.dropout(current.singletonOrThrow(), dropout, true);
      }
      current = child.forward(store, current, true, params);
    }
    return current;
  }

  @Override
  protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
    body.initialize(manager, dataType, inputShapes);
    head.initialize(manager, dataType, body.getOutputShapes(inputShapes));
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputShapes) {
    return head.getOutputShapes(body.getOutputShapes(inputShapes));
  }
}
