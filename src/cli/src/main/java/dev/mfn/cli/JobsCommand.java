package dev.mfn.cli;

import dev.mfn.config.MfnSettings;
import dev.mfn.services.flink.ClusterJobs;
import dev.mfn.services.flink.JobSubmission;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.Callable;
import org.apache.flink.api.common.JobID;
import org.apache.flink.runtime.client.JobStatusMessage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** `mfn jobs`: our jobs on a Flink session cluster: list, stop with a savepoint, resume, cancel. */
@Command(
    name = "jobs",
    mixinStandardHelpOptions = true,
    description = {
      "The jobs on a Flink session cluster (--flink HOST:PORT, setting flink.rest, default the",
      "local cluster of `mfn services start flink`):",
      "  list                                    every job: id, state, start, name",
      "  stop JOB --savepoint DIR                stop with a savepoint (state, offsets, labels, the",
      "                                          model in use); prints the savepoint's path",
      "  resume --from SAVEPOINT [--parallelism P]  the same job again from that savepoint, or from a",
      "                                          retained checkpoint (.../JOB/chk-N), rescaled",
      "  cancel JOB                              cancel without a savepoint (its last checkpoint stays)"
    },
    subcommands = {JobsCommand.ListJobs.class, JobsCommand.Stop.class, JobsCommand.Resume.class, JobsCommand.Cancel.class})
final class JobsCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** What every jobs subcommand shares: the cluster's address. */
  abstract static class OnCluster implements Callable<Integer> {
    @Mixin FlinkOption flink;
    @Spec CommandSpec spec;
    final MfnSettings settings;

    OnCluster(MfnSettings settings) {
      this.settings = settings;
    }

    @Override
    public Integer call() throws Exception {
      String address = flink.address(settings);
      if (address == null) {
        address = "127.0.0.1:" + settings.getInt("flink.port");
      }
      try (ClusterJobs jobs = FlinkOption.connect(address, settings)) {
        return call(jobs, spec.commandLine().getOut(), address);
      } catch (IllegalStateException e) {
        throw e;
      } catch (Exception e) {
        throw new IllegalStateException(FlinkOption.rootMessage(e), e);
      }
    }

    abstract int call(ClusterJobs jobs, PrintWriter out, String address) throws Exception;
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "List the cluster's jobs, newest first.")
  static final class ListJobs extends OnCluster {
    ListJobs(MfnSettings settings) {
      super(settings);
    }

    @Override
    int call(ClusterJobs jobs, PrintWriter out, String address) throws Exception {
      var all = jobs.list();
      if (all.isEmpty()) {
        out.println("no jobs on " + address);
      }
      for (JobStatusMessage j : all) {
        out.printf("%s  %-10s %s  %s%n", j.getJobId(), j.getJobState(), Instant.ofEpochMilli(j.getStartTime()), j.getJobName());
      }
      return 0;
    }
  }

  @Command(name = "stop", mixinStandardHelpOptions = true,
      description = "Stop a job with a savepoint; the savepoint folder also records how to resume it.")
  static final class Stop extends OnCluster {
    @Parameters(index = "0", paramLabel = "JOB", description = "The job id (from `mfn jobs list`).")
    String job;

    @Option(names = "--savepoint", paramLabel = "DIR", required = true, description = "Folder under which the savepoint is written.")
    Path dir;

    Stop(MfnSettings settings) {
      super(settings);
    }

    @Override
    int call(ClusterJobs jobs, PrintWriter out, String address) throws Exception {
      String path = jobs.stopWithSavepoint(JobID.fromHexString(job), dir.toAbsolutePath().toUri().toString());
      out.println("stopped " + job + " with a savepoint: " + path);
      out.println("  resume: ./mfn jobs resume --from " + Path.of(URI.create(path.startsWith("file:") ? path : "file://" + path))
          + " [--parallelism P]");
      return 0;
    }
  }

  @Command(name = "resume", mixinStandardHelpOptions = true,
      description = "Submit a stopped job again from its savepoint, or a crashed/cancelled one from its retained checkpoint (.../JOB_ID/chk-N), optionally rescaled.")
  static final class Resume extends OnCluster {
    @Option(names = "--from", paramLabel = "SAVEPOINT", required = true, description = "The savepoint folder `mfn jobs stop` printed, or a retained checkpoint folder chk-N.")
    Path from;

    @Option(names = "--parallelism", paramLabel = "P", description = "New parallelism (default: the job's own).")
    Integer parallelism;

    Resume(MfnSettings settings) {
      super(settings);
    }

    @Override
    int call(ClusterJobs jobs, PrintWriter out, String address) throws Exception {
      JobSubmission job = jobs.savedSubmission(from.toAbsolutePath());
      if (parallelism != null) {
        job = job.withParallelism(parallelism);
      }
      JobID id = BoundedJobRun.submit(jobs, job);
      out.printf("resumed as job %s on %s from %s (parallelism %s)%n", id, address, from, job.arg("--parallelism"));
      return 0;
    }
  }

  @Command(name = "cancel", mixinStandardHelpOptions = true, description = "Cancel a job without a savepoint.")
  static final class Cancel extends OnCluster {
    @Parameters(index = "0", paramLabel = "JOB", description = "The job id.")
    String job;

    Cancel(MfnSettings settings) {
      super(settings);
    }

    @Override
    int call(ClusterJobs jobs, PrintWriter out, String address) throws Exception {
      JobID id = JobID.fromHexString(job);
      jobs.cancel(id);
      jobs.await(id, java.time.Duration.ofMinutes(2));
      // read after the job has ended: a checkpoint completed meanwhile replaces the one before
      String checkpoint = jobs.latestCheckpoint(id);
      out.println("cancelled " + job + (checkpoint == null ? " (no completed checkpoint)"
          : "; its last checkpoint is kept: ./mfn jobs resume --from " + checkpoint.replaceFirst("^file:", "")));
      return 0;
    }
  }
}
