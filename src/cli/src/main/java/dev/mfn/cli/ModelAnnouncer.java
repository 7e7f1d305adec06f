package dev.mfn.cli;

import dev.mfn.evaluate.VerificationReport;
import dev.mfn.flink.embed.ModelEventsTopic;
import dev.mfn.flink.embed.ModelTimeline;
import dev.mfn.model.store.ModelConfig;
import dev.mfn.publish.KafkaAccess;
import dev.mfn.records.ModelEvent;
import dev.mfn.records.ModelEventKind;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The models topic as the CLI sees it: its history (every event, in order), the model it makes
 * serve (the same {@link ModelTimeline} rule the embed job follows), and new events, numbered one
 * above the largest sequence on the topic so that followers apply them and ignore replays.
 */
final class ModelAnnouncer {
  private final String bootstrap;
  private final String topic;

  ModelAnnouncer(String bootstrap, String topic) {
    this.bootstrap = bootstrap;
    this.topic = topic;
  }

  String topic() {
    return topic;
  }

  /** Every decodable event on the topic, oldest first (the topic is created when missing). */
  List<ModelEvent> history() throws Exception {
    KafkaAccess.prepare(bootstrap, topic, 1, 10_000);
    return ModelEventsTopic.events(new ModelEventsTopic(bootstrap, topic).history());
  }

  /** The timeline the topic's events make (checksums as announced). */
  static ModelTimeline timeline(List<ModelEvent> history) {
    ModelTimeline timeline = ModelTimeline.empty();
    for (ModelEvent e : history) {
      timeline.apply(e, ModelTimeline.TRUSTED);
    }
    return timeline;
  }

  /** A PUBLISHED event for a new model-store version, with its metrics and checksum. */
  static ModelEvent published(Path run, ModelConfig config, List<VerificationReport> reports, long sequence, String reason) {
    Map<String, Double> metrics = new LinkedHashMap<>();
    for (VerificationReport r : reports) {
      String key = r.dataset().toLowerCase(Locale.ROOT).replace('-', '_');
      metrics.put(key + "_accuracy", r.result().meanAccuracy());
      metrics.put(key + "_tar_at_far_1e-3", r.result().tarAtFar1e3());
    }
    return ModelEvent.newBuilder()
        .setKind(ModelEventKind.PUBLISHED)
        .setModelVersion(config.id())
        .setLocation(run.toAbsolutePath().toUri().toString())
        .setEmbeddingSize(config.embeddingSize())
        .setThreshold(config.threshold())
        .setMetrics(metrics)
        .setModelCardUri(run.resolve("model-card.json").toAbsolutePath().toUri().toString())
        .setParentVersion(config.parent())
        .setTimestamp(Instant.now())
        .setSequence(sequence)
        .setChecksum(config.checksum())
        .setReason(reason)
        .build();
  }

  /** An event about a version announced before (PROMOTED again, or RETIRED), numbered next. */
  static ModelEvent about(ModelEventKind kind, String version, String location, String checksum, long sequence, String reason) {
    return ModelEvent.newBuilder()
        .setKind(kind)
        .setModelVersion(version)
        .setLocation(location)
        .setTimestamp(Instant.now())
        .setSequence(sequence)
        .setChecksum(checksum)
        .setReason(reason)
        .build();
  }

  /**
   * Sends the event {@code make} builds for the next free sequence number (read just before
   * sending, and checked after: see {@link ModelEventsTopic#append}); returns it as sent.
   */
  ModelEvent append(java.util.function.LongFunction<ModelEvent> make) throws Exception {
    KafkaAccess.prepare(bootstrap, topic, 1, 10_000);
    return new ModelEventsTopic(bootstrap, topic).append(make);
  }
}
