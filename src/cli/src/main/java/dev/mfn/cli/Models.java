package dev.mfn.cli;

import dev.mfn.config.MfnSettings;
import dev.mfn.model.Embedder;
import dev.mfn.model.EmbeddingModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Opens the embedding model a command was given, or the project's default model. */
final class Models {
  static final String HELP =
      "Embedding model: an .onnx file, a model-store version folder (v3) or a whole store (its"
          + " latest version). Default: the committed default model (setting model.default).";

  private Models() {}

  static Path resolve(Path model, MfnSettings settings) throws IOException {
    if (model != null) {
      return model;
    }
    Path fallback = settings.getPath("model.default");
    if (!Files.isDirectory(fallback)) {
      throw new IOException("no --model given and the default model is missing: " + fallback);
    }
    return fallback;
  }

  static Embedder open(Path model, MfnSettings settings) throws IOException {
    return EmbeddingModels.open(resolve(model, settings), dev.mfn.model.EmbedRuntime.fromSettings(settings));
  }

  /**
   * The verification threshold to use: the override when given, else the one the model's
   * evaluation calibrated (config.json of a model-store version).
   */
  static double threshold(Embedder embedder, Double override) {
    if (override != null) {
      return override;
    }
    if (embedder.storeConfig().isPresent() && embedder.storeConfig().get().threshold() != null) {
      return embedder.storeConfig().get().threshold();
    }
    throw new IllegalArgumentException(
        "the model has no calibrated threshold (train it with --lfw, or give --threshold)");
  }

  /** A threshold and where it came from, for the line a command prints. */
  record Threshold(double value, String source) {}

  /**
   * The 1:N "unknown" cutoff: the override, else the model's threshold at its target false-accept
   * rate (false matches grow with the gallery, so the 1:1 best-accuracy threshold is too lenient),
   * else, for a model evaluated before FAR thresholds existed, its 1:1 threshold (and it says so).
   */
  static Threshold searchThreshold(Embedder embedder, Double override) {
    if (override != null) {
      return new Threshold(override, "given");
    }
    var config = embedder.storeConfig().orElse(null);
    if (config != null && config.thresholdAtFar() != null) {
      return new Threshold(config.thresholdAtFar(),
          String.format(java.util.Locale.ROOT, "the model's threshold at FAR %.0e", config.targetFar()));
    }
    return new Threshold(threshold(embedder, null), "the model's 1:1 best-accuracy threshold (no FAR threshold recorded)");
  }

  static String name(Path model, MfnSettings settings) throws IOException {
    return EmbeddingModels.name(resolve(model, settings));
  }
}
