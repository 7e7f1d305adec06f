package dev.mfn.evaluate;

import dev.mfn.face.crop.FaceCropper;
import dev.mfn.model.Embedder;
import dev.mfn.model.PhotoEmbedder;
import dev.mfn.model.PhotoEmbedding;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The canary a model passes before it is announced and again before an index of it is served:
 * its embeddings are sane (finite, unit length, not one constant vector) and its verification
 * accuracy on the deployment's pair set is at least the served model's minus a tolerance, both
 * measured now, on the same pairs, with the same detector. A model that is worse than what serves
 * (the demo's 3-minute model against a 99% one) never replaces it.
 */
public final class ModelGate {
  /** Pairs above this mean cosine similarity between different photos: the model maps everything alike. */
  static final double CONSTANT_SIMILARITY = 0.995;

  /** The pair set and the accuracy (a fraction, e.g. 0.01) a candidate may lose against the served model. */
  public record Options(List<Pair> pairs, String pairsName, double tolerance, int batchSize) {}

  /** The gate's answer; {@code servedAccuracy} is null when nothing was served to compare with. */
  public record Verdict(boolean passed, String reason, double candidateAccuracy, Double servedAccuracy, int pairs) {
    public String line() {
      return (passed ? "passed: " : "refused: ") + reason;
    }
  }

  private final FaceCropper cropper;
  private final Options options;

  public ModelGate(FaceCropper cropper, Options options) {
    if (options.pairs().isEmpty()) {
      throw new IllegalArgumentException("the gate needs a pair set with pairs in it");
    }
    this.cropper = cropper;
    this.options = options;
  }

  /**
   * Checks {@code candidate} against {@code served} (null: nothing is served; sanity alone
   * decides).
   */
  public Verdict check(Embedder candidate, Embedder served) {
    List<Path> photos = VerificationRun.photos(options.pairs());
    Map<Path, float[]> vectors = embed(candidate, photos);
    String insane = insanity(vectors);
    if (insane != null) {
      return new Verdict(false, "embeddings are not sane: " + insane, Double.NaN, null, options.pairs().size());
    }
    double mine = accuracy(vectors);
    if (served == null) {
      return new Verdict(true, String.format(Locale.ROOT, "accuracy %.2f%% on %s, embeddings sane; nothing served to compare with",
          100 * mine, options.pairsName()), mine, null, options.pairs().size());
    }
    double theirs = accuracy(embed(served, photos));
    boolean passed = mine >= theirs - options.tolerance();
    return new Verdict(passed, String.format(Locale.ROOT, "accuracy %.2f%% against the served model's %.2f%% on %s (tolerance %.2f points)%s",
        100 * mine, 100 * theirs, options.pairsName(), 100 * options.tolerance(), passed ? "" : ": worse than what serves"),
        mine, theirs, options.pairs().size());
  }

  private Map<Path, float[]> embed(Embedder embedder, List<Path> photos) {
    List<PhotoEmbedding> embedded = new PhotoEmbedder(cropper, embedder, true, false, options.batchSize()).embedFiles(photos, n -> {});
    Map<Path, float[]> vectors = new HashMap<>();
    for (int i = 0; i < photos.size(); i++) {
      if (embedded.get(i).ok()) {
        vectors.put(photos.get(i), embedded.get(i).vector());
      }
    }
    return vectors;
  }

  /** Why the embeddings are unusable, or null when they are fine. */
  static String insanity(Map<Path, float[]> vectors) {
    if (vectors.size() < 2) {
      return "fewer than two photos of the gate set have a face";
    }
    List<float[]> all = new ArrayList<>(vectors.values());
    for (float[] v : all) {
      double norm = 0;
      for (float x : v) {
        if (!Float.isFinite(x)) {
          return "a vector holds NaN or infinity";
        }
        norm += x * x;
      }
      if (Math.abs(Math.sqrt(norm) - 1) > 1e-2) {
        return String.format(Locale.ROOT, "a vector has length %.3f, not 1", Math.sqrt(norm));
      }
    }
    double sum = 0;
    int n = 0;
    for (int i = 0; i + 1 < all.size() && n < 500; i++, n++) {
      sum += VerificationRun.cosine(all.get(i), all.get(i + 1));
    }
    double mean = sum / n;
    if (mean > CONSTANT_SIMILARITY) {
      return String.format(Locale.ROOT, "different photos are nearly the same vector (mean cosine %.3f)", mean);
    }
    return null;
  }

  private double accuracy(Map<Path, float[]> vectors) {
    List<Pair> pairs = options.pairs();
    double[] scores = new double[pairs.size()];
    boolean[] same = new boolean[pairs.size()];
    int[] fold = new int[pairs.size()];
    for (int i = 0; i < pairs.size(); i++) {
      Pair p = pairs.get(i);
      scores[i] = VerificationRun.cosine(vectors.get(p.first()), vectors.get(p.second()));
      same[i] = p.same();
      fold[i] = p.fold();
    }
    return Verification.evaluate(scores, same, fold).meanAccuracy();
  }
}
