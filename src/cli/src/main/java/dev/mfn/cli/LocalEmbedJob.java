package dev.mfn.cli;

import dev.mfn.flink.embed.EmbedConfig;
import dev.mfn.flink.embed.EmbedJob;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * The embed job in this process, on Flink's local MiniCluster, until closed: the job `mfn enroll
 * --follow` runs, started asynchronously so that it can be cancelled (`mfn demo --serve` runs it
 * beside the service; tests beside theirs). With the embedded index, the job holds the version
 * folder's Lucene writer and commits each write; the service's read-only view of the same folder
 * sees each commit on its next request (the writer's lock is per folder, and a reader needs none).
 */
final class LocalEmbedJob implements AutoCloseable {
  private final JobClient job;

  private LocalEmbedJob(JobClient job) {
    this.job = job;
  }

  static LocalEmbedJob start(EmbedConfig config, String name) throws Exception {
    return start(config, name, 0);
  }

  /**
   * @param restPort where the MiniCluster's REST API listens (the JobManager's, as on a cluster:
   *     the console's Pipeline tab reads the job's state, restarts and checkpoints there); 0 picks
   *     a free one
   */
  static LocalEmbedJob start(EmbedConfig config, String name, int restPort) throws Exception {
    org.apache.flink.configuration.Configuration flink = EmbedJob.flinkConfiguration(config);
    flink.set(org.apache.flink.configuration.RestOptions.BIND_ADDRESS, "127.0.0.1");
    flink.set(org.apache.flink.configuration.RestOptions.ADDRESS, "127.0.0.1");
    flink.set(org.apache.flink.configuration.RestOptions.BIND_PORT, String.valueOf(restPort));
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(flink);
    EmbedJob.fromConfig(config).build(env);
    return new LocalEmbedJob(env.executeAsync(name));
  }

  /** RUNNING while it follows its topic; a failed job (its restarts spent) says FAILED. */
  JobStatus status() throws Exception {
    return job.getJobStatus().get(10, TimeUnit.SECONDS);
  }

  /** Cancels the job and waits for it (its MiniCluster stops with it, and the index writer is closed). */
  @Override
  public void close() throws Exception {
    try {
      job.cancel().get(60, TimeUnit.SECONDS);
      job.getJobExecutionResult().exceptionally(cancelled -> null).get(60, TimeUnit.SECONDS);
    } catch (ExecutionException ended) {
      // it had ended already (failed): nothing is left to stop
    } catch (TimeoutException e) {
      throw new IllegalStateException("the embed job did not stop within a minute", e);
    }
  }
}
