package dev.mfn.cli.pipeline;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.config.ConfigResource;

/**
 * Where copies of people's photos remain after a deletion: the topics that carry photos (enroll,
 * train, dead letters), each until its retention ends. Kafka is the last copy; `mfn delete` and
 * the console's delete confirmation both say so, with these numbers.
 *
 * @param names the photo topics asked about
 * @param topics the retention of those that exist; null when it could not be read
 * @param error why not, else null
 */
public record PhotoRetention(List<String> names, List<Topic> topics, String error) {

  /**
   * One photo topic's retention ({@code ms} -1: forever); a compacted topic keeps a record until a
   * newer one with its key replaces it, whatever its retention.
   */
  public record Topic(String topic, long ms, boolean compacted) {
    /** {topic, retention_ms, retention_days (null: forever), compacted}. */
    public Map<String, Object> json() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("topic", topic);
      m.put("retention_ms", ms);
      m.put("retention_days", ms < 0 ? null : ms / 86_400_000.0);
      m.put("compacted", compacted);
      return m;
    }
  }

  /**
   * Reads each topic's retention.ms and cleanup.policy from the broker (a few seconds at most).
   * Each name is asked about directly, not looked up in the topic list (which leaves out what this
   * principal may not see): a topic the broker does not know is absent, one it will not describe
   * (no right to) is an error, never "no photo stays".
   */
  public static PhotoRetention read(String bootstrap, List<String> names) {
    Properties p = new Properties();
    dev.mfn.config.KafkaSecurity.addTo(p);
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5_000);
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 3_000);
    try (Admin admin = Admin.create(p)) {
      List<ConfigResource> resources = names.stream().distinct().map(n -> new ConfigResource(ConfigResource.Type.TOPIC, n)).toList();
      var answers = admin.describeConfigs(resources).values();
      List<Topic> found = new ArrayList<>();
      for (ConfigResource r : resources) {
        org.apache.kafka.clients.admin.Config config;
        try {
          config = answers.get(r).get(5, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
          if (e.getCause() instanceof org.apache.kafka.common.errors.UnknownTopicOrPartitionException) {
            continue; // not on this broker: it holds no photo
          }
          throw e;
        }
        var retention = config.get("retention.ms");
        var policy = config.get("cleanup.policy");
        found.add(new Topic(r.name(), retention == null ? -1 : Long.parseLong(retention.value()),
            policy != null && policy.value().contains("compact")));
      }
      return new PhotoRetention(names, found, null);
    } catch (Exception e) {
      return new PhotoRetention(names, null, KafkaPipelineView.reason(e));
    }
  }

  /** The existing topics' retention as JSON rows; null when it could not be read. */
  public List<Map<String, Object>> json() {
    return topics == null ? null : topics.stream().map(Topic::json).toList();
  }
}
