package dev.mfn.cli;

import dev.mfn.config.MfnSettings;
import dev.mfn.publish.ImagePublisher;
import dev.mfn.publish.ImageType;
import dev.mfn.publish.KafkaAccess;
import dev.mfn.publish.PhotoFile;
import dev.mfn.publish.RawImageFactory;
import dev.mfn.records.RawImage;
import dev.mfn.records.kafka.AvroSerde;
import dev.mfn.search.serve.Enrolment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * POST /enroll on Kafka: each photo becomes a RawImage on the enroll topic, made as `mfn publish`
 * makes them ({@link RawImageFactory}: inline when the record fits publish.inline.limit.bytes,
 * else copied into the local blob root and sent by reference; keyed by subject, the same headers),
 * except for its id: a new one per upload (there is no file path to derive it from), so that each
 * submission's photos have states of their own.
 * The bytes are sent as they came, images or not: the embed job is where photos are judged, and a
 * refused one comes back as a dead letter with its reason, which {@link DeadLetterFollower} hears.
 *
 * <p>Nothing touches the broker before the first enrolment (a service that only searches needs
 * none, as with the audit trail): the producer and the dead-letter follower start then, and that
 * first request waits until the follower stands at the end of the dead-letter topic, so that no
 * letter about its photos can pass unseen.
 */
final class KafkaEnrolment implements Enrolment, AutoCloseable {
  /** A request waits for the broker this long at most (then 503): a person is waiting for the answer. */
  private static final Duration PATIENCE = Duration.ofSeconds(5);
  private static final AvroSerde<RawImage> SERDE = new AvroSerde<>(RawImage.class);
  private final String bootstrap;
  private final String topic;
  private final int partitions;
  private final long inlineLimit;
  private final boolean blobRoot;
  private final String deadLetterTopic;
  private final RawImageFactory factory;
  /** Both made on the first enrolment; guarded by this. */
  private Producer<String, byte[]> producer;
  private volatile DeadLetterFollower deadLetters;

  KafkaEnrolment(String bootstrap, String topic, String deadLetterTopic, int partitions, long inlineLimit, Path blobDir) {
    this.bootstrap = bootstrap;
    this.topic = topic;
    this.partitions = partitions;
    this.inlineLimit = inlineLimit;
    this.blobRoot = blobDir != null;
    this.deadLetterTopic = deadLetterTopic;
    this.factory = new RawImageFactory(inlineLimit, blobDir);
  }

  /** With the settings' partitions, inline limit and blob root. */
  static KafkaEnrolment of(MfnSettings settings, String bootstrap, String topic, String deadLetterTopic) {
    return new KafkaEnrolment(bootstrap, topic, deadLetterTopic, settings.getInt("kafka.partitions"),
        settings.getLong("publish.inline.limit.bytes"), settings.blobDir());
  }

  @Override
  public List<String> submit(String subject, List<Upload> photos) throws Refused, Exception {
    // every record is made before the first is sent: a photo that cannot go leaves nothing half-sent
    Instant now = Instant.now();
    List<String> ids = new ArrayList<>();
    List<ProducerRecord<String, byte[]>> records = new ArrayList<>();
    for (Upload photo : photos) {
      String id = UUID.randomUUID().toString().replace("-", ""); // 32 hex digits, as the publisher's ids
      String type = ImageType.sniff(Arrays.copyOf(photo.bytes(), Math.min(16, photo.bytes().length)))
          .orElse("application/octet-stream"); // not an image: the job dead-letters it (NOT_AN_IMAGE), and the caller sees why
      // the path only names the blob copy's extension; the source is the name the caller gave
      PhotoFile file = new PhotoFile(Path.of("upload" + extension(type)), subject, "upload/" + photo.filename());
      RawImageFactory.Built built = factory.build(file, photo.bytes(), type, now);
      if (!built.inline() && !blobRoot) {
        throw new Refused("photo '" + photo.filename() + "' is too large to travel inline on Kafka (records up to " + inlineLimit
            + " bytes) and no local blob root is configured (setting blob.roots); nothing was published");
      }
      RawImage image = RawImage.newBuilder(built.image()).setId(id).build();
      RecordHeaders headers = new RecordHeaders();
      headers.add(ImagePublisher.HEADER_CONTENT_TYPE, type.getBytes(StandardCharsets.UTF_8));
      headers.add(ImagePublisher.HEADER_RECORD, "RawImage".getBytes(StandardCharsets.UTF_8));
      headers.add(ImagePublisher.HEADER_STORAGE, (built.inline() ? "inline" : "uri").getBytes(StandardCharsets.UTF_8));
      records.add(new ProducerRecord<>(topic, null, subject, SERDE.encode(image), headers));
      ids.add(id);
    }
    Producer<String, byte[]> out = producer();
    List<Future<RecordMetadata>> sent = new ArrayList<>();
    for (ProducerRecord<String, byte[]> r : records) {
      sent.add(out.send(r));
    }
    for (Future<RecordMetadata> ack : sent) {
      ack.get(2 * PATIENCE.toMillis(), TimeUnit.MILLISECONDS); // acknowledged, or the request fails (503)
    }
    return ids;
  }

  private synchronized Producer<String, byte[]> producer() throws Exception {
    if (deadLetters == null) {
      deadLetters = new DeadLetterFollower(bootstrap, deadLetterTopic, topic, partitions);
    }
    if (!deadLetters.awaitFollowing(Duration.ofSeconds(15))) {
      throw new IllegalStateException("the dead-letter topic " + deadLetterTopic + " at " + bootstrap + " cannot be followed yet");
    }
    if (producer == null) {
      // the topic as `mfn enroll` makes it (kafka.partitions), not the broker's one-partition default
      KafkaAccess.prepare(bootstrap, topic, partitions, PATIENCE.toMillis());
      producer = KafkaAccess.producer(bootstrap, inlineLimit + 64 * 1024, PATIENCE);
    }
    return producer;
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
    DeadLetterFollower letters = deadLetters;
    return letters == null ? Optional.empty() : letters.find(imageId);
  }

  @Override
  public String topic() {
    return topic;
  }

  @Override
  public synchronized void close() {
    if (producer != null) {
      producer.close(PATIENCE);
    }
    if (deadLetters != null) {
      deadLetters.close();
    }
  }
}
