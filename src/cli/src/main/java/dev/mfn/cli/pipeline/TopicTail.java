package dev.mfn.cli.pipeline;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Reads the last records of a small topic, without a consumer group (reading commits nothing and
 * moves no one's offsets), each handed over as it arrives. A topic that does not exist is empty
 * here: it is never created by reading.
 */
final class TopicTail {
  private TopicTail() {}

  /**
   * Hands over up to {@code window} of the newest records (spread over the partitions), within 5 s.
   *
   * @return false when the 5 s ran out before the end of every partition was read
   */
  static boolean read(String bootstrap, String topic, int window, Consumer<ConsumerRecord<String, byte[]>> each) {
    return read(bootstrap, topic, window, Map.of(), each);
  }

  /** The same, with more consumer settings (e.g. larger fetches for records that carry photos). */
  static boolean read(String bootstrap, String topic, int window, Map<String, Object> settings,
      Consumer<ConsumerRecord<String, byte[]>> each) {
    try (KafkaConsumer<String, byte[]> consumer = consumer(bootstrap, settings)) {
      List<TopicPartition> partitions = consumer.partitionsFor(topic, Duration.ofSeconds(5)).stream()
          .map(p -> new TopicPartition(topic, p.partition())).toList();
      if (partitions.isEmpty()) {
        return true;
      }
      consumer.assign(partitions);
      var begin = consumer.beginningOffsets(partitions, Duration.ofSeconds(5));
      var end = consumer.endOffsets(partitions, Duration.ofSeconds(5));
      long perPartition = Math.max(1, window / partitions.size());
      for (TopicPartition tp : partitions) {
        consumer.seek(tp, Math.max(begin.get(tp), end.get(tp) - perPartition));
      }
      long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
      while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
        if (System.nanoTime() >= deadline) {
          return false;
        }
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          if (r.offset() < end.get(new TopicPartition(topic, r.partition()))) {
            each.accept(r);
          }
        }
      }
      return true;
    }
  }

  /**
   * A consumer without a group that never creates a topic, whose calls give up after 5 s, with
   * these settings on top.
   */
  static KafkaConsumer<String, byte[]> consumer(String bootstrap, Map<String, Object> settings) {
    Map<String, Object> config = new java.util.HashMap<>(Map.of(
        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
        ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class,
        ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class,
        ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
        ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false,
        ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5_000,
        ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, 3_000));
    config.putAll(settings);
    return new KafkaConsumer<>(dev.mfn.config.KafkaSecurity.with(config));
  }
}
