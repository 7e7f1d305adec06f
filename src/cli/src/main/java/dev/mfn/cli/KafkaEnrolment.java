package dev.mfn.cli;

import dev.mfn.config.MfnSettings;
import dev.mfn.publish.ImagePublisher;
import dev.mfn.publish.ImageType;
import dev.mfn.publish.KafkaAccess;
import dev.mfn.publish.PhotoFile;
import dev.mfn.publish.RawImageFactory;
import dev.mfn.records.RawImage;
import dev.mfn.search.serve.Enrolment;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * POST /enroll on Kafka: each photo becomes a RawImage on the enroll topic, made as `mfn publish`
 * makes them ({@link RawImageFactory}: inline when the record fits publish.inline.limit.bytes,
 * else copied into the local blob root and sent by reference; keyed by subject, the same headers),
 * with the publisher's stable id: {@link RawImageFactory#imageId} of the subject, the source
 * {@value #SOURCE} and the bytes' SHA-256 (the name the caller gave goes in the attribute
 * {@value #FILENAME}). The same photo of the same subject, sent again (a retry, a double click, a
 * replay), gets the same id, so the index keeps one copy of its faces.
 * The bytes are sent as they came, images or not: the embed job is where photos are judged, and a
 * refused one comes back as a dead letter with its reason, which {@link DeadLetterFollower} hears.
 *
 * <p>The dead-letter follower starts with this object (when the service starts) and reads from a
 * while before then, so no request waits for it and a letter published before a restart, or about
 * a photo another replica took, is still reported. A request never waits on a lock: the producer
 * is made without one (it does not talk to the broker when made), and a broker that does not answer
 * within {@link #PATIENCE} fails the request (503).
 */
final class KafkaEnrolment implements Enrolment, AutoCloseable {
  /** A request waits for the broker this long at most (then 503): a person is waiting for the answer. */
  private static final Duration PATIENCE = Duration.ofSeconds(5);
  /** The source of every uploaded photo, part of its id (with the subject and the bytes). */
  static final String SOURCE = "upload";
  /** The attribute that keeps the file name the caller gave. */
  static final String FILENAME = "filename";
  private final String bootstrap;
  private final String topic;
  private final int partitions;
  private final long inlineLimit;
  private final boolean blobRoot;
  private final RawImageFactory factory;
  private final DeadLetterFollower deadLetters;
  /** Made on the first enrolment, without a lock (a second one made meanwhile is closed again). */
  private final AtomicReference<Producer<String, byte[]>> producer = new AtomicReference<>();
  /** Whether the enroll topic is known to exist (made with kafka.partitions partitions when it did not). */
  private volatile boolean topicReady;
  private volatile boolean closed;

  /** Starts following the dead-letter topic at once (in the background: this does not wait for the broker). */
  KafkaEnrolment(String bootstrap, String topic, String deadLetterTopic, int partitions, long inlineLimit, Path blobDir) {
    this.bootstrap = bootstrap;
    this.topic = topic;
    this.partitions = partitions;
    this.inlineLimit = inlineLimit;
    this.blobRoot = blobDir != null;
    this.factory = new RawImageFactory(inlineLimit, blobDir);
    this.deadLetters = new DeadLetterFollower(bootstrap, deadLetterTopic, topic, partitions);
  }

  /** With the settings' partitions, inline limit and blob root; the dead-letter follower already started. */
  static KafkaEnrolment of(MfnSettings settings, String bootstrap, String topic, String deadLetterTopic) {
    return new KafkaEnrolment(bootstrap, topic, deadLetterTopic, settings.getInt("kafka.partitions"),
        settings.getLong("publish.inline.limit.bytes"), settings.blobDir());
  }

  /** The id POST /enroll gives a photo of {@code subject} with these bytes (the same every time). */
  static String imageId(String subject, byte[] bytes) {
    try {
      byte[] sha = java.security.MessageDigest.getInstance("SHA-256").digest(bytes);
      return RawImageFactory.imageId(subject, SOURCE, java.util.HexFormat.of().formatHex(sha));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public List<String> submit(String subject, List<Upload> photos) throws Refused, Exception {
    if (closed) {
      throw new IllegalStateException("the enrolment to " + topic + " is closed (the service is stopping)");
    }
    // every record is made before the first is sent: a photo that cannot go leaves nothing half-sent
    Instant now = Instant.now();
    List<String> ids = new ArrayList<>();
    List<ProducerRecord<String, byte[]>> records = new ArrayList<>();
    for (Upload photo : photos) {
      String type = ImageType.sniff(Arrays.copyOf(photo.bytes(), Math.min(16, photo.bytes().length)))
          .orElse("application/octet-stream"); // not an image: the job dead-letters it (NOT_AN_IMAGE), and the caller sees why
      // the path only names the blob copy's extension; the source is the same for every upload, so
      // that the id is the subject's and the bytes' (the name the caller gave is an attribute)
      PhotoFile file = new PhotoFile(Path.of("upload" + extension(type)), subject, SOURCE);
      RawImageFactory.Built built = factory.build(file, photo.bytes(), type, now, Map.of(FILENAME, photo.filename()));
      if (!built.inline() && !blobRoot) {
        throw new Refused("photo '" + photo.filename() + "' is too large to travel inline on Kafka (records up to " + inlineLimit
            + " bytes) and no local blob root is configured (setting blob.roots); nothing was published");
      }
      RawImage image = built.image();
      RecordHeaders headers = new RecordHeaders();
      headers.add(ImagePublisher.HEADER_CONTENT_TYPE, type.getBytes(StandardCharsets.UTF_8));
      headers.add(ImagePublisher.HEADER_RECORD, "RawImage".getBytes(StandardCharsets.UTF_8));
      headers.add(ImagePublisher.HEADER_STORAGE, (built.inline() ? "inline" : "uri").getBytes(StandardCharsets.UTF_8));
      records.add(new ProducerRecord<>(topic, null, subject, built.value(), headers));
      ids.add(image.getId());
    }
    prepareTopic();
    Producer<String, byte[]> out = producer();
    // sent again: a letter about an earlier submission of the same photo does not answer for this one
    deadLetters.forget(ids);
    long deadline = System.nanoTime() + 2 * PATIENCE.toNanos();
    List<Future<RecordMetadata>> sent = new ArrayList<>();
    try {
      for (ProducerRecord<String, byte[]> r : records) {
        if (System.nanoTime() > deadline) {
          throw new TimeoutException(); // each send may wait PATIENCE: not one after another for 50 photos
        }
        sent.add(out.send(r)); // blocks PATIENCE at most (max.block.ms) when the broker does not answer
      }
      for (Future<RecordMetadata> ack : sent) {
        ack.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS); // acknowledged, or the request fails (503)
      }
    } catch (TimeoutException | org.apache.kafka.common.errors.TimeoutException e) {
      throw new IOException("Kafka at " + bootstrap + " did not take the photos within " + 2 * PATIENCE.toSeconds() + " s", e);
    } catch (ExecutionException e) {
      Throwable why = e.getCause() == null ? e : e.getCause();
      throw new IOException("Kafka at " + bootstrap + " did not take the photos: " + Mfn.oneLine(why), why);
    }
    return ids;
  }

  /**
   * Makes sure the enroll topic exists (as `mfn enroll` makes it: kafka.partitions partitions, not
   * the broker's one-partition default); once it did, never again. No lock: two requests that
   * check it together both ask, which is harmless (the second finds it there).
   */
  private void prepareTopic() throws KafkaAccess.BrokerUnreachableException, InterruptedException {
    if (!topicReady) {
      KafkaAccess.prepare(bootstrap, topic, partitions, PATIENCE.toMillis());
      topicReady = true;
    }
  }

  /** The producer, made on first use without a lock (making one talks to no broker). */
  private Producer<String, byte[]> producer() {
    Producer<String, byte[]> out = producer.get();
    if (out != null) {
      return out;
    }
    Producer<String, byte[]> made = KafkaAccess.producer(bootstrap, inlineLimit + 64 * 1024, PATIENCE);
    if (!producer.compareAndSet(null, made)) {
      made.close(Duration.ZERO); // another request made one first
      out = producer.get();
      if (out == null) {
        throw new IllegalStateException("the enrolment to " + topic + " is closed (the service is stopping)");
      }
      return out;
    }
    if (closed && producer.compareAndSet(made, null)) { // close() ran meanwhile and did not see it
      made.close(Duration.ZERO);
      throw new IllegalStateException("the enrolment to " + topic + " is closed (the service is stopping)");
    }
    return made;
  }

  private static String extension(String type) {
    return switch (type) {
      case "image/jpeg" -> ".jpg";
      case "image/png" -> ".png";
      case "image/bmp" -> ".bmp";
      case "image/webp" -> ".webp";
      case "image/gif" -> ".gif";
      case "image/tiff" -> ".tif";
      default -> ".bin";
    };
  }

  @Override
  public Optional<DeadLetterNote> deadLetter(String imageId) {
    return deadLetters.find(imageId);
  }

  /** The follower of the dead-letter topic (for tests). */
  DeadLetterFollower deadLetters() {
    return deadLetters;
  }

  @Override
  public String topic() {
    return topic;
  }

  /** Stops the dead-letter follower (its thread ends, its consumer closes) and closes the producer. */
  @Override
  public void close() {
    closed = true;
    try {
      Producer<String, byte[]> out = producer.getAndSet(null);
      if (out != null) {
        out.close(PATIENCE);
      }
    } finally {
      deadLetters.close();
    }
  }
}
