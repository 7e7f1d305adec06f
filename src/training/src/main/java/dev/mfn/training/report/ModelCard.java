package dev.mfn.training.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mfn.evaluate.VerificationReport;
import dev.mfn.model.store.ModelConfig;
import dev.mfn.training.TrainingOptions;
import dev.mfn.training.loader.CropJitter;
import dev.mfn.training.TrainingResult;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * {@code model-card.json} and {@code model-card.md}: what the model was trained on, how, for how
 * long, and how well it verifies faces, with the threshold to use. Written from facts the run
 * measured, never typed in.
 */
public final class ModelCard {
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private ModelCard() {}

  /** Facts about the machine and the run that are not in the training result. */
  public record Context(
      String created, String machine, String command, long peakMemoryBytes, long trainableParameters,
      JsonNode shardTotals, int identities) {}

  public static ObjectNode json(
      ModelConfig config, TrainingOptions options, TrainingResult result, List<VerificationReport> reports,
      Context context) {
    ObjectNode card = JSON.createObjectNode();
    card.put("model", config.version());
    card.put("model_id", config.id()); // what names its index and its model events
    card.put("architecture", "MobileFaceNet (Chen et al. 2018), 112x112 BGR in, 128-d out");
    card.put("trainable_parameters", context.trainableParameters());
    card.put("created", context.created());
    card.put("command", context.command());
    ObjectNode data = card.putObject("data");
    data.put("shards", options.shards().toString());
    data.put("identities", context.identities());
    data.set("totals", context.shardTotals());
    ObjectNode training = card.putObject("training");
    training.put("epochs", result.state().epoch());
    training.put("steps", result.state().step());
    training.put("images", result.state().images());
    training.put("seconds", Math.round(result.state().trainingSeconds()));
    training.put("images_per_s", round(result.imagesPerSecond(), 1));
    training.put("phase_at_end", result.state().phase().name());
    training.put("arcface_from_epoch", result.state().arcFaceStartEpoch());
    training.put("batch_size", options.batchSize());
    training.put("learning_rate", human(options.learningRate()));
    training.put("momentum", human(options.momentum()));
    training.put("weight_decay_body", human(options.bodyDecay()));
    training.put("weight_decay_head", human(options.headDecay()));
    training.put("weight_decay_groups", "body: convolutions before the global operator; head: GDConv, the 1x1 to 128,"
        + " the classifier; none: BatchNorm gamma/beta, PReLU slopes, biases");
    training.put("arcface_scale", human(options.scaleFor(result.state().classes())));
    training.put("arcface_scale_rule", options.scale() == null ? "auto: min(64, 4 * sqrt(2) * ln(C - 1))" : "--scale");
    training.put("arcface_margin", human(options.margin()));
    if (options.cosMargin() != null) {
      training.put("cosine_margin", human(options.cosMargin())); // CosFace's m3, after the angular margin
    }
    if (options.averageDecay() != null) {
      training.put("weight_average_decay", options.averageDecay());
      // below step (10d - 1) / (1 - d) the warm-up, not d, decides the average
      training.put("weight_average_final_decay",
          round(dev.mfn.training.optim.WeightAverage.decayAt(options.averageDecay(), result.state().step()), 4));
    }
    CropJitter jitter = dev.mfn.training.FaceTrainer.cropJitter(options);
    if (jitter.isOn() || jitter.fillOutside()) {
      training.put("crop_jitter", "on the fly: " + jitter.describe());
    }
    if (options.jitterStrength() != null) {
      training.put("crop_jitter_strength", human(options.jitterStrength().floatValue()));
    }
    if (options.clipGrad() != null) {
      training.put("gradient_clip_norm", human(options.clipGrad()));
    }
    if (options.labelSmoothing() != null) {
      training.put("label_smoothing", human(options.labelSmoothing()));
    }
    if (options.dropout() != null) {
      training.put("dropout_before_embedding", human(options.dropout()));
    }
    training.put("device", options.device());
    training.put("machine", context.machine());
    training.put("peak_memory_mb", context.peakMemoryBytes() / (1024 * 1024));
    training.put("records_skipped_by_loader", result.skippedRecords());
    if (result.validation() != null) {
      training.put("validation_loss", round(result.validation().loss(), 4));
      training.put("validation_accuracy", round(result.validation().accuracy(), 4));
    }
    ArrayNode evaluations = card.putArray("verification");
    for (VerificationReport r : reports) {
      ObjectNode e = evaluations.addObject();
      e.put("dataset", r.dataset());
      e.put("pairs", r.pairs());
      e.put("accuracy", round(r.result().meanAccuracy(), 5));
      e.put("accuracy_std", round(r.result().stdAccuracy(), 5));
      e.put("best_threshold", round(r.result().bestThreshold(), 4));
      e.put("tar_at_far_1e-3", round(r.result().tarAtFar1e3(), 4));
      e.put("threshold_at_far_1e-3", round(r.result().thresholdAtFar1e3(), 4));
      e.put("photos_without_face", r.fallbacks());
    }
    if (config.threshold() != null) {
      card.put("threshold", round(config.threshold(), 4));
      card.put("threshold_source", reports.isEmpty() ? "" : reports.get(0).dataset() + " 10-fold best threshold");
    }
    if (config.thresholdAtFar() != null) {
      card.put("threshold_far", round(config.thresholdAtFar(), 4));
      card.put("target_far", config.targetFar());
    }
    return card;
  }

  public static void write(Path folder, ObjectNode card) throws IOException {
    JSON.writeValue(folder.resolve("model-card.json").toFile(), card);
    Files.writeString(folder.resolve("model-card.md"), markdown(card), StandardCharsets.UTF_8);
  }

  static String markdown(JsonNode c) {
    StringBuilder md = new StringBuilder();
    JsonNode t = c.path("training");
    md.append("# Model card: ").append(c.path("model").asText()).append("\n\n");
    md.append(c.path("architecture").asText()).append(", ")
        .append(String.format(Locale.ROOT, "%,d", c.path("trainable_parameters").asLong()))
        .append(" trainable parameters. Created ").append(c.path("created").asText()).append(".\n\n");
    md.append("## Data\n\n");
    md.append("- shards: `").append(c.path("data").path("shards").asText()).append("`\n");
    md.append("- identities: ").append(c.path("data").path("identities").asInt()).append("\n");
    JsonNode totals = c.path("data").path("totals");
    md.append("- samples: ").append(totals.path("train_samples").asLong()).append(" training, ")
        .append(totals.path("validation_samples").asLong()).append(" validation (from ")
        .append(totals.path("photos_kept").asLong()).append(" photos)\n\n");
    md.append("## Training\n\n");
    md.append("| | |\n|---|---|\n");
    row(md, "epochs / steps", t.path("epochs").asInt() + " / " + t.path("steps").asLong());
    int arcFrom = t.path("arcface_from_epoch").asInt();
    row(md, "phases", arcFrom < 0
        ? "softmax only (the run ended before the ArcFace phase)"
        : "softmax for " + arcFrom + " epoch(s), then " + marginLoss(t) + " from epoch " + (arcFrom + 1));
    row(md, "images seen", String.valueOf(t.path("images").asLong()));
    row(md, "time", t.path("seconds").asLong() / 60 + " min " + t.path("seconds").asLong() % 60 + " s");
    row(md, "speed", t.path("images_per_s").asDouble() + " img/s on " + t.path("device").asText()
        + " (" + t.path("machine").asText() + ")");
    row(md, "batch, lr, momentum", t.path("batch_size").asInt() + ", " + number(t.path("learning_rate"))
        + ", " + number(t.path("momentum")));
    row(md, "weight decay body / head", number(t.path("weight_decay_body")) + " / " + number(t.path("weight_decay_head"))
        + " (head: GDConv, 1x1 to 128, classifier; none on BatchNorm, PReLU, biases)");
    if (t.has("crop_jitter")) {
      row(md, "crop jitter", t.path("crop_jitter").asText());
    }
    if (t.has("dropout_before_embedding")) {
      row(md, "dropout before the embedding (training)", number(t.path("dropout_before_embedding")));
    }
    if (t.has("label_smoothing")) {
      row(md, "label smoothing (both phases)", number(t.path("label_smoothing")));
    }
    if (t.has("gradient_clip_norm")) {
      row(md, "gradient clipped to norm", number(t.path("gradient_clip_norm")));
    }
    if (t.has("weight_average_decay")) {
      row(md, "weights", "exponential moving average, decay " + number(t.path("weight_average_decay"))
          + " warmed up as min(d, (1 + t) / (10 + t)): " + number(t.path("weight_average_final_decay"))
          + " at the last step");
    }
    row(md, "peak memory", t.path("peak_memory_mb").asLong() + " MB");
    if (t.has("validation_accuracy")) {
      row(md, t.has("weight_average_decay")
          ? "validation (closed set; the averaged body through the last step's classifier)"
          : "validation (closed set)", "accuracy " + t.path("validation_accuracy").asDouble()
          + ", loss " + t.path("validation_loss").asDouble());
    }
    md.append("\n## Verification (10-fold)\n\n");
    if (c.path("verification").isEmpty()) {
      md.append("Not evaluated (no pairs set was given).\n");
    } else {
      md.append("| dataset | accuracy | best threshold | TAR @ FAR=1e-3 |\n|---|---|---|---|\n");
      for (JsonNode e : c.path("verification")) {
        md.append(String.format(Locale.ROOT, "| %s | %.2f%% +- %.2f | %.4f | %.4f |%n",
            e.path("dataset").asText(), 100 * e.path("accuracy").asDouble(),
            100 * e.path("accuracy_std").asDouble(), e.path("best_threshold").asDouble(),
            e.path("tar_at_far_1e-3").asDouble()));
      }
    }
    if (c.has("threshold")) {
      md.append("\nThreshold for 1:1 verification: cosine similarity >= ")
          .append(c.path("threshold").asDouble()).append(" (").append(c.path("threshold_source").asText()).append(").\n");
    }
    if (c.has("threshold_far")) {
      md.append("\nThreshold for \"unknown\" in 1:N search: cosine similarity >= ").append(c.path("threshold_far").asDouble())
          .append(" (false-accept rate ").append(c.path("target_far").asDouble())
          .append(" on the evaluation's impostor pairs; false matches grow with the gallery, so search is stricter than 1:1).\n");
    }
    md.append("\nPlots: `plots/`. Metrics per step: `metrics.jsonl`.\n\nCommand:\n\n    ")
        .append(c.path("command").asText()).append("\n");
    return md.toString();
  }

  /**
   * The margin loss with its usual name and margins: "ArcFace (s=33, m=0.5)", "CosFace (s=33,
   * m=0.35)" (no angular margin) or "combined margin (s=33, m2=0.3, m3=0.2)" (both).
   */
  private static String marginLoss(JsonNode training) {
    String s = "s=" + number(training.path("arcface_scale"));
    String angular = number(training.path("arcface_margin"));
    if (!training.has("cosine_margin")) {
      return "ArcFace (" + s + ", m=" + angular + ")";
    }
    String cosine = number(training.path("cosine_margin"));
    return training.path("arcface_margin").asDouble() == 0
        ? "CosFace (" + s + ", m=" + cosine + ")"
        : "combined margin (" + s + ", m2=" + angular + ", m3=" + cosine + ")";
  }

  private static void row(StringBuilder md, String key, String value) {
    md.append("| ").append(key).append(" | ").append(value).append(" |\n");
  }

  /**
   * A float as people write it: the double whose shortest decimal form is the float's (0.05, not
   * the 0.05000000074505806 that widening the float to a double gives; 4.0E-4, not 3.9999998989515007E-4).
   */
  static double human(float v) {
    return Double.parseDouble(Float.toString(v));
  }

  /** {@link #human(float)} of an optional value; null (not set, e.g. chosen by the trainer) stays null. */
  static Double human(Float v) {
    return v == null ? null : human(v.floatValue());
  }

  /**
   * A number of the card for the Markdown card, in the same shortest form as in the JSON card
   * (a double read back from the JSON prints as it was written); "auto" where the value is null.
   */
  static String number(JsonNode v) {
    // plain decimals: 0.0004 rather than Java's 4.0E-4, 64 rather than 64.0
    return v.isNumber() ? java.math.BigDecimal.valueOf(v.asDouble()).stripTrailingZeros().toPlainString() : "auto";
  }

  private static double round(double v, int digits) {
    double f = Math.pow(10, digits);
    return Math.round(v * f) / f;
  }
}
