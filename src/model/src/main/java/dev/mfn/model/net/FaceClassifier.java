package dev.mfn.model.net;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * What is trained: the MobileFaceNet body followed by a classification head (a softmax layer, or a
 * {@link CosineClassifier} for ArcFace). Only the body is kept as the embedding model. Parameter
 * names start with {@value #BODY} and {@value #HEAD}, which the optimiser uses to decay them
 * differently.
 */
public final class FaceClassifier extends AbstractBlock {
  public static final String BODY = "01body";
  public static final String HEAD = "02head";
  private static final byte VERSION = 1;

  private final Block body;
  private final Block head;

  public FaceClassifier(Block body, Block head) {
    super(VERSION);
    this.body = addChildBlock("body", body);
    this.head = addChildBlock("head", head);
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
    return head.forward(store, body.forward(store, inputs, training, params), training, params);
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
