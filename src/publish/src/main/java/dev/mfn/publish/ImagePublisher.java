package dev.mfn.publish;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Publishes a folder of identity folders as RawImage records, one per photo, keyed by subject (so
 * one identity's photos share a partition and keep their order).
 *
 * <p>The producer is injected: the CLI hands in an idempotent KafkaProducer, a test may hand in
 * Kafka's MockProducer or a real one.
 */
public final class ImagePublisher {
  /** Header names set on every record. */
  public static final String HEADER_CONTENT_TYPE = "content-type";

  public static final String HEADER_RECORD = "mfn-record";
  public static final String HEADER_STORAGE = "mfn-storage";

  private final Producer<String, byte[]> producer;
  private final RawImageFactory factory;
  private final long maxImageBytes;

  public ImagePublisher(
      Producer<String, byte[]> producer, RawImageFactory factory, long maxImageBytes) {
    this.producer = producer;
    this.factory = factory;
    this.maxImageBytes = maxImageBytes;
  }

  /** Files that {@link #publish} will consider, for a progress bar's total. */
  public static List<PhotoFile> scan(Path root) throws IOException {
    return IdentityFolders.list(root);
  }

  /**
   * Sends every photo of {@code files} and waits until the broker has acknowledged them all.
   *
   * @param onFileDone called once per file, after it was handed to the producer or skipped
   */
  public PublishSummary publish(List<PhotoFile> files, String topic, Consumer<PhotoFile> onFileDone) {
    PublishSummary summary = new PublishSummary();
    summary.found(files.size());
    Instant start = Instant.now();
    for (PhotoFile photo : files) {
      try {
        Optional<SkipReason> skip = publishOne(photo, topic, summary);
        skip.ifPresent(reason -> summary.skipped(reason, photo.source()));
      } catch (RuntimeException e) {
        summary.failed(photo.source(), e);
      }
      onFileDone.accept(photo);
    }
    producer.flush();
    summary.elapsed(Duration.between(start, Instant.now()));
    return summary;
  }

  private Optional<SkipReason> publishOne(PhotoFile photo, String topic, PublishSummary summary) {
    if (photo.subject() == null) {
      return Optional.of(SkipReason.NO_IDENTITY_FOLDER);
    }
    if (dev.mfn.records.Subjects.problem(photo.subject()) != null) {
      return Optional.of(SkipReason.BAD_SUBJECT);
    }
    if (!Files.isRegularFile(photo.path())) {
      return Optional.of(SkipReason.NOT_A_REGULAR_FILE);
    }
    byte[] bytes;
    try {
      long size = Files.size(photo.path());
      if (size == 0) {
        return Optional.of(SkipReason.EMPTY_FILE);
      }
      if (size > maxImageBytes) {
        return Optional.of(SkipReason.OVER_SIZE_LIMIT);
      }
      Optional<String> type = ImageType.sniff(head(photo.path()));
      if (type.isEmpty()) {
        return Optional.of(SkipReason.NOT_AN_IMAGE);
      }
      try (InputStream in = Files.newInputStream(photo.path())) {
        bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxImageBytes + 1)); // the file may have grown
      }
      if (bytes.length > maxImageBytes) {
        return Optional.of(SkipReason.OVER_SIZE_LIMIT);
      }
      RawImageFactory.Built built = factory.build(photo, bytes, type.get(), Instant.now());
      RecordHeaders headers = new RecordHeaders();
      headers.add(HEADER_CONTENT_TYPE, type.get().getBytes(StandardCharsets.UTF_8));
      headers.add(HEADER_RECORD, "RawImage".getBytes(StandardCharsets.UTF_8));
      headers.add(
          HEADER_STORAGE, (built.inline() ? "inline" : "uri").getBytes(StandardCharsets.UTF_8));
      ProducerRecord<String, byte[]> record =
          new ProducerRecord<>(topic, null, photo.subject(), built.value(), headers);
      long length = bytes.length;
      producer.send(
          record,
          (metadata, error) -> {
            if (error == null) {
              summary.sent(built.inline(), length);
            } else {
              summary.failed(photo.source(), error);
            }
          });
      return Optional.empty();
    } catch (IOException e) {
      return Optional.of(SkipReason.UNREADABLE);
    }
  }

  private static byte[] head(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return in.readNBytes(16);
    }
  }
}
