package dev.mfn.evaluate;

import dev.mfn.model.PhotoEmbedder;
import dev.mfn.model.PhotoEmbedding;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

/** Embeds every photo of a pair set once, scores the pairs by cosine similarity, runs the protocol. */
public final class VerificationRun {
  private final PhotoEmbedder embedder;

  public VerificationRun(PhotoEmbedder embedder) {
    this.embedder = embedder;
  }

  /** Distinct photos of the pairs, in first-seen order (for a progress bar's total). */
  public static List<Path> photos(List<Pair> pairs) {
    LinkedHashSet<Path> set = new LinkedHashSet<>();
    for (Pair p : pairs) {
      set.add(p.first());
      set.add(p.second());
    }
    return new ArrayList<>(set);
  }

  public VerificationReport run(
      String dataset, String model, String detector, boolean flip, List<Pair> pairs,
      IntConsumer progress) {
    long start = System.nanoTime();
    List<Path> photos = photos(pairs);
    List<PhotoEmbedding> embedded = embedder.embedFiles(photos, progress);
    Map<Path, float[]> vectors = new HashMap<>();
    int faces = 0, fallbacks = 0, rejected = 0;
    for (int i = 0; i < photos.size(); i++) {
      PhotoEmbedding e = embedded.get(i);
      if (!e.ok()) {
        rejected++;
        continue;
      }
      vectors.put(photos.get(i), e.vector());
      if (e.fallback()) {
        fallbacks++;
      } else {
        faces++;
      }
    }
    double[] scores = new double[pairs.size()];
    boolean[] same = new boolean[pairs.size()];
    int[] fold = new int[pairs.size()];
    for (int i = 0; i < pairs.size(); i++) {
      Pair p = pairs.get(i);
      scores[i] = cosine(vectors.get(p.first()), vectors.get(p.second()));
      same[i] = p.same();
      fold[i] = p.fold();
    }
    Verification.Result result = Verification.evaluate(scores, same, fold);
    return new VerificationReport(
        dataset, model, detector, flip, pairs.size(), photos.size(), faces, fallbacks, rejected,
        (System.nanoTime() - start) / 1e9, result);
  }

  /** Cosine similarity of unit vectors; -1 when either photo has no embedding. */
  static double cosine(float[] a, float[] b) {
    if (a == null || b == null) {
      return -1;
    }
    double dot = 0;
    for (int i = 0; i < a.length; i++) {
      dot += a[i] * b[i];
    }
    return dot;
  }
}
