package dev.mfn.evaluate;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A verification run's figures with what produced them: printed as a table, written as JSON.
 *
 * @param photos distinct photos embedded
 * @param faces photos whose face was detected and aligned
 * @param fallbacks photos embedded from their central square (no face found)
 * @param rejected photos with no embedding at all (their pairs score -1)
 */
public record VerificationReport(
    String dataset,
    String model,
    String detector,
    boolean flip,
    int pairs,
    int photos,
    int faces,
    int fallbacks,
    int rejected,
    double seconds,
    Verification.Result result) {

  public String table() {
    StringBuilder b = new StringBuilder();
    b.append(String.format("%s: %d pairs, %d photos (faces %d, central-square fallbacks %d, rejected %d)%n",
        dataset, pairs, photos, faces, fallbacks, rejected));
    b.append(String.format("model %s, detector %s, flip %s, %.0f s%n", model, detector, flip, seconds));
    b.append(String.format("%-6s %10s %10s%n", "fold", "threshold", "accuracy"));
    for (Verification.Fold f : result.folds()) {
      b.append(String.format("%-6d %10.4f %9.2f%%%n", f.fold(), f.threshold(), 100 * f.accuracy()));
    }
    b.append(String.format("accuracy %.2f%% +- %.2f (%d-fold protocol: threshold from the other folds)%n",
        100 * result.meanAccuracy(), 100 * result.stdAccuracy(), result.folds().size()));
    b.append(String.format("best threshold on all pairs %.4f%n", result.bestThreshold()));
    b.append(String.format("TAR at FAR=1e-3: %.2f%% (threshold %.4f)%n",
        100 * result.tarAtFar1e3(), result.thresholdAtFar1e3()));
    return b.toString();
  }

  /** Writes the report as JSON; the ROC is thinned to at most 500 points. */
  public void writeJson(Path file) throws IOException {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("dataset", dataset);
    json.put("model", model);
    json.put("detector", detector);
    json.put("flip", flip);
    json.put("pairs", pairs);
    json.put("photos", photos);
    json.put("faces", faces);
    json.put("fallbacks", fallbacks);
    json.put("rejected", rejected);
    json.put("seconds", seconds);
    json.put("accuracy_mean", result.meanAccuracy());
    json.put("accuracy_std", result.stdAccuracy());
    json.put("best_threshold", result.bestThreshold());
    json.put("tar_at_far_1e-3", result.tarAtFar1e3());
    json.put("threshold_at_far_1e-3", result.thresholdAtFar1e3());
    json.put("folds", result.folds());
    List<Map<String, Double>> roc = new ArrayList<>();
    int step = Math.max(1, result.roc().size() / 500);
    for (int i = 0; i < result.roc().size(); i += step) {
      Verification.RocPoint p = result.roc().get(i);
      roc.add(Map.of(
          "threshold", Double.isInfinite(p.threshold()) ? 1.0 : p.threshold(),
          "far", p.far(), "tar", p.tar()));
    }
    json.put("roc", roc);
    if (file.getParent() != null) {
      Files.createDirectories(file.getParent());
    }
    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(file.toFile(), json);
  }
}
