package dev.mfn.flink.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mfn.publish.ImagePublisher;
import dev.mfn.publish.KafkaAccess;
import dev.mfn.publish.RawImageFactory;
import dev.mfn.records.DeadLetter;
import dev.mfn.records.FaceSample;
import dev.mfn.records.RawImage;
import dev.mfn.records.Split;
import dev.mfn.records.kafka.AvroSerde;
import dev.mfn.services.kafka.KafkaBroker;
import dev.mfn.testkit.DetectorFiles;
import dev.mfn.testkit.LocalKafka;
import dev.mfn.testkit.PhotoFolders;
import dev.mfn.testkit.SharedData;
import dev.mfn.testkit.TopicReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.avro.file.DataFileReader;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole ingest job on Flink's MiniCluster and the real broker: real CFP photos in four
 * identities sized to land in four tiers, plus four bad records; the shards and the manifest must
 * match the policy exactly, and every record must be accounted for.
 */
@ExtendWith(LocalKafka.class)
class IngestJobTest {
  private static final long MIB = 1 << 20;

  @Test
  void shardsAndManifestMatchThePolicyExactly(KafkaBroker broker, @TempDir Path dir) throws Exception {
    Path cfp = SharedData.cfpImages();
    // Frontal photos only (all detectable), 10 / 7 / 5 / 3 per identity.
    Path photos = dir.resolve("photos");
    PhotoFolders.cfpFrontal(photos, "001", 10);
    PhotoFolders.cfpFrontal(photos, "002", 7);
    PhotoFolders.cfpFrontal(photos, "003", 5);
    PhotoFolders.cfpFrontal(photos, "004", 3);
    // Bad photos that the publisher sends (they look like JPEGs) but the job must refuse.
    byte[] real = Files.readAllBytes(cfp.resolve("005/frontal/01.jpg"));
    Files.createDirectories(photos.resolve("bad"));
    Files.write(photos.resolve("bad/truncated.jpg"), java.util.Arrays.copyOf(real, real.length / 3));
    javax.imageio.ImageIO.write(new java.awt.image.BufferedImage(200, 200, java.awt.image.BufferedImage.TYPE_INT_RGB), "jpg", photos.resolve("bad/blank.jpg").toFile());

    String topic = "ingest-in";
    String dlq = "ingest-dlq";
    KafkaAccess.prepare(broker.bootstrapServers(), topic, 3, 30_000);
    KafkaAccess.prepare(broker.bootstrapServers(), dlq, 1, 30_000);
    try (Producer<String, byte[]> producer = KafkaAccess.producer(broker.bootstrapServers(), MIB)) {
      var summary = new ImagePublisher(producer, new RawImageFactory(MIB, null), 64 * MIB)
          .publish(ImagePublisher.scan(photos), topic, f -> {});
      assertThat(summary.sent()).isEqualTo(27);
      // A record that is not Avro at all, a photo by reference whose file is gone (in the blob root),
      // and one that names a device: /dev/zero once was an OutOfMemoryError and a job restarting forever.
      producer.send(new ProducerRecord<>(topic, "junk", "not a record".getBytes()));
      RawImage missing = RawImage.newBuilder().setId("missing-1").setSubject("bad").setSource("bad/gone.jpg")
          .setContentType("image/jpeg").setSizeBytes(5_000_000).setSha256("00")
          .setUri(dir.resolve("blobs/gone.jpg").toUri().toString()).setTimestamp(Instant.now()).build();
      producer.send(new ProducerRecord<>(topic, "bad", new AvroSerde<>(RawImage.class).encode(missing)));
      RawImage device = RawImage.newBuilder(missing).setId("device-1").setUri("file:///dev/zero").build();
      producer.send(new ProducerRecord<>(topic, "bad", new AvroSerde<>(RawImage.class).encode(device)));
      producer.flush();
    }

    Path out = dir.resolve("shards");
    IngestConfig config = new IngestConfig(
        broker.bootstrapServers(), topic, dlq, "ingest-test", true, out.toString(), 2, 4, 0.1,
        8, 7, 5, 3, "ingest-in.labels", null, 1_000, "blazeface", DetectorFiles.blazefaceDir().toString(), null, null,
        0.5, 20, 64 * MIB, 60_000_000, false).withBlobRoots(dir.resolve("blobs").toString());
    StreamExecutionEnvironment env =
        StreamExecutionEnvironment.getExecutionEnvironment(IngestJob.flinkConfiguration(config));
    IngestJob.fromConfig(config).build(env);
    env.execute("ingest test");

    // Shards: 001 keeps 8 of 10 (cap), 002 is x2 (7 photos), 003 is x4 (5 photos), 004 dropped;
    // a validation photo is one sample whatever its tier.
    List<FaceSample> samples = readShards(out);
    Map<String, Long> perSubject = new HashMap<>();
    Map<String, Set<String>> photosOf = new HashMap<>();
    samples.forEach(s -> perSubject.merge(s.getSubject(), 1L, Long::sum));
    samples.forEach(s -> photosOf.computeIfAbsent(s.getSubject(), k -> new HashSet<>()).add(s.getImageId()));
    assertThat(photosOf).containsOnlyKeys("001", "002", "003");
    assertThat(photosOf.get("001")).hasSize(8);
    assertThat(photosOf.get("002")).hasSize(7);
    assertThat(photosOf.get("003")).hasSize(5);
    long expected001 = SampleMakerTest.expectedSamples(photosOf.get("001"), 1, 0.1);
    long expected002 = SampleMakerTest.expectedSamples(photosOf.get("002"), 2, 0.1);
    long expected003 = SampleMakerTest.expectedSamples(photosOf.get("003"), 4, 0.1);
    assertThat(perSubject).containsOnly(
        Map.entry("001", expected001), Map.entry("002", expected002), Map.entry("003", expected003));
    assertThat(samples.stream().filter(s -> s.getSubject().equals("003")).map(FaceSample::getAugmentation).distinct())
        .hasSize(4);
    assertThat(samples).extracting(FaceSample::getId).doesNotHaveDuplicates();
    // All samples of a photo share its split (validation: the crop only); labels are consistent per subject.
    Map<String, String> splitOfImage = new HashMap<>();
    Map<String, Integer> labelOf = new HashMap<>();
    for (FaceSample s : samples) {
      assertThat(splitOfImage.computeIfAbsent(s.getImageId(), k -> s.getSplit().name())).isEqualTo(s.getSplit().name());
      if (s.getSplit() == Split.VALIDATION) {
        assertThat(s.getAugmentation()).isEqualTo(dev.mfn.records.Augmentation.NONE);
      }
      assertThat(labelOf.computeIfAbsent(s.getSubject(), k -> s.getLabel())).isEqualTo(s.getLabel());
      assertThat(s.getCrop().remaining()).isGreaterThan(1000);
    }
    assertThat(labelOf.values()).containsExactlyInAnyOrder(0, 1, 2);

    JsonNode manifest = new ObjectMapper().readTree(out.resolve("manifest.json").toFile());
    JsonNode totals = manifest.get("totals");
    assertThat(totals.get("records_in").asLong()).isEqualTo(30);
    assertThat(totals.get("dead_letters").asLong()).isEqualTo(5);
    assertThat(totals.get("photos_kept").asLong()).isEqualTo(8 + 7 + 5);
    assertThat(totals.get("dropped_by_policy").asLong()).isEqualTo(2 + 3);
    assertThat(totals.get("records_in").asLong())
        .isEqualTo(totals.get("photos_kept").asLong() + totals.get("dead_letters").asLong() + totals.get("dropped_by_policy").asLong());
    assertThat(totals.get("train_samples").asLong() + totals.get("validation_samples").asLong()).isEqualTo(samples.size())
        .isEqualTo(expected001 + expected002 + expected003);
    assertThat(manifest.get("identities").get("004").get("tier").asText()).isEqualTo("DROP");
    assertThat(manifest.get("identities").get("002").get("tier").asText()).isEqualTo("OPENING");
    assertThat(manifest.get("identities").get("003").get("tier").asText()).isEqualTo("FULL");
    assertThat(manifest.get("labels").get("001").asInt()).isEqualTo(labelOf.get("001"));
    assertThat(manifest.get("dead_letters").get("TRUNCATED").asLong()).isEqualTo(1);
    assertThat(manifest.get("dead_letters").get("NO_FACE").asLong()).isEqualTo(1);
    assertThat(manifest.get("dead_letters").get("UNDECODABLE_RECORD").asLong()).isEqualTo(1);
    assertThat(manifest.get("dead_letters").get("SOURCE_UNAVAILABLE").asLong()).isEqualTo(1);
    assertThat(manifest.get("dead_letters").get("SOURCE_FORBIDDEN").asLong()).isEqualTo(1);

    AvroSerde<DeadLetter> letters = new AvroSerde<>(DeadLetter.class);
    List<DeadLetter> dead = TopicReader.readAll(broker.bootstrapServers(), dlq).stream().map(r -> letters.decode(r.value())).toList();
    assertThat(dead).extracting(DeadLetter::getReason)
        .containsExactlyInAnyOrder("TRUNCATED", "NO_FACE", "UNDECODABLE_RECORD", "SOURCE_UNAVAILABLE", "SOURCE_FORBIDDEN");
    assertThat(dead).filteredOn(d -> d.getReason().equals("TRUNCATED"))
        .allSatisfy(d -> assertThat(d.getOriginal()).isNotNull());
  }

  static List<FaceSample> readShards(Path out) throws Exception {
    List<FaceSample> all = new ArrayList<>();
    // Only the split folders: Flink may still be deleting old checkpoints under _checkpoints.
    List<Path> files = new ArrayList<>();
    for (String split : List.of("train", "validation")) {
      if (Files.isDirectory(out.resolve(split))) {
        try (Stream<Path> s = Files.walk(out.resolve(split))) {
          s.filter(p -> p.getFileName().toString().startsWith("part") && p.toString().endsWith(".avro"))
              .forEach(files::add);
        }
      }
    }
    for (Path f : files) {
      try (DataFileReader<FaceSample> reader = new DataFileReader<>(f.toFile(), new SpecificDatumReader<>(FaceSample.class))) {
        reader.forEach(all::add);
      }
    }
    return all;
  }

}
