package dev.mfn.search.serve;

import java.util.Map;

/**
 * What the console's Models tab shows of training: the recent retrain requests and what the
 * retraining controller did with each (queued, started, refused, succeeded, refused by the gate,
 * failed). The service asks through this interface so that it needs no Kafka client of its own;
 * `mfn serve` gives it one that reads the training.requests and training.runs topics.
 */
public interface TrainingRunsView {
  /**
   * {@code runs} (newest request first: request_id, requested_at, requested_by, reason, epochs,
   * minutes, state, run, message, updated_at), {@code topics} (requests, runs), and {@code error}
   * when what was read may be incomplete (the broker did not answer).
   */
  Map<String, Object> runs();
}
