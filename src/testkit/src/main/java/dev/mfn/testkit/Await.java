package dev.mfn.testkit;

import dev.mfn.services.flink.ClusterJobs;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;

/** Waiting for a condition of a job on a cluster or of a consumer group, with a deadline. */
public final class Await {
  private Await() {}

  public static void until(String what, Duration timeout, BooleanSupplier condition) {
    Instant deadline = Instant.now().plus(timeout);
    while (Instant.now().isBefore(deadline)) {
      if (condition.getAsBoolean()) {
        return;
      }
      java.util.concurrent.locks.LockSupport.parkNanos(250_000_000L);
    }
    throw new AssertionError("timed out after " + timeout.toSeconds() + " s waiting for " + what);
  }

  /** The job runs, and with {@code checkpoints} > 0 has completed that many checkpoints. */
  public static void running(ClusterJobs jobs, JobID id, long checkpoints, Duration timeout) {
    until("job " + id + " to run with " + checkpoints + " completed checkpoints", timeout, () -> {
      try {
        return jobs.status(id) == JobStatus.RUNNING && jobs.completedCheckpoints(id) >= checkpoints;
      } catch (Exception e) {
        return false;
      }
    });
  }

  /**
   * Until the group has committed {@code records} offsets in all. Flink's Kafka source commits when
   * a checkpoint completes, and that checkpoint's barrier passed every operator after those
   * records: they have all been processed.
   */
  public static void consumed(String bootstrap, String group, long records, Duration timeout) {
    until(group + " to consume " + records + " records", timeout, () -> committed(bootstrap, group) >= records);
  }

  public static long committed(String bootstrap, String group) {
    Properties p = new Properties();
    dev.mfn.config.KafkaSecurity.addTo(p);
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    try (Admin admin = Admin.create(p)) {
      Map<?, OffsetAndMetadata> offsets =
          admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(5, TimeUnit.SECONDS);
      return offsets.values().stream().filter(java.util.Objects::nonNull).mapToLong(OffsetAndMetadata::offset).sum();
    } catch (Exception e) {
      return 0;
    }
  }
}
