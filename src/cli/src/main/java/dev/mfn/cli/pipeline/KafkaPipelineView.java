package dev.mfn.cli.pipeline;

import dev.mfn.search.serve.PipelineView;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The console's Pipeline tab for `mfn serve`: the Flink cluster's jobs, the consumer lag on the
 * broker and the dead-letter topic's tail. Each part is read on its own, so a cluster that is down
 * still leaves the lag and the dead letters on the page, with one line saying what is missing.
 */
public final class KafkaPipelineView implements PipelineView {
  private final FlinkJobsStatus jobs;
  private final ConsumerLag lag;
  private final RecentDeadLetters deadLetters;

  /**
   * @param flinkRest host:port of the JobManager's REST API (null: no cluster to show)
   * @param deadLetterTopic the topic the jobs write their rejected records to
   */
  public KafkaPipelineView(String bootstrap, String flinkRest, String deadLetterTopic) {
    this.jobs = flinkRest == null ? null : new FlinkJobsStatus(flinkRest);
    this.lag = new ConsumerLag(bootstrap);
    this.deadLetters = new RecentDeadLetters(bootstrap, deadLetterTopic, 500, 12);
  }

  @Override
  public Map<String, Object> status() {
    Map<String, Object> status = new LinkedHashMap<>();
    if (jobs == null) {
      status.put("jobs_error", "no Flink cluster configured for this service (serve --flink HOST:PORT, setting flink.rest)");
    } else {
      status.put("flink", jobs.address());
      part(status, "jobs", jobs::jobs);
    }
    part(status, "lag", lag::rows);
    part(status, "dead_letters", deadLetters::summary);
    return status;
  }

  @Override
  public Optional<byte[]> deadLetterPhoto(int partition, long offset) throws Exception {
    return deadLetters.photo(partition, offset);
  }

  private interface Part {
    Object read() throws Exception;
  }

  /**
   * The first message down the chain that says something (ours, "no Flink JobManager answers at
   * ...", sits above the socket's bare ClosedChannelException); the class name when none does.
   */
  static String reason(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t.getMessage() != null && !t.getMessage().isBlank() && !(t instanceof java.util.concurrent.ExecutionException)) {
        return t.getMessage();
      }
    }
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root.getClass().getSimpleName();
  }

  private static void part(Map<String, Object> status, String name, Part part) {
    try {
      status.put(name, part.read());
    } catch (Exception e) {
      status.put(name + "_error", reason(e));
    }
  }
}
