package dev.mfn.retrain;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;

/**
 * What the retraining controller did with one request, or how its run ended: one JSON record on
 * the training.runs topic (setting {@code topic.training-runs}), keyed by the request id. The
 * controller is the only one that knows (a Job's end, a child process's exit status), so it says it
 * here, and the console's Models tab reads the topic next to training.requests: a request with no
 * event yet is queued.
 *
 * <p>JSON rather than Avro: nothing downstream computes on it, people and `kafka-console-consumer`
 * read it, and an unknown field from a newer controller is ignored, not an error.
 *
 * @param requestId the RetrainRequest's id
 * @param run the Job's (or local run's) name; null when none was made (INVALID)
 * @param state where the request stands now
 * @param message one line for a person
 * @param at when it happened, epoch milliseconds
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record TrainingRunEvent(String requestId, String run, State state, String message, long at) {

  /** The request's life: one of the first three from the controller, then one of the last three. */
  public enum State {
    /** A Job (or child process) was started for it. */
    STARTED,
    /** Not run: another run was going, or the same request was run already (a replay). */
    REFUSED,
    /** Not run: the request cannot become a run (a bad flag, no Job template, the API refused). */
    INVALID,
    /** The run trained a model, the gate passed it and it was announced. */
    SUCCEEDED,
    /** The run trained a model and the gate refused it: nothing was announced. */
    REFUSED_BY_GATE,
    /** The run ended without a model. */
    FAILED;

    /** Whether this is how a run ended. */
    public boolean ended() {
      return this == SUCCEEDED || this == REFUSED_BY_GATE || this == FAILED;
    }

    /**
     * Whether this, said after {@code earlier} about the same request, is where the request stands
     * now. A run's end always is; the controller's answer (started, refused, invalid) only
     * replaces another answer that did not start a run: a replayed request is refused ("has a run
     * already"), and that must not hide the run it had.
     */
    public boolean replaces(State earlier) {
      return ended() || earlier == REFUSED || earlier == INVALID;
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper()
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  public static TrainingRunEvent now(String requestId, String run, State state, String message) {
    return new TrainingRunEvent(requestId, run, state, forPeople(message), Instant.now().toEpochMilli());
  }

  /**
   * The controller's line as the console shows it to anyone with a browse key: without the
   * machine's details (a child's pid, a log's path: the controller's own output keeps them), at
   * most 300 characters (an API server's error can be long).
   */
  static String forPeople(String message) {
    if (message == null) {
      return null;
    }
    String line = message.replaceAll(" ?\\((?:pid|log) [^)]*\\)", "").strip();
    return line.length() <= 300 ? line : line.substring(0, 299) + "\u2026";
  }

  /** The controller's answer to a request, as an event. */
  public static TrainingRunEvent of(String requestId, RetrainController.Outcome outcome) {
    State state = switch (outcome.kind()) {
      case CREATED -> State.STARTED;
      case REFUSED -> State.REFUSED;
      case INVALID -> State.INVALID;
    };
    return now(requestId, outcome.job(), state, outcome.message());
  }

  public byte[] encode() {
    try {
      return JSON.writeValueAsBytes(this);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The event in these bytes; an IllegalArgumentException when they are not one. */
  public static TrainingRunEvent decode(byte[] bytes) {
    try {
      TrainingRunEvent e = JSON.readValue(bytes, TrainingRunEvent.class);
      if (e.requestId() == null || e.state() == null) {
        throw new IllegalArgumentException("not a training run event: no requestId or state");
      }
      return e;
    } catch (IOException e) {
      throw new IllegalArgumentException("not a training run event: " + e.getMessage(), e);
    }
  }
}
