package dev.mfn.face.detect;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Weighted non-maximum suppression (MediaPipe's WEIGHTED mode, BlazeFace's choice): overlapping
 * detections are not just dropped, their boxes and landmarks are averaged, weighted by score, into
 * the best one. This steadies landmarks, which alignment depends on.
 */
public final class WeightedNms {
  private WeightedNms() {}

  public static List<DetectedFace> apply(List<DetectedFace> faces, double iouThreshold) {
    List<DetectedFace> remaining = new ArrayList<>(faces);
    remaining.sort(Comparator.comparingDouble(DetectedFace::score).reversed());
    List<DetectedFace> kept = new ArrayList<>();
    while (!remaining.isEmpty()) {
      DetectedFace best = remaining.get(0);
      List<DetectedFace> cluster = new ArrayList<>();
      List<DetectedFace> rest = new ArrayList<>();
      for (DetectedFace f : remaining) {
        (best.box().intersectionOverUnion(f.box()) > iouThreshold ? cluster : rest).add(f);
      }
      kept.add(merge(best, cluster));
      remaining = rest;
    }
    return kept;
  }

  private static DetectedFace merge(DetectedFace best, List<DetectedFace> cluster) {
    if (cluster.size() == 1) {
      return best;
    }
    double total = 0, x = 0, y = 0, w = 0, h = 0;
    double[] points = new double[10];
    for (DetectedFace f : cluster) {
      double s = f.score();
      total += s;
      x += s * f.box().x();
      y += s * f.box().y();
      w += s * f.box().width();
      h += s * f.box().height();
      double[] p = f.landmarks().xy();
      for (int i = 0; i < points.length; i++) {
        points[i] += s * p[i];
      }
    }
    for (int i = 0; i < points.length; i++) {
      points[i] /= total;
    }
    return new DetectedFace(
        new Box(x / total, y / total, w / total, h / total),
        best.score(),
        new Landmarks(points),
        best.detector(),
        best.estimatedPoints());
  }
}
