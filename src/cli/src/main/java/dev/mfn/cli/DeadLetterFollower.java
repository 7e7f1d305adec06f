package dev.mfn.cli;

import dev.mfn.records.DeadLetter;
import dev.mfn.records.kafka.AvroSerde;
import dev.mfn.search.serve.Enrolment;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The dead letters of photos from one enroll topic, as they arrive, remembered by image id (the
 * last {@value #REMEMBERED}, least recently asked-about first out): how GET /enroll/{id} learns that
 * the embed job refused a photo, and why. One thread, started with the follower (when the service
 * starts, not on its first enrolment), one consumer assigned every partition of the dead-letter
 * topic without a group (reading commits nothing and moves no one's offsets).
 *
 * <p>It starts {@link #LOOK_BACK} before it was made (Kafka's offsets for that time; the end of a
 * partition with nothing that recent): a letter published shortly before a restart, or while
 * another replica of the service took the photo, is still known, so any replica answers for any
 * photo. The topic is shared by every job, so only letters whose original came from the enroll
 * topic are kept. A broker that does not answer is tried again in the background, after 1 s, then
 * twice as long each time up to 30 s; no request ever waits for it (the service meanwhile answers
 * "waiting"), and a reconnect goes on where the last connection stopped, skipping nothing.
 */
final class DeadLetterFollower implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(DeadLetterFollower.class);
  static final int REMEMBERED = 10_000;
  /** How far back the first connection starts reading. */
  static final Duration LOOK_BACK = Duration.ofMinutes(30);
  private static final long FIRST_RETRY_MILLIS = 1_000;
  private static final long LAST_RETRY_MILLIS = 30_000;
  private static final AvroSerde<DeadLetter> SERDE = new AvroSerde<>(DeadLetter.class);
  private final String bootstrap;
  private final String topic;
  private final String enrollTopic;
  private final int partitions;
  /** When this follower was made: it reads from {@link #LOOK_BACK} before this. */
  private final long startedAt = System.currentTimeMillis();
  /** Access-ordered: the least recently asked-about letter goes first. Guarded by itself. */
  private final Map<String, Enrolment.DeadLetterNote> byImage = new LinkedHashMap<>(1024, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Enrolment.DeadLetterNote> eldest) {
      return size() > REMEMBERED;
    }
  };
  /** Where to go on after a failure (one entry per partition); the follower's thread only. */
  private final Map<TopicPartition, Long> resumeAt = new HashMap<>();
  private final CountDownLatch positioned = new CountDownLatch(1);
  private final Thread thread;
  private volatile boolean closing;
  private volatile KafkaConsumer<byte[], byte[]> consumer;

  /**
   * Starts following at once, on a daemon thread of its own.
   *
   * @param topic the dead-letter topic (waited for when missing, never created here)
   * @param enrollTopic the topic whose photos' letters are kept
   */
  DeadLetterFollower(String bootstrap, String topic, String enrollTopic, int partitions) {
    this.bootstrap = bootstrap;
    this.topic = topic;
    this.enrollTopic = enrollTopic;
    this.partitions = partitions;
    this.thread = new Thread(this::run, "dead-letters-" + topic);
    thread.setDaemon(true);
    thread.start();
  }

  Optional<Enrolment.DeadLetterNote> find(String imageId) {
    synchronized (byImage) {
      return Optional.ofNullable(byImage.get(imageId));
    }
  }

  /**
   * Forgets what was heard of these images: they were just submitted again (their ids are their
   * content's), and a letter about an earlier submission must not stand for this one.
   */
  void forget(List<String> imageIds) {
    synchronized (byImage) {
      imageIds.forEach(byImage::remove);
    }
  }

  /** How many letters are remembered now (at most {@value #REMEMBERED}). */
  int remembered() {
    synchronized (byImage) {
      return byImage.size();
    }
  }

  /**
   * Whether the consumer stood on every partition of the topic at least once within the timeout
   * (for tests and tools; a request never waits for it).
   */
  boolean awaitFollowing(Duration timeout) throws InterruptedException {
    return positioned.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Whether the follower's thread still runs (false once closed). */
  boolean running() {
    return thread.isAlive();
  }

  private void run() {
    long retry = FIRST_RETRY_MILLIS;
    while (!closing) {
      boolean[] connected = {false};
      try {
        follow(connected);
      } catch (InterruptedException | org.apache.kafka.common.errors.WakeupException
          | org.apache.kafka.common.errors.InterruptException e) {
        return; // closing
      } catch (Exception e) {
        if (closing) {
          return;
        }
        if (connected[0]) {
          retry = FIRST_RETRY_MILLIS; // it had worked: a new failure starts the back-off again
        }
        LOG.warn("following the dead letters on {} at {}: {}; trying again in {} s", topic, bootstrap, Mfn.oneLine(e),
            retry / 1000.0);
        try {
          Thread.sleep(retry);
        } catch (InterruptedException stop) {
          return;
        }
        retry = Math.min(2 * retry, LAST_RETRY_MILLIS);
      }
    }
  }

  private void follow(boolean[] connected) throws Exception {
    // the topic is the jobs' (and on Kubernetes Strimzi's, with its partitions and replicas): a
    // reader only waits for it, it never creates it
    Map<String, Object> config = Map.of(
        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
        ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
        ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false,
        ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class,
        ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(dev.mfn.config.KafkaSecurity.with(config))) {
      consumer = c;
      if (closing) {
        return; // close() ran before the consumer could be woken
      }
      List<TopicPartition> all = c.partitionsFor(topic, Duration.ofSeconds(30)).stream()
          .map(p -> new TopicPartition(topic, p.partition())).toList();
      if (all.isEmpty()) {
        throw new IllegalStateException("the topic " + topic + " does not exist yet (the embed job creates it)");
      }
      c.assign(all);
      Map<TopicPartition, Long> since = new HashMap<>();
      for (TopicPartition tp : all) {
        if (!resumeAt.containsKey(tp)) {
          since.put(tp, startedAt - LOOK_BACK.toMillis());
        }
      }
      Map<TopicPartition, OffsetAndTimestamp> fromTime =
          since.isEmpty() ? Map.of() : c.offsetsForTimes(since, Duration.ofSeconds(30));
      for (TopicPartition tp : all) {
        Long next = resumeAt.get(tp);
        if (next == null) {
          OffsetAndTimestamp first = fromTime.get(tp);
          if (first != null) {
            c.seek(tp, first.offset());
          } else {
            c.seekToEnd(List.of(tp)); // nothing that recent: from the end
          }
          resumeAt.put(tp, c.position(tp)); // resolved now: a reconnect goes on from here
        } else {
          c.seek(tp, next);
        }
      }
      connected[0] = true;
      positioned.countDown();
      while (!closing) {
        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
          remember(r.value());
          resumeAt.put(new TopicPartition(r.topic(), r.partition()), r.offset() + 1);
        }
      }
    } finally {
      consumer = null;
    }
  }

  private void remember(byte[] value) {
    DeadLetter letter;
    try {
      letter = SERDE.decode(value);
    } catch (RuntimeException notOne) {
      return; // not a DeadLetter record: nothing an enrolment can be told
    }
    if (letter.getImageId() == null || !enrollTopic.equals(letter.getOriginalTopic())) {
      return;
    }
    synchronized (byImage) {
      byImage.put(letter.getImageId(), new Enrolment.DeadLetterNote(letter.getReason(), letter.getMessage(),
          letter.getTimestamp() == null ? 0 : letter.getTimestamp().toEpochMilli()));
    }
  }

  /**
   * Stops the thread and waits for it: it closes its consumer on the way out (a consumer is closed
   * by the thread that uses it). What was remembered is dropped.
   */
  @Override
  public void close() {
    closing = true;
    KafkaConsumer<byte[], byte[]> c = consumer;
    if (c != null) {
      c.wakeup(); // the one thread-safe call: ends a poll or a metadata wait in progress
    } else {
      thread.interrupt(); // ends a wait between attempts
    }
    try {
      // an interrupt while the consumer closes would log a failed close: only when wakeup was not enough
      thread.join(5_000);
      if (thread.isAlive()) {
        thread.interrupt();
        thread.join(25_000);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (thread.isAlive()) {
      LOG.warn("the dead-letter follower of {} did not stop within 30 s", topic);
    }
    synchronized (byImage) {
      byImage.clear();
    }
  }
}
