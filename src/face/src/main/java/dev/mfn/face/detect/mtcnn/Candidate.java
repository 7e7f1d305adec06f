package dev.mfn.face.detect.mtcnn;

/** A box in MTCNN's inclusive-pixel convention (x2 - x1 + 1 = width), with score and regression. */
final class Candidate {
  double x1, y1, x2, y2, score;
  double[] reg = new double[4];
  double[] points; // x0..x4, y0..y4 after O-Net

  Candidate(double x1, double y1, double x2, double y2, double score) {
    this.x1 = x1;
    this.y1 = y1;
    this.x2 = x2;
    this.y2 = y2;
    this.score = score;
  }

  double width() {
    return x2 - x1 + 1;
  }

  double height() {
    return y2 - y1 + 1;
  }

  /** Applies the box regression (offsets relative to the box size). */
  void regress() {
    double w = width();
    double h = height();
    x1 += reg[0] * w;
    y1 += reg[1] * h;
    x2 += reg[2] * w;
    y2 += reg[3] * h;
  }

  /** Makes the box square around its centre (side = the longer side), as the next net expects. */
  void square() {
    double w = x2 - x1;
    double h = y2 - y1;
    double l = Math.max(w, h);
    x1 = x1 + w * 0.5 - l * 0.5;
    y1 = y1 + h * 0.5 - l * 0.5;
    x2 = x1 + l;
    y2 = y1 + l;
  }

  void truncate() {
    x1 = (long) x1;
    y1 = (long) y1;
    x2 = (long) x2;
    y2 = (long) y2;
  }
}
