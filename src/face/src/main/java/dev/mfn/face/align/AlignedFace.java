package dev.mfn.face.align;

import org.opencv.core.Mat;

/**
 * A face warped onto the 112x112 template.
 *
 * @param crop 112x112 BGR image (the caller owns and releases it)
 * @param transform the 2x3 similarity matrix, row-major, from source-image pixels to the crop
 * @param residual RMS distance, in crop pixels, between the warped landmarks and the template: a
 *     quality signal (large for wrong or very non-frontal landmarks)
 */
public record AlignedFace(Mat crop, double[] transform, double residual) {
  /** Scale of the similarity: crop pixels per source pixel. */
  public double scale() {
    return Math.hypot(transform[0], transform[3]);
  }
}
