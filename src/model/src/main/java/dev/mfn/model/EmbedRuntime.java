package dev.mfn.model;

import dev.mfn.config.MfnSettings;
import java.util.Locale;

/**
 * Which runtime runs a model-store version, and with how many threads. {@code auto} (the default)
 * serves the version's {@code model.onnx} with ONNX Runtime when it has a current one, else the
 * parameters with DJL's PyTorch engine; {@code pytorch} always takes the parameters (for comparing);
 * {@code onnx} refuses a version without a usable export. Settings {@code model.runtime} and
 * {@code onnx.threads} (0: ONNX Runtime's own choice, one thread per core).
 */
public record EmbedRuntime(Choice choice, int threads) {
  public enum Choice {
    AUTO,
    ONNX,
    PYTORCH
  }

  public static final EmbedRuntime AUTO = new EmbedRuntime(Choice.AUTO, 0);

  public static EmbedRuntime fromSettings(MfnSettings settings) {
    String value = settings.get("model.runtime").trim().toUpperCase(Locale.ROOT);
    Choice choice;
    try {
      choice = Choice.valueOf(value.isEmpty() ? "AUTO" : value);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("model.runtime must be auto, onnx or pytorch, not '" + value.toLowerCase(Locale.ROOT) + "'");
    }
    return new EmbedRuntime(choice, Integer.parseInt(settings.get("onnx.threads").trim()));
  }

  public EmbedRuntime withChoice(Choice other) {
    return new EmbedRuntime(other, threads);
  }
}
