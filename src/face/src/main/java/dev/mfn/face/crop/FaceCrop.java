package dev.mfn.face.crop;

import dev.mfn.face.align.AlignedFace;
import dev.mfn.face.detect.DetectedFace;

/**
 * An aligned face with where it came from.
 *
 * @param face the detection, or null for a fallback crop (no face found)
 * @param aligned the 112x112 crop and its transform
 * @param imageWidth width of the decoded (upright) source image
 * @param imageHeight its height
 */
public record FaceCrop(DetectedFace face, AlignedFace aligned, int imageWidth, int imageHeight) {
  public boolean fallback() {
    return face == null;
  }

  public void release() {
    aligned.crop().release();
  }
}
