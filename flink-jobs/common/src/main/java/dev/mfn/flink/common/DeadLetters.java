package dev.mfn.flink.common;

import dev.mfn.face.RejectReason;
import dev.mfn.records.DeadLetter;
import dev.mfn.records.RawImage;
import dev.mfn.records.kafka.AvroSerde;
import java.nio.ByteBuffer;
import java.time.Instant;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/** Builds DeadLetter records that keep everything needed to find and replay the original. */
public final class DeadLetters {
  /** Originals larger than this are referenced by topic/partition/offset instead of copied. */
  static final int MAX_CARRIED_BYTES = 900 * 1024;

  private DeadLetters() {}

  /** A Kafka record that could not be used, with its coordinates and (when small) its bytes. */
  public static DeadLetter fromKafkaRecord(
      String job, String stage, String reason, String message, ConsumerRecord<byte[], byte[]> r) {
    byte[] value = r.value();
    boolean carry = value != null && value.length <= MAX_CARRIED_BYTES;
    return DeadLetter.newBuilder()
        .setJob(job)
        .setStage(stage)
        .setReason(reason)
        .setMessage(message == null ? "" : message)
        .setOriginalTopic(r.topic())
        .setOriginalPartition(r.partition())
        .setOriginalOffset(r.offset())
        .setOriginalKey(r.key() == null ? null : ByteBuffer.wrap(r.key()))
        .setOriginal(carry ? ByteBuffer.wrap(value) : null)
        .setOriginalUri(
            carry ? null : "kafka://" + r.topic() + "/" + r.partition() + "/" + r.offset())
        .setTimestamp(Instant.now())
        .build();
  }

  /**
   * A decoded RawImage that a stage refused: the record itself when small, else its URI (the
   * photo lives outside the record anyway).
   */
  public static DeadLetter forImage(
      String job, String topic, RawImage image, RejectReason reason, String message, AvroSerde<RawImage> serde) {
    byte[] original = serde.encode(image);
    boolean carry = original.length <= MAX_CARRIED_BYTES;
    return DeadLetter.newBuilder()
        .setJob(job)
        .setStage(reason.stage())
        .setReason(reason.name())
        .setMessage(message == null ? "" : message)
        .setImageId(image.getId())
        .setSubject(image.getSubject())
        .setOriginalTopic(topic)
        .setOriginal(carry ? ByteBuffer.wrap(original) : null)
        .setOriginalUri(carry ? null : image.getUri())
        .setTimestamp(Instant.now())
        .build();
  }
}
