package dev.mfn.search.serve;

import java.util.Map;
import java.util.Optional;

/**
 * What the console's Pipeline tab shows: the Flink jobs, the consumer lag of each group on each
 * topic, and the recent dead letters. The service asks through this interface so that it needs no
 * Kafka or Flink client of its own; `mfn serve` gives it one that reads the cluster and the broker.
 */
public interface PipelineView {
  /**
   * {@code jobs}, {@code lag} and {@code dead_letters}; a part that cannot be read now (no
   * JobManager, the broker down) is replaced by {@code <part>_error} with the reason, and the others
   * are still given.
   */
  Map<String, Object> status();

  /** The photo a dead letter carries (its partition and offset on the dead-letter topic), if any. */
  Optional<byte[]> deadLetterPhoto(int partition, long offset) throws Exception;
}
