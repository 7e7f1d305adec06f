package dev.mfn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mfn.config.MfnSettings;
import dev.mfn.face.RejectReason;
import dev.mfn.flink.common.DeadLetters;
import dev.mfn.publish.KafkaAccess;
import dev.mfn.publish.PhotoFile;
import dev.mfn.publish.RawImageFactory;
import dev.mfn.records.DeadLetter;
import dev.mfn.records.RawImage;
import dev.mfn.records.kafka.AvroSerde;
import dev.mfn.search.serve.Enrolment;
import dev.mfn.services.kafka.KafkaBroker;
import dev.mfn.testkit.Await;
import dev.mfn.testkit.LocalKafka;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * POST /enroll's Kafka side on a real broker: the same photo of the same subject gets the same id
 * (a content id, as the publisher's), whatever name it was sent under; another subject or other
 * bytes another id. A dead letter published before the enrolment was made (a restart, another
 * replica) is still reported; one about another topic's photo, or a record that is no letter, is
 * not. Closing stops the follower.
 */
@ExtendWith(LocalKafka.class)
class KafkaEnrolmentTest {
  private static final AvroSerde<RawImage> IMAGES = new AvroSerde<>(RawImage.class);
  private static final AvroSerde<DeadLetter> LETTERS = new AvroSerde<>(DeadLetter.class);

  @Test
  void theSamePhotoKeepsItsIdAndAnEarlierDeadLetterIsReported(KafkaBroker broker) throws Exception {
    String kafka = broker.bootstrapServers();
    String enroll = "kafka-enrolment-test.enroll";
    String dlq = "kafka-enrolment-test.dlq";
    KafkaAccess.prepare(kafka, enroll, 1, 30_000);
    KafkaAccess.prepare(kafka, dlq, 1, 30_000);

    // before the enrolment exists: the job refused a photo of that topic (and one of another topic)
    byte[] zeros = new byte[512];
    RawImage refused = image("Earlier_Person", zeros);
    assertThat(refused.getId()).isEqualTo(KafkaEnrolment.imageId("Earlier_Person", zeros));
    RawImage elsewhere = image("Elsewhere_Person", zeros);
    try (Producer<String, byte[]> out = KafkaAccess.producer(kafka, 1 << 20)) {
      out.send(new ProducerRecord<>(dlq, "Earlier_Person", LETTERS.encode(DeadLetters.forImage("embed-test", enroll, refused,
          RejectReason.NOT_AN_IMAGE, "not a known image format", IMAGES)))).get();
      out.send(new ProducerRecord<>(dlq, "Elsewhere_Person", LETTERS.encode(DeadLetters.forImage("embed-test", "another.topic",
          elsewhere, RejectReason.NOT_AN_IMAGE, "not a known image format", IMAGES)))).get();
      out.send(new ProducerRecord<>(dlq, "junk", "not a dead letter".getBytes(StandardCharsets.UTF_8))).get();
    }

    KafkaEnrolment enrolment = KafkaEnrolment.of(MfnSettings.load(), kafka, enroll, dlq);
    try {
      Await.until("the earlier dead letter is heard", Duration.ofMinutes(1), () -> enrolment.deadLetter(refused.getId()).isPresent());
      assertThat(enrolment.deadLetter(refused.getId())).hasValueSatisfying(note -> {
        assertThat(note.reason()).isEqualTo("NOT_AN_IMAGE");
        assertThat(note.message()).isEqualTo("not a known image format");
      });
      assertThat(enrolment.deadLetter(elsewhere.getId())).isEmpty(); // another topic's photo
      assertThat(enrolment.deadLetters().remembered()).isEqualTo(1);

      byte[] photo = "the bytes of one photo".getBytes(StandardCharsets.UTF_8);
      byte[] other = "the bytes of another photo".getBytes(StandardCharsets.UTF_8);
      List<String> first = enrolment.submit("Same_Person", List.of(new Enrolment.Upload("a.jpg", photo)));
      List<String> again = enrolment.submit("Same_Person", List.of(new Enrolment.Upload("renamed.jpg", photo)));
      assertThat(first).hasSize(1);
      assertThat(first.get(0)).matches("[0-9a-f]{32}").isEqualTo(KafkaEnrolment.imageId("Same_Person", photo));
      assertThat(again).isEqualTo(first);
      String otherSubject = enrolment.submit("Other_Person", List.of(new Enrolment.Upload("a.jpg", photo))).get(0);
      String otherPhoto = enrolment.submit("Same_Person", List.of(new Enrolment.Upload("a.jpg", other))).get(0);
      assertThat(List.of(otherSubject, otherPhoto)).doesNotContain(first.get(0)).doesNotHaveDuplicates();

      // on the topic: the same id twice, with the names they were sent under
      Map<String, List<String>> names = KafkaAccess.readAll(kafka, enroll, Duration.ofSeconds(30)).stream()
          .map(r -> IMAGES.decode(r.value()))
          .filter(i -> i.getId().equals(first.get(0)))
          .collect(Collectors.groupingBy(RawImage::getId, Collectors.mapping(i -> i.getAttributes().get(KafkaEnrolment.FILENAME),
              Collectors.toList())));
      assertThat(names.get(first.get(0))).containsExactly("a.jpg", "renamed.jpg");

      // a photo sent again starts afresh: the letter about its earlier submission is forgotten
      assertThat(enrolment.submit("Earlier_Person", List.of(new Enrolment.Upload("zeros.bin", zeros)))).containsExactly(refused.getId());
      assertThat(enrolment.deadLetter(refused.getId())).isEmpty();
    } finally {
      enrolment.close();
    }
    assertThat(enrolment.deadLetters().running()).as("the follower's thread after close").isFalse();
  }

  /** The RawImage POST /enroll would publish for these bytes of this subject. */
  private static RawImage image(String subject, byte[] bytes) throws Exception {
    return new RawImageFactory(1 << 20, null).build(new PhotoFile(Path.of("upload.bin"), subject, KafkaEnrolment.SOURCE), bytes,
        "application/octet-stream", Instant.now()).image();
  }
}
