package dev.mfn.flink.common;

import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * Creates a topic a job relies on when it is missing (a Kafka source subscribed to a topic that
 * does not exist fails the job over and over; a registry topic needs its compaction set).
 */
public final class KafkaTopics {
  private KafkaTopics() {}

  /** Creates {@code topic} with the broker's replication when missing; an existing one is left as is. */
  public static void ensure(String bootstrap, String topic, int partitions, Map<String, String> configs) {
    Properties p = new Properties();
    dev.mfn.config.KafkaSecurity.addTo(p);
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
    try (Admin admin = Admin.create(p)) {
      if (admin.listTopics().names().get(30, TimeUnit.SECONDS).contains(topic)) {
        return;
      }
      admin.createTopics(List.of(new NewTopic(topic, partitions, (short) -1).configs(configs))).all().get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (!(e.getCause() instanceof TopicExistsException)) {
        throw new IllegalStateException("could not create the topic " + topic + ": " + e.getCause().getMessage(), e);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while creating the topic " + topic, e);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("no Kafka broker answered at " + bootstrap + " (creating " + topic + ")", e);
    }
  }
}
