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
  private static Path esData;

  @BeforeAll
  static void startElasticsearch() throws java.io.IOException {
    MfnSettings settings = MfnSettings.load();
    esData = Files.createTempDirectory(Files.createDirectories(settings.home()), "es-embed-test-");
    elasticsearch = new ElasticsearchServer(MfnSettings.pinnedVersion("elasticsearch.version"),
        settings.home().resolve("elasticsearch"), esData, Ports.free(), settings.get("elasticsearch.user"), "512m");
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
    enrollReplaySearchDelete(broker, dir, IndexTarget.lucene(dir.resolve("index")), "lucene", dir.resolve("index"));
  }

  @Test
  void intoElasticsearch(KafkaBroker broker, @TempDir Path dir) throws Exception {
    enrollReplaySearchDelete(broker, dir, IndexTarget.elasticsearch(elasticsearch.url(), null, null), "es", esData);
  }

  private void enrollReplaySearchDelete(KafkaBroker broker, Path dir, IndexTarget target, String name, Path onDisk) throws Exception {
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
    String deleted = name + "-subjects-deleted";
    KafkaAccess.prepare(broker.bootstrapServers(), topic, 2, 30_000);
    KafkaAccess.prepare(broker.bootstrapServers(), dlq, 1, 30_000);
    try (Producer<String, byte[]> producer = KafkaAccess.producer(broker.bootstrapServers(), MIB)) {
      new ImagePublisher(producer, new RawImageFactory(MIB, null), 64 * MIB).publish(ImagePublisher.scan(photos), topic, f -> {});
    }
    String version = "MobileFaceNet_paddlex.onnx";
    String gone = people.get(4).getFileName().toString();
    String imageId = imageId(people.get(4), EnrollPhotos.list(people.get(4)).get(0));

    // the second run replays the whole topic; before the third, a deletion; before the fourth, the
    // tombstone is cleared for re-enrolment: the old photo (published before the deletion) stays out
    for (int run = 0; run < 4; run++) {
      if (run == 3) {
        clear(broker, deleted, gone);
      }
      if (run == 2) {
        erase(broker, deleted, gone);
        try (VectorIndex index = target.open(version)) {
          byte[] crop = index.crop(FaceDocument.id(imageId, 0, version));
          byte[] needle = dev.mfn.testkit.BytesOnDisk.middle(name.equals("es") ? java.util.Base64.getEncoder().encode(crop) : crop, 64);
          assertThat(dev.mfn.testkit.BytesOnDisk.filesHolding(onDisk, needle)).as("the crop is on disk before").isNotEmpty();
          assertThat(index.deleteSubject(gone)).isEqualTo(1);
          assertThat(dev.mfn.testkit.BytesOnDisk.filesHolding(onDisk, needle)).as("the crop is on disk after").isEmpty();
        }
      }
      EmbedConfig config = new EmbedConfig(broker.bootstrapServers(), topic, dlq, null, name + "-embed-test-" + run, true, 2,
          model.toString(), target, false, 8, 200, 1_000, dir.resolve("checkpoints-" + run).toString(),
          "blazeface", DetectorFiles.blazefaceDir().toString(), null, null, 0.5, 20, 64 * MIB, 60_000_000).withErasures(deleted);
      StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(EmbedJob.flinkConfiguration(config));
      EmbedJob.fromConfig(config).build(env);
      env.execute("embed test " + name + " " + run);
      if (run == 1) {
        try (VectorIndex index = target.open(version)) {
          assertThat(index.count()).as("a replay adds nothing").isEqualTo(people.size());
        }
      }
    }

    try (VectorIndex index = target.open(version);
        FaceCropper cropper = new FaceCropper(new ImageDecoder(64 * MIB, 60_000_000),
            new DetectorConfig(DetectorFiles.blazefaceDir(), null, null, 0.5).open("blazeface"), new FaceChooser(0.5, 20));
        Embedder embedder = EmbeddingModels.open(model)) {
      // the replay after the deletion (a new consumer group: the whole topic) did not bring the person back
      assertThat(index.count()).isEqualTo(people.size() - 1);
      assertThat(index.crop(FaceDocument.id(imageId, 0, version))).isNull();
      String other = imageId(people.get(5), EnrollPhotos.list(people.get(5)).get(0));
      assertThat(index.crop(FaceDocument.id(other, 0, version))).isNotNull().hasSizeGreaterThan(1000); // the crop travels with the vector
      java.util.List<FaceDocument> stored = new java.util.ArrayList<>();
      index.forEachStored(stored::add);
      assertThat(stored).extracting(FaceDocument::subject).doesNotContain(gone).hasSize(people.size() - 1);
      // each face says which photo it came from (the RawImage's source: its path under the published
      // folder) and when that was published, for the console's Subjects tab
      assertThat(stored).allSatisfy(d -> {
        assertThat(d.source()).isEqualTo(d.subject() + "/" + EnrollPhotos.list(lfw.resolve(d.subject())).get(0).getFileName());
        assertThat(d.publishedAt()).isPositive();
      });

      // other photos of the same people find them; the erased person is found by nobody
      FaceSearch search = new FaceSearch(new FaceEmbedStage(cropper, new PhotoEmbedder(cropper, embedder, true, false, 8),
          version, FaceEmbedStage.Faces.CHOSEN), index, 0.3);
      int found = 0;
      for (Path person : people) {
        var faces = search.search(Files.readAllBytes(EnrollPhotos.list(person).get(1)), 1);
        if (person.getFileName().toString().equals(faces.get(0).bestSubject())) {
          found++;
        }
      }
      assertThat(found).as("rank-1 of 9 enrolled people's second photos").isGreaterThanOrEqualTo(8);
      var again = search.search(Files.readAllBytes(EnrollPhotos.list(people.get(4)).get(1)), people.size());
      assertThat(again.get(0).hits()).extracting(dev.mfn.search.index.SearchHit::subject).doesNotContain(gone);
    }
    AvroSerde<DeadLetter> letters = new AvroSerde<>(DeadLetter.class);
    List<DeadLetter> dead = TopicReader.readAll(broker.bootstrapServers(), dlq).stream().map(r -> letters.decode(r.value())).toList();
    assertThat(dead).extracting(DeadLetter::getReason)
        .containsExactlyInAnyOrder("NO_FACE", "NO_FACE", "NO_FACE", "NO_FACE", "SUBJECT_ERASED", "SUBJECT_ERASED"); // once per run; the erased photo in both runs after the deletion
    assertThat(dead).allSatisfy(d -> assertThat(d.getJob()).isEqualTo("embed"));
    assertThat(dead).filteredOn(d -> d.getReason().equals("SUBJECT_ERASED"))
        .allSatisfy(d -> assertThat(d.getOriginal()).as("no copy of an erased person's photo").isNull());
  }

  /** Re-enrolment allowed: the tombstone stays with its deletion time, no longer active. */
  static void clear(KafkaBroker broker, String topic, String subject) throws Exception {
    var records = TopicReader.readAll(broker.bootstrapServers(), topic);
    var serde = new AvroSerde<>(dev.mfn.records.SubjectErasure.class);
    dev.mfn.records.SubjectErasure last = serde.decode(records.get(records.size() - 1).value());
    try (Producer<String, byte[]> producer = KafkaAccess.producer(broker.bootstrapServers(), MIB)) {
      producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(topic, subject, serde.encode(
          new dev.mfn.records.SubjectErasure(subject, false, last.getDeletedAt(), "re-enrolment", "test", java.time.Instant.now())))).get();
    }
  }

  static void erase(KafkaBroker broker, String topic, String subject) throws Exception {
    Erasures.ensureTopic(broker.bootstrapServers(), topic);
    java.time.Instant now = java.time.Instant.now();
    try (Producer<String, byte[]> producer = KafkaAccess.producer(broker.bootstrapServers(), MIB)) {
      producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(topic, subject,
          new AvroSerde<>(dev.mfn.records.SubjectErasure.class).encode(
              new dev.mfn.records.SubjectErasure(subject, true, now, "test", "test", now)))).get();
    }
  }

  private static String imageId(Path person, Path photo) throws Exception {
    String sha = java.util.HexFormat.of().formatHex(
        java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(photo)));
    return RawImageFactory.imageId(person.getFileName().toString(), person.getFileName() + "/" + photo.getFileName(), sha);
  }

  /**
   * Following models.events, with the gate: 6 people enrolled with our committed model (83% on LFW,
   * served from the start); then the reference model (99%) is announced: it passes the gate (40 LFW
   * pairs), and 6 more photos arrive. The job embeds them with it, rebuilds its index from the stored
   * crops and serves it only when it holds every face. Then the same announcement replayed, and an
   * announcement of our worse model with a newer sequence: the first is ignored, the second refused
   * by the gate; both are dead letters with their reasons and the reference model keeps serving.
   */
  @Test
  void followsABetterModelRefusesAWorseOneAndIgnoresAReplay(KafkaBroker broker, @TempDir Path dir) throws Exception {
    Path lfw = SharedData.require("data/lfw/images");
    Path reference = SharedData.require("models/reference/MobileFaceNet_paddlex.onnx");
    Path ours = Path.of(System.getProperty("mfn.repo", "../..")).resolve("models/default").toAbsolutePath().normalize();
    Path gatePairs = dev.mfn.evaluate.PairSets.lfwSlice(SharedData.require("data/lfw"), dir.resolve("gate-pairs"), 40);
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
        ours.toString(), IndexTarget.lucene(index), false, 8, 200, 1_000, dir.resolve("checkpoints").toString(),
        "blazeface", DetectorFiles.blazefaceDir().toString(), null, null, 0.5, 20, 64 * MIB, 60_000_000)
        .withGate(new EmbedConfig.GateSettings(gatePairs.toString(), 0.01));
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(EmbedJob.flinkConfiguration(config));
    EmbedJob.fromConfig(config).build(env);
    org.apache.flink.core.execution.JobClient job = env.executeAsync("follow test");
    String old = EmbeddingModels.version(ours); // the committed model's id: its index's name
    String better = "MobileFaceNet_paddlex.onnx";
    AvroSerde<dev.mfn.records.ModelEvent> serde = new AvroSerde<>(dev.mfn.records.ModelEvent.class);
    try (Producer<String, byte[]> producer = KafkaAccess.producer(broker.bootstrapServers(), 8 * MIB)) {
      EnrollPhotos.publish(producer, people, 0, dir.resolve("first"), topic);
      awaitCount(index.resolve(old), 6, job);
      assertThat(LuceneVectorIndex.servedVersion(index)).contains(old); // served from the first start

      dev.mfn.records.ModelEvent announce = dev.mfn.records.ModelEvent.newBuilder()
          .setKind(dev.mfn.records.ModelEventKind.PUBLISHED).setModelVersion(better).setSequence(1)
          .setChecksum(dev.mfn.model.store.ModelStore.checksum(reference))
          .setLocation(reference.toUri().toString()).setTimestamp(java.time.Instant.now()).build();
      producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(events, better, serde.encode(announce))).get();
      EnrollPhotos.publish(producer, people, 1, dir.resolve("second"), topic);

      Awaitility.await("the better model served").atMost(Duration.ofMinutes(4)).pollInterval(Duration.ofMillis(300))
          .failFast("the job ended", () -> job.getJobStatus().get().isTerminalState())
          .until(() -> LuceneVectorIndex.servedVersion(index).orElse("").equals(better));
      awaitCount(index.resolve(better), 12, job);
      assertThat(LuceneVectorIndex.served(index).orElseThrow().modelLocation()).isEqualTo(reference.toUri().toString());

      // a replay of the announcement, then our worse model announced as newer
      producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(events, better, serde.encode(announce))).get();
      dev.mfn.records.ModelEvent worse = dev.mfn.records.ModelEvent.newBuilder()
          .setKind(dev.mfn.records.ModelEventKind.PUBLISHED).setModelVersion(old).setSequence(2)
          .setChecksum(dev.mfn.model.store.ModelStore.checksum(ours))
          .setLocation(ours.toUri().toString()).setTimestamp(java.time.Instant.now()).build();
      producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(events, old, serde.encode(worse))).get();
      AvroSerde<DeadLetter> letters = new AvroSerde<>(DeadLetter.class);
      Awaitility.await("the replay ignored and the worse model refused").atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(500))
          .failFast("the job ended", () -> job.getJobStatus().get().isTerminalState())
          .until(() -> TopicReader.readAll(broker.bootstrapServers(), "follow-dlq").stream()
              .map(r -> letters.decode(r.value()).getReason()).collect(java.util.stream.Collectors.toSet())
              .containsAll(List.of("MODEL_EVENT_STALE", "MODEL_REFUSED")));
      List<DeadLetter> dead = TopicReader.readAll(broker.bootstrapServers(), "follow-dlq").stream().map(r -> letters.decode(r.value())).toList();
      assertThat(dead).filteredOn(d -> d.getReason().equals("MODEL_REFUSED")).singleElement()
          .satisfies(d -> assertThat(d.getMessage()).contains("worse than what serves"));
      // both were handled (their dead letters are out) and the better model still serves
      assertThat(LuceneVectorIndex.servedVersion(index)).contains(better);
    } finally {
      job.cancel().get();
    }
    // through the job's own shared handles: a cancelled task may close its writer a moment later
    try (var before = IndexTarget.lucene(index).open(old);
        var after = IndexTarget.lucene(index).open(better)) {
      java.util.Set<String> faces = new java.util.HashSet<>();
      after.forEachStored(d -> faces.add(d.imageId() + "#" + d.faceIndex()));
      java.util.Set<String> oldFaces = new java.util.HashSet<>();
      before.forEachStored(d -> oldFaces.add(d.imageId() + "#" + d.faceIndex()));
      assertThat(faces).hasSize(12).containsAll(oldFaces);
      assertThat(oldFaces.size()).isBetween(6, 12); // photos embedded before the switch stay where they were
    }
  }

  /**
   * The migrator's commit point needs every old-model document written before a checkpoint that
   * followed the switch completes: with unaligned checkpoints a barrier could overtake them. The
   * job keeps the embed tasks' inputs and the index sink's input aligned even when unaligned
   * checkpoints are on.
   */
  @Test
  void theEdgesTheMigrationReliesOnStayAlignedWithUnalignedCheckpoints(@TempDir Path dir) throws Exception {
    EmbedConfig config = new EmbedConfig("127.0.0.1:1", "in", "dlq", "models", "g", false, 2,
        SharedData.require("models/reference/MobileFaceNet_paddlex.onnx").toString(), IndexTarget.lucene(dir), false, 8, 200, 1_000,
        dir.resolve("chk").toString(), "blazeface", DetectorFiles.blazefaceDir().toString(), null, null, 0.5, 20, 64 * MIB, 60_000_000);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    EmbedJob.fromConfig(config).build(env);
    env.getCheckpointConfig().enableUnalignedCheckpoints();
    var graph = env.getStreamGraph();
    int checked = 0;
    for (var node : graph.getStreamNodes()) {
      if (node.getOperatorName().contains("vector-index") || node.getOperatorName().contains("detect-align-embed")) {
        for (var edge : node.getInEdges()) {
          assertThat(edge.supportsUnalignedCheckpoints()).as("edge into " + node.getOperatorName()).isFalse();
          checked++;
        }
      }
    }
    assertThat(checked).as("the embed operator's two inputs and the sink's").isGreaterThanOrEqualTo(3);
  }

  /**
   * Freshness does not wait for checkpoints: an unbounded job whose checkpoint interval is 10
   * minutes makes three published photos searchable in the committed index (what the search
   * service reads) long before its first checkpoint, because the index sink writes a face at most
   * index.visible.millis after it arrived. A sink that writes only at checkpoints (or every 256
   * faces) leaves them invisible for 10 minutes and fails here.
   */
  @Test
  void publishedPhotosBecomeSearchableBetweenCheckpoints(KafkaBroker broker, @TempDir Path dir) throws Exception {
    Path lfw = SharedData.require("data/lfw/images");
    Path ours = Path.of(System.getProperty("mfn.repo", "../..")).resolve("models/default").toAbsolutePath().normalize();
    List<Path> people;
    try (Stream<Path> all = Files.list(lfw)) {
      people = all.sorted().filter(p -> EnrollPhotos.list(p).size() >= 2).skip(40).limit(3).toList();
    }
    String topic = "fresh-in";
    KafkaAccess.prepare(broker.bootstrapServers(), topic, 1, 30_000);
    KafkaAccess.prepare(broker.bootstrapServers(), "fresh-dlq", 1, 30_000);
    Path index = dir.resolve("index");
    EmbedConfig config = new EmbedConfig(broker.bootstrapServers(), topic, "fresh-dlq", null, "fresh-test", false, 1,
        ours.toString(), IndexTarget.lucene(index), false, 8, 200, 600_000, dir.resolve("checkpoints").toString(),
        "blazeface", DetectorFiles.blazefaceDir().toString(), null, null, 0.5, 20, 64 * MIB, 60_000_000);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(EmbedJob.flinkConfiguration(config));
    EmbedJob.fromConfig(config).build(env);
    // Flink starts the first checkpoint at a random point of the first interval, from the minimum
    // pause on: a pause of the whole interval puts it 10 minutes out for sure
    env.getCheckpointConfig().setMinPauseBetweenCheckpoints(600_000);
    org.apache.flink.core.execution.JobClient job = env.executeAsync("freshness test");
    try (Producer<String, byte[]> producer = KafkaAccess.producer(broker.bootstrapServers(), 8 * MIB)) {
      EnrollPhotos.publish(producer, people, 0, dir.resolve("photos"), topic);
      // 2 minutes covers the job's start and model loading on a loaded 2-core machine; the first
      // checkpoint is 10 minutes away
      Awaitility.await("3 faces searchable before any checkpoint").atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(200))
          .failFast("the job ended", () -> job.getJobStatus().get().isTerminalState())
          .until(() -> EnrollPhotos.committedFaces(index.resolve(EmbeddingModels.version(ours))) == 3);
      try (Stream<Path> taken = Files.walk(dir.resolve("checkpoints"))) {
        assertThat(taken.filter(p -> p.getFileName().toString().startsWith("chk-")).toList())
            .as("no checkpoint was taken before the faces were findable").isEmpty();
      }
    } finally {
      job.cancel().get();
    }
  }

  /** Waits until the Lucene folder's last commit holds n faces (read-only: the job holds the writer). */
  private static void awaitCount(Path folder, int n, org.apache.flink.core.execution.JobClient job) {
    Awaitility.await(n + " faces in " + folder).atMost(Duration.ofMinutes(4)).pollInterval(Duration.ofMillis(300))
        .failFast("the job ended", () -> job.getJobStatus().get().isTerminalState())
        .until(() -> EnrollPhotos.committedFaces(folder) == n);
  }


}
