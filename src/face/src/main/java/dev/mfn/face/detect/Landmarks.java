package dev.mfn.face.detect;

import java.util.Arrays;

/**
 * Five facial landmarks in image pixels, in the order of the insightface template: the eye on the
 * image's left, the eye on the image's right, the nose tip, the mouth corner on the image's left,
 * the mouth corner on the image's right. ("Left" is the viewer's left: the subject's right eye
 * comes first.)
 */
public record Landmarks(double[] xy) {
  public static final int COUNT = 5;

  public Landmarks {
    if (xy.length != 2 * COUNT) {
      throw new IllegalArgumentException("5 landmarks = 10 coordinates, got " + xy.length);
    }
    xy = xy.clone();
  }

  public double x(int i) {
    return xy[2 * i];
  }

  public double y(int i) {
    return xy[2 * i + 1];
  }

  /** Distance between the eyes, a scale-free size of the face. */
  public double eyeDistance() {
    return Math.hypot(x(1) - x(0), y(1) - y(0));
  }

  public Landmarks scaled(double factor, double offsetX, double offsetY) {
    double[] out = new double[xy.length];
    for (int i = 0; i < COUNT; i++) {
      out[2 * i] = xy[2 * i] * factor + offsetX;
      out[2 * i + 1] = xy[2 * i + 1] * factor + offsetY;
    }
    return new Landmarks(out);
  }

  @Override
  public double[] xy() {
    return xy.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Landmarks other && Arrays.equals(xy, other.xy);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(xy);
  }

  @Override
  public String toString() {
    return Arrays.toString(xy);
  }
}
