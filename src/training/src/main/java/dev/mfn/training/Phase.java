package dev.mfn.training;

/** The seed's two phases: softmax pre-training, then ArcFace from the softmax weights. */
public enum Phase {
  SOFTMAX,
  ARCFACE
}
