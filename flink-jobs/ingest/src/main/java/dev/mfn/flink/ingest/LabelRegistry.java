package dev.mfn.flink.ingest;

import dev.mfn.flink.common.KafkaTopics;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The persistent subject -> class label map: a compacted Kafka topic (one partition, key = subject,
 * value = label) that every ingest run reads in full when it starts and appends to, never
 * renumbering. The map itself is the state, outside Flink: after any crash, restart without state
 * or new run over the same data, a subject keeps its label.
 *
 * <p>One writer at a time, enforced: the producer's transactional id is the topic's, so opening a
 * registry fences every earlier writer (its next commit fails, its job restarts and reads again),
 * and it reads only committed labels. New labels are staged in a transaction and {@link #commit
 * committed} together; no sample may carry a staged label before the commit returns.
 */
public final class LabelRegistry implements AutoCloseable {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  private final String topic;
  private final KafkaProducer<String, String> producer;
  private final Map<String, Integer> labels;
  private final Map<String, Integer> staged = new HashMap<>();
  private int next;

  private LabelRegistry(String topic, KafkaProducer<String, String> producer, Map<String, Integer> labels) {
    this.topic = topic;
    this.producer = producer;
    this.labels = labels;
    this.next = labels.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
  }

  /** Creates the topic when missing, fences earlier writers, and reads every committed label. */
  public static LabelRegistry open(String bootstrap, String topic) {
    KafkaTopics.ensure(bootstrap, topic, 1, Map.of("cleanup.policy", "compact", "retention.ms", "-1"));
    Properties p = new Properties();
    dev.mfn.config.KafkaSecurity.addTo(p);
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "mfn-label-registry-" + topic);
    KafkaProducer<String, String> producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
    producer.initTransactions(); // fences the previous writer and aborts what it left open
    return new LabelRegistry(topic, producer, read(bootstrap, topic));
  }

  /** The subject's committed label, or null. */
  public Integer committed(String subject) {
    return labels.get(subject);
  }

  /** The subject's label: committed, staged, or the next free one, staged now (sent, not committed). */
  public int stage(String subject) {
    Integer label = labels.get(subject);
    if (label == null) {
      label = staged.get(subject);
    }
    if (label != null) {
      return label;
    }
    if (staged.isEmpty()) {
      producer.beginTransaction();
    }
    int assigned = next++;
    staged.put(subject, assigned);
    producer.send(new ProducerRecord<>(topic, subject, Integer.toString(assigned)));
    return assigned;
  }

  /** Commits the staged labels (all or none); afterwards they may be used. */
  public void commit() {
    if (staged.isEmpty()) {
      return;
    }
    try {
      producer.commitTransaction();
    } catch (ProducerFencedException e) {
      throw new IllegalStateException("another ingest job opened the label registry " + topic
          + " (one writer at a time): this one stops and, restarted, reads the labels again", e);
    }
    labels.putAll(staged);
    staged.clear();
  }

  /** The staged count: how many new subjects wait for {@link #commit}. */
  public int stagedCount() {
    return staged.size();
  }

  @Override
  public void close() {
    producer.close(Duration.ofSeconds(5)); // an open transaction is aborted by the broker
  }

  /** Every committed subject -> label in the topic (the last value per key, as compaction keeps). */
  public static Map<String, Integer> read(String bootstrap, String topic) {
    Properties p = new Properties();
    dev.mfn.config.KafkaSecurity.addTo(p);
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
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
            + other + " and " + subject + " (written by hand?)");
      }
    });
    return labels;
  }
}
