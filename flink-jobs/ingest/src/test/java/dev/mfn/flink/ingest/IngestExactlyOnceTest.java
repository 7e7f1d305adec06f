package dev.mfn.flink.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mfn.face.policy.IdentityPolicy;
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
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.producer.Producer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The job fails on purpose half-way, after checkpoints were taken; Flink restarts it from the last
 * checkpoint; the shards must hold every expected sample exactly once and the manifest must count
 * every record once.
 */
@ExtendWith(LocalKafka.class)
class IngestExactlyOnceTest {
  private static final long MIB = 1 << 20;
  private static final AtomicBoolean failed = new AtomicBoolean();
  private static final AtomicInteger seen = new AtomicInteger();

  /** Slow enough for checkpoints to complete; throws once, at the 60th face. */
  static final class FailOnce implements MapFunction<CroppedFace, CroppedFace> {
    @Override
    public CroppedFace map(CroppedFace face) throws Exception {
      // Slow the stream (not waiting for anything) so checkpoints complete before the failure.
      java.util.concurrent.locks.LockSupport.parkNanos(20_000_000L);
      if (seen.incrementAndGet() == 60 && failed.compareAndSet(false, true)) {
        throw new IllegalStateException("failure on purpose, to test recovery");
      }
      return face;
    }
  }

  @Test
  void aFailureMidWayLeavesEverySampleExactlyOnce(KafkaBroker broker, @TempDir Path dir) throws Exception {
    Path photos = dir.resolve("photos");
    for (int id = 1; id <= 10; id++) {
      PhotoFolders.cfpFrontal(photos, String.format("%03d", id), 10);
    }
    String topic = "eo-in";
    KafkaAccess.prepare(broker.bootstrapServers(), topic, 2, 30_000);
    try (Producer<String, byte[]> producer = KafkaAccess.producer(broker.bootstrapServers(), MIB)) {
      assertThat(new ImagePublisher(producer, new RawImageFactory(MIB, null), 64 * MIB)
          .publish(ImagePublisher.scan(photos), topic, f -> {}).sent()).isEqualTo(100);
    }
    Path out = dir.resolve("shards");
    // 10 photos each: with cap 12, keep above 10, opening above 8, full above 4 -> opening tier, x2.
    IngestConfig config = new IngestConfig(
        broker.bootstrapServers(), topic, "eo-dlq", "eo-test", true, out.toString(), 2, 4, 0.1,
        12, 10, 8, 4, null, null, 300, "blazeface", DetectorFiles.blazefaceDir().toString(), null, null,
        0.5, 20, 64 * MIB, 60_000_000, false);
    assertThat(config.policy().decide(10).tier()).isEqualTo(IdentityPolicy.Tier.OPENING);

    Configuration conf = IngestJob.flinkConfiguration(config);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
    IngestJob.fromConfig(config).withFaceTap(new FailOnce()).build(env);
    env.execute("ingest exactly-once test");

    assertThat(failed).as("the job did fail once").isTrue();
    // 60 faces before the failure, then only those after the restored checkpoint: fewer than 160
    // means the restart resumed from a checkpoint, not from the beginning.
    assertThat(seen.get()).as("faces seen in both attempts").isGreaterThan(100).isLessThan(160);
    // x2 for a train photo, one sample for a validation photo
    List<FaceSample> samples = IngestJobTest.readShards(out);
    Map<String, Set<String>> photosOf = new HashMap<>();
    samples.forEach(s -> photosOf.computeIfAbsent(s.getSubject(), k -> new HashSet<>()).add(s.getImageId()));
    assertThat(photosOf).hasSize(10).allSatisfy((subject, ids) -> assertThat(ids).hasSize(10));
    long expected = photosOf.values().stream().mapToLong(ids -> SampleMakerTest.expectedSamples(ids, 2, 0.1)).sum();
    assertThat(samples).hasSize((int) expected);
    assertThat(samples).extracting(FaceSample::getId).doesNotHaveDuplicates();
    Map<String, Long> perSubject = new HashMap<>();
    samples.forEach(s -> perSubject.merge(s.getSubject(), 1L, Long::sum));
    assertThat(perSubject).hasSize(10).allSatisfy((subject, n) ->
        assertThat(n).isEqualTo(SampleMakerTest.expectedSamples(photosOf.get(subject), 2, 0.1)));

    JsonNode totals = new ObjectMapper().readTree(out.resolve("manifest.json").toFile()).get("totals");
    assertThat(totals.get("records_in").asLong()).isEqualTo(100);
    assertThat(totals.get("photos_kept").asLong()).isEqualTo(100);
    assertThat(totals.get("train_samples").asLong() + totals.get("validation_samples").asLong()).isEqualTo(expected);
  }
}
