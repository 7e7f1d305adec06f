package dev.mfn.face.detect.mtcnn;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** MTCNN's greedy non-maximum suppression, by union or by the smaller box ("Min"). */
final class MtcnnNms {
  private MtcnnNms() {}

  static List<Candidate> apply(List<Candidate> boxes, double threshold, boolean byMin) {
    List<Candidate> sorted = new ArrayList<>(boxes);
    sorted.sort(Comparator.comparingDouble((Candidate c) -> c.score).reversed());
    List<Candidate> kept = new ArrayList<>();
    boolean[] dropped = new boolean[sorted.size()];
    for (int i = 0; i < sorted.size(); i++) {
      if (dropped[i]) {
        continue;
      }
      Candidate a = sorted.get(i);
      kept.add(a);
      for (int j = i + 1; j < sorted.size(); j++) {
        if (dropped[j]) {
          continue;
        }
        Candidate b = sorted.get(j);
        double iw = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1) + 1;
        double ih = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1) + 1;
        if (iw <= 0 || ih <= 0) {
          continue;
        }
        double inter = iw * ih;
        double areaA = a.width() * a.height();
        double areaB = b.width() * b.height();
        double overlap = byMin ? inter / Math.min(areaA, areaB) : inter / (areaA + areaB - inter);
        if (overlap > threshold) {
          dropped[j] = true;
        }
      }
    }
    return kept;
  }
}
