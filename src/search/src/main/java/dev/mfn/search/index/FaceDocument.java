package dev.mfn.search.index;

/**
 * One indexed face: its embedding under one model version, who it is, where it came from, and the
 * aligned crop (PNG), so the index can be rebuilt for a new model without the original photos.
 *
 * @param box x, y, width, height of the face in the source photo (pixels)
 */
public record FaceDocument(
    String imageId, int faceIndex, String subject, String modelVersion, float[] vector, float[] box,
    byte[] cropPng) {

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
