package dev.mfn.flink.embed;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mfn.publish.ImagePublisher;
import dev.mfn.publish.KafkaAccess;
import dev.mfn.publish.RawImageFactory;
import dev.mfn.records.DeadLetter;
import dev.mfn.records.kafka.AvroSerde;
import dev.mfn.config.MfnSettings;
import dev.mfn.face.crop.FaceCropper;
import dev.mfn.face.decode.ImageDecoder;
import dev.mfn.face.detect.DetectorConfig;
import dev.mfn.face.detect.FaceChooser;
import dev.mfn.model.Embedder;
import dev.mfn.model.EmbeddingModels;
import dev.mfn.model.PhotoEmbedder;
import dev.mfn.search.FaceSearch;
import dev.mfn.search.enroll.FaceEmbedStage;
import dev.mfn.search.index.FaceDocument;
import dev.mfn.search.index.LuceneVectorIndex;
import dev.mfn.search.index.VectorIndex;
import dev.mfn.services.elasticsearch.ElasticsearchServer;
import dev.mfn.services.process.Ports;
import dev.mfn.services.kafka.KafkaBroker;
import dev.mfn.testkit.DetectorFiles;
import dev.mfn.testkit.LocalKafka;
import dev.mfn.testkit.SharedData;
import dev.mfn.testkit.TopicReader;
import java.nio.file.Files;
import java.time.Duration;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.producer.Producer;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embed job on the MiniCluster and the real broker, into both backends (embedded Lucene, and a
 * real Elasticsearch node started for this class): one LFW photo of each of 10 people and a blank
 * photo are enrolled; every face is indexed once, a replay of the topic adds nothing, the blank
 * photo is a dead letter each time, other photos of the same people find them, and deleting a
 * subject leaves no vector or crop of it.
 */
@ExtendWith(LocalKafka.class)
class EmbedJobTest {
  private static final long MIB = 1 << 20;
  private static ElasticsearchServer elasticsearch;

  @BeforeAll
  static void startElasticsearch() throws java.io.IOException {
    MfnSettings settings = MfnSettings.load();
    Path data = Files.createTempDirectory(Files.createDirectories(settings.home()), "es-embed-test-");
    elasticsearch = new ElasticsearchServer(MfnSettings.pinnedVersion("elasticsearch.version"),
        settings.home().resolve("elasticsearch"), data, Ports.free(), settings.get("elasticsearch.user"), "512m");
    elasticsearch.start();
  }

  @AfterAll
  static void stopElasticsearch() throws java.io.IOException {
    if (elasticsearch != null) {
      elasticsearch.stop();
    }
  }

  @Test
  void intoLucene(KafkaBroker broker, @TempDir Path dir) throws Exception {
    enrollReplaySearchDelete(broker, dir, IndexTarget.lucene(dir.resolve("index")), "lucene");
  }

  @Test
  void intoElasticsearch(KafkaBroker broker, @TempDir Path dir) throws Exception {
    enrollReplaySearchDelete(broker, dir, IndexTarget.elasticsearch(elasticsearch.url(), null, null, null, null), "es");
  }

  private void enrollReplaySearchDelete(KafkaBroker broker, Path dir, IndexTarget target, String name) throws Exception {
    Path lfw = SharedData.require("data/lfw/images");
    Path model = SharedData.require("models/reference/MobileFaceNet_paddlex.onnx");
    Path photos = dir.resolve("photos");
    List<Path> people;
    try (Stream<Path> all = Files.list(lfw)) {
      people = all.sorted().filter(p -> EnrollPhotos.list(p).size() >= 2).limit(10).toList();
    }
    for (Path person : people) {
      Path to = Files.createDirectories(photos.resolve(person.getFileName().toString()));
      Path first = EnrollPhotos.list(person).get(0);
      Files.copy(first, to.resolve(first.getFileName()));
    }
    Files.createDirectories(photos.resolve("nobody"));
    javax.imageio.ImageIO.write(new java.awt.image.BufferedImage(200, 200, java.awt.image.BufferedImage.TYPE_INT_RGB), "jpg",
        photos.resolve("nobody/blank.jpg").toFile());

    String topic = name + "-enroll-in";
    String dlq = name + "-enroll-dlq";
    KafkaAccess.prepare(broker.bootstrapServers(), topic, 2, 30_000);
    KafkaAccess.prepare(broker.bootstrapServers(), dlq, 1, 30_000);
    try (Producer<String, byte[]> producer = KafkaAccess.producer(broker.bootstrapServers(), MIB)) {
      new ImagePublisher(producer, new RawImageFactory(MIB, null), 64 * MIB).publish(ImagePublisher.scan(photos), topic, f -> {});
    }

    for (int run = 0; run < 2; run++) { // the second run replays the whole topic
      EmbedConfig config = new EmbedConfig(broker.bootstrapServers(), topic, dlq, null, name + "-embed-test-" + run, true, 2,
          model.toString(), target, false, 8, 200, 1_000, dir.resolve("checkpoints-" + run).toString(),
          "blazeface", DetectorFiles.blazefaceDir().toString(), null, null, 0.5, 20, 64 * MIB, 60_000_000);
      StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(EmbedJob.flinkConfiguration(config));
      EmbedJob.fromConfig(config).build(env);
      env.execute("embed test " + name + " " + run);
    }

    String version = "MobileFaceNet_paddlex.onnx";
    try (VectorIndex index = target.open(version);
        FaceCropper cropper = new FaceCropper(new ImageDecoder(64 * MIB, 60_000_000),
            new DetectorConfig(DetectorFiles.blazefaceDir(), null, null, 0.5).open("blazeface"), new FaceChooser(0.5, 20));
        Embedder embedder = EmbeddingModels.open(model)) {
      assertThat(index.count()).isEqualTo(people.size());
      String imageId = imageId(people.get(4), EnrollPhotos.list(people.get(4)).get(0));
      assertThat(index.crop(FaceDocument.id(imageId, 0, version))).isNotNull().hasSizeGreaterThan(1000); // the crop travels with the vector

      // other photos of the same people find them
      FaceSearch search = new FaceSearch(new FaceEmbedStage(cropper, new PhotoEmbedder(cropper, embedder, true, false, 8),
          version, FaceEmbedStage.Faces.CHOSEN), index, 0.3);
      int found = 0;
      for (Path person : people) {
        var faces = search.search(Files.readAllBytes(EnrollPhotos.list(person).get(1)), 1);
        if (person.getFileName().toString().equals(faces.get(0).bestSubject())) {
          found++;
        }
      }
      assertThat(found).as("rank-1 of 10 second photos").isGreaterThanOrEqualTo(9);

      // deleting a subject leaves no vector or crop of it
      String gone = people.get(4).getFileName().toString();
      assertThat(index.deleteSubject(gone)).isEqualTo(1);
      assertThat(index.count()).isEqualTo(people.size() - 1);
      assertThat(index.crop(FaceDocument.id(imageId, 0, version))).isNull();
      java.util.List<FaceDocument> stored = new java.util.ArrayList<>();
      index.forEachStored(stored::add);
      assertThat(stored).extracting(FaceDocument::subject).doesNotContain(gone).hasSize(people.size() - 1);
      var again = search.search(Files.readAllBytes(EnrollPhotos.list(people.get(4)).get(1)), people.size());
      assertThat(again.get(0).hits()).extracting(dev.mfn.search.index.SearchHit::subject).doesNotContain(gone);
    }
    AvroSerde<DeadLetter> letters = new AvroSerde<>(DeadLetter.class);
    List<DeadLetter> dead = TopicReader.readAll(broker.bootstrapServers(), dlq).stream().map(r -> letters.decode(r.value())).toList();
    assertThat(dead).extracting(DeadLetter::getReason).containsExactly("NO_FACE", "NO_FACE"); // once per run
    assertThat(dead).allSatisfy(d -> assertThat(d.getJob()).isEqualTo("embed"));
  }

  private static String imageId(Path person, Path photo) throws Exception {
    String sha = java.util.HexFormat.of().formatHex(
        java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(photo)));
    return RawImageFactory.imageId(person.getFileName().toString(), person.getFileName() + "/" + photo.getFileName(), sha);
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
      people = all.sorted().filter(p -> EnrollPhotos.list(p).size() >= 2).skip(20).limit(6).toList();
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
      EnrollPhotos.publish(producer, people, 0, dir.resolve("first"), topic);
      awaitCount(index.resolve(old), 6, job);
      assertThat(LuceneVectorIndex.servedVersion(index)).contains(old); // served from the first start

      dev.mfn.records.ModelEvent event = dev.mfn.records.ModelEvent.newBuilder()
          .setKind(dev.mfn.records.ModelEventKind.PUBLISHED).setModelVersion("v1")
          .setLocation(ours.toUri().toString()).setTimestamp(java.time.Instant.now()).build();
      producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(events, "v1",
          new AvroSerde<>(dev.mfn.records.ModelEvent.class).encode(event))).get();
      EnrollPhotos.publish(producer, people, 1, dir.resolve("second"), topic);

      Awaitility.await("v1 served").atMost(Duration.ofMinutes(4)).pollInterval(Duration.ofMillis(300))
          .failFast("the job ended", () -> job.getJobStatus().get().isTerminalState())
          .until(() -> LuceneVectorIndex.servedVersion(index).orElse("").equals("v1"));
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


  /** Waits until the Lucene folder's last commit holds n faces (read-only: the job holds the writer). */
  private static void awaitCount(Path folder, int n, org.apache.flink.core.execution.JobClient job) {
    Awaitility.await(n + " faces in " + folder).atMost(Duration.ofMinutes(4)).pollInterval(Duration.ofMillis(300))
        .failFast("the job ended", () -> job.getJobStatus().get().isTerminalState())
        .until(() -> EnrollPhotos.committedFaces(folder) == n);
  }


}
