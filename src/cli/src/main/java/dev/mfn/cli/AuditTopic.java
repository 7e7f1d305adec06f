package dev.mfn.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mfn.publish.KafkaAccess;
import dev.mfn.search.serve.AuditTrail;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The audit trail on a Kafka topic (setting {@code topic.audit}, kept without a time limit): one
 * JSON record per enrolment, deletion or retrain request, keyed by the key id, written and
 * acknowledged before the change is made. The producer is made on the first record, so a service
 * that only searches does not need the broker.
 */
final class AuditTopic implements AuditTrail, AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final String bootstrap;
  private final String topic;
  private final java.time.Duration patience;
  private Producer<String, byte[]> producer;

  /** For the service: a write that is not acknowledged within 5 s fails (and the change is refused). */
  AuditTopic(String bootstrap, String topic) {
    this(bootstrap, topic, java.time.Duration.ofSeconds(5));
  }

  AuditTopic(String bootstrap, String topic, java.time.Duration patience) {
    this.bootstrap = bootstrap;
    this.topic = topic;
    this.patience = patience;
  }

  /** The audit record of a command run (key id "cli:USER"), best effort: a line on stderr when it cannot be written. */
  static void recordCli(dev.mfn.config.MfnSettings settings, String bootstrap, String action, String target, String detail,
      java.io.PrintWriter err) {
    try (AuditTopic audit = new AuditTopic(bootstrap, settings.get("topic.audit"), java.time.Duration.ofSeconds(2))) {
      audit.record("cli:" + System.getProperty("user.name"), action, target, detail);
    } catch (Exception e) {
      err.println("mfn: audit record not written to " + settings.get("topic.audit") + " at " + bootstrap
          + " (" + Mfn.oneLine(e) + "); continuing");
    }
  }

  @Override
  public synchronized void record(String keyId, String action, String target, String detail) throws Exception {
    if (producer == null) {
      KafkaAccess.prepare(bootstrap, topic, 1, patience.toMillis(), Map.of("retention.ms", "-1"));
      producer = KafkaAccess.producer(bootstrap, 1 << 20, patience);
    }
    Map<String, Object> event = new LinkedHashMap<>();
    event.put("at", Instant.now().toString());
    event.put("key_id", keyId);
    event.put("action", action);
    event.put("target", target);
    event.put("detail", detail == null ? "" : detail);
    producer.send(new ProducerRecord<>(topic, keyId, JSON.writeValueAsBytes(event))).get(patience.toMillis() * 2,
        java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  @Override
  public synchronized void close() {
    if (producer != null) {
      producer.close();
    }
  }
}
