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
  private Producer<String, byte[]> producer;

  AuditTopic(String bootstrap, String topic) {
    this.bootstrap = bootstrap;
    this.topic = topic;
  }

  @Override
  public synchronized void record(String keyId, String action, String target, String detail) throws Exception {
    if (producer == null) {
      KafkaAccess.prepare(bootstrap, topic, 1, 10_000, Map.of("retention.ms", "-1"));
      producer = KafkaAccess.producer(bootstrap, 1 << 20);
    }
    Map<String, Object> event = new LinkedHashMap<>();
    event.put("at", Instant.now().toString());
    event.put("key_id", keyId);
    event.put("action", action);
    event.put("target", target);
    event.put("detail", detail == null ? "" : detail);
    producer.send(new ProducerRecord<>(topic, keyId, JSON.writeValueAsBytes(event))).get();
  }

  @Override
  public synchronized void close() {
    if (producer != null) {
      producer.close();
    }
  }
}
