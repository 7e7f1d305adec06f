package dev.mfn.cli.pipeline;

import dev.mfn.records.DeadLetter;
import dev.mfn.records.RawImage;
import dev.mfn.records.kafka.AvroSerde;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

/**
 * The tail of the dead-letter topic: the last {@code window} records (spread over its partitions), counted by
 * reason, and the newest few as examples (subject, reason, message, stage, whether a photo came
 * with it). Read with an assigned consumer and no group: looking commits nothing and moves no one.
 */
public final class RecentDeadLetters {
  private static final AvroSerde<DeadLetter> SERDE = new AvroSerde<>(DeadLetter.class);
  private static final AvroSerde<RawImage> IMAGES = new AvroSerde<>(RawImage.class);
  private final String bootstrap;
  private final String topic;
  private final int window;
  private final int examples;

  public RecentDeadLetters(String bootstrap, String topic, int window, int examples) {
    this.bootstrap = bootstrap;
    this.topic = topic;
    this.window = window;
    this.examples = examples;
  }

  /** One dead letter as the page lists it: small fields only, never the photo's bytes. */
  private record Seen(int partition, long offset, long timestamp, DeadLetter letter, boolean hasPhoto) {}

  public Map<String, Object> summary() throws Exception {
    List<Seen> seen = new ArrayList<>();
    int undecodable = tail(seen);
    Map<String, Long> byReason = new TreeMap<>();
    if (undecodable > 0) {
      byReason.put("(not a DeadLetter record)", (long) undecodable);
    }
    seen.sort(Comparator.comparingLong(Seen::timestamp).reversed()); // when refused (the letter's own time)
    List<Map<String, Object>> recent = new ArrayList<>();
    for (Seen s : seen) {
      DeadLetter d = s.letter();
      byReason.merge(d.getReason(), 1L, Long::sum);
      if (recent.size() < examples) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("partition", s.partition());
        e.put("offset", s.offset());
        e.put("time", d.getTimestamp() == null ? null : d.getTimestamp().toString());
        e.put("subject", d.getSubject());
        e.put("reason", d.getReason());
        e.put("message", d.getMessage());
        e.put("stage", d.getStage());
        e.put("image_id", d.getImageId());
        e.put("has_photo", s.hasPhoto());
        recent.add(e);
      }
    }
    Map<String, Object> summary = new LinkedHashMap<>();
    summary.put("topic", topic);
    summary.put("scanned", seen.size() + undecodable);
    summary.put("by_reason", byReason);
    summary.put("recent", recent);
    if (undecodable > 0) {
      summary.put("undecodable", undecodable);
    }
    if (partial) {
      summary.put("partial", true);
    }
    return summary;
  }

  /**
   * The photo of the dead letter at this partition and offset, when it carries one: the jobs put
   * the refused record itself in {@code original} (a serialized RawImage, whose {@code data} is the
   * photo when it travelled inline); a record that was not a RawImage at all is returned as it is
   * (the thumbnail then says whether it decodes as an image).
   */
  public Optional<byte[]> photo(int partition, long offset) throws Exception {
    try (KafkaConsumer<String, byte[]> consumer = consumer()) {
      TopicPartition tp = new TopicPartition(topic, partition);
      if (consumer.partitionsFor(topic, Duration.ofSeconds(5)).stream().noneMatch(p -> p.partition() == partition)) {
        return Optional.empty();
      }
      consumer.assign(List.of(tp));
      long end = consumer.endOffsets(List.of(tp), Duration.ofSeconds(5)).get(tp);
      if (offset < 0 || offset >= end) {
        return Optional.empty();
      }
      consumer.seek(tp, offset);
      long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
      while (System.nanoTime() < deadline) {
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          if (r.offset() == offset) {
            return photoOf(SERDE.decode(r.value()));
          }
          if (r.offset() > offset) {
            return Optional.empty(); // compacted or deleted away
          }
        }
      }
      return Optional.empty();
    }
  }

  /** Whether {@link #photoOf} would find a photo, without copying it. */
  static boolean carriesPhoto(DeadLetter d) {
    if (d.getOriginal() == null || d.getOriginal().remaining() == 0) {
      return false;
    }
    try {
      RawImage image = IMAGES.decode(bytes(d.getOriginal()));
      return image.getData() != null && image.getData().remaining() > 0;
    } catch (RuntimeException notARawImage) {
      return true;
    }
  }

  static Optional<byte[]> photoOf(DeadLetter d) {
    if (d.getOriginal() == null || d.getOriginal().remaining() == 0) {
      return Optional.empty();
    }
    byte[] original = bytes(d.getOriginal());
    try {
      RawImage image = IMAGES.decode(original);
      return image.getData() == null ? Optional.empty() : Optional.of(bytes(image.getData()));
    } catch (RuntimeException notARawImage) {
      return Optional.of(original); // the raw record value of something that was never a RawImage
    }
  }

  private static byte[] bytes(java.nio.ByteBuffer buffer) {
    var b = buffer.duplicate();
    byte[] out = new byte[b.remaining()];
    b.get(out);
    return out;
  }

  /**
   * Reads the last {@code window} records of the topic (spread over its partitions), decoding each
   * as it arrives and keeping only what the page shows: the photos in them are never held.
   * Returns how many were not DeadLetter records.
   */
  /** Whether the last tail ran out of time before the end of the topic (its counts are partial). */
  private volatile boolean partial;

  private int tail(List<Seen> seen) {
    int[] undecodable = {0};
    partial = !TopicTail.read(bootstrap, topic, window, FETCH, r -> {
      try {
        DeadLetter d = SERDE.decode(r.value());
        boolean hasPhoto = carriesPhoto(d);
        d.setOriginal(null); // the page never needs the bytes: do not keep them
        d.setOriginalKey(null);
        long refusedAt = d.getTimestamp() != null ? d.getTimestamp().toEpochMilli() : r.timestamp();
        seen.add(new Seen(r.partition(), r.offset(), refusedAt, d, hasPhoto));
      } catch (RuntimeException e) {
        undecodable[0]++;
      }
    });
    return undecodable[0];
  }

  /** A fetch holds at most this much (dead letters can carry photos of a few MB). */
  private static final Map<String, Object> FETCH = Map.of(
      ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 8 * 1024 * 1024,
      ConsumerConfig.FETCH_MAX_BYTES_CONFIG, 16 * 1024 * 1024);

  private KafkaConsumer<String, byte[]> consumer() {
    return TopicTail.consumer(bootstrap, FETCH);
  }
}
