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

  /** One photo topic's retention ({@code ms} -1: forever). */
  public record Topic(String topic, long ms) {
    /** {topic, retention_ms, retention_days (null: forever)}. */
    public Map<String, Object> json() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("topic", topic);
      m.put("retention_ms", ms);
      m.put("retention_days", ms < 0 ? null : ms / 86_400_000.0);
      return m;
    }
  }

  /** Reads the topics' retention.ms from the broker (10 s at most); a failure is in {@code error}. */
  public static PhotoRetention read(String bootstrap, List<String> names) {
    Properties p = new Properties();
    dev.mfn.config.KafkaSecurity.addTo(p);
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10_000);
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000);
    try (Admin admin = Admin.create(p)) {
      var existing = admin.listTopics().names().get(10, TimeUnit.SECONDS);
      List<ConfigResource> resources = names.stream().distinct().filter(existing::contains)
          .map(n -> new ConfigResource(ConfigResource.Type.TOPIC, n)).toList();
      var configs = admin.describeConfigs(resources).all().get(10, TimeUnit.SECONDS);
      List<Topic> found = new ArrayList<>();
      for (ConfigResource r : resources) {
        var retention = configs.get(r).get("retention.ms");
        found.add(new Topic(r.name(), retention == null ? -1 : Long.parseLong(retention.value())));
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
