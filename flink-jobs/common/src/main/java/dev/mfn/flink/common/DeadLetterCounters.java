package dev.mfn.flink.common;

import java.util.HashMap;
import java.util.Map;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;

/**
 * An operator's dead letters counted by reason: one counter {@code deadLetters} under the
 * key-value group {@code reason}, which the Prometheus reporter exports as
 * {@code flink_taskmanager_job_task_operator_reason_deadLetters{reason="NO_FACE",...}} (one metric with a
 * label, which a dashboard can sum and split, rather than one metric name per reason).
 *
 * <p>The known reasons are registered at zero when the operator opens, so the series exist before
 * the first rejection: a rate over them reads 0, not "no data", and an alert can tell the two apart.
 */
public final class DeadLetterCounters {
  private final MetricGroup group;
  private final Map<String, Counter> counters = new HashMap<>();

  public DeadLetterCounters(MetricGroup group, Iterable<String> knownReasons) {
    this.group = group;
    for (String reason : knownReasons) {
      counter(reason);
    }
  }

  /** Counters for every {@link dev.mfn.face.RejectReason}, and these other reasons, from the start. */
  public static DeadLetterCounters forRejectReasons(MetricGroup group, String... otherReasons) {
    java.util.List<String> reasons = new java.util.ArrayList<>();
    for (dev.mfn.face.RejectReason r : dev.mfn.face.RejectReason.values()) {
      reasons.add(r.name());
    }
    reasons.addAll(java.util.List.of(otherReasons));
    return new DeadLetterCounters(group, reasons);
  }

  public void inc(String reason) {
    counter(reason).inc();
  }

  private Counter counter(String reason) {
    return counters.computeIfAbsent(reason, r -> group.addGroup("reason", r).counter("deadLetters"));
  }
}
