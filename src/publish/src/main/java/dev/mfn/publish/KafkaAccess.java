package dev.mfn.publish;

import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** Connecting to a broker: reachability with a clear error, topics, and our producer settings. */
public final class KafkaAccess {
  private KafkaAccess() {}

  /** The broker could not be reached; the message is one line a person can act on. */
  public static final class BrokerUnreachableException extends Exception {
    public BrokerUnreachableException(String message) {
      super(message);
    }
  }

  /**
   * Checks that a broker answers at {@code bootstrap}, and creates {@code topic} with
   * {@code partitions} partitions when it does not exist yet (the broker's auto-creation would give
   * a single partition, which caps the parallelism of the jobs that read it).
   */
  public static void prepare(String bootstrap, String topic, int partitions, long timeoutMillis)
      throws BrokerUnreachableException, InterruptedException {
    prepare(bootstrap, topic, partitions, timeoutMillis, Map.of());
  }

  /** {@link #prepare(String, String, int, long)} with topic configs (e.g. a compacted topic) for a new topic. */
  public static void prepare(String bootstrap, String topic, int partitions, long timeoutMillis, Map<String, String> configs)
      throws BrokerUnreachableException, InterruptedException {
    Properties props = new Properties();
    dev.mfn.config.KafkaSecurity.addTo(props);
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) timeoutMillis);
    props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) Math.min(timeoutMillis, 5000));
    props.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 1000);
    try (Admin admin = Admin.create(props)) {
      try {
        admin.describeCluster().nodes().get(timeoutMillis, TimeUnit.MILLISECONDS);
      } catch (ExecutionException e) {
        throw new BrokerUnreachableException(explain(e.getCause(), bootstrap));
      } catch (TimeoutException e) {
        throw new BrokerUnreachableException(explain(e, bootstrap));
      }
      try {
        admin
            .createTopics(List.of(new NewTopic(topic, partitions, (short) 1).configs(configs)))
            .all()
            .get(timeoutMillis, TimeUnit.MILLISECONDS);
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof TopicExistsException)) {
          throw new BrokerUnreachableException(
              "cannot create topic " + topic + " at " + bootstrap + ": " + e.getCause().getMessage());
        }
      } catch (TimeoutException e) {
        throw new BrokerUnreachableException("timed out creating topic " + topic + " at " + bootstrap);
      }
    }
  }

  /** One line for a failed connection: refused credentials, an untrusted certificate, or no broker. */
  static String explain(Throwable cause, String bootstrap) {
    if (cause instanceof org.apache.kafka.common.errors.SaslAuthenticationException) {
      return "Kafka at " + bootstrap + " refused the credentials (SASL authentication failed): check kafka.sasl.username"
          + " and the password (MFN_KAFKA_SASL_PASSWORD or kafka.sasl.password.file)";
    }
    if (cause instanceof org.apache.kafka.common.errors.SslAuthenticationException) {
      return "cannot verify the TLS certificate of Kafka at " + bootstrap + ": check kafka.ssl.ca (the certificate the"
          + " broker's was issued by) and kafka.security.protocol";
    }
    return "cannot reach a Kafka broker at " + bootstrap + " (start one with `./mfn services start kafka`, or pass --bootstrap;"
        + " a secured broker also needs kafka.security.protocol and its credentials)";
  }

  /**
   * Offsets the consumer group has committed, summed over its partitions (0 when unknown). Flink's
   * Kafka source commits when a checkpoint completes: how far a job has durably read.
   */
  public static long committed(String bootstrap, String group) {
    Properties p = new Properties();
    dev.mfn.config.KafkaSecurity.addTo(p);
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    try (Admin admin = Admin.create(p)) {
      Map<?, org.apache.kafka.clients.consumer.OffsetAndMetadata> offsets =
          admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(5, TimeUnit.SECONDS);
      return offsets.values().stream().filter(java.util.Objects::nonNull)
          .mapToLong(org.apache.kafka.clients.consumer.OffsetAndMetadata::offset).sum();
    } catch (Exception e) {
      return 0;
    }
  }

  /**
   * An idempotent producer (acks=all, no duplicates on retry) for records up to
   * {@code maxRecordBytes}.
   */
  public static Producer<String, byte[]> producer(String bootstrap, long maxRecordBytes) {
    return producer(bootstrap, maxRecordBytes, null);
  }

  /**
   * The same producer, failing within {@code patience} (send blocked on metadata, a write not
   * acknowledged) instead of Kafka's default of minutes: for writes a person or a request waits
   * for (the audit trail); null: Kafka's defaults.
   */
  public static Producer<String, byte[]> producer(String bootstrap, long maxRecordBytes, java.time.Duration patience) {
    Map<String, Object> config = new java.util.HashMap<>(
        Map.of(
            ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
            ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
            ProducerConfig.ACKS_CONFIG, "all",
            ProducerConfig.LINGER_MS_CONFIG, 20,
            ProducerConfig.BATCH_SIZE_CONFIG, 512 * 1024,
            ProducerConfig.MAX_REQUEST_SIZE_CONFIG, (int) maxRecordBytes,
            ProducerConfig.BUFFER_MEMORY_CONFIG, 64L * 1024 * 1024,
            ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 120_000,
            ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
            ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class));
    if (patience != null) {
      int ms = (int) patience.toMillis();
      config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, ms);
      config.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, ms);
      config.put(ProducerConfig.LINGER_MS_CONFIG, 0);
      config.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, ms);
    }
    return new KafkaProducer<>(dev.mfn.config.KafkaSecurity.with(config));
  }

  /**
   * Every record of a (small) topic, each partition from its beginning to its end as of now: how
   * the CLI reads the model events and the tombstones of deleted subjects.
   */
  public static java.util.List<org.apache.kafka.clients.consumer.ConsumerRecord<String, byte[]>> readAll(
      String bootstrap, String topic, java.time.Duration timeout) throws BrokerUnreachableException {
    Map<String, Object> config =
        Map.of(
            org.apache.kafka.clients.consumer.ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
            org.apache.kafka.clients.consumer.ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG,
            org.apache.kafka.common.serialization.StringDeserializer.class,
            org.apache.kafka.clients.consumer.ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
            org.apache.kafka.common.serialization.ByteArrayDeserializer.class);
    java.util.List<org.apache.kafka.clients.consumer.ConsumerRecord<String, byte[]>> records = new java.util.ArrayList<>();
    try (var consumer = new org.apache.kafka.clients.consumer.KafkaConsumer<String, byte[]>(dev.mfn.config.KafkaSecurity.with(config))) {
      var partitions = consumer.partitionsFor(topic, timeout).stream()
          .map(p -> new org.apache.kafka.common.TopicPartition(topic, p.partition())).toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      var end = consumer.endOffsets(partitions, timeout);
      long deadline = System.nanoTime() + timeout.toNanos();
      while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
        if (System.nanoTime() > deadline) {
          throw new BrokerUnreachableException("timed out reading " + topic + " at " + bootstrap);
        }
        consumer.poll(java.time.Duration.ofMillis(200)).forEach(records::add);
      }
    } catch (org.apache.kafka.common.errors.TimeoutException e) {
      throw new BrokerUnreachableException("timed out reading " + topic + " at " + bootstrap);
    }
    return records;
  }
}
