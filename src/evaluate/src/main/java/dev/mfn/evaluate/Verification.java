package dev.mfn.evaluate;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The k-fold verification protocol on similarity scores: for each fold, the threshold that
 * maximises accuracy on the other folds is applied to it; the result is the mean and standard
 * deviation of the fold accuracies. Also the ROC over all pairs and TAR at a given FAR.
 */
public final class Verification {
  private Verification() {}

  /** Accuracy and threshold of one held-out fold. */
  public record Fold(int fold, double threshold, double accuracy, int pairs) {}

  /** A point of the ROC curve. */
  public record RocPoint(double threshold, double far, double tar) {}

  /** The protocol's result. */
  public record Result(
      List<Fold> folds,
      double meanAccuracy,
      double stdAccuracy,
      double bestThreshold,
      double tarAtFar1e3,
      double thresholdAtFar1e3,
      List<RocPoint> roc) {}

  public static Result evaluate(double[] scores, boolean[] same, int[] fold) {
    int folds = Arrays.stream(fold).max().orElse(-1) + 1;
    List<Fold> results = new ArrayList<>();
    for (int k = 0; k < folds; k++) {
      int held = k;
      double threshold = bestThreshold(scores, same, i -> fold[i] != held);
      int n = 0;
      int correct = 0;
      for (int i = 0; i < scores.length; i++) {
        if (fold[i] == held) {
          n++;
          if ((scores[i] >= threshold) == same[i]) {
            correct++;
          }
        }
      }
      results.add(new Fold(k + 1, threshold, n == 0 ? 0 : (double) correct / n, n));
    }
    double mean = results.stream().mapToDouble(Fold::accuracy).average().orElse(0);
    // Standard deviation as numpy's std (population), the convention of LFW reports.
    double var =
        results.stream().mapToDouble(f -> Math.pow(f.accuracy() - mean, 2)).average().orElse(0);
    List<RocPoint> roc = roc(scores, same);
    RocPoint atFar = tarAtFar(roc, 1e-3);
    return new Result(
        results, mean, Math.sqrt(var), bestThreshold(scores, same, i -> true),
        atFar.tar(), atFar.threshold(), roc);
  }

  /** The threshold (midpoint between neighbouring scores) with the best accuracy on the chosen pairs. */
  static double bestThreshold(double[] scores, boolean[] same, java.util.function.IntPredicate use) {
    List<Integer> idx = new ArrayList<>();
    int positives = 0;
    for (int i = 0; i < scores.length; i++) {
      if (use.test(i)) {
        idx.add(i);
        if (same[i]) {
          positives++;
        }
      }
    }
    idx.sort((a, b) -> Double.compare(scores[a], scores[b]));
    // Threshold below everything: all accepted -> correct = positives.
    int correct = positives;
    int best = correct;
    double bestT = idx.isEmpty() ? 0 : scores[idx.get(0)] - 1e-6;
    for (int k = 0; k < idx.size(); k++) {
      int i = idx.get(k);
      correct += same[i] ? -1 : 1; // pair k moves to "rejected"
      boolean tie = k + 1 < idx.size() && scores[idx.get(k + 1)] == scores[i];
      if (!tie && correct > best) {
        best = correct;
        bestT = k + 1 < idx.size() ? (scores[i] + scores[idx.get(k + 1)]) / 2 : scores[i] + 1e-6;
      }
    }
    return bestT;
  }

  /** ROC over all pairs: one point per distinct threshold, from strict to lenient. */
  static List<RocPoint> roc(double[] scores, boolean[] same) {
    Integer[] idx = new Integer[scores.length];
    int positives = 0;
    for (int i = 0; i < scores.length; i++) {
      idx[i] = i;
      if (same[i]) {
        positives++;
      }
    }
    int negatives = scores.length - positives;
    Arrays.sort(idx, (a, b) -> Double.compare(scores[b], scores[a]));
    List<RocPoint> points = new ArrayList<>();
    points.add(new RocPoint(Double.POSITIVE_INFINITY, 0, 0));
    int tp = 0;
    int fp = 0;
    for (int k = 0; k < idx.length; k++) {
      if (same[idx[k]]) {
        tp++;
      } else {
        fp++;
      }
      boolean tie = k + 1 < idx.length && scores[idx[k + 1]] == scores[idx[k]];
      if (!tie) {
        points.add(
            new RocPoint(
                scores[idx[k]],
                negatives == 0 ? 0 : (double) fp / negatives,
                positives == 0 ? 0 : (double) tp / positives));
      }
    }
    return points;
  }

  /**
   * The 1:N threshold for a target false-accept rate: the most lenient threshold whose FAR on the
   * impostor pairs does not exceed {@code far} (1.0 when even the strictest one does). With n
   * impostor pairs a FAR below 1/n cannot be measured: the threshold is then the one that accepts
   * none of them, which is the best estimate the pairs allow.
   */
  public static double thresholdAtFar(List<RocPoint> roc, double far) {
    RocPoint p = tarAtFar(roc, far);
    return Double.isInfinite(p.threshold()) ? 1.0 : p.threshold();
  }

  /** The best TAR among thresholds whose FAR does not exceed {@code far}. */
  public static RocPoint tarAtFar(List<RocPoint> roc, double far) {
    RocPoint best = roc.get(0);
    for (RocPoint p : roc) {
      if (p.far() <= far && p.tar() >= best.tar()) {
        best = p;
      }
    }
    return best;
  }
}
