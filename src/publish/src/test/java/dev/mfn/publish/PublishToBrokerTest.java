package dev.mfn.publish;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mfn.records.RawImage;
import dev.mfn.records.kafka.AvroSerde;
import dev.mfn.services.kafka.KafkaBroker;
import dev.mfn.testkit.LocalKafka;
import dev.mfn.testkit.PhotoFolders;
import dev.mfn.testkit.SharedData;
import dev.mfn.testkit.TopicReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Producer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Publishes real folders to the real local broker and reads every record back. */
@ExtendWith(LocalKafka.class)
class PublishToBrokerTest {
  private static final long ONE_MIB = 1L << 20;
  private final AvroSerde<RawImage> serde = new AvroSerde<>(RawImage.class);

  @Test
  void everyFileOfAMixedFolderIsSentOrSkippedWithItsReason(KafkaBroker broker, @TempDir Path dir)
      throws Exception {
    Path root = PhotoFolders.mixed(dir.resolve("photos"));
    String topic = "mixed";
    KafkaAccess.prepare(broker.bootstrapServers(), topic, 2, 30_000);

    PublishSummary summary = publish(broker, root, topic, ONE_MIB, 64 * ONE_MIB);

    assertThat(summary.found()).isEqualTo(5);
    assertThat(summary.sentInline()).isEqualTo(1);
    assertThat(summary.sentByReference()).as("the 5 MiB photo goes by URI").isEqualTo(1);
    assertThat(summary.skipped(SkipReason.NOT_AN_IMAGE)).isEqualTo(1);
    assertThat(summary.examples(SkipReason.NOT_AN_IMAGE)).containsExactly("alice/notes.txt");
    assertThat(summary.skipped(SkipReason.EMPTY_FILE)).isEqualTo(1);
    assertThat(summary.examples(SkipReason.EMPTY_FILE)).containsExactly("bob/empty.jpg");
    assertThat(summary.skipped(SkipReason.NO_IDENTITY_FOLDER)).isEqualTo(1);
    assertThat(summary.failed()).isZero();
    assertThat(summary.balanced()).isTrue();

    List<ConsumerRecord<String, byte[]>> records =
        TopicReader.readAll(broker.bootstrapServers(), topic);
    assertThat(records).hasSize(2);
    Map<String, RawImage> bySource = new HashMap<>();
    for (ConsumerRecord<String, byte[]> r : records) {
      RawImage image = serde.decode(r.value());
      bySource.put(image.getSource(), image);
      assertThat(r.key()).isEqualTo(image.getSubject());
      assertThat(r.value().length).isLessThanOrEqualTo((int) ONE_MIB);
      assertThat(new String(r.headers().lastHeader("content-type").value(), StandardCharsets.UTF_8))
          .isEqualTo(image.getContentType());
    }
    RawImage small = bySource.get("alice/portrait.jpg");
    assertThat(small.getSubject()).isEqualTo("alice");
    assertThat(small.getContentType()).isEqualTo("image/jpeg");
    assertThat(bytes(small.getData())).isEqualTo(Files.readAllBytes(root.resolve("alice/portrait.jpg")));

    RawImage large = bySource.get("bob/deeper/large.png");
    assertThat(large.getSubject()).isEqualTo("bob");
    assertThat(large.getContentType()).isEqualTo("image/png");
    assertThat(large.getData()).isNull();
    assertThat(large.getSizeBytes()).isGreaterThan(5 * ONE_MIB);
    assertThat(Files.readAllBytes(Path.of(URI.create(large.getUri()))))
        .isEqualTo(Files.readAllBytes(root.resolve("bob/deeper/large.png")));
  }

  @Test
  void photosOverTheSizeLimitAreSkippedAndCopiesGoToTheBlobFolder(
      KafkaBroker broker, @TempDir Path dir) throws Exception {
    Path root = PhotoFolders.mixed(dir.resolve("photos"));
    String topic = "limits";
    KafkaAccess.prepare(broker.bootstrapServers(), topic, 1, 30_000);

    PublishSummary refused = publish(broker, root, topic, ONE_MIB, 5 * ONE_MIB);
    assertThat(refused.skipped(SkipReason.OVER_SIZE_LIMIT)).isEqualTo(1);
    assertThat(refused.sentByReference()).isZero();
    assertThat(refused.balanced()).isTrue();

    // A tiny inline limit sends the small photo by reference too, copied into the blob folder.
    Path blobs = dir.resolve("blobs");
    try (Producer<String, byte[]> producer = KafkaAccess.producer(broker.bootstrapServers(), ONE_MIB)) {
      PublishSummary summary =
          new ImagePublisher(producer, new RawImageFactory(4096, blobs), 64 * ONE_MIB)
              .publish(ImagePublisher.scan(root), topic, f -> {});
      assertThat(summary.sentByReference()).isEqualTo(2);
    }
    try (var files = Files.list(blobs)) {
      assertThat(files.map(p -> p.getFileName().toString()).toList())
          .hasSize(2)
          .allMatch(name -> name.matches("[0-9a-f]{64}\\.(jpg|png)"));
    }
  }

  @Test
  void theWholeCfpFolderArrivesIntactWithItsSubjects(KafkaBroker broker) throws Exception {
    Path cfp = SharedData.cfpImages();
    String topic = "cfp";
    KafkaAccess.prepare(broker.bootstrapServers(), topic, 4, 30_000);
    AtomicInteger progress = new AtomicInteger();
    PublishSummary summary;
    try (Producer<String, byte[]> producer = KafkaAccess.producer(broker.bootstrapServers(), ONE_MIB)) {
      summary =
          new ImagePublisher(producer, new RawImageFactory(ONE_MIB, null), 64 * ONE_MIB)
              .publish(ImagePublisher.scan(cfp), topic, f -> progress.incrementAndGet());
    }
    assertThat(summary.sent()).isEqualTo(4900);
    assertThat(progress).hasValue(4900);

    List<ConsumerRecord<String, byte[]>> records =
        TopicReader.readAll(broker.bootstrapServers(), topic);
    assertThat(records).hasSize(4900);
    Map<String, Integer> perSubject = new HashMap<>();
    for (ConsumerRecord<String, byte[]> r : records) {
      RawImage image = serde.decode(r.value());
      Path file = cfp.resolve(image.getSource());
      assertThat(image.getSubject()).isEqualTo(cfp.relativize(file).getName(0).toString());
      assertThat(r.key()).isEqualTo(image.getSubject());
      assertThat(bytes(image.getData())).isEqualTo(Files.readAllBytes(file));
      perSubject.merge(image.getSubject(), 1, Integer::sum);
    }
    assertThat(perSubject).hasSize(350).allSatisfy((subject, n) -> assertThat(n).isEqualTo(14));
  }

  private static PublishSummary publish(
      KafkaBroker broker, Path root, String topic, long inlineLimit, long maxImageBytes)
      throws Exception {
    try (Producer<String, byte[]> producer =
        KafkaAccess.producer(broker.bootstrapServers(), inlineLimit)) {
      return new ImagePublisher(producer, new RawImageFactory(inlineLimit, null), maxImageBytes)
          .publish(ImagePublisher.scan(root), topic, f -> {});
    }
  }

  private static byte[] bytes(java.nio.ByteBuffer buffer) {
    byte[] b = new byte[buffer.remaining()];
    buffer.duplicate().get(b);
    return b;
  }
}
