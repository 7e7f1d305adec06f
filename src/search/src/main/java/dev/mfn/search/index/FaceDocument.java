package dev.mfn.search.index;

/**
 * One indexed face: its embedding under one model version, who it is, where it came from, and the
 * aligned crop (PNG), so the index can be rebuilt for a new model without the original photos.
 *
 * @param box x, y, width, height of the face in the source photo (pixels)
 * @param publishedAt when its photo was published (ms since the epoch; 0: not known), so that the
 *     index sink can refuse a photo older than its subject's deletion; stored (not searchable) so
 *     that the console can say when a face's photo came in
 * @param source where its photo came from, for display only (the RawImage's source: its path
 *     relative to the published folder, or a caller-given name); null when not known. Stored, never
 *     indexed: nothing searches by it, and the photo itself is not kept, so this name is all a
 *     person looking at a face has to find the photo again
 */
public record FaceDocument(
    String imageId, int faceIndex, String subject, String modelVersion, float[] vector, float[] box,
    byte[] cropPng, long publishedAt, String source) {

  /** A document whose photo's publication time and source are not known (a search query, a test). */
  public FaceDocument(String imageId, int faceIndex, String subject, String modelVersion, float[] vector, float[] box,
      byte[] cropPng) {
    this(imageId, faceIndex, subject, modelVersion, vector, box, cropPng, 0, null);
  }

  /** A document whose photo's source is not known. */
  public FaceDocument(String imageId, int faceIndex, String subject, String modelVersion, float[] vector, float[] box,
      byte[] cropPng, long publishedAt) {
    this(imageId, faceIndex, subject, modelVersion, vector, box, cropPng, publishedAt, null);
  }

  public FaceDocument withPublishedAt(long millis) {
    return new FaceDocument(imageId, faceIndex, subject, modelVersion, vector, box, cropPng, millis, source);
  }

  public FaceDocument withSource(String source) {
    return new FaceDocument(imageId, faceIndex, subject, modelVersion, vector, box, cropPng, publishedAt, source);
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
