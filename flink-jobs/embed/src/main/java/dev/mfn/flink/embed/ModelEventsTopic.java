package dev.mfn.flink.embed;

import dev.mfn.records.ModelEvent;
import dev.mfn.records.kafka.AvroSerde;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.LongFunction;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The models topic for those who write to it (the CLI, the embed job's gate): its history, and
 * events numbered one above the largest sequence on it. Writers do not coordinate, so after sending
 * it reads the topic again: when an event of another writer took the same number first (followers
 * would drop ours as stale), it sends again with the next number.
 */
public final class ModelEventsTopic {
  private static final AvroSerde<ModelEvent> SERDE = new AvroSerde<>(ModelEvent.class);
  private static final int ATTEMPTS = 20;
  private final String bootstrap;
  private final String topic;

  public ModelEventsTopic(String bootstrap, String topic) {
    this.bootstrap = bootstrap;
    this.topic = topic;
  }

  public String topic() {
    return topic;
  }

  /** Every decodable event, in topic order (one partition), with its offset. */
  public List<Positioned> history() {
    Map<String, Object> config = Map.of(
        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
        ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class,
        ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    List<Positioned> events = new ArrayList<>();
    try (var consumer = new KafkaConsumer<String, byte[]>(dev.mfn.config.KafkaSecurity.with(config))) {
      var partitions = consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
          .map(p -> new TopicPartition(topic, p.partition())).toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      var end = consumer.endOffsets(partitions, Duration.ofSeconds(30));
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("timed out reading " + topic + " at " + bootstrap);
        }
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          if (r.value() != null) {
            try {
              events.add(new Positioned(r.offset(), SERDE.decode(r.value())));
            } catch (RuntimeException e) {
              // not an event: the embed job dead-letters it; here it does not count
            }
          }
        }
      }
    }
    events.sort(java.util.Comparator.comparingLong(Positioned::offset));
    return events;
  }

  /** An event and where it is on the topic. */
  public record Positioned(long offset, ModelEvent event) {}

  public static List<ModelEvent> events(List<Positioned> history) {
    return history.stream().map(Positioned::event).toList();
  }

  /**
   * Sends the event {@code make} builds for the next sequence number, and makes sure no other
   * writer's event took that number first; returns the event as sent.
   */
  public ModelEvent append(LongFunction<ModelEvent> make) {
    Map<String, Object> config = Map.of(
        ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
        ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
        ProducerConfig.ACKS_CONFIG, "all",
        ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
        ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    try (var producer = new KafkaProducer<String, byte[]>(dev.mfn.config.KafkaSecurity.with(config))) {
      for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
        List<Positioned> before = history();
        long sequence = before.stream().mapToLong(p -> p.event().getSequence()).max().orElse(0) + 1;
        ModelEvent event = make.apply(sequence);
        long offset = producer.send(new ProducerRecord<>(topic, event.getModelVersion(), SERDE.encode(event))).get().offset();
        boolean taken = history().stream().anyMatch(p -> p.offset() < offset && p.event().getSequence() >= sequence);
        if (!taken) {
          return event;
        }
        // another writer's event numbered the same went first: ours would be ignored as stale;
        // wait a random while, so that writers that collided do not collide again
        Thread.sleep(java.util.concurrent.ThreadLocalRandom.current().nextLong(20, 200L << Math.min(attempt, 4)));
      }
      throw new IllegalStateException("could not number an event on " + topic + ": other writers kept taking the next number");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while writing to " + topic, e);
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IllegalStateException("could not write to " + topic + ": " + e.getCause().getMessage(), e.getCause());
    }
  }
}
