package dev.mfn.flink.embed;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mfn.publish.ImagePublisher;
import dev.mfn.publish.KafkaAccess;
import dev.mfn.publish.RawImageFactory;
import dev.mfn.records.DeadLetter;
import dev.mfn.records.kafka.AvroSerde;
import dev.mfn.search.index.LuceneVectorIndex;
import dev.mfn.services.kafka.KafkaBroker;
import dev.mfn.testkit.DetectorFiles;
import dev.mfn.testkit.LocalKafka;
import dev.mfn.testkit.SharedData;
import dev.mfn.testkit.TopicReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.producer.Producer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embed job on the MiniCluster and the real broker: LFW photos of 10 people (2 each) and a
 * blank photo into the embedded Lucene index with the reference model; every face indexed once,
 * a replay of the topic adds nothing, the blank photo is a dead letter, and a search with one
 * person's photo finds that person.
 */
@ExtendWith(LocalKafka.class)
class EmbedJobTest {
  private static final long MIB = 1 << 20;

  @Test
  void indexesEveryFaceOnceEvenWhenReplayed(KafkaBroker broker, @TempDir Path dir) throws Exception {
    Path lfw = SharedData.require("data/lfw/images");
    Path model = SharedData.require("models/reference/MobileFaceNet_paddlex.onnx");
    Path photos = dir.resolve("photos");
    List<Path> people;
    try (Stream<Path> all = Files.list(lfw)) {
      people = all.sorted().filter(p -> list(p).size() >= 2).limit(10).toList();
    }
    for (Path person : people) {
      Path to = Files.createDirectories(photos.resolve(person.getFileName().toString()));
      for (Path photo : list(person).subList(0, 2)) {
        Files.copy(photo, to.resolve(photo.getFileName()));
      }
    }
    Files.createDirectories(photos.resolve("nobody"));
    javax.imageio.ImageIO.write(new java.awt.image.BufferedImage(200, 200, java.awt.image.BufferedImage.TYPE_INT_RGB), "jpg",
        photos.resolve("nobody/blank.jpg").toFile());

    String topic = "enroll-in";
    String dlq = "enroll-dlq";
    KafkaAccess.prepare(broker.bootstrapServers(), topic, 2, 30_000);
    KafkaAccess.prepare(broker.bootstrapServers(), dlq, 1, 30_000);
    try (Producer<String, byte[]> producer = KafkaAccess.producer(broker.bootstrapServers(), MIB)) {
      new ImagePublisher(producer, new RawImageFactory(MIB, null), 64 * MIB).publish(ImagePublisher.scan(photos), topic, f -> {});
    }

    Path index = dir.resolve("index");
    for (int run = 0; run < 2; run++) { // the second run replays the whole topic
      EmbedConfig config = new EmbedConfig(broker.bootstrapServers(), topic, dlq, null, "embed-test-" + run, true, 2,
          model.toString(), IndexTarget.lucene(index), false, 8, 200, 1_000, dir.resolve("checkpoints-" + run).toString(),
          "blazeface", DetectorFiles.blazefaceDir().toString(), null, null, 0.5, 20, 64 * MIB, 60_000_000);
      StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(EmbedJob.flinkConfiguration(config));
      EmbedJob.fromConfig(config).build(env);
      env.execute("embed test " + run);
    }

    String version = "MobileFaceNet_paddlex.onnx";
    try (LuceneVectorIndex lucene = new LuceneVectorIndex(index, version)) {
      assertThat(lucene.count()).isEqualTo(2L * people.size());
      Path person = people.get(4);
      Path first = list(person).get(0);
      String sha = java.util.HexFormat.of().formatHex(
          java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(first)));
      String imageId = RawImageFactory.imageId(person.getFileName().toString(), person.getFileName() + "/" + first.getFileName(), sha);
      byte[] crop = lucene.crop(dev.mfn.search.index.FaceDocument.id(imageId, 0, version));
      assertThat(crop).isNotNull().hasSizeGreaterThan(1000); // the aligned crop travels with the vector
    }
    AvroSerde<DeadLetter> letters = new AvroSerde<>(DeadLetter.class);
    List<DeadLetter> dead = TopicReader.readAll(broker.bootstrapServers(), dlq).stream().map(r -> letters.decode(r.value())).toList();
    assertThat(dead).extracting(DeadLetter::getReason).containsExactly("NO_FACE", "NO_FACE"); // once per run
    assertThat(dead).allSatisfy(d -> assertThat(d.getJob()).isEqualTo("embed"));
  }

  /**
   * Following models.events: 6 people enrolled with the reference model (whose index is served
   * from the start); then our default model is announced and 6 more photos arrive. The job embeds
   * them with the new model, rebuilds the new index from the stored crops, and serves it only when
   * it holds every face; the old index is left as it was.
   */
  @Test
  void followsANewModelAndServesItsIndexWhenComplete(KafkaBroker broker, @TempDir Path dir) throws Exception {
    Path lfw = SharedData.require("data/lfw/images");
    Path reference = SharedData.require("models/reference/MobileFaceNet_paddlex.onnx");
    Path ours = Path.of(System.getProperty("mfn.repo", "../..")).resolve("models/default").toAbsolutePath().normalize();
    List<Path> people;
    try (Stream<Path> all = Files.list(lfw)) {
      people = all.sorted().filter(p -> list(p).size() >= 2).skip(20).limit(6).toList();
    }
    String topic = "follow-in";
    String events = "follow-models";
    for (String t : List.of(topic, events, "follow-dlq")) {
      KafkaAccess.prepare(broker.bootstrapServers(), t, t.equals(topic) ? 2 : 1, 30_000);
    }
    Path index = dir.resolve("index");
    EmbedConfig config = new EmbedConfig(broker.bootstrapServers(), topic, "follow-dlq", events, "follow-test", false, 2,
        reference.toString(), IndexTarget.lucene(index), false, 8, 200, 1_000, dir.resolve("checkpoints").toString(),
        "blazeface", DetectorFiles.blazefaceDir().toString(), null, null, 0.5, 20, 64 * MIB, 60_000_000);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(EmbedJob.flinkConfiguration(config));
    EmbedJob.fromConfig(config).build(env);
    org.apache.flink.core.execution.JobClient job = env.executeAsync("follow test");
    String old = "MobileFaceNet_paddlex.onnx";
    try (Producer<String, byte[]> producer = KafkaAccess.producer(broker.bootstrapServers(), 8 * MIB)) {
      publish(producer, people, 0, dir.resolve("first"), topic);
      awaitCount(index.resolve(old), 6, job);
      assertThat(LuceneVectorIndex.servedVersion(index)).contains(old); // served from the first start

      dev.mfn.records.ModelEvent event = dev.mfn.records.ModelEvent.newBuilder()
          .setKind(dev.mfn.records.ModelEventKind.PUBLISHED).setModelVersion("v1")
          .setLocation(ours.toUri().toString()).setTimestamp(java.time.Instant.now()).build();
      producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(events, "v1",
          new AvroSerde<>(dev.mfn.records.ModelEvent.class).encode(event))).get();
      publish(producer, people, 1, dir.resolve("second"), topic);

      long deadline = System.nanoTime() + 240_000_000_000L;
      while (!LuceneVectorIndex.servedVersion(index).orElse("").equals("v1")) {
        assertThat(System.nanoTime()).as("v1 served in time").isLessThan(deadline);
        assertThat(job.getJobStatus().get().isTerminalState()).as("job still running").isFalse();
        Thread.sleep(500);
      }
      awaitCount(index.resolve("v1"), 12, job);
    } finally {
      job.cancel().get();
    }
    // through the job's own shared handles: a cancelled task may close its writer a moment later
    try (var before = IndexTarget.lucene(index).open(old);
        var after = IndexTarget.lucene(index).open("v1")) {
      java.util.Set<String> faces = new java.util.HashSet<>();
      after.forEachStored(d -> faces.add(d.imageId() + "#" + d.faceIndex()));
      java.util.Set<String> oldFaces = new java.util.HashSet<>();
      before.forEachStored(d -> oldFaces.add(d.imageId() + "#" + d.faceIndex()));
      assertThat(faces).hasSize(12).containsAll(oldFaces);
      assertThat(oldFaces.size()).isBetween(6, 12); // photos embedded before the switch stay where they were
    }
  }

  private static void publish(Producer<String, byte[]> producer, List<Path> people, int photo, Path folder, String topic)
      throws Exception {
    for (Path person : people) {
      Path to = Files.createDirectories(folder.resolve(person.getFileName().toString()));
      Path from = list(person).get(photo);
      Files.copy(from, to.resolve(from.getFileName()));
    }
    new ImagePublisher(producer, new RawImageFactory(MIB, null), 64 * MIB).publish(ImagePublisher.scan(folder), topic, f -> {});
  }

  /** Waits until the Lucene folder's last commit holds n faces (read-only: the job holds the writer). */
  private static void awaitCount(Path folder, int n, org.apache.flink.core.execution.JobClient job) throws Exception {
    long deadline = System.nanoTime() + 240_000_000_000L;
    int count = -1;
    while (count != n) {
      assertThat(System.nanoTime()).as("%d faces in %s in time (have %d)", n, folder, count).isLessThan(deadline);
      assertThat(job.getJobStatus().get().isTerminalState()).as("job still running").isFalse();
      if (Files.isDirectory(folder) && org.apache.lucene.index.DirectoryReader.indexExists(org.apache.lucene.store.FSDirectory.open(folder))) {
        try (var reader = org.apache.lucene.index.DirectoryReader.open(org.apache.lucene.store.FSDirectory.open(folder))) {
          count = reader.numDocs();
        }
      }
      Thread.sleep(300);
    }
  }

  private static List<Path> list(Path folder) {
    try (Stream<Path> files = Files.list(folder)) {
      return files.sorted().toList();
    } catch (java.io.IOException e) {
      return List.of();
    }
  }
}
