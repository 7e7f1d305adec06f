package dev.mfn.flink.ingest;

/**
 * An aligned face on its way from the crop stage to the per-identity curator. A Flink POJO
 * (public fields, no-argument constructor) so Flink serialises it without Kryo.
 */
public class CroppedFace {
  public String imageId;
  public String subject;
  /** The 112x112 BGR crop, PNG-encoded (lossless, ~20 KB). */
  public byte[] png;
  public float[] landmarks;
  public String detector;
  public float score;
  public float residual;

  public CroppedFace() {}

  public CroppedFace(
      String imageId, String subject, byte[] png, float[] landmarks, String detector, float score,
      float residual) {
    this.imageId = imageId;
    this.subject = subject;
    this.png = png;
    this.landmarks = landmarks;
    this.detector = detector;
    this.score = score;
    this.residual = residual;
  }
}
