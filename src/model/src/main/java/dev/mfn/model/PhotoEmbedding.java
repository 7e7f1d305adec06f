package dev.mfn.model;

import dev.mfn.face.RejectReason;
import dev.mfn.face.detect.DetectedFace;

/**
 * The embedding of one photo's chosen face.
 *
 * @param vector L2-normalised, or null when the photo was rejected
 * @param face the detection used, null for a fallback (central square) or a rejection
 * @param fallback true when no face was found and the central square was embedded instead
 * @param rejected the reason when no vector could be made, else null
 */
public record PhotoEmbedding(
    String name, float[] vector, DetectedFace face, boolean fallback, RejectReason rejected) {

  public boolean ok() {
    return vector != null;
  }
}
