package dev.mfn.retrain;

import dev.mfn.records.RetrainRequest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Retraining on one machine: each request becomes a child process running `mfn train` with the
 * configured arguments and the request's choices applied (as the cluster's training Job would:
 * {@link TrainingJobs#arguments}); `--publish` there gates and announces the model. One at a time: a
 * request while a run is alive is refused; a request whose run exists already (a replayed record)
 * is refused too. The run's output goes to {@code logs/<run>.log}; when it ends, {@code onFinished}
 * hears how: announced (exit 0), refused by the gate (exit 3), or failed.
 */
public final class LocalTrainingExecutor implements TrainingExecutor, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LocalTrainingExecutor.class);
  /** `mfn train`'s exit status for a model the gate refused. */
  public static final int REFUSED_BY_GATE = 3;

  /**
   * @param command how to start the CLI in a child process (java ... dev.mfn.cli.Mfn)
   * @param trainArgs `train ...` with every flag of a run (shards, model store, pairs, --publish)
   * @param logs where each run's output goes
   */
  public record Options(List<String> command, List<String> trainArgs, Path logs) {}

  /** How a run ended. */
  public record Finished(String requestId, String run, int exitCode, Path log) {
    /** The same, as a training.runs event. */
    public TrainingRunEvent event() {
      TrainingRunEvent.State state = switch (exitCode) {
        case 0 -> TrainingRunEvent.State.SUCCEEDED;
        case REFUSED_BY_GATE -> TrainingRunEvent.State.REFUSED_BY_GATE;
        default -> TrainingRunEvent.State.FAILED;
      };
      return TrainingRunEvent.now(requestId, run, state, describe());
    }

    public String describe() {
      return switch (exitCode) {
        case 0 -> "run " + run + " trained and announced its model (log " + log + ")";
        case REFUSED_BY_GATE -> "run " + run + " trained a model the gate refused: not announced (log " + log + ")";
        default -> "run " + run + " failed with exit status " + exitCode + " (log " + log + ")";
      };
    }
  }

  private final Options options;
  private final Consumer<Finished> onFinished;
  private Process running;
  private String runningName;
  private Thread waiter;

  public LocalTrainingExecutor(Options options, Consumer<Finished> onFinished) {
    this.options = options;
    this.onFinished = onFinished;
  }

  @Override
  public synchronized RetrainController.Outcome submit(RetrainRequest request) {
    if (running != null && running.isAlive()) {
      return new RetrainController.Outcome(RetrainController.Outcome.Kind.REFUSED, runningName,
          "training run " + runningName + " is still running; request " + request.getRequestId() + " refused");
    }
    String name = TrainingJobs.name(request);
    List<String> args;
    try {
      args = TrainingJobs.arguments(request, options.trainArgs());
    } catch (IllegalArgumentException e) {
      return new RetrainController.Outcome(RetrainController.Outcome.Kind.INVALID, null, e.getMessage());
    }
    Path log = options.logs().resolve(name + ".log");
    try {
      Files.createDirectories(options.logs());
      if (Files.exists(log)) { // the same request again (a replayed record): it ran already
        return new RetrainController.Outcome(RetrainController.Outcome.Kind.REFUSED, name,
            "request " + request.getRequestId() + " has a run already (" + log + ")");
      }
      List<String> command = new ArrayList<>(options.command());
      command.addAll(args);
      ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
      // glibc malloc for libtorch training, as ./mfn sets it for `train` (the child is started
      // here, not by that script): one arena, no mmap churn, no trimming (bench/RESULTS.md)
      builder.environment().putIfAbsent("MALLOC_ARENA_MAX", "1");
      builder.environment().putIfAbsent("MALLOC_MMAP_MAX_", "0");
      builder.environment().putIfAbsent("MALLOC_TRIM_THRESHOLD_", "8589934592");
      Process process = builder.start();
      running = process;
      runningName = name;
      waiter = new Thread(() -> {
        try {
          int code = process.waitFor();
          Finished finished = new Finished(request.getRequestId(), name, code, log);
          LOG.info(finished.describe());
          onFinished.accept(finished);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }, "training-" + name);
      waiter.setDaemon(true);
      waiter.start();
    } catch (IOException e) {
      return new RetrainController.Outcome(RetrainController.Outcome.Kind.INVALID, name, "could not start " + name + ": " + e.getMessage());
    }
    LOG.info("started training run {} for request {}: {}", name, request.getRequestId(), args);
    return new RetrainController.Outcome(RetrainController.Outcome.Kind.CREATED, name,
        "started training run " + name + " (pid " + running.pid() + ", log " + log + ")");
  }

  /** True while a training run is going (the growth trigger waits then). */
  public synchronized boolean busy() {
    return running != null && running.isAlive();
  }

  /**
   * Stops a run that is still going (when the controller stops), and waits a little for it to go
   * and for its end to be heard ({@code onFinished}), so that the end is told before the controller
   * closes what it tells through.
   */
  @Override
  public void close() {
    Process process;
    Thread heard;
    synchronized (this) {
      process = running;
      heard = waiter;
    }
    if (process == null || !process.isAlive()) {
      return;
    }
    process.destroy();
    try {
      if (!process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
      if (heard != null) {
        heard.join(5_000);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
