package dev.mfn.flink.common;

import java.nio.file.Path;
import java.time.Duration;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;

/** The Flink settings every job of ours runs with. */
public final class JobSettings {
  private JobSettings() {}

  /**
   * Checkpoints to files under {@code checkpointDir} (state beyond the 5 MB a memory-backed
   * checkpoint allows, e.g. the ingest job's reservoirs of crops); a few restarts absorb passing
   * faults, and a job that keeps failing ends with its cause instead of restarting forever.
   */
  public static Configuration checkpointedWithRestarts(Path checkpointDir) {
    Configuration c = new Configuration();
    c.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
    c.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, checkpointDir.toUri().toString());
    c.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
    c.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 3);
    c.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMillis(500));
    return c;
  }
}
