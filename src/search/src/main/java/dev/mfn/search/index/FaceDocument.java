package dev.mfn.search.index;

/**
 * One indexed face: its embedding under one model version, who it is, where it came from, and the
 * aligned crop (PNG), so the index can be rebuilt for a new model without the original photos.
 *
 * @param box x, y, width, height of the face in the source photo (pixels)
 * @param publishedAt when its photo was published (ms since the epoch; 0: not known), so that the
 *     index sink can refuse a photo older than its subject's deletion; not stored in the index
 */
public record FaceDocument(
    String imageId, int faceIndex, String subject, String modelVersion, float[] vector, float[] box,
    byte[] cropPng, long publishedAt) {

  /** A document whose photo's publication time is not known (a re-index, a search query). */
  public FaceDocument(String imageId, int faceIndex, String subject, String modelVersion, float[] vector, float[] box,
      byte[] cropPng) {
    this(imageId, faceIndex, subject, modelVersion, vector, box, cropPng, 0);
  }

  public FaceDocument withPublishedAt(long millis) {
    return new FaceDocument(imageId, faceIndex, subject, modelVersion, vector, box, cropPng, millis);
  }

  /**
   * The document id: the same face of the same image under the same model always gets the same
   * id, so replaying a topic overwrites instead of duplicating.
   */
  public String id() {
    return id(imageId, faceIndex, modelVersion);
  }

  public static String id(String imageId, int faceIndex, String modelVersion) {
    return imageId + "#" + faceIndex + "@" + modelVersion;
  }
}
