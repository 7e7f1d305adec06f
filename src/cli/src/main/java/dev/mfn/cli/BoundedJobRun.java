package dev.mfn.cli;

import java.util.concurrent.TimeUnit;
import me.tongfei.progressbar.ProgressBar;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * Runs a bounded Flink job on the local cluster with a progress bar: its progress is the offsets
 * the job's Kafka source commits on each checkpoint, counted from {@code from} up to {@code to}.
 */
final class BoundedJobRun {
  private BoundedJobRun() {}

  /** Runs the job to its end (rethrowing its failure); returns the seconds it took. */
  static double run(StreamExecutionEnvironment env, String name, String servers, String group, long from, long to,
      String task, boolean quiet) throws Exception {
    long start = System.nanoTime();
    JobClient job = env.executeAsync(name);
    long total = Math.max(0, to - from);
    try (ProgressBar bar = Progress.bar(task, total, "records", quiet)) {
      while (!job.getJobExecutionResult().isDone()) {
        bar.stepTo(Math.max(0, Math.min(to, IngestCommand.committed(servers, group)) - from));
        try {
          job.getJobExecutionResult().get(1, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException stillRunning) {
          // keep polling
        }
      }
      job.getJobExecutionResult().get(); // rethrows a job failure
      bar.stepTo(total);
    }
    return (System.nanoTime() - start) / 1e9;
  }
}
