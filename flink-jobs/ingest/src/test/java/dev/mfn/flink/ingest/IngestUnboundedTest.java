package dev.mfn.flink.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mfn.publish.ImagePublisher;
import dev.mfn.publish.KafkaAccess;
import dev.mfn.publish.RawImageFactory;
import dev.mfn.records.FaceSample;
import dev.mfn.services.kafka.KafkaBroker;
import dev.mfn.testkit.DetectorFiles;
import dev.mfn.testkit.LocalKafka;
import dev.mfn.testkit.PhotoFolders;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.producer.Producer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Unbounded mode: the job keeps running; an identity is complete once no photo of it arrived for
 * the idle time, and its samples reach the shards with the next checkpoint.
 */
@ExtendWith(LocalKafka.class)
class IngestUnboundedTest {
  private static final long MIB = 1 << 20;

  @Test
  void identitiesCompleteAfterTheIdleTimeWhileTheJobRuns(KafkaBroker broker, @TempDir Path dir) throws Exception {
    Path photos = dir.resolve("photos");
    PhotoFolders.cfpFrontal(photos, "006", 6);
    PhotoFolders.cfpFrontal(photos, "007", 6);
    String topic = "unbounded-in";
    KafkaAccess.prepare(broker.bootstrapServers(), topic, 2, 30_000);
    Path out = dir.resolve("shards");
    // 6 photos each, thresholds 20/10/8/2: the x4 tier -> 24 samples per identity.
    IngestConfig config = new IngestConfig(
        broker.bootstrapServers(), topic, "unbounded-dlq", "unbounded-test", false, out.toString(), 2, 4, 0.1,
        20, 10, 8, 2, 2_000, 500, "blazeface", DetectorFiles.blazefaceDir().toString(), null, null,
        0.5, 20, 64 * MIB, 60_000_000);
    StreamExecutionEnvironment env =
        StreamExecutionEnvironment.getExecutionEnvironment(IngestJob.flinkConfiguration(config));
    IngestJob.fromConfig(config).build(env);
    JobClient job = env.executeAsync("ingest unbounded test");
    try {
      // Photos arrive while the job runs.
      try (Producer<String, byte[]> producer = KafkaAccess.producer(broker.bootstrapServers(), MIB)) {
        new ImagePublisher(producer, new RawImageFactory(MIB, null), 64 * MIB)
            .publish(ImagePublisher.scan(photos), topic, f -> {});
      }
      JsonNode totals = awaitManifest(out.resolve("manifest.json"), 12, Duration.ofSeconds(90));
      assertThat(totals.get("photos_kept").asLong()).isEqualTo(12);
      assertThat(totals.get("train_samples").asLong() + totals.get("validation_samples").asLong()).isEqualTo(48);
      assertThat(awaitShards(out, 48, Duration.ofSeconds(60))).hasSize(48);
      assertThat(job.getJobStatus().get().isTerminalState()).as("still running").isFalse();
    } finally {
      job.cancel().get();
    }
  }

  /** Polls the manifest until it counts {@code records} records in. */
  private static JsonNode awaitManifest(Path file, long records, Duration timeout) throws Exception {
    Instant deadline = Instant.now().plus(timeout);
    while (Instant.now().isBefore(deadline)) {
      if (Files.exists(file)) {
        JsonNode totals = new ObjectMapper().readTree(file.toFile()).get("totals");
        if (totals.get("records_in").asLong() >= records) {
          return totals;
        }
      }
      java.util.concurrent.locks.LockSupport.parkNanos(200_000_000L);
    }
    throw new AssertionError("manifest did not reach " + records + " records in " + timeout);
  }

  /** Polls the committed shard files until they hold {@code samples} samples. */
  private static List<FaceSample> awaitShards(Path out, int samples, Duration timeout) throws Exception {
    Instant deadline = Instant.now().plus(timeout);
    List<FaceSample> found = List.of();
    while (Instant.now().isBefore(deadline)) {
      found = IngestJobTest.readShards(out);
      if (found.size() >= samples) {
        return found;
      }
      java.util.concurrent.locks.LockSupport.parkNanos(200_000_000L);
    }
    return found;
  }
}
