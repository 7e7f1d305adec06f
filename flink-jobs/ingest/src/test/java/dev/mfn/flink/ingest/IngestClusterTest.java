package dev.mfn.flink.ingest;

import static dev.mfn.flink.ingest.ClusterIngest.awaitManifest;
import static dev.mfn.flink.ingest.ClusterIngest.job;
import static dev.mfn.flink.ingest.ClusterIngest.samples;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mfn.publish.KafkaAccess;
import dev.mfn.publish.PhotoFile;
import dev.mfn.records.FaceSample;
import dev.mfn.services.flink.ClusterJobs;
import dev.mfn.services.flink.LocalFlinkCluster;
import dev.mfn.services.kafka.KafkaBroker;
import dev.mfn.testkit.Await;
import dev.mfn.testkit.LocalFlink;
import dev.mfn.testkit.LocalKafka;
import dev.mfn.testkit.PhotoFolders;
import dev.mfn.testkit.SharedData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ingest job on a real Flink session cluster (a JobManager and two TaskManagers, each its own
 * JVM) and the real broker: per-identity semantics in unbounded mode, labels across a restart
 * without state, a savepoint resumed at another parallelism, and a TaskManager killed mid-run.
 */
@Tag("cluster")
@ExtendWith({LocalKafka.class, LocalFlink.class})
class IngestClusterTest {
  private static final Duration WAIT = Duration.ofMinutes(3);

  /**
   * One identity's 400 photos arrive in 40 bursts with pauses between them: however they trickle
   * in, the identity's count and reservoir are one, so each cut applies the bounded-mode policy to
   * the whole identity as it stands (the old per-burst design lost small bursts and let each fill
   * the cap).
   */
  @Test
  void anIdentityArrivingInBurstsGetsTheBoundedTierAtEveryCut(KafkaBroker broker, LocalFlinkCluster cluster,
      @TempDir Path dir) throws Exception {
    String bootstrap = broker.bootstrapServers();
    String topic = "bursts";
    KafkaAccess.prepare(bootstrap, topic, 2, 30_000);
    KafkaAccess.prepare(bootstrap, topic + ".cuts", 1, 30_000);
    List<PhotoFile> many = lfwPhotosAs(dir.resolve("photos"), "many", 400);
    PhotoFolders.cfpFrontal(dir.resolve("few"), "008", 10);
    List<PhotoFile> few = ClusterIngest.scan(dir.resolve("few"));
    Path out = dir.resolve("shards");
    try (ClusterJobs jobs = new ClusterJobs(cluster.restAddress(), dir)) {
      // the seed's thresholds: n > 350 keep 350; n > 200 keep; n > 90 x2; n > 30 x4; else drop
      JobID id = jobs.submit(job(bootstrap, topic, "bursts-job", out, 2, true, 350, 200, 90, 30));
      Await.running(jobs, id, 1, WAIT);
      for (int burst = 0; burst < 40; burst++) {
        ClusterIngest.publish(bootstrap, topic, many.subList(burst * 10, burst * 10 + 10));
        if (burst == 19) {
          ClusterIngest.publish(bootstrap, topic, few);
          Await.consumed(bootstrap, "bursts-job", 210, WAIT);
          ClusterIngest.cut(bootstrap, topic + ".cuts", "half");
          // the cut is decided when it reaches the curator: the next burst only after it is written
          awaitManifest(out.resolve("cuts/half/manifest.json"), WAIT);
        }
        Thread.sleep(250); // the pause between bursts is the stimulus under test, not a wait
      }
      Await.consumed(bootstrap, "bursts-job", 410, WAIT);
      ClusterIngest.cut(bootstrap, topic + ".cuts", "all");
      ClusterIngest.cut(bootstrap, topic + ".cuts", "half"); // a name made already: ignored
      ClusterIngest.cut(bootstrap, topic + ".cuts", "../escape"); // not a folder name: ignored
      JsonNode all = awaitManifest(out.resolve("cuts/all/manifest.json"), WAIT);
      JsonNode half = awaitManifest(out.resolve("cuts/half/manifest.json"), WAIT);
      assertThat(jobs.status(id)).isEqualTo(JobStatus.RUNNING);
      // while it runs: every process's Prometheus endpoint, together, has what the dashboard asks for
      dev.mfn.testkit.DashboardQueries.awaitClusterExports(cluster, java.time.Duration.ofSeconds(60), "Flink jobs", "Ingest job");
      jobs.cancel(id);

      // at the first cut: 200 photos -> x2 (opening), all kept; 10 -> dropped
      assertThat(half.at("/identities/many/n").asLong()).isEqualTo(200);
      assertThat(half.at("/identities/many/tier").asText()).isEqualTo("OPENING");
      assertThat(half.at("/identities/many/kept").asLong()).isEqualTo(200);
      assertThat(half.at("/identities/008/tier").asText()).isEqualTo("DROP");
      // at the second: 400 -> the cap, exactly as bounded mode decides for 400 photos
      assertThat(all.at("/identities/many/n").asLong()).isEqualTo(400);
      assertThat(all.at("/identities/many/tier").asText()).isEqualTo("KEEP");
      assertThat(all.at("/identities/many/kept").asLong()).isEqualTo(350);
      assertThat(all.at("/totals/records_in").asLong())
          .isEqualTo(all.at("/totals/photos_kept").asLong() + all.at("/totals/dead_letters").asLong()
              + all.at("/totals/dropped_by_policy").asLong())
          .isEqualTo(410);

      assertThat(Files.exists(out.resolve("escape"))).isFalse();
      List<FaceSample> halfSamples = samples(out.resolve("cuts/half"));
      List<FaceSample> allSamples = samples(out.resolve("cuts/all"));
      // 200 photos x2, but a validation photo (--validation-fraction 0.1) is one sample
      Set<String> halfPhotos = halfSamples.stream().map(FaceSample::getImageId).collect(Collectors.toSet());
      assertThat(halfPhotos).hasSize(200);
      assertThat(halfSamples).hasSize((int) SampleMakerTest.expectedSamples(halfPhotos, 2, 0.1))
          .extracting(FaceSample::getId).doesNotHaveDuplicates();
      assertThat(allSamples).hasSize(350).extracting(FaceSample::getId).doesNotHaveDuplicates();
      Set<String> keptPhotos = allSamples.stream().map(FaceSample::getImageId).collect(Collectors.toSet());
      assertThat(keptPhotos).hasSize(350);
      // the reservoir is uniform over all 400: photos of the first and the last bursts are kept
      List<String> order = ClusterIngest.imageIds(bootstrap, topic, "many");
      assertThat(order.subList(0, 100).stream().filter(keptPhotos::contains).count()).isGreaterThan(60);
      assertThat(order.subList(300, 400).stream().filter(keptPhotos::contains).count()).isGreaterThan(60);
      // one label for the identity, the same in both cuts and in the manifest
      assertThat(Stream.concat(halfSamples.stream(), allSamples.stream()).map(FaceSample::getLabel).distinct())
          .containsExactly(all.at("/labels/many").asInt());
    }
  }

  /**
   * Labels never change meaning: a second run without any state (a new job, a new consumer group)
   * over the same topic, after more people arrived, gives the first run's people their labels and
   * the new people new ones; and it refuses to write into the first run's shard set.
   */
  @Test
  void aRestartWithoutStateKeepsEverySubjectsLabel(KafkaBroker broker, LocalFlinkCluster cluster, @TempDir Path dir)
      throws Exception {
    String bootstrap = broker.bootstrapServers();
    String topic = "labels-in";
    KafkaAccess.prepare(bootstrap, topic, 3, 30_000);
    for (String s : List.of("011", "012", "013")) {
      PhotoFolders.cfpFrontal(dir.resolve("first"), s, 4);
    }
    for (String s : List.of("010", "014", "015")) {
      PhotoFolders.cfpFrontal(dir.resolve("second"), s, 4);
    }
    ClusterIngest.publish(bootstrap, topic, ClusterIngest.scan(dir.resolve("first")));
    Path first = dir.resolve("run1");
    Path second = dir.resolve("run2");
    try (ClusterJobs jobs = new ClusterJobs(cluster.restAddress(), dir)) {
      JobID run1 = jobs.submit(job(bootstrap, topic, "labels-1", first, 2, false, 10, 8, 6, 2));
      assertThat(jobs.await(run1, WAIT).isSuccess()).isTrue();
      Map<String, Integer> before = labels(first);
      assertThat(before).containsOnlyKeys("011", "012", "013");
      assertThat(new HashSet<>(before.values())).containsExactlyInAnyOrder(0, 1, 2);

      ClusterIngest.publish(bootstrap, topic, ClusterIngest.scan(dir.resolve("second")));
      assertThatThrownBy(() -> jobs.submit(job(bootstrap, topic, "labels-2", first, 3, false, 10, 8, 6, 2)))
          .hasStackTraceContaining("already holds a shard set");
      JobID run2 = jobs.submit(job(bootstrap, topic, "labels-2", second, 3, false, 10, 8, 6, 2));
      assertThat(jobs.await(run2, WAIT).isSuccess()).isTrue();
      Map<String, Integer> after = labels(second);
      assertThat(after).hasSize(6);
      before.forEach((subject, label) -> assertThat(after).containsEntry(subject, label));
      assertThat(Set.of(after.get("010"), after.get("014"), after.get("015"))).containsExactlyInAnyOrder(3, 4, 5);
      assertThat(LabelRegistry.read(bootstrap, topic + ".labels")).isEqualTo(after);
    }
  }

  /**
   * Stop with a savepoint at parallelism 2, more photos arrive, resume at 3: every identity's count
   * and reservoir continue where they were (the kept photos are those Algorithm R keeps over all
   * photos in order, the earlier ones included), and labels stay.
   */
  @Test
  void aSavepointResumedAtAnotherParallelismKeepsCountsReservoirsAndLabels(KafkaBroker broker,
      LocalFlinkCluster cluster, @TempDir Path dir) throws Exception {
    String bootstrap = broker.bootstrapServers();
    String topic = "rescale-in";
    KafkaAccess.prepare(bootstrap, topic, 3, 30_000);
    KafkaAccess.prepare(bootstrap, topic + ".cuts", 1, 30_000);
    List<String> people = List.of("021", "022", "023", "024");
    for (String s : people) {
      PhotoFolders.cfpFrontal(dir.resolve("photos"), s, 10);
    }
    List<PhotoFile> all = ClusterIngest.scan(dir.resolve("photos"));
    List<PhotoFile> early = all.stream().filter(f -> f.path().getFileName().toString().compareTo("06.jpg") < 0).toList();
    List<PhotoFile> late = all.stream().filter(f -> !early.contains(f)).toList();
    Path out = dir.resolve("shards");
    try (ClusterJobs jobs = new ClusterJobs(cluster.restAddress(), dir)) {
      // cap 6: 10 photos each -> 6 kept by the reservoir; keep above 5: tier KEEP (one sample each)
      JobID id = jobs.submit(job(bootstrap, topic, "rescale", out, 2, true, 6, 5, 4, 2));
      Await.running(jobs, id, 1, WAIT);
      ClusterIngest.publish(bootstrap, topic, early);
      Await.consumed(bootstrap, "rescale", 20, WAIT);
      ClusterIngest.cut(bootstrap, topic + ".cuts", "before");
      JsonNode before = awaitManifest(out.resolve("cuts/before/manifest.json"), WAIT);
      String savepoint = jobs.stopWithSavepoint(id, dir.resolve("savepoints").toUri().toString());
      assertThat(jobs.await(id, WAIT).getApplicationStatus().name()).isEqualTo("SUCCEEDED");

      ClusterIngest.publish(bootstrap, topic, late);
      JobID resumed = jobs.submit(jobs.savedSubmission(Path.of(java.net.URI.create(savepoint))).withParallelism(3));
      Await.running(jobs, resumed, 1, WAIT);
      assertThat(jobs.details(resumed).get("vertices")).anySatisfy(v ->
          assertThat(v.get("parallelism").asInt()).isEqualTo(3));
      Await.consumed(bootstrap, "rescale", 40, WAIT);
      ClusterIngest.cut(bootstrap, topic + ".cuts", "after");
      JsonNode after = awaitManifest(out.resolve("cuts/after/manifest.json"), WAIT);
      jobs.cancel(resumed);

      List<FaceSample> samples = samples(out.resolve("cuts/after"));
      for (String person : people) {
        assertThat(before.at("/identities/" + person + "/n").asLong()).isEqualTo(5);
        assertThat(after.at("/identities/" + person + "/n").asLong()).as("count of " + person).isEqualTo(10);
        assertThat(after.at("/labels/" + person).asInt()).isEqualTo(before.at("/labels/" + person).asInt());
        Set<String> kept = samples.stream().filter(s -> s.getSubject().equals(person))
            .map(FaceSample::getImageId).collect(Collectors.toSet());
        assertThat(kept).as("reservoir of " + person).isEqualTo(reservoir(person,
            ClusterIngest.imageIds(bootstrap, topic, person), 6));
      }
    }
  }

  /**
   * kill -9 of a TaskManager in the middle of a bounded run, after a checkpoint: the job recovers
   * on the surviving one (a new class loader: native libraries must still load), a replacement
   * joins, and the result is exact: every record accounted for, every kept photo once, labels as
   * the manifest says.
   */
  @Test
  void aTaskManagerKilledMidRunLosesNothing(KafkaBroker broker, LocalFlinkCluster cluster, @TempDir Path dir)
      throws Exception {
    String bootstrap = broker.bootstrapServers();
    String topic = "failover-in";
    KafkaAccess.prepare(bootstrap, topic, 4, 30_000);
    for (int p = 31; p <= 60; p++) {
      PhotoFolders.cfpFrontal(dir.resolve("photos"), String.format("%03d", p), 10);
    }
    ClusterIngest.publish(bootstrap, topic, ClusterIngest.scan(dir.resolve("photos")));
    Path out = dir.resolve("shards");
    try (ClusterJobs jobs = new ClusterJobs(cluster.restAddress(), dir)) {
      // 10 photos each: cap 12, keep above 10, opening above 8 -> x2, 20 samples a person
      JobID id = jobs.submit(job(bootstrap, topic, "failover", out, 2, false, 12, 10, 8, 4));
      Await.running(jobs, id, 1, WAIT);
      assertThat(Await.committed(bootstrap, "failover")).as("still running when killed").isLessThan(300);
      cluster.killTaskManager(1);
      cluster.startTaskManager(1, false);
      assertThat(jobs.await(id, WAIT).isSuccess()).isTrue();
      assertThat(jobs.get("/jobs/" + id + "/exceptions").path("exceptionHistory").path("entries").size())
          .as("the job failed over").isGreaterThan(0);
      cluster.awaitTaskManagers(LocalFlink.TASK_MANAGERS);

      JsonNode manifest = awaitManifest(out.resolve("manifest.json"), WAIT);
      JsonNode totals = manifest.get("totals");
      assertThat(totals.get("records_in").asLong()).isEqualTo(300);
      assertThat(totals.get("records_in").asLong()).isEqualTo(totals.get("photos_kept").asLong()
          + totals.get("dead_letters").asLong() + totals.get("dropped_by_policy").asLong());
      List<FaceSample> samples = samples(out);
      assertThat(samples).extracting(FaceSample::getId).doesNotHaveDuplicates();
      // x2 for a train photo, one sample for a validation photo (--validation-fraction 0.1)
      Set<String> keptPhotos = samples.stream().map(FaceSample::getImageId).collect(Collectors.toSet());
      assertThat(keptPhotos).hasSize((int) totals.get("photos_kept").asLong());
      assertThat(samples).hasSize((int) SampleMakerTest.expectedSamples(keptPhotos, 2, 0.1));
      assertThat(totals.get("photos_kept").asLong()).isGreaterThan(280);
      for (FaceSample s : samples) {
        assertThat(s.getLabel()).isEqualTo(manifest.at("/labels/" + s.getSubject()).asInt());
      }
    }
  }

  /** subject -> label from a bounded run's manifest, checked against every sample. */
  private static Map<String, Integer> labels(Path shards) throws Exception {
    JsonNode manifest = awaitManifest(shards.resolve("manifest.json"), WAIT);
    Map<String, Integer> labels = new TreeMap<>();
    manifest.get("labels").fields().forEachRemaining(e -> labels.put(e.getKey(), e.getValue().asInt()));
    Map<String, Integer> fromSamples = new HashMap<>();
    for (FaceSample s : samples(shards)) {
      assertThat(fromSamples.computeIfAbsent(s.getSubject(), k -> s.getLabel())).isEqualTo(s.getLabel());
    }
    assertThat(fromSamples).isEqualTo(labels);
    return labels;
  }

  /** The photos Algorithm R keeps after seeing {@code order}, as the job must. */
  private static Set<String> reservoir(String subject, List<String> order, int cap) {
    String[] slots = new String[cap];
    for (int n = 1; n <= order.size(); n++) {
      int slot = IdentityReservoir.slotFor(subject, n, cap);
      if (slot >= 0) {
        slots[slot] = order.get(n - 1);
      }
    }
    return Set.of(slots);
  }

  /** {@code count} LFW photos (of many people) filed under one subject: one identity's 400 photos. */
  private static List<PhotoFile> lfwPhotosAs(Path root, String subject, int count) throws Exception {
    Path lfw = SharedData.require("data/lfw/images");
    Path to = Files.createDirectories(root.resolve(subject));
    try (Stream<Path> files = Files.walk(lfw)) {
      List<Path> photos = files.filter(p -> p.toString().endsWith(".jpg")).sorted().limit(count).toList();
      for (int i = 0; i < photos.size(); i++) {
        Files.copy(photos.get(i), to.resolve(String.format("%04d.jpg", i)));
      }
    }
    return ClusterIngest.scan(root);
  }
}
