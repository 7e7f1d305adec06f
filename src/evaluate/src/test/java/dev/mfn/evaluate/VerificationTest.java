package dev.mfn.evaluate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.Test;

class VerificationTest {

  @Test
  void separableScoresGiveFullAccuracyAndAThresholdBetweenTheClasses() {
    int n = 600;
    double[] scores = new double[n];
    boolean[] same = new boolean[n];
    int[] fold = new int[n];
    for (int i = 0; i < n; i++) {
      same[i] = i % 2 == 0;
      scores[i] = same[i] ? 0.6 + 0.001 * (i % 100) : 0.1 + 0.001 * (i % 100);
      fold[i] = i % 10;
    }
    Verification.Result r = Verification.evaluate(scores, same, fold);
    assertThat(r.meanAccuracy()).isEqualTo(1.0);
    assertThat(r.stdAccuracy()).isEqualTo(0.0);
    assertThat(r.folds()).hasSize(10).allSatisfy(f -> assertThat(f.threshold()).isBetween(0.199, 0.6));
    assertThat(r.tarAtFar1e3()).isEqualTo(1.0);
  }

  @Test
  void matchesABruteForceThresholdSearchOnNoisyScores() {
    Random random = new Random(1);
    int n = 2000;
    double[] scores = new double[n];
    boolean[] same = new boolean[n];
    int[] fold = new int[n];
    for (int i = 0; i < n; i++) {
      same[i] = random.nextBoolean();
      scores[i] = random.nextGaussian() * 0.15 + (same[i] ? 0.55 : 0.2);
      fold[i] = i % 10;
    }
    Verification.Result r = Verification.evaluate(scores, same, fold);
    for (Verification.Fold f : r.folds()) {
      int held = f.fold() - 1;
      // The chosen threshold is as good on the training folds as the best of a fine grid.
      double best = 0;
      for (double t = -0.5; t <= 1.2; t += 0.0005) {
        best = Math.max(best, accuracy(scores, same, fold, held, t, false));
      }
      assertThat(accuracy(scores, same, fold, held, f.threshold(), false)).isGreaterThanOrEqualTo(best - 1e-12);
      assertThat(f.accuracy()).isCloseTo(accuracy(scores, same, fold, held, f.threshold(), true), within(1e-12));
    }
    assertThat(r.meanAccuracy()).isBetween(0.8, 0.9);
  }

  @Test
  void tarAtFarUsesOnlyThresholdsWithinTheFar() {
    // 1000 negatives: FAR 1e-3 allows exactly one false accept.
    int n = 2000;
    double[] scores = new double[n];
    boolean[] same = new boolean[n];
    for (int i = 0; i < 1000; i++) {
      same[i] = true;
      scores[i] = 0.5 + i * 1e-4; // positives 0.5 .. 0.6
      scores[1000 + i] = i < 998 ? 0.1 : 0.55 + (i - 998) * 0.02; // two negatives at 0.55, 0.57
    }
    Verification.Result r = Verification.evaluate(scores, same, new int[n]);
    // One false accept allowed: the best threshold sits just above the negative at 0.55 (only the
    // one at 0.57 passes), accepting the positives 0.5501 .. 0.5999: 499 of 1000.
    assertThat(r.tarAtFar1e3()).isCloseTo(0.499, within(1e-9));
    assertThat(r.thresholdAtFar1e3()).isGreaterThan(0.55);
  }

  private static double accuracy(double[] s, boolean[] same, int[] fold, int held, double t, boolean onHeld) {
    int n = 0, ok = 0;
    for (int i = 0; i < s.length; i++) {
      if ((fold[i] == held) == onHeld) {
        n++;
        if ((s[i] >= t) == same[i]) {
          ok++;
        }
      }
    }
    return (double) ok / n;
  }

  @Test
  void theOneToManyThresholdAdmitsAtMostTheTargetShareOfImpostors() {
    // 10,000 impostor pairs in [0, 0.5] but one at 0.9; 1,000 genuine pairs in [0.6, 1.0]
    int negatives = 10_000;
    int positives = 1_000;
    double[] scores = new double[negatives + positives];
    boolean[] same = new boolean[scores.length];
    Random random = new Random(3);
    for (int i = 0; i < negatives; i++) {
      scores[i] = i == 0 ? 0.9 : 0.5 * random.nextDouble();
    }
    double lowestPositive = 1;
    double lowestPositiveAbove09 = 1;
    for (int i = negatives; i < scores.length; i++) {
      scores[i] = 0.6 + 0.4 * random.nextDouble();
      same[i] = true;
      lowestPositive = Math.min(lowestPositive, scores[i]);
      if (scores[i] > 0.9) {
        lowestPositiveAbove09 = Math.min(lowestPositiveAbove09, scores[i]);
      }
    }
    var roc = Verification.roc(scores, same);
    // FAR 1e-4 of 10,000 allows one false accept: the 0.9 impostor may pass, everything above 0.5 is accepted
    assertThat(Verification.thresholdAtFar(roc, 1e-4)).isEqualTo(lowestPositive);
    // FAR 1e-5 allows none: the threshold rises above the 0.9 impostor
    assertThat(Verification.thresholdAtFar(roc, 1e-5)).isEqualTo(lowestPositiveAbove09);
    // with accept >= threshold, the measured false-accept rates are within the targets
    for (double far : new double[] {1e-4, 1e-5}) {
      double t = Verification.thresholdAtFar(roc, far);
      long accepted = java.util.stream.IntStream.range(0, negatives).filter(i -> scores[i] >= t).count();
      assertThat((double) accepted / negatives).isLessThanOrEqualTo(far);
    }
  }
}
