package dev.mfn.flink.embed;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mfn.face.crop.FaceCropper;
import dev.mfn.face.decode.ImageDecoder;
import dev.mfn.face.detect.DetectorConfig;
import dev.mfn.face.detect.FaceChooser;
import dev.mfn.model.Embedder;
import dev.mfn.model.EmbeddingModels;
import dev.mfn.model.PhotoEmbedder;
import dev.mfn.model.store.ModelStore;
import dev.mfn.records.ModelEvent;
import dev.mfn.records.ModelEventKind;
import dev.mfn.search.enroll.FaceEmbedStage;
import dev.mfn.search.index.FaceDocument;
import dev.mfn.search.index.LuceneVectorIndex;
import dev.mfn.search.index.SearchHit;
import dev.mfn.search.index.VectorIndex;
import dev.mfn.services.kafka.KafkaBroker;
import dev.mfn.testkit.DetectorFiles;
import dev.mfn.testkit.LocalKafka;
import dev.mfn.testkit.SharedData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The migrator's commit point is a <em>completed</em> checkpoint after the switch, not a count of
 * its own snapshots: 8 LFW faces are indexed with our model (v1, served); the reference model is
 * announced; the checkpoint after the switch is aborted and the next one is taken but not yet
 * complete, and the migrator must not serve (the rule it had, "two snapshots", did). A face that
 * still reaches the old index then (a task that had not switched) is in the new index when it is
 * served after the completion. A subject erased meanwhile is not copied forward, a replay of the
 * announcement after the switch changes nothing, and a restart without state keeps what serves.
 */
@ExtendWith(LocalKafka.class)
class IndexMigratorTest {
  private static final Path OURS = Path.of(System.getProperty("mfn.repo", "../..")).resolve("models/default").toAbsolutePath().normalize();

  @Test
  void servesOnlyAfterACompletedCheckpointAndLosesNoFace(KafkaBroker broker, @TempDir Path dir) throws Exception {
    Path reference = SharedData.require("models/reference/MobileFaceNet_paddlex.onnx");
    List<Path> people = lfwPeople(40, 9);
    String erasures = "migrator-test-deleted";
    Path root = dir.resolve("index");
    IndexTarget target = IndexTarget.lucene(root);
    EmbedConfig config = config(broker, dir, target, erasures);

    List<FaceDocument> faces = embed(people);
    String old = EmbeddingModels.version(OURS); // the committed model's id (what the embed job names its index)
    try (VectorIndex v1 = target.open(old)) {
      v1.upsert(faces.subList(0, 8));
      v1.serve(OURS.toUri().toString());
    }
    String newVersion = EmbeddingModels.version(reference);
    try (var harness = new OneInputStreamOperatorTestHarness<ModelEvent, Void>(new IndexMigrator(config))) {
      harness.setup();
      harness.open();
      ModelEvent announce = ModelEvent.newBuilder().setKind(ModelEventKind.PUBLISHED).setModelVersion(newVersion)
          .setLocation(reference.toUri().toString()).setChecksum(ModelStore.checksum(reference)).setSequence(1)
          .setTimestamp(Instant.now()).build();
      harness.processElement(announce, 0);
      harness.snapshot(1, 1);
      harness.getOneInputOperator().notifyCheckpointAborted(1);
      harness.snapshot(2, 2);
      // a subject is erased while its faces are still in the old index (the deletion raced a pass)
      String erased = faces.get(3).subject();
      EmbedJobTest.erase(broker, erasures, erased);
      // the migrator makes its pass and then waits for the commit point; one that counted its
      // snapshots would go on and serve, and never wait
      IndexMigrator migrator = (IndexMigrator) harness.getOneInputOperator();
      Awaitility.await("the migration waiting for a completed checkpoint").atMost(Duration.ofMinutes(2))
          .pollInterval(Duration.ofMillis(100)).until(migrator::awaitingCommit);
      assertThat(LuceneVectorIndex.servedVersion(root)).as("not served before checkpoint 2 completes").contains(old);

      try (VectorIndex v1 = target.open(old)) {
        v1.upsert(List.of(faces.get(8))); // a late old-model face: written before checkpoint 2 completed
      }
      harness.notifyOfCompletedCheckpoint(2);
      Awaitility.await("the new index served").atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(200))
          .until(() -> LuceneVectorIndex.servedVersion(root).orElse("").equals(newVersion));
      assertThat(LuceneVectorIndex.served(root).orElseThrow().modelLocation()).isEqualTo(reference.toUri().toString());
      Awaitility.await("the migrator at its goal").atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(100))
          .until(migrator::converged);

      try (VectorIndex next = target.open(newVersion)) {
        Set<String> subjects = new HashSet<>();
        next.forEachStored(d -> subjects.add(d.subject()));
        Set<String> expected = new HashSet<>();
        faces.forEach(f -> expected.add(f.subject()));
        expected.remove(erased);
        assertThat(subjects).as("every face but the erased subject's, the late one included").isEqualTo(expected);
      }

      // the same announcement replayed (a consumer reset) after the switch changes nothing
      harness.processElement(announce, 3);
      harness.snapshot(3, 3);
      harness.notifyOfCompletedCheckpoint(3);
      assertThat(migrator.converged()).as("no new goal from a replayed event").isTrue();
      assertThat(LuceneVectorIndex.servedVersion(root)).contains(newVersion);
    }

    // a restart without state (no savepoint, a lost checkpoint folder) starts where the index
    // serves, with the model recorded there: it does not move searches back to --model (v1)
    try (var fresh = new OneInputStreamOperatorTestHarness<ModelEvent, Void>(new IndexMigrator(config))) {
      fresh.setup();
      fresh.open();
      fresh.snapshot(1, 1);
      fresh.notifyOfCompletedCheckpoint(1);
      IndexMigrator restarted = (IndexMigrator) fresh.getOneInputOperator();
      Awaitility.await("the restarted migrator at its goal").atMost(Duration.ofMinutes(2))
          .pollInterval(Duration.ofMillis(100)).until(restarted::converged);
      assertThat(LuceneVectorIndex.servedVersion(root)).contains(newVersion);
    }
  }

  /**
   * The upgrade path of README's "model-id" paragraph: an index a following job built with a former
   * committed default (named {@code v1}, served with {@code models/default} as its model) and a
   * repository update that replaced the files of {@code models/default}, so the folder now names
   * itself {@code v1-<checksum>}. Announcing the folder ({@code mfn models promote models/default
   * --force}) must re-embed every stored crop into the new id's index and serve it there, with the
   * same folder as its model (what {@code mfn serve} then checks the id against).
   */
  @Test
  void aFormerDefaultsIndexMovesToTheCommittedModelsIdWhenTheFolderIsPromoted(KafkaBroker broker, @TempDir Path dir)
      throws Exception {
    List<Path> people = lfwPeople(60, 4);
    String erasures = "migrator-upgrade-deleted";
    Path root = dir.resolve("index");
    IndexTarget target = IndexTarget.lucene(root);
    EmbedConfig config = config(broker, dir, target, erasures);
    String former = "v1"; // the id the committed default had before store ids (until 2026-12-04)
    String committed = EmbeddingModels.version(OURS);
    assertThat(committed).as("the committed default names itself by its checksum").isNotEqualTo(former).startsWith("v1-");
    List<FaceDocument> faces = embed(people);
    // the former index's documents: labelled v1, vectors of another network (here the committed
    // model's negated), so a migration that copied vectors instead of re-embedding the crops fails
    List<FaceDocument> formerFaces = new ArrayList<>();
    for (FaceDocument f : faces) {
      float[] other = f.vector().clone();
      for (int i = 0; i < other.length; i++) {
        other[i] = -other[i];
      }
      formerFaces.add(new FaceDocument(f.imageId(), f.faceIndex(), f.subject(), former, other, f.box(), f.cropPng(),
          f.publishedAt(), f.source()));
    }
    try (VectorIndex old = target.open(former)) {
      old.upsert(formerFaces);
      old.serve(OURS.toUri().toString());
    }

    try (var harness = new OneInputStreamOperatorTestHarness<ModelEvent, Void>(new IndexMigrator(config))) {
      harness.setup();
      harness.open(); // no state: starts where the index serves, (v1, models/default)
      ModelEvent promoted = ModelEvent.newBuilder().setKind(ModelEventKind.PROMOTED).setModelVersion(committed)
          .setLocation(OURS.toUri().toString()).setChecksum(ModelStore.checksum(OURS)).setSequence(1).setForced(true)
          .setTimestamp(Instant.now()).build();
      harness.processElement(promoted, 0);
      harness.snapshot(1, 1);
      harness.notifyOfCompletedCheckpoint(1);
      harness.snapshot(2, 2);
      harness.notifyOfCompletedCheckpoint(2);
      Awaitility.await("the committed model's index served").atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(200))
          .until(() -> LuceneVectorIndex.servedVersion(root).orElse("").equals(committed));
      assertThat(LuceneVectorIndex.served(root).orElseThrow().modelLocation()).isEqualTo(OURS.toUri().toString());
    }
    try (VectorIndex next = target.open(committed)) {
      Set<String> subjects = new HashSet<>();
      Set<String> labels = new HashSet<>();
      next.forEachStored(d -> {
        subjects.add(d.subject());
        labels.add(d.modelVersion());
      });
      Set<String> expected = new HashSet<>();
      faces.forEach(f -> expected.add(f.subject()));
      assertThat(subjects).as("every face of the former index").isEqualTo(expected);
      assertThat(labels).containsExactly(committed);
      for (FaceDocument f : faces) {
        // the stored crop re-embedded with the committed model finds itself with the committed
        // model's own embedding of that crop (copied vectors, here negated, would not)
        SearchHit top = next.search(f.vector(), 1, 10).get(0);
        assertThat(top.subject()).isEqualTo(f.subject());
        assertThat(top.similarity()).as("%s re-embedded, not copied", f.subject()).isGreaterThan(0.99f);
      }
    }
  }

  /** LFW people with two photos or more, in name order: {@code limit} of them after the first {@code skip}. */
  private static List<Path> lfwPeople(int skip, int limit) throws java.io.IOException {
    try (Stream<Path> all = Files.list(SharedData.require("data/lfw/images"))) {
      return all.sorted().filter(p -> EnrollPhotos.list(p).size() >= 2).skip(skip).limit(limit).toList();
    }
  }

  /** A migrator's settings: our model as --model, the index in {@code target}, erasures on their own topic (made here). */
  private static EmbedConfig config(KafkaBroker broker, Path dir, IndexTarget target, String erasures) throws java.io.IOException {
    Erasures.ensureTopic(broker.bootstrapServers(), erasures);
    return new EmbedConfig(broker.bootstrapServers(), "unused", "unused-dlq", "unused-models", "g", false, 1,
        OURS.toString(), target, false, 8, 200, 1_000, dir.resolve("chk").toString(), "blazeface",
        DetectorFiles.blazefaceDir().toString(), null, null, 0.5, 20, 64L << 20, 60_000_000).withErasures(erasures);
  }

  /** One face per person (their first photo) with our model, crops included: what the embed job stores. */
  private static List<FaceDocument> embed(List<Path> people) throws Exception {
    try (FaceCropper cropper = new FaceCropper(new ImageDecoder(64L << 20, 60_000_000),
            new DetectorConfig(DetectorFiles.blazefaceDir(), null, null, 0.5).open("blazeface"), new FaceChooser(0.5, 20));
        Embedder embedder = EmbeddingModels.open(OURS)) {
      FaceEmbedStage stage = new FaceEmbedStage(cropper, new PhotoEmbedder(cropper, embedder, true, false, 8), EmbeddingModels.version(OURS),
          FaceEmbedStage.Faces.CHOSEN);
      List<FaceEmbedStage.Photo> photos = new ArrayList<>();
      for (Path person : people) {
        String name = person.getFileName().toString();
        photos.add(new FaceEmbedStage.Photo(name + "/1", name, Files.readAllBytes(EnrollPhotos.list(person).get(0))));
      }
      List<FaceDocument> docs = stage.embed(photos).documents();
      assertThat(docs).hasSize(people.size());
      return docs;
    }
  }
}
