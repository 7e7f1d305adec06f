package dev.mfn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mfn.services.flink.ClusterJobs;
import dev.mfn.services.flink.LocalFlinkCluster;
import dev.mfn.testkit.Await;
import java.time.Duration;
import org.apache.flink.api.common.JobID;
import dev.mfn.services.kafka.KafkaBroker;
import dev.mfn.testkit.LocalFlink;
import dev.mfn.testkit.LocalKafka;
import dev.mfn.testkit.PhotoFolders;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's "On a Flink cluster" commands against a real session cluster (a JobManager and two
 * TaskManager JVMs) and the real broker: ingest with --flink (bounded, then refused into the same
 * folder), unbounded ingest with a cut, jobs list, stop with a savepoint, resume rescaled, cancel.
 */
@Tag("cluster")
@ExtendWith({LocalKafka.class, LocalFlink.class})
class ClusterCommandsTest {
  private static final Pattern JOB_ID = Pattern.compile("\\b([0-9a-f]{32})\\b");

  @Test
  void theReadmesClusterCommandsWork(KafkaBroker broker, LocalFlinkCluster cluster, @TempDir Path dir) throws Exception {
    String kafka = broker.bootstrapServers();
    String flink = cluster.restAddress();
    Path photos = dir.resolve("photos");
    PhotoFolders.cfpFrontal(photos, "041", 5);
    PhotoFolders.cfpFrontal(photos, "042", 5);
    PhotoFolders.cfpFrontal(photos, "043", 3);
    MfnCliTest.Run publish = MfnCliTest.mfn("publish", photos.toString(), "--topic", "cli-cluster",
        "--bootstrap", kafka, "--no-progress");
    assertThat(publish.exit()).as(publish.err()).isZero();

    Path out = dir.resolve("shards");
    String[] ingest = {"ingest", "--flink", flink, "--topic", "cli-cluster", "--bootstrap", kafka, "--out", out.toString(),
        "--policy", "20,8,4,2", "--parallelism", "2", "--shards", "2", "--no-progress"};
    MfnCliTest.Run bounded = MfnCliTest.mfn(ingest);
    assertThat(bounded.exit()).as(bounded.err()).isZero();
    // 5 photos: x2 tier; 3 photos: x4 tier
    assertThat(bounded.out()).contains("ingested 13 records").contains("photos kept:        13")
        .contains("identities:         3 ({FULL=1, OPENING=2}), 3 labelled");
    MfnCliTest.Run again = MfnCliTest.mfn(ingest);
    assertThat(again.exit()).isEqualTo(2);
    assertThat(again.err().strip()).startsWith("mfn ingest: ").contains("already holds a shard set").doesNotContain("\n");

    Path live = dir.resolve("live");
    MfnCliTest.Run unbounded = MfnCliTest.mfn("ingest", "--flink", flink, "--unbounded", "--topic", "cli-cluster",
        "--bootstrap", kafka, "--out", live.toString(), "--policy", "20,8,4,2", "--parallelism", "2", "--no-progress");
    assertThat(unbounded.exit()).as(unbounded.err()).isZero();
    String job = jobId(unbounded.out());
    // a cut takes the identities as they stand: wait until every photo has reached the curator
    try (ClusterJobs jobs = new ClusterJobs(flink, dir)) {
      Await.until("13 faces at the curator", Duration.ofMinutes(3), () -> curatorRecordsIn(jobs, JobID.fromHexString(job)) >= 13);
    }
    MfnCliTest.Run cut = MfnCliTest.mfn("shards", "cut", "--topic", "cli-cluster", "--bootstrap", kafka,
        "--out", live.toString(), "--name", "first", "--wait-s", "120");
    assertThat(cut.exit()).as(cut.err()).isZero();
    assertThat(cut.out()).contains("cut first: 3 identities (3 kept), 13 photos kept");
    assertThat(MfnCliTest.mfn("jobs", "list", "--flink", flink).out()).contains(job + "  RUNNING");
    // what the console's Pipeline tab shows of it: running, no restarts, and its group's lag on the topic
    var pipeline = new dev.mfn.cli.pipeline.KafkaPipelineView(kafka, flink, "cli-cluster.dlq").status();
    assertThat(pipeline).doesNotContainKey("jobs_error").doesNotContainKey("lag_error");
    @SuppressWarnings("unchecked")
    var listed = (java.util.List<java.util.Map<String, Object>>) pipeline.get("jobs");
    assertThat(listed).anySatisfy(j -> {
      assertThat(j.get("id")).isEqualTo(job);
      assertThat(j.get("state")).isEqualTo("RUNNING");
      assertThat(j.get("restarts")).isEqualTo(0L);
    });
    // the job's group commits its offsets on cli-cluster when a checkpoint completes
    var view = new dev.mfn.cli.pipeline.KafkaPipelineView(kafka, flink, "cli-cluster.dlq");
    Await.until("the ingest group's lag on cli-cluster", Duration.ofMinutes(2), () -> {
      Object lags = view.status().get("lag");
      return lags instanceof java.util.List<?> rows && rows.stream().anyMatch(r -> r instanceof java.util.Map<?, ?> m
          && "cli-cluster".equals(m.get("topic")) && Long.valueOf(0).equals(m.get("lag")));
    });

    MfnCliTest.Run stop = MfnCliTest.mfn("jobs", "stop", job, "--savepoint", dir.resolve("savepoints").toString(),
        "--flink", flink);
    assertThat(stop.exit()).as(stop.err()).isZero();
    Matcher savepoint = Pattern.compile("--from (\\S+)").matcher(stop.out());
    assertThat(savepoint.find()).as(stop.out()).isTrue();
    assertThat(Files.isRegularFile(Path.of(savepoint.group(1)).resolve("mfn-job.json"))).isTrue();
    MfnCliTest.Run resume = MfnCliTest.mfn("jobs", "resume", "--from", savepoint.group(1), "--parallelism", "1",
        "--flink", flink);
    assertThat(resume.exit()).as(resume.err()).isZero();
    assertThat(resume.out()).contains("(parallelism 1)");
    String resumed = jobId(resume.out());
    try (ClusterJobs jobs = new ClusterJobs(flink, dir)) {
      Await.running(jobs, JobID.fromHexString(resumed), 1, Duration.ofMinutes(3)); // a checkpoint to keep
    }
    MfnCliTest.Run cancel = MfnCliTest.mfn("jobs", "cancel", resumed, "--flink", flink);
    assertThat(cancel.exit()).as(cancel.err()).isZero();
    assertThat(cancel.out()).contains("cancelled " + resumed);
    // its retained checkpoint resumes it (a crash or a cancel is not the end of a job's state)
    Matcher retained = Pattern.compile("--from (\\S+chk-\\d+)").matcher(cancel.out());
    assertThat(retained.find()).as(cancel.out()).isTrue();
    MfnCliTest.Run again2 = MfnCliTest.mfn("jobs", "resume", "--from", retained.group(1), "--flink", flink);
    assertThat(again2.exit()).as(again2.err()).isZero();
    String fromCheckpoint = jobId(again2.out());
    try (ClusterJobs jobs = new ClusterJobs(flink, dir)) {
      Await.running(jobs, JobID.fromHexString(fromCheckpoint), 1, Duration.ofMinutes(3));
      jobs.cancel(JobID.fromHexString(fromCheckpoint));
    }
  }

  private static long curatorRecordsIn(ClusterJobs jobs, JobID id) {
    try {
      for (var vertex : jobs.details(id).path("vertices")) {
        if (vertex.path("name").asText().contains("identity-policy-augment")) {
          return vertex.path("metrics").path("read-records").asLong();
        }
      }
    } catch (Exception e) {
      // not running yet
    }
    return 0;
  }

  private static String jobId(String out) {
    Matcher m = JOB_ID.matcher(out);
    assertThat(m.find()).as(out).isTrue();
    return m.group(1);
  }
}
