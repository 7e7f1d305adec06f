package dev.mfn.cli.pipeline;

import dev.mfn.records.DeadLetter;
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
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * The tail of the dead-letter topic: the last {@code window} records of each partition, counted by
 * reason, and the newest few as examples (subject, reason, message, stage, whether a photo came
 * with it). Read with an assigned consumer and no group: looking commits nothing and moves no one.
 */
public final class RecentDeadLetters {
  private static final AvroSerde<DeadLetter> SERDE = new AvroSerde<>(DeadLetter.class);
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

  public Map<String, Object> summary() throws Exception {
    List<ConsumerRecord<String, byte[]>> records = tail();
    Map<String, Long> byReason = new TreeMap<>();
    List<Map<String, Object>> recent = new ArrayList<>();
    int undecodable = 0;
    records.sort(Comparator.comparingLong((ConsumerRecord<String, byte[]> r) -> r.timestamp()).reversed());
    for (ConsumerRecord<String, byte[]> r : records) {
      DeadLetter d;
      try {
        d = SERDE.decode(r.value());
      } catch (RuntimeException e) {
        undecodable++;
        byReason.merge("(not a DeadLetter record)", 1L, Long::sum);
        continue;
      }
      byReason.merge(d.getReason(), 1L, Long::sum);
      if (recent.size() < examples) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("partition", r.partition());
        e.put("offset", r.offset());
        e.put("time", d.getTimestamp() == null ? null : d.getTimestamp().toString());
        e.put("subject", d.getSubject());
        e.put("reason", d.getReason());
        e.put("message", d.getMessage());
        e.put("stage", d.getStage());
        e.put("image_id", d.getImageId());
        e.put("has_photo", d.getOriginal() != null && d.getOriginal().remaining() > 0);
        recent.add(e);
      }
    }
    Map<String, Object> summary = new LinkedHashMap<>();
    summary.put("topic", topic);
    summary.put("scanned", records.size());
    summary.put("by_reason", byReason);
    summary.put("recent", recent);
    if (undecodable > 0) {
      summary.put("undecodable", undecodable);
    }
    return summary;
  }

  /** The photo bytes of the dead letter at this partition and offset, when it carries one. */
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
            DeadLetter d = SERDE.decode(r.value());
            if (d.getOriginal() == null) {
              return Optional.empty();
            }
            var bytes = d.getOriginal().duplicate();
            byte[] photo = new byte[bytes.remaining()];
            bytes.get(photo);
            return Optional.of(photo);
          }
          if (r.offset() > offset) {
            return Optional.empty(); // compacted or deleted away
          }
        }
      }
      return Optional.empty();
    }
  }

  private List<ConsumerRecord<String, byte[]>> tail() {
    List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
    try (KafkaConsumer<String, byte[]> consumer = consumer()) {
      var partitions = consumer.partitionsFor(topic, Duration.ofSeconds(5)).stream()
          .map(p -> new TopicPartition(topic, p.partition())).toList();
      if (partitions.isEmpty()) {
        return records;
      }
      consumer.assign(partitions);
      var begin = consumer.beginningOffsets(partitions, Duration.ofSeconds(5));
      var end = consumer.endOffsets(partitions, Duration.ofSeconds(5));
      for (TopicPartition tp : partitions) {
        consumer.seek(tp, Math.max(begin.get(tp), end.get(tp) - window));
      }
      long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
      while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp)) && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          if (r.offset() < end.get(new TopicPartition(topic, r.partition()))) {
            records.add(r);
          }
        }
      }
    }
    return records;
  }

  private KafkaConsumer<String, byte[]> consumer() {
    Map<String, Object> config = Map.of(
        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
        ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class,
        ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class,
        ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
        ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 16 * 1024 * 1024,
        ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5_000,
        ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, 3_000);
    return new KafkaConsumer<>(dev.mfn.config.KafkaSecurity.with(config));
  }
}
