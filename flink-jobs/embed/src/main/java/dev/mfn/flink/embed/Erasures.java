package dev.mfn.flink.embed;

import dev.mfn.records.SubjectErasure;
import dev.mfn.records.kafka.AvroSerde;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The tombstones of deleted subjects (the compacted topic subjects.deleted), read from its
 * beginning and followed, as a table in memory: what the embed job (before embedding, and again in
 * the index sink), the migrator and the re-indexer consult so that nothing re-creates an erased
 * person. One reader per topic and JVM, shared by the tasks there.
 *
 * <p>{@link #catchUp} waits until every tombstone written before the call is in the table; the
 * index sink calls it before each write, so a deletion acknowledged by `mfn delete` is seen by
 * every write that starts after it, and {@link #erasedSince} tells the sink which subjects to
 * remove again from what it wrote meanwhile.
 */
public final class Erasures implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Erasures.class);
  private static final Map<String, Erasures> SHARED = new HashMap<>();

  /** No topic: nothing is erased (jobs that do not follow deletions, e.g. benchmarks). */
  static final Erasures NONE = new Erasures();

  private record Entry(boolean active, long deletedAt) {}

  private final String key;
  private final Map<String, Entry> table = new ConcurrentHashMap<>();
  /** Subjects in the order they became erased (again): a cursor per reader of {@link #erasedSince}. */
  private final List<String> activations = new ArrayList<>();
  private final KafkaConsumer<String, byte[]> follower;
  private final KafkaConsumer<String, byte[]> ends;
  private final List<TopicPartition> partitions;
  private final Map<TopicPartition, Long> positions = new ConcurrentHashMap<>();
  private final Thread thread;
  private volatile boolean closing;
  private int users;

  private Erasures() {
    key = null;
    follower = null;
    ends = null;
    partitions = List.of();
    thread = null;
  }

  /** Creates the tombstone topic when missing: one partition, compacted, kept forever. */
  public static void ensureTopic(String bootstrap, String topic) {
    dev.mfn.flink.common.KafkaTopics.ensure(bootstrap, topic, 1, Map.of("cleanup.policy", "compact", "retention.ms", "-1"));
  }

  private Erasures(String bootstrap, String topic) {
    this.key = bootstrap + "|" + topic;
    ensureTopic(bootstrap, topic);
    Map<String, Object> config = Map.of(
        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
        ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class,
        ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    follower = new KafkaConsumer<>(dev.mfn.config.KafkaSecurity.with(config));
    ends = new KafkaConsumer<>(dev.mfn.config.KafkaSecurity.with(config));
    partitions = follower.partitionsFor(topic, Duration.ofSeconds(30)).stream()
        .map(p -> new TopicPartition(topic, p.partition())).toList();
    follower.assign(partitions);
    follower.seekToBeginning(partitions);
    thread = new Thread(this::follow, "erasures-" + topic);
    thread.setDaemon(true);
    thread.start();
  }

  /** The shared reader of the job's tombstone topic (or {@link #NONE}); close it when done. */
  static Erasures forJob(EmbedConfig config) {
    return config.erasures() == null ? NONE : open(config.bootstrap(), config.erasures());
  }

  public static synchronized Erasures open(String bootstrap, String topic) {
    Erasures e = SHARED.computeIfAbsent(bootstrap + "|" + topic, k -> new Erasures(bootstrap, topic));
    e.users++;
    return e;
  }

  private void follow() {
    AvroSerde<SubjectErasure> serde = new AvroSerde<>(SubjectErasure.class);
    try {
      while (!closing) {
        for (ConsumerRecord<String, byte[]> r : follower.poll(Duration.ofMillis(100))) {
          if (r.value() == null) {
            continue; // compaction's own deletion marker: keep what we know (erasure is never undone by loss)
          }
          try {
            SubjectErasure e = serde.decode(r.value());
            Entry before = table.put(e.getSubject(), new Entry(e.getActive(), e.getDeletedAt().toEpochMilli()));
            if (e.getActive() && (before == null || !before.active())) {
              synchronized (activations) {
                activations.add(e.getSubject());
              }
            }
          } catch (RuntimeException bad) {
            LOG.warn("record {} of {} is no SubjectErasure, skipped: {}", r.offset(), r.topic(), bad.toString());
          }
        }
        for (TopicPartition tp : partitions) {
          positions.put(tp, follower.position(tp));
        }
      }
    } catch (org.apache.kafka.common.errors.WakeupException | org.apache.kafka.common.errors.InterruptException e) {
      // closing
    } catch (RuntimeException e) {
      LOG.error("following the tombstones stopped: {}", e.toString(), e);
    } finally {
      follower.close();
    }
  }

  /** Waits until the table holds every tombstone written before this call. */
  public void catchUp(Duration timeout) throws java.io.IOException {
    if (this == NONE) {
      return;
    }
    Map<TopicPartition, Long> end;
    synchronized (ends) {
      end = ends.endOffsets(partitions, timeout);
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    while (partitions.stream().anyMatch(tp -> positions.getOrDefault(tp, 0L) < end.get(tp))) {
      if (!thread.isAlive() || System.nanoTime() > deadline) {
        throw new java.io.IOException("could not read the tombstones of deleted subjects up to now (" + key + ")");
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new java.io.IOException("interrupted while reading the tombstones", e);
      }
    }
  }

  /** True while the subject is erased (a tombstone not cleared by re-enrolment). */
  public boolean erased(String subject) {
    Entry e = subject == null ? null : table.get(subject);
    return e != null && e.active();
  }

  /** True when a photo published at {@code publishedAt} must not be indexed: erased, or older than its deletion. */
  public boolean erased(String subject, long publishedAt) {
    Entry e = subject == null ? null : table.get(subject);
    return e != null && (e.active() || publishedAt <= e.deletedAt());
  }

  /** Every subject erased now (tombstones not cleared by re-enrolment). */
  public List<String> active() {
    List<String> subjects = new ArrayList<>();
    table.forEach((subject, entry) -> {
      if (entry.active()) {
        subjects.add(subject);
      }
    });
    return subjects;
  }

  /** Subjects erased after the first {@code cursor} activations (a reader keeps its cursor). */
  public List<String> erasedSince(int cursor) {
    synchronized (activations) {
      return cursor >= activations.size() ? List.of() : new ArrayList<>(activations.subList(cursor, activations.size()));
    }
  }

  @Override
  public void close() {
    if (this == NONE) {
      return;
    }
    synchronized (Erasures.class) {
      if (--users > 0) {
        return;
      }
      SHARED.remove(key);
    }
    closing = true;
    follower.wakeup();
    try {
      thread.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    synchronized (ends) {
      ends.close();
    }
  }
}
