package dev.mfn.search.serve;

import java.util.List;
import java.util.Optional;

/**
 * Where {@code POST /enroll} hands a person's photos: in deployments, onto the enroll topic, which
 * the embed job reads (the service itself never embeds into the index: one writer, the job, and
 * the same checks, dead letters and tombstones as every other enrolment). The CLI's implementation
 * is Kafka's; this module knows only the interface, so it needs no Kafka client.
 */
public interface Enrolment {
  /** One uploaded photo, as the caller sent it (the bytes are not checked here: the job does that). */
  record Upload(String filename, byte[] bytes) {}

  /**
   * Why the embed job refused a photo (the dead letter's reason code and its message), and when
   * (ms since the epoch): a photo sent again has the same id, and an older refusal is not its own.
   */
  record DeadLetterNote(String reason, String message, long atMillis) {
    /** A refusal made now. */
    public DeadLetterNote(String reason, String message) {
      this(reason, message, System.currentTimeMillis());
    }
  }

  /** The photos cannot be enrolled as sent (e.g. one is too large to publish); nothing was published. */
  final class Refused extends Exception {
    public Refused(String message) {
      super(message);
    }
  }

  /**
   * Publishes the photos of one subject and waits until they are acknowledged; returns the image
   * ids in the order of {@code photos}. An id is derived from the subject and the photo's bytes
   * (as the publisher's ids are from their content): the same photo of the same subject sent twice
   * gets the same id, and the index keeps one copy. Throws {@link Refused} when the photos cannot
   * go as sent, any other exception when the broker cannot take them now (the caller answers 503).
   */
  List<String> submit(String subject, List<Upload> photos) throws Refused, Exception;

  /**
   * The dead letter of that image, when the job refused it recently (the Kafka implementation: in
   * the half hour before this service started, or since).
   */
  Optional<DeadLetterNote> deadLetter(String imageId);

  /** Where the photos go (the enroll topic), for the answer; null: not said. */
  default String topic() {
    return null;
  }
}
