package dev.mfn.face.align;

import dev.mfn.face.FaceRejected;
import dev.mfn.face.OpenCv;
import dev.mfn.face.RejectReason;
import dev.mfn.face.detect.Landmarks;
import org.opencv.core.Core;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.Scalar;
import org.opencv.core.Size;
import org.opencv.imgproc.Imgproc;

/**
 * Aligns a face by the least-squares similarity transform (rotation, uniform scale, translation;
 * no reflection) from its five landmarks to the insightface 112x112 template, then warps the image.
 * This is what insightface's norm_crop does (skimage's SimilarityTransform, Umeyama), written in
 * closed form: for a similarity [a -b; b a] the least-squares optimum on centred points is
 * a = sum(x*u + y*v) / sum(x^2 + y^2), b = sum(x*v - y*u) / sum(x^2 + y^2).
 */
public final class SimilarityAligner {
  public static final int SIZE = 112;

  /** The insightface ArcFace template for 112x112 crops (PRODUCT.md). */
  public static final Landmarks TEMPLATE =
      new Landmarks(
          new double[] {
            38.2946, 51.6963, 73.5318, 51.5014, 56.0252, 71.7366, 41.5493, 92.3655, 70.7299, 92.2041
          });

  public SimilarityAligner() {
    OpenCv.load();
  }

  /** The 2x3 similarity (row-major) that best maps {@code from} onto {@code to}. */
  public static double[] estimate(Landmarks from, Landmarks to) throws FaceRejected {
    int n = Landmarks.COUNT;
    double mx = 0, my = 0, mu = 0, mv = 0;
    for (int i = 0; i < n; i++) {
      mx += from.x(i);
      my += from.y(i);
      mu += to.x(i);
      mv += to.y(i);
    }
    mx /= n;
    my /= n;
    mu /= n;
    mv /= n;
    double sxx = 0, a = 0, b = 0;
    for (int i = 0; i < n; i++) {
      double x = from.x(i) - mx, y = from.y(i) - my;
      double u = to.x(i) - mu, v = to.y(i) - mv;
      sxx += x * x + y * y;
      a += x * u + y * v;
      b += x * v - y * u;
    }
    if (sxx < 1e-9 || !Double.isFinite(a) || !Double.isFinite(b)) {
      throw new FaceRejected(RejectReason.ALIGNMENT_FAILED, "landmarks collapse to a point");
    }
    a /= sxx;
    b /= sxx;
    return new double[] {a, -b, mu - (a * mx - b * my), b, a, mv - (b * mx + a * my)};
  }

  /** Applies a 2x3 transform to landmarks. */
  public static Landmarks apply(double[] m, Landmarks p) {
    double[] out = new double[2 * Landmarks.COUNT];
    for (int i = 0; i < Landmarks.COUNT; i++) {
      out[2 * i] = m[0] * p.x(i) + m[1] * p.y(i) + m[2];
      out[2 * i + 1] = m[3] * p.x(i) + m[4] * p.y(i) + m[5];
    }
    return new Landmarks(out);
  }

  /** RMS distance between two landmark sets. */
  public static double rms(Landmarks p, Landmarks q) {
    double sum = 0;
    for (int i = 0; i < Landmarks.COUNT; i++) {
      sum += Math.pow(p.x(i) - q.x(i), 2) + Math.pow(p.y(i) - q.y(i), 2);
    }
    return Math.sqrt(sum / Landmarks.COUNT);
  }

  public AlignedFace align(Mat bgr, Landmarks landmarks) throws FaceRejected {
    double[] m = estimate(landmarks, TEMPLATE);
    Mat matrix = new Mat(2, 3, CvType.CV_64F);
    matrix.put(0, 0, m);
    Mat crop = new Mat();
    Imgproc.warpAffine(
        bgr, crop, matrix, new Size(SIZE, SIZE), Imgproc.INTER_LINEAR, Core.BORDER_CONSTANT,
        new Scalar(0, 0, 0));
    matrix.release();
    return new AlignedFace(crop, m, rms(apply(m, landmarks), TEMPLATE));
  }
}
