package dev.mfn.cli;

import dev.mfn.publish.KafkaAccess;
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
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The dead letters of photos from one enroll topic, as they arrive, remembered by image id (the
 * last {@value #REMEMBERED}): how GET /enroll/{id} learns that the embed job refused a photo, and
 * why. One thread, one consumer assigned every partition of the dead-letter topic without a group
 * (reading commits nothing and moves no one's offsets), starting at the end: what was refused
 * before this service started is not what its callers ask about. The topic is shared by every
 * job, so only letters whose original came from the enroll topic are kept. A broker that does not
 * answer is tried again every 10 s; the service meanwhile answers "waiting".
 */
final class DeadLetterFollower implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(DeadLetterFollower.class);
  static final int REMEMBERED = 10_000;
  private static final AvroSerde<DeadLetter> SERDE = new AvroSerde<>(DeadLetter.class);
  private final String bootstrap;
  private final String topic;
  private final String enrollTopic;
  private final int partitions;
  /** Access-ordered: the least recently asked-about letter goes first. Guarded by itself. */
  private final Map<String, Enrolment.DeadLetterNote> byImage = new LinkedHashMap<>(1024, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Enrolment.DeadLetterNote> eldest) {
      return size() > REMEMBERED;
    }
  };
  /** Where to go on after a failure: no letter is skipped by a reconnect (only the first start seeks the end). */
  private final Map<TopicPartition, Long> resumeAt = new HashMap<>();
  private final CountDownLatch atEnd = new CountDownLatch(1);
  private final Thread thread;
  private volatile boolean closing;
  private volatile KafkaConsumer<byte[], byte[]> consumer;

  /**
   * @param topic the dead-letter topic (created with {@code partitions} partitions when missing)
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

  /** Waits until the consumer stands at the end of every partition: every later letter will be seen. */
  boolean awaitFollowing(Duration timeout) throws InterruptedException {
    return atEnd.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void run() {
    while (!closing) {
      try {
        follow();
      } catch (InterruptedException | org.apache.kafka.common.errors.WakeupException
          | org.apache.kafka.common.errors.InterruptException e) {
        return; // closing
      } catch (Exception e) {
        if (closing) {
          return;
        }
        LOG.warn("following the dead letters on {} at {}: {}; trying again in 10 s", topic, bootstrap, Mfn.oneLine(e));
        try {
          Thread.sleep(10_000);
        } catch (InterruptedException stop) {
          return;
        }
      }
    }
  }

  private void follow() throws Exception {
    KafkaAccess.prepare(bootstrap, topic, partitions, 10_000);
    Map<String, Object> config = Map.of(
        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
        ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
        ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class,
        ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(dev.mfn.config.KafkaSecurity.with(config))) {
      consumer = c;
      if (closing) {
        return; // close() ran before the consumer could be woken
      }
      List<TopicPartition> all = c.partitionsFor(topic, Duration.ofSeconds(30)).stream()
          .map(p -> new TopicPartition(topic, p.partition())).toList();
      c.assign(all);
      for (TopicPartition tp : all) {
        Long next = resumeAt.get(tp);
        if (next == null) {
          c.seekToEnd(List.of(tp));
          resumeAt.put(tp, c.position(tp)); // resolved now, not at the first poll: nothing refused from here on is missed
        } else {
          c.seek(tp, next);
        }
      }
      atEnd.countDown();
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
      byImage.put(letter.getImageId(), new Enrolment.DeadLetterNote(letter.getReason(), letter.getMessage()));
    }
  }

  @Override
  public void close() {
    closing = true;
    KafkaConsumer<byte[], byte[]> c = consumer;
    if (c != null) {
      c.wakeup(); // the one thread-safe call: ends a poll in progress
    }
    thread.interrupt(); // ends a wait between attempts, or a broker check
    try {
      thread.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
