package dev.mfn.services.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mfn.services.process.Ports;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Starts the real broker, uses it, stops it and starts it again on the same data. */
class KafkaBrokerTest {

  @Test
  void startsServesAndKeepsDataAcrossRestart(@TempDir Path dir) throws Exception {
    KafkaBroker broker = new KafkaBroker(dir, Ports.free(), Ports.free());
    try {
      assertThat(broker.start(false)).isTrue();
      assertThat(broker.process()).isPresent();
      assertThat(broker.start(false)).as("second start sees the running broker").isFalse();
      send(broker, "greetings", "k", "hello");
      assertThat(broker.stop()).isTrue();
      assertThat(broker.process()).isEmpty();

      assertThat(broker.start(false)).isTrue();
      assertThat(readAll(broker, "greetings")).containsExactly("hello");
      assertThat(Files.readString(dir.resolve("server.properties")))
          .contains("listeners=PLAINTEXT\\://127.0.0.1\\:");
    } finally {
      broker.stop();
    }
    assertThat(broker.stop()).as("stopping a stopped broker is a no-op").isFalse();
  }

  @Test
  void refusesAPortThatIsTaken(@TempDir Path dir) throws Exception {
    try (var socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      KafkaBroker broker = new KafkaBroker(dir, socket.getLocalPort(), Ports.free());
      assertThatThrownBy(() -> broker.start(false)).hasMessageContaining("already in use");
    }
  }

  private static void send(KafkaBroker broker, String topic, String key, String value)
      throws Exception {
    Map<String, Object> config =
        Map.of(
            ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
            ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
            ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
    try (var producer = new KafkaProducer<String, String>(config)) {
      producer.send(new ProducerRecord<>(topic, key, value)).get();
    }
  }

  private static List<String> readAll(KafkaBroker broker, String topic) {
    Map<String, Object> config =
        Map.of(
            ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
            ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class,
            ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
    List<String> values = new ArrayList<>();
    try (var consumer = new KafkaConsumer<String, String>(config)) {
      TopicPartition tp = new TopicPartition(topic, 0);
      consumer.assign(List.of(tp));
      consumer.seekToBeginning(List.of(tp));
      long end = consumer.endOffsets(List.of(tp)).get(tp);
      long deadline = System.currentTimeMillis() + 30_000;
      while (consumer.position(tp) < end && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
          values.add(r.value());
        }
      }
    }
    return values;
  }
}
