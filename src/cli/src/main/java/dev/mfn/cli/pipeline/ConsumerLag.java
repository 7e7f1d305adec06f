package dev.mfn.cli.pipeline;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * How far behind each consumer group is on each topic: the topic's end offsets minus the offsets
 * the group committed, summed over partitions. The Flink jobs' Kafka sources commit when a
 * checkpoint completes, so their lag is what a restart would read again, plus what is not read yet.
 */
public final class ConsumerLag {
  private static final int MAX_GROUPS = 100;
  private final String bootstrap;

  public ConsumerLag(String bootstrap) {
    this.bootstrap = bootstrap;
  }

  /** One row per group and topic, sorted by group then topic. */
  public List<Map<String, Object>> rows() throws Exception {
    Properties p = new Properties();
    dev.mfn.config.KafkaSecurity.addTo(p);
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5_000);
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 3_000);
    List<Map<String, Object>> rows = new ArrayList<>();
    try (Admin admin = Admin.create(p)) {
      List<String> groups = admin.listGroups().all().get(5, TimeUnit.SECONDS).stream()
          .filter(g -> g.type().map(t -> t == org.apache.kafka.common.GroupType.CONSUMER || t == org.apache.kafka.common.GroupType.CLASSIC)
              .orElse(true))
          .map(GroupListing::groupId).sorted().limit(MAX_GROUPS).toList();
      for (String group : groups) {
        Map<TopicPartition, OffsetAndMetadata> committed =
            admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(5, TimeUnit.SECONDS);
        Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
        committed.forEach((tp, offset) -> {
          if (offset != null) {
            latest.put(tp, OffsetSpec.latest());
          }
        });
        if (latest.isEmpty()) {
          continue;
        }
        var ends = admin.listOffsets(latest).all().get(5, TimeUnit.SECONDS);
        Map<String, long[]> byTopic = new TreeMap<>(); // topic -> {lag, partitions}
        committed.forEach((tp, offset) -> {
          if (offset != null && ends.containsKey(tp)) {
            long[] sum = byTopic.computeIfAbsent(tp.topic(), t -> new long[2]);
            sum[0] += Math.max(0, ends.get(tp).offset() - offset.offset());
            sum[1]++;
          }
        });
        byTopic.forEach((topic, sum) -> {
          Map<String, Object> row = new LinkedHashMap<>();
          row.put("group", group);
          row.put("topic", topic);
          row.put("lag", sum[0]);
          row.put("partitions", sum[1]);
          rows.add(row);
        });
      }
    }
    return rows;
  }
}
