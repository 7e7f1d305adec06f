package dev.mfn.flink.common;

import java.nio.file.Path;
import java.time.Duration;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;

/** The Flink settings every job of ours runs with. */
public final class JobSettings {
  /**
   * Key groups of every job: the most parallel tasks a savepoint can be restored into. Fixed, so
   * rescaling (2 -> 3 -> 1 ...) always finds the same key groups.
   */
  public static final int MAX_PARALLELISM = 128;

  /** Global job parameters naming the main class and its arguments (Flink's REST API shows them). */
  public static final String MAIN_KEY = "mfn.main";
  public static final String ARGS_KEY = "mfn.args";

  private JobSettings() {}

  /**
   * The job's own submission, kept in its global job parameters, so `mfn jobs stop/resume` can
   * submit it again from a savepoint (with another parallelism) without the user repeating it.
   */
  /**
   * Checkpointing every {@code millis}, with the policy both jobs need wherever they run. These are
   * job settings, fixed in the job graph by the client that builds it (a cluster's config.yaml does
   * not reach them): checkpoints kept when the job is cancelled or fails for good (it can be
   * resumed from its last one), a timeout that a long cut stays within, and a few failed
   * checkpoints tolerated before the job restarts.
   */
  public static void checkpointing(org.apache.flink.streaming.api.environment.StreamExecutionEnvironment env,
      long millis) {
    env.enableCheckpointing(millis);
    env.getCheckpointConfig().setExternalizedCheckpointRetention(
        org.apache.flink.configuration.ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
    env.getCheckpointConfig().setCheckpointTimeout(Duration.ofMinutes(30).toMillis());
    env.getCheckpointConfig().setTolerableCheckpointFailureNumber(3);
  }

  /** Adds {@code name value} to a job's arguments when the value is set. */
  public static void optionalArg(java.util.List<String> args, String name, String value) {
    if (value != null) {
      args.add(name);
      args.add(value);
    }
  }

  public static org.apache.flink.util.ParameterTool submission(Class<?> main, String[] args) {
    try {
      String json = new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(args);
      return org.apache.flink.util.ParameterTool.fromMap(java.util.Map.of(MAIN_KEY, main.getName(), ARGS_KEY, json));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Checkpoints to files under {@code checkpointDir} (state beyond the 5 MB a memory-backed
   * checkpoint allows, e.g. the ingest job's reservoirs of crops). Restarts with exponential
   * delay (1 s doubling to 30 s, jittered, 12 in a row): a broker or index outage of a few minutes
   * is ridden out (the fault tests stop Elasticsearch for 60 s and restart the broker), while a job
   * that keeps failing still ends with its cause. No record can make it fail: bad input is a dead
   * letter (see the hostile-input tests), so restarts are for the services around the job.
   */
  public static Configuration checkpointedWithRestarts(Path checkpointDir) {
    Configuration c = new Configuration();
    c.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
    c.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, checkpointDir.toUri().toString());
    c.set(RestartStrategyOptions.RESTART_STRATEGY, "exponential-delay");
    c.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_INITIAL_BACKOFF, Duration.ofSeconds(1));
    c.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_MAX_BACKOFF, Duration.ofSeconds(30));
    c.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_BACKOFF_MULTIPLIER, 2.0);
    c.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_JITTER_FACTOR, 0.1);
    c.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_RESET_BACKOFF_THRESHOLD, Duration.ofMinutes(10));
    c.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_ATTEMPTS, 12);
    return c;
  }
}
