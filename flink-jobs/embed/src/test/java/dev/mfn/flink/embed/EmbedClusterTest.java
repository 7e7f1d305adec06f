package dev.mfn.flink.embed;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mfn.publish.ImagePublisher;
import dev.mfn.publish.KafkaAccess;
import dev.mfn.publish.RawImageFactory;
import dev.mfn.records.DeadLetter;
import dev.mfn.records.ModelEvent;
import dev.mfn.records.ModelEventKind;
import dev.mfn.records.kafka.AvroSerde;
import dev.mfn.search.index.LuceneVectorIndex;
import dev.mfn.services.flink.ClusterJobs;
import dev.mfn.services.flink.JobSubmission;
import dev.mfn.services.flink.LocalFlinkCluster;
import dev.mfn.services.kafka.KafkaBroker;
import dev.mfn.testkit.Await;
import dev.mfn.testkit.DetectorFiles;
import dev.mfn.testkit.LocalFlink;
import dev.mfn.testkit.LocalKafka;
import dev.mfn.testkit.SharedData;
import dev.mfn.testkit.TopicReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.flink.api.common.JobID;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.store.FSDirectory;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embed job on a real Flink session cluster (a JobManager and two TaskManager JVMs) and the
 * real broker: a savepoint taken while a model migration is pending, resumed at a lower
 * parallelism, and a TaskManager killed in the middle of a run.
 */
@Tag("cluster")
@ExtendWith({LocalKafka.class, LocalFlink.class})
class EmbedClusterTest {
  private static final long MIB = 1 << 20;
  private static final Duration WAIT = Duration.ofMinutes(4);
  private static final String REFERENCE = "MobileFaceNet_paddlex.onnx";

  /**
   * 6 people enrolled with our model (v1) at parallelism 2; the better reference model is announced,
   * passes the job's gate on the TaskManager (40 LFW pairs), and the job is stopped with a savepoint
   * while the migration waits for a checkpoint after the switch to complete (periodic checkpoints
   * are off). Resumed at parallelism 1: the restored tasks embed new photos with the new model (the
   * model timeline is state), and the restored migrator serves the new index once it holds all 12
   * faces; the old index keeps its 6.
   */
  @Test
  void aSavepointWithAPendingMigrationResumesAtParallelismOne(KafkaBroker broker, LocalFlinkCluster cluster,
      @TempDir Path dir) throws Exception {
    String bootstrap = broker.bootstrapServers();
    String topic = "embed-rescale";
    String events = "embed-rescale-models";
    for (String t : List.of(topic, events, topic + ".dlq")) {
      KafkaAccess.prepare(bootstrap, t, t.equals(topic) ? 2 : 1, 30_000);
    }
    List<Path> people = lfwPeople(20, 6);
    Path index = dir.resolve("index");
    Path ours = Path.of(System.getProperty("mfn.repo", "../..")).resolve("models/default").toAbsolutePath().normalize();
    Path reference = SharedData.require("models/reference/" + REFERENCE);
    Path gatePairs = dev.mfn.evaluate.PairSets.lfwSlice(SharedData.require("data/lfw"), dir.resolve("gate-pairs"), 40);
    String old = dev.mfn.model.EmbeddingModels.version(ours); // the committed model's id: its index's name
    try (ClusterJobs jobs = new ClusterJobs(cluster.restAddress(), dir);
        Producer<String, byte[]> producer = KafkaAccess.producer(bootstrap, 8 * MIB)) {
      // periodic checkpoints every 10 minutes: in effect, only the ones this test triggers
      JobSubmission submission = job(ours, bootstrap, topic, events, "embed-rescale", index, 2, false, 600_000);
      List<String> args = new ArrayList<>(submission.args());
      args.addAll(List.of("--gate-pairs", gatePairs.toString()));
      JobID id = jobs.submit(new JobSubmission(submission.mainClass(), args, null));
      Await.until("job running", WAIT, () -> running(jobs, id));
      EnrollPhotos.publish(producer, people, 0, dir.resolve("first"), topic);
      Await.until("6 faces in the old index", WAIT, () -> {
        trigger(jobs, id);
        return EnrollPhotos.committedFaces(index.resolve(old)) == 6;
      });
      assertThat(LuceneVectorIndex.servedVersion(index)).contains(old);

      ModelEvent event = ModelEvent.newBuilder().setKind(ModelEventKind.PUBLISHED).setModelVersion(REFERENCE)
          .setLocation(reference.toUri().toString()).setSequence(1).setChecksum(dev.mfn.model.store.ModelStore.checksum(reference))
          .setTimestamp(Instant.now()).build();
      producer.send(new ProducerRecord<>(events, REFERENCE, new AvroSerde<>(ModelEvent.class).encode(event))).get();
      // past the gate, the migrator's first pass starts filling the new index
      Await.until("the migration to start", WAIT, () -> Files.isDirectory(index.resolve(REFERENCE)));
      String savepoint = jobs.stopWithSavepoint(id, dir.resolve("savepoints").toUri().toString());

      JobSubmission resume = jobs.savedSubmission(Path.of(java.net.URI.create(savepoint)))
          .withParallelism(1).withArg("--checkpoint-ms", "1000");
      JobID resumed = jobs.submit(resume);
      Await.running(jobs, resumed, 1, WAIT);
      assertThat(jobs.details(resumed).get("vertices")).allSatisfy(v -> assertThat(v.get("parallelism").asInt()).isEqualTo(1));
      EnrollPhotos.publish(producer, people, 1, dir.resolve("second"), topic);
      Await.until("the reference model served with 12 faces", WAIT, () -> servedVersion(index).equals(REFERENCE)
          && EnrollPhotos.committedFaces(index.resolve(REFERENCE)) == 12);
      Await.consumed(bootstrap, "embed-rescale", 12, WAIT);
      // while it runs: every process's Prometheus endpoint, together, has what the dashboard asks for
      dev.mfn.testkit.DashboardQueries.awaitClusterExports(cluster, Duration.ofSeconds(60), "Flink jobs", "Embed job");
      jobs.cancel(resumed);
    }
    assertThat(EnrollPhotos.committedFaces(index.resolve(old))).as("new photos went to the new model's index only").isEqualTo(6);
  }

  /**
   * kill -9 of a TaskManager during a run, after a checkpoint: the job recovers (native ONNX
   * Runtime and OpenCV load again in the new class loader), a replacement joins, and the index
   * holds every face exactly once (deterministic document ids) next to the dead letters.
   */
  @Test
  void aTaskManagerKilledMidRunLeavesEveryFaceOnce(KafkaBroker broker, LocalFlinkCluster cluster, @TempDir Path dir)
      throws Exception {
    String bootstrap = broker.bootstrapServers();
    String topic = "embed-failover";
    KafkaAccess.prepare(bootstrap, topic, 4, 30_000);
    KafkaAccess.prepare(bootstrap, topic + ".dlq", 1, 30_000);
    List<Path> people = lfwPeople(100, 160);
    Path index = dir.resolve("index");
    try (ClusterJobs jobs = new ClusterJobs(cluster.restAddress(), dir);
        Producer<String, byte[]> producer = KafkaAccess.producer(bootstrap, 8 * MIB)) {
      EnrollPhotos.publish(producer, people, 0, dir.resolve("photos"), topic);
      JobID id = jobs.submit(job(SharedData.require("models/reference/" + REFERENCE), bootstrap, topic, null, "embed-failover",
          index, 2, true, 1000));
      Await.running(jobs, id, 1, WAIT);
      assertThat(Await.committed(bootstrap, "embed-failover")).as("still running when killed").isLessThan(160);
      cluster.killTaskManager(2);
      cluster.startTaskManager(2, false);
      assertThat(jobs.await(id, WAIT).isSuccess()).isTrue();
      assertThat(jobs.get("/jobs/" + id + "/exceptions").path("exceptionHistory").path("entries").size())
          .as("the job failed over").isGreaterThan(0);
      cluster.awaitTaskManagers(LocalFlink.TASK_MANAGERS);
    }
    AvroSerde<DeadLetter> letters = new AvroSerde<>(DeadLetter.class);
    long dead = TopicReader.readAll(bootstrap, topic + ".dlq").stream().map(r -> letters.decode(r.value())).count();
    Set<String> faces = new HashSet<>();
    int documents;
    try (var reader = DirectoryReader.open(FSDirectory.open(index.resolve(REFERENCE)))) {
      documents = reader.numDocs();
    }
    try (var stored = IndexTarget.lucene(index).open(REFERENCE)) {
      stored.forEachStored(d -> faces.add(d.imageId() + "#" + d.faceIndex()));
    }
    assertThat(documents).isEqualTo(faces.size());
    assertThat(faces.size() + dead).as("every photo: a face in the index or a dead letter").isEqualTo(160);
    assertThat(faces.size()).isGreaterThan(150);
  }

  private static JobSubmission job(Path model, String bootstrap, String topic, String events, String group, Path index,
      int parallelism, boolean bounded, long checkpointMillis) throws Exception {
    List<String> args = new ArrayList<>(List.of("--model", model.toString(), "--bootstrap", bootstrap,
        "--topic", topic, "--dlq-topic", topic + ".dlq", "--group-id", group, "--parallelism", String.valueOf(parallelism),
        "--index-dir", index.toString(), "--batch", "8", "--checkpoint-ms", String.valueOf(checkpointMillis),
        "--blazeface-dir", DetectorFiles.blazefaceDir().toString()));
    if (events != null) {
      args.addAll(List.of("--model-events", events));
    }
    if (bounded) {
      args.add("--bounded");
    }
    return new JobSubmission(EmbedJob.class.getName(), args, null);
  }

  private static boolean running(ClusterJobs jobs, JobID id) {
    try {
      return jobs.status(id) == org.apache.flink.api.common.JobStatus.RUNNING
          && jobs.details(id).get("vertices").findValues("status").stream().allMatch(s -> s.asText().equals("RUNNING"));
    } catch (Exception e) {
      return false;
    }
  }

  /** Triggers a checkpoint and waits until it (or a later one) has completed. */
  private static void trigger(ClusterJobs jobs, JobID id) {
    try {
      long before = jobs.completedCheckpoints(id);
      jobs.triggerCheckpoint(id);
      Await.until("a checkpoint of " + id, WAIT, () -> {
        try {
          return jobs.completedCheckpoints(id) > before;
        } catch (java.io.IOException e) {
          return false;
        }
      });
    } catch (java.io.IOException e) {
      // a checkpoint still running refuses another: the next poll tries again
    }
  }


  private static String servedVersion(Path index) {
    try {
      return LuceneVectorIndex.servedVersion(index).orElse("");
    } catch (Exception e) {
      return "";
    }
  }

  /** {@code count} LFW people with at least two photos, after skipping {@code skip}. */
  private static List<Path> lfwPeople(int skip, int count) throws Exception {
    try (Stream<Path> all = Files.list(SharedData.require("data/lfw/images"))) {
      return all.sorted().filter(p -> EnrollPhotos.list(p).size() >= 2).skip(skip).limit(count).toList();
    }
  }



}
