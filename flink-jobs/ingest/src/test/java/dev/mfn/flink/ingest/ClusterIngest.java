package dev.mfn.flink.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mfn.publish.ImagePublisher;
import dev.mfn.publish.KafkaAccess;
import dev.mfn.publish.PhotoFile;
import dev.mfn.publish.RawImageFactory;
import dev.mfn.records.FaceSample;
import dev.mfn.records.RawImage;
import dev.mfn.records.kafka.AvroSerde;
import dev.mfn.services.flink.ClusterJobs;
import dev.mfn.services.flink.JobSubmission;
import dev.mfn.testkit.Await;
import dev.mfn.testkit.DetectorFiles;
import dev.mfn.testkit.TopicReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.avro.file.DataFileReader;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;

/** What the cluster tests of the ingest job share: publishing, submitting, waiting, reading. */
final class ClusterIngest {
  static final long MIB = 1 << 20;

  private ClusterIngest() {}

  /** Arguments of the ingest job for a test: policy CAP,KEEP,OPENING,FULL, checkpoints every 500 ms. */
  static JobSubmission job(String bootstrap, String topic, String group, Path out, int parallelism, boolean unbounded,
      int... policy) throws java.io.IOException {
    List<String> args = new ArrayList<>(List.of(
        "--out", out.toString(), "--bootstrap", bootstrap, "--topic", topic, "--dlq-topic", topic + ".dlq",
        "--group-id", group, "--parallelism", String.valueOf(parallelism), "--shards", "4",
        "--validation-fraction", "0.1", "--cap", String.valueOf(policy[0]), "--keep-above", String.valueOf(policy[1]),
        "--opening-above", String.valueOf(policy[2]), "--full-above", String.valueOf(policy[3]),
        "--checkpoint-ms", "500", "--blazeface-dir", DetectorFiles.blazefaceDir().toString()));
    if (unbounded) {
      args.add("--unbounded");
    }
    return new JobSubmission(IngestJob.class.getName(), args, null);
  }

  static void publish(String bootstrap, String topic, List<PhotoFile> files) {
    try (Producer<String, byte[]> producer = KafkaAccess.producer(bootstrap, MIB)) {
      new ImagePublisher(producer, new RawImageFactory(MIB, null), 64 * MIB).publish(files, topic, f -> {});
    }
  }

  static List<PhotoFile> scan(Path dir) throws Exception {
    return ImagePublisher.scan(dir);
  }

  static void cut(String bootstrap, String cutsTopic, String name) throws Exception {
    try (Producer<String, byte[]> producer = KafkaAccess.producer(bootstrap, MIB)) {
      producer.send(new ProducerRecord<>(cutsTopic, name, name.getBytes())).get(30, TimeUnit.SECONDS);
    }
  }

  static JsonNode awaitManifest(Path file, Duration timeout) throws Exception {
    Await.until(file + " to be written", timeout, () -> Files.isRegularFile(file));
    return new ObjectMapper().readTree(file.toFile());
  }

  /** Every sample in the committed part files under {@code dir} (a shard set's root). */
  static List<FaceSample> samples(Path dir) throws Exception {
    List<FaceSample> all = new ArrayList<>();
    for (String split : List.of("train", "validation")) {
      if (!Files.isDirectory(dir.resolve(split))) {
        continue;
      }
      try (Stream<Path> s = Files.walk(dir.resolve(split))) {
        for (Path f : s.filter(p -> p.getFileName().toString().startsWith("part") && p.toString().endsWith(".avro")).toList()) {
          try (DataFileReader<FaceSample> reader = new DataFileReader<>(f.toFile(), new SpecificDatumReader<>(FaceSample.class))) {
            reader.forEach(all::add);
          }
        }
      }
    }
    return all;
  }

  /** The image ids of {@code subject}'s records in the topic, in the order the job reads them. */
  static List<String> imageIds(String bootstrap, String topic, String subject) {
    AvroSerde<RawImage> serde = new AvroSerde<>(RawImage.class);
    return TopicReader.readAll(bootstrap, topic).stream()
        .filter(r -> subject.equals(r.key()))
        .map(r -> serde.decode(r.value()).getId())
        .toList();
  }
}
