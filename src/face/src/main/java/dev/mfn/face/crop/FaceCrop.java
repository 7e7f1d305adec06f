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

  /**
   * Which pixels of the crop lie outside the source image ({@code [y * 112 + x]}), where the
   * aligner paints black: a photo cropped tightly around the face has nothing above the eyebrows
   * or beside the cheeks that the template keeps room for. Exact, from the similarity transform
   * (source to crop: crop = R source + t, R = [[a, -b], [b, a]]); a crop pixel within half a pixel
   * of the image's edge counts as inside (bilinear sampling still reads the image there).
   */
  public boolean[] outsidePhoto() {
    int size = dev.mfn.face.align.SimilarityAligner.SIZE; // not the Mat's: it may be released
    double[] m = aligned.transform();
    double a = m[0];
    double b = m[3];
    double det = a * a + b * b;
    boolean[] out = new boolean[size * size];
    for (int y = 0; y < size; y++) {
      for (int x = 0; x < size; x++) {
        double u = x - m[2];
        double v = y - m[5];
        double sx = (a * u + b * v) / det;
        double sy = (-b * u + a * v) / det;
        out[y * size + x] = sx < -0.5 || sy < -0.5 || sx > imageWidth - 0.5 || sy > imageHeight - 0.5;
      }
    }
    return out;
  }

  public void release() {
    aligned.crop().release();
  }
}
