package dev.mfn.flink.common;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mfn.records.DeadLetter;
import dev.mfn.records.RawImage;
import dev.mfn.records.kafka.AvroSerde;
import dev.mfn.services.kafka.KafkaBroker;
import dev.mfn.testkit.LocalKafka;
import dev.mfn.testkit.TopicReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.types.Either;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * On Flink's MiniCluster and the real broker: good RawImage records flow on, unreadable ones land
 * in the dead-letter topic with their reason and original bytes, and the job does not fail.
 */
@ExtendWith(LocalKafka.class)
class DeadLetterRoutingTest {

  @Test
  void unreadableRecordsBecomeDeadLettersAndTheJobCarriesOn(KafkaBroker broker) throws Exception {
    String in = "routing-in";
    String dlq = "routing-dlq";
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", broker.bootstrapServers()))) {
      admin.createTopics(List.of(new NewTopic(in, 2, (short) 1), new NewTopic(dlq, 1, (short) 1)))
          .all()
          .get();
    }
    AvroSerde<RawImage> serde = new AvroSerde<>(RawImage.class);
    byte[] garbage = "this is not avro".getBytes(StandardCharsets.UTF_8);
    try (var producer =
        new KafkaProducer<String, byte[]>(
            Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class))) {
      for (int i = 0; i < 3; i++) {
        producer.send(new ProducerRecord<>(in, "s" + i, serde.encode(image("img" + i, "s" + i))));
      }
      producer.send(new ProducerRecord<>(in, "bad", garbage));
      // a RawImage cut short after its header: the fingerprint is right, the body is missing
      byte[] truncated = java.util.Arrays.copyOf(serde.encode(image("cut", "bad")), 12);
      producer.send(new ProducerRecord<>(in, "bad", truncated));
      producer.send(new ProducerRecord<>(in, "empty", new byte[0]));
      producer.flush();
    }

    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.setParallelism(2);
    KafkaSource<Either<DeadLetter, RawImage>> source =
        KafkaSource.<Either<DeadLetter, RawImage>>builder()
            .setBootstrapServers(broker.bootstrapServers())
            .setTopics(in)
            .setGroupId("routing-test")
            .setStartingOffsets(OffsetsInitializer.earliest())
            .setBounded(OffsetsInitializer.latest())
            .setDeserializer(new RawImageDeserializer("routing-test"))
            .build();
    SingleOutputStreamOperator<RawImage> images =
        env.fromSource(source, WatermarkStrategy.noWatermarks(), "images")
            .process(new SplitDeadLetters<>(new AvroTypeInfo<>(RawImage.class)))
            .returns(new AvroTypeInfo<>(RawImage.class));
    images.getSideOutput(SplitDeadLetters.DEAD_LETTERS)
        .sinkTo(DeadLetterSink.create(broker.bootstrapServers(), dlq));

    List<String> ids = new ArrayList<>();
    images.map(RawImage::getId).returns(Types.STRING).executeAndCollect().forEachRemaining(ids::add);

    assertThat(ids).containsExactlyInAnyOrder("img0", "img1", "img2");
    AvroSerde<DeadLetter> letters = new AvroSerde<>(DeadLetter.class);
    List<DeadLetter> dead =
        TopicReader.readAll(broker.bootstrapServers(), dlq).stream()
            .map(r -> letters.decode(r.value()))
            .toList();
    assertThat(dead).hasSize(3);
    assertThat(dead).extracting(DeadLetter::getReason)
        .containsExactlyInAnyOrder(
            RawImageDeserializer.UNDECODABLE, RawImageDeserializer.UNDECODABLE,
            RawImageDeserializer.EMPTY);
    assertThat(dead).allSatisfy(d -> {
      assertThat(d.getOriginalTopic()).isEqualTo(in);
      assertThat(d.getOriginalOffset()).isNotNull();
      assertThat(d.getStage()).isEqualTo(RawImageDeserializer.STAGE);
    });
    assertThat(dead).anySatisfy(d -> assertThat(d.getOriginal()).isEqualTo(ByteBuffer.wrap(garbage)));
  }

  private static RawImage image(String id, String subject) {
    return RawImage.newBuilder()
        .setId(id)
        .setSubject(subject)
        .setSource(subject + "/photo.jpg")
        .setContentType("image/jpeg")
        .setSizeBytes(3)
        .setSha256("00")
        .setData(ByteBuffer.wrap(new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF}))
        .setTimestamp(Instant.now())
        .build();
  }
}
