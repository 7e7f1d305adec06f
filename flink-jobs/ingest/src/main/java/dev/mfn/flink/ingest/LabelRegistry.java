package dev.mfn.flink.ingest;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import dev.mfn.flink.common.KafkaTopics;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The persistent subject -> class label map: a compacted Kafka topic (one partition, key = subject,
 * value = label) that every ingest run reads in full when it starts and appends to, never
 * renumbering. A label is written (and acknowledged) before any sample carries it, so after any
 * crash, restart without state or new run over the same data, a subject keeps its label: the map
 * itself is the state, outside Flink. One ingest job writes a registry at a time.
 */
public final class LabelRegistry implements AutoCloseable {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  private final String topic;
  private final KafkaProducer<String, String> producer;
  private final Map<String, Integer> labels;
  private int next;

  private LabelRegistry(String topic, KafkaProducer<String, String> producer, Map<String, Integer> labels) {
    this.topic = topic;
    this.producer = producer;
    this.labels = labels;
    this.next = labels.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
  }

  /** Creates the topic when missing and reads every label in it. */
  public static LabelRegistry open(String bootstrap, String topic) {
    ensureTopic(bootstrap, topic);
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    KafkaProducer<String, String> producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
    return new LabelRegistry(topic, producer, read(bootstrap, topic));
  }

  /** The subject's label: the registered one, or the next free one, registered first. */
  public synchronized int labelOf(String subject) {
    Integer label = labels.get(subject);
    if (label != null) {
      return label;
    }
    int assigned = next;
    try {
      producer.send(new ProducerRecord<>(topic, subject, Integer.toString(assigned))).get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while registering the label of " + subject, e);
    } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("could not register the label of " + subject + " in " + topic, e);
    }
    labels.put(subject, assigned);
    next = assigned + 1;
    return assigned;
  }

  @Override
  public void close() {
    producer.close(Duration.ofSeconds(5));
  }

  /** Every subject -> label in the topic (the last value per key, as compaction keeps). */
  public static Map<String, Integer> read(String bootstrap, String topic) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    Map<String, Integer> labels = new HashMap<>();
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer())) {
      List<TopicPartition> partitions =
          consumer.partitionsFor(topic, TIMEOUT).stream().map(i -> new TopicPartition(topic, i.partition())).toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions, TIMEOUT);
      long deadline = System.nanoTime() + TIMEOUT.toNanos();
      while (partitions.stream().anyMatch(tp -> consumer.position(tp, TIMEOUT) < end.get(tp))) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("could not read the label registry " + topic + " within " + TIMEOUT);
        }
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
          if (r.key() != null && r.value() != null) {
            labels.put(r.key(), Integer.parseInt(r.value()));
          }
        }
      }
    }
    Map<Integer, String> owner = new HashMap<>();
    labels.forEach((subject, label) -> {
      String other = owner.putIfAbsent(label, subject);
      if (other != null) {
        throw new IllegalStateException("label registry " + topic + " gives label " + label + " to both "
            + other + " and " + subject + " (two jobs wrote it at once?)");
      }
    });
    return labels;
  }

  private static void ensureTopic(String bootstrap, String topic) {
    KafkaTopics.ensure(bootstrap, topic, 1, Map.of("cleanup.policy", "compact", "retention.ms", "-1"));
  }

}
