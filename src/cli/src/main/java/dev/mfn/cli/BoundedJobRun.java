package dev.mfn.cli;

import dev.mfn.services.flink.ClusterJobs;
import dev.mfn.services.flink.JobSubmission;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import me.tongfei.progressbar.ProgressBar;
import org.apache.flink.api.common.JobID;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.jobmaster.JobResult;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * Runs a bounded Flink job, on the local cluster or on a session cluster, with a progress bar: its
 * progress is the offsets the job's Kafka source commits on each checkpoint, counted from
 * {@code from} up to {@code to}.
 */
final class BoundedJobRun {
  private BoundedJobRun() {}

  /** What the progress loop needs of a running job. */
  private interface RunningJob {
    boolean done() throws Exception;

    /** Returns when the job succeeded; throws its failure. */
    void result() throws Exception;
  }

  /** The job on the local cluster, to its end (rethrowing its failure); returns the seconds it took. */
  static double run(StreamExecutionEnvironment env, String name, String servers, String group, long from, long to,
      String task, boolean quiet) throws Exception {
    long start = System.nanoTime();
    JobClient job = env.executeAsync(name);
    follow(new RunningJob() {
      @Override
      public boolean done() {
        return job.getJobExecutionResult().isDone();
      }

      @Override
      public void result() throws Exception {
        job.getJobExecutionResult().get();
      }
    }, servers, group, from, to, task, quiet);
    return (System.nanoTime() - start) / 1e9;
  }

  /** The job submitted to a session cluster, followed to its end; returns the seconds it took. */
  static double runOnCluster(ClusterJobs jobs, JobSubmission submission, String servers, String group, long from,
      long to, String task, boolean quiet) throws Exception {
    long start = System.nanoTime();
    JobID id = submit(jobs, submission);
    follow(new RunningJob() {
      @Override
      public boolean done() throws Exception {
        return jobs.status(id).isGloballyTerminalState();
      }

      @Override
      public void result() throws Exception {
        JobResult result = jobs.await(id, Duration.ofMinutes(5));
        if (!result.isSuccess()) {
          String cause = result.getSerializedThrowable().map(t -> t.getOriginalErrorClassName() + ": " + t.getMessage())
              .orElse(result.getApplicationStatus().name());
          throw new IllegalStateException("job " + id + " on the cluster did not succeed: " + cause);
        }
      }
    }, servers, group, from, to, task, quiet);
    return (System.nanoTime() - start) / 1e9;
  }

  /** Submits, turning the client's nested exceptions into the one line that says what happened. */
  static JobID submit(ClusterJobs jobs, JobSubmission submission) {
    try {
      return jobs.submit(submission);
    } catch (Exception e) {
      throw new IllegalStateException(FlinkOption.rootMessage(e), e);
    }
  }

  private static void follow(RunningJob job, String servers, String group, long from, long to, String task,
      boolean quiet) throws Exception {
    long total = Math.max(0, to - from);
    try (ProgressBar bar = Progress.bar(task, total, "records", quiet)) {
      while (!job.done()) {
        bar.stepTo(Math.max(0, Math.min(to, IngestCommand.committed(servers, group)) - from));
        TimeUnit.SECONDS.sleep(1);
      }
      job.result(); // rethrows a job failure
      bar.stepTo(total);
    }
  }
}
