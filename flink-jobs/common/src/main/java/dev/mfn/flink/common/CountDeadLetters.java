package dev.mfn.flink.common;

import dev.mfn.records.DeadLetter;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;

/**
 * Counts every dead letter of a job by reason, just before the dead-letter sink: the one place all
 * of them pass (refused records, refused photos, erased subjects, refused models), so the metric
 * {@code deadLetters{reason}} is the topic's count and no stage is left out or counted twice.
 */
public final class CountDeadLetters extends RichMapFunction<DeadLetter, DeadLetter> {
  private transient DeadLetterCounters counters;

  @Override
  public void open(OpenContext context) {
    counters = DeadLetterCounters.forRejectReasons(getRuntimeContext().getMetricGroup(), "SUBJECT_ERASED");
  }

  @Override
  public DeadLetter map(DeadLetter letter) {
    counters.inc(letter.getReason());
    return letter;
  }
}
