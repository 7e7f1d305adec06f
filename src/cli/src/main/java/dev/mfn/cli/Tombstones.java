package dev.mfn.cli;

import dev.mfn.publish.KafkaAccess;
import dev.mfn.records.SubjectErasure;
import dev.mfn.records.kafka.AvroSerde;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Writes and reads the tombstones of deleted subjects (the compacted topic subjects.deleted, keyed
 * by subject) for `mfn delete` and DELETE /subjects: the record is written and acknowledged before
 * anything is removed, so the embed job, migrations and re-indexing refuse the person from then on.
 */
final class Tombstones {
  private static final AvroSerde<SubjectErasure> SERDE = new AvroSerde<>(SubjectErasure.class);
  private final String bootstrap;
  private final String topic;

  Tombstones(String bootstrap, String topic) {
    this.bootstrap = bootstrap;
    this.topic = topic;
  }

  String topic() {
    return topic;
  }

  /** The subject's current record, if it was ever deleted. */
  Optional<SubjectErasure> find(String subject) throws Exception {
    prepare();
    SubjectErasure last = null;
    for (var r : KafkaAccess.readAll(bootstrap, topic, Duration.ofSeconds(30))) {
      if (subject.equals(r.key()) && r.value() != null) {
        last = SERDE.decode(r.value());
      }
    }
    return Optional.ofNullable(last);
  }

  /** Erases the subject (active tombstone, deleted now). */
  SubjectErasure erase(String subject, String reason, String by) throws Exception {
    Instant now = Instant.now();
    return write(new SubjectErasure(subject, true, now, reason == null ? "" : reason, by, now));
  }

  /**
   * Allows re-enrolment: the tombstone stays with its deletion time (photos published before it are
   * still refused), but is no longer active.
   */
  SubjectErasure clear(SubjectErasure erased, String reason, String by) throws Exception {
    return write(new SubjectErasure(erased.getSubject(), false, erased.getDeletedAt(),
        reason == null ? "re-enrolment allowed" : reason, by, Instant.now()));
  }

  private void prepare() throws Exception {
    KafkaAccess.prepare(bootstrap, topic, 1, 10_000, java.util.Map.of("cleanup.policy", "compact", "retention.ms", "-1"));
  }

  private SubjectErasure write(SubjectErasure record) throws Exception {
    prepare();
    try (Producer<String, byte[]> producer = KafkaAccess.producer(bootstrap, 1 << 20)) {
      producer.send(new ProducerRecord<>(topic, record.getSubject(), SERDE.encode(record))).get();
    }
    return record;
  }
}
