package dev.mfn.flink.common;

import dev.mfn.records.DeadLetter;
import dev.mfn.records.kafka.AvroSerde;
import java.nio.charset.StandardCharsets;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.kafka.clients.producer.ProducerRecord;

/** The Kafka sink of the dead-letter topic (images.dlq by default). */
public final class DeadLetterSink {
  private DeadLetterSink() {}

  /**
   * At-least-once: a dead letter is never lost, and a duplicate after a restart is harmless
   * because it carries the original's topic, partition and offset.
   */
  public static KafkaSink<DeadLetter> create(String bootstrap, String topic) {
    return KafkaSink.<DeadLetter>builder()
        .setBootstrapServers(bootstrap)
        .setKafkaProducerConfig(dev.mfn.config.KafkaSecurity.addTo(new java.util.Properties()))
        .setDeliveryGuarantee(DeliveryGuarantee.AT_LEAST_ONCE)
        .setRecordSerializer(new Serializer(topic))
        .build();
  }

  /** Keys each dead letter by its image id (or stage) so one image's rejections stay together. */
  static final class Serializer implements KafkaRecordSerializationSchema<DeadLetter> {
    private final String topic;
    private transient AvroSerde<DeadLetter> serde;

    Serializer(String topic) {
      this.topic = topic;
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(
        DeadLetter letter, KafkaSinkContext context, Long timestamp) {
      if (serde == null) {
        serde = new AvroSerde<>(DeadLetter.class);
      }
      String key = letter.getImageId() != null ? letter.getImageId() : letter.getStage();
      // dated when the job refused it (not when the photo was published): readers that seek by time
      // (the service's dead-letter follower looks 30 minutes back) find recent refusals of old photos
      Long refusedAt = letter.getTimestamp() != null ? Long.valueOf(letter.getTimestamp().toEpochMilli()) : timestamp;
      return new ProducerRecord<>(
          topic, null, refusedAt, key.getBytes(StandardCharsets.UTF_8), serde.encode(letter));
    }
  }
}
