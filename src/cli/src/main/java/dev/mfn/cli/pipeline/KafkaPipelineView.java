package dev.mfn.cli.pipeline;

import dev.mfn.search.serve.PipelineView;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The console's Pipeline tab for `mfn serve`: the Flink cluster's jobs, the consumer lag on the
 * broker and the dead-letter topic's tail. Each part is read on its own, so a cluster that is down
 * still leaves the lag and the dead letters on the page, with one line saying what is missing.
 */
public final class KafkaPipelineView implements PipelineView {
  private final java.util.List<FlinkJobsStatus> clusters;
  private final ConsumerLag lag;
  private final RecentDeadLetters deadLetters;
  private final String bootstrap;
  private final List<String> photoTopics;

  /**
   * @param flinkRest host:port of the JobManager's REST API, or several, comma-separated (one per
   *     application cluster, as on Kubernetes); null: no cluster to show
   * @param deadLetterTopic the topic the jobs write their rejected records to
   */
  public KafkaPipelineView(String bootstrap, String flinkRest, String deadLetterTopic) {
    this(bootstrap, flinkRest, deadLetterTopic, List.of());
  }

  /**
   * @param photoTopics the topics that carry photos (enroll, train, dead letters): their retention
   *     is what a deletion leaves behind, which the Subjects tab's delete confirmation says
   */
  public KafkaPipelineView(String bootstrap, String flinkRest, String deadLetterTopic, List<String> photoTopics) {
    this.bootstrap = bootstrap;
    this.photoTopics = List.copyOf(photoTopics);
    this.retentions = new ReusedLook<>(() -> PhotoRetention.read(bootstrap, this.photoTopics), 60);
    this.clusters = flinkRest == null ? java.util.List.of() : java.util.Arrays.stream(flinkRest.split(","))
        .map(String::trim).filter(a -> !a.isEmpty()).map(FlinkJobsStatus::new).toList();
    this.lag = new ConsumerLag(bootstrap);
    this.deadLetters = new RecentDeadLetters(bootstrap, deadLetterTopic, 500, 12);
  }

  /** The photo topics' retention changes rarely: read at most once a minute. */
  private final ReusedLook<PhotoRetention> retentions;

  /** One look reused for 5 s, never queued behind a slow one ({@link ReusedLook}). */
  private final ReusedLook<Map<String, Object>> looks = new ReusedLook<>(this::look, 5);

  @Override
  public Map<String, Object> status() {
    return looks.get();
  }

  private Map<String, Object> look() {
    Map<String, Object> status = new LinkedHashMap<>();
    if (clusters.isEmpty()) {
      status.put("jobs_error", "no Flink cluster configured for this service (serve --flink HOST:PORT, setting flink.rest)");
    } else {
      // every cluster's jobs; one that does not answer is named in jobs_error, the others still listed
      status.put("flink", String.join(",", clusters.stream().map(FlinkJobsStatus::address).toList()));
      java.util.List<Map<String, Object>> all = new java.util.ArrayList<>();
      java.util.List<String> errors = new java.util.ArrayList<>();
      for (FlinkJobsStatus cluster : clusters) {
        try {
          all.addAll(cluster.jobs());
        } catch (Exception e) {
          errors.add(reason(e));
        }
      }
      if (errors.size() < clusters.size()) {
        all.sort((a, b) -> Long.compare((long) b.get("start_time"), (long) a.get("start_time")));
        status.put("jobs", all);
      }
      if (!errors.isEmpty()) {
        status.put("jobs_error", String.join("; ", errors));
      }
    }
    part(status, "lag", lag::rows);
    part(status, "dead_letters", deadLetters::summary);
    if (!photoTopics.isEmpty()) {
      PhotoRetention retention = retentions.get();
      if (retention.topics() != null) {
        status.put("photo_retention", retention.json());
      } else {
        status.put("photo_retention_error", retention.error());
      }
    }
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
