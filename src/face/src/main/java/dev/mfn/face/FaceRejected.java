package dev.mfn.face;

/** A photo was rejected, with a typed reason; the caller routes it (dead letter, CLI summary). */
public final class FaceRejected extends Exception {
  private final RejectReason reason;

  public FaceRejected(RejectReason reason, String message) {
    super(reason + ": " + message, null, false, false);
    this.reason = reason;
  }

  public RejectReason reason() {
    return reason;
  }
}
