package dev.mfn.cli;

import dev.mfn.evaluate.VerificationReport;
import dev.mfn.model.store.ModelConfig;
import dev.mfn.publish.KafkaAccess;
import dev.mfn.records.ModelEvent;
import dev.mfn.records.ModelEventKind;
import dev.mfn.records.kafka.AvroSerde;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;

/** Sends a ModelEvent for a new model-store version to the models topic (the embed job follows it). */
final class ModelAnnouncer {
  private ModelAnnouncer() {}

  static ModelEvent event(Path run, ModelConfig config, List<VerificationReport> reports) {
    Map<String, Double> metrics = new LinkedHashMap<>();
    for (VerificationReport r : reports) {
      String key = r.dataset().toLowerCase(Locale.ROOT).replace('-', '_');
      metrics.put(key + "_accuracy", r.result().meanAccuracy());
      metrics.put(key + "_tar_at_far_1e-3", r.result().tarAtFar1e3());
    }
    return ModelEvent.newBuilder()
        .setKind(ModelEventKind.PUBLISHED)
        .setModelVersion(config.version())
        .setLocation(run.toAbsolutePath().toUri().toString())
        .setEmbeddingSize(config.embeddingSize())
        .setThreshold(config.threshold())
        .setMetrics(metrics)
        .setModelCardUri(run.resolve("model-card.json").toAbsolutePath().toUri().toString())
        .setParentVersion(config.parent())
        .setTimestamp(Instant.now())
        .build();
  }

  static void announce(
      String bootstrap, String topic, Path run, ModelConfig config, List<VerificationReport> reports, PrintWriter out)
      throws Exception {
    KafkaAccess.prepare(bootstrap, topic, 1, 10_000);
    ModelEvent event = event(run, config, reports);
    try (Producer<String, byte[]> producer = KafkaAccess.producer(bootstrap, 1 << 20)) {
      producer.send(new ProducerRecord<>(topic, config.version(), new AvroSerde<>(ModelEvent.class).encode(event))).get();
    }
    out.printf("announced %s on %s%n", config.version(), topic);
  }
}
