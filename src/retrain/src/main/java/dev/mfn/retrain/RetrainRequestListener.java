package dev.mfn.retrain;

import dev.mfn.records.RetrainRequest;
import dev.mfn.records.kafka.AvroSerde;
import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads training.requests and hands each request to the controller, committing the offset after
 * it was handled (a request is acted on at least once; the Job name, from the request id, makes a
 * second time harmless). An unreadable record is logged and skipped, never fatal.
 */
public final class RetrainRequestListener {
  private static final Logger LOG = LoggerFactory.getLogger(RetrainRequestListener.class);
  private final Consumer<String, byte[]> consumer;
  private final TrainingExecutor controller;
  private final AvroSerde<RetrainRequest> serde = new AvroSerde<>(RetrainRequest.class);
  private long handled;
  private long unreadable;

  public RetrainRequestListener(Consumer<String, byte[]> consumer, String topic, TrainingExecutor controller) {
    this.consumer = consumer;
    this.controller = controller;
    consumer.subscribe(List.of(topic));
  }

  /** Polls until {@code stop} says so. */
  public void run(BooleanSupplier stop, java.util.function.BiConsumer<RetrainRequest, RetrainController.Outcome> onOutcome) {
    while (!stop.getAsBoolean()) {
      for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(500))) {
        RetrainRequest request;
        try {
          request = serde.decode(record.value());
        } catch (SerializationException | NullPointerException e) {
          unreadable++;
          LOG.warn("skipped an unreadable record at {}-{}@{}", record.topic(), record.partition(), record.offset());
          continue;
        }
        handled++;
        RetrainController.Outcome outcome;
        try {
          outcome = controller.submit(request);
        } catch (RuntimeException e) {
          // the API server refused it (or is away): say so and go on; a request must not block the topic
          LOG.warn("request {} failed", request.getRequestId(), e);
          outcome = new RetrainController.Outcome(RetrainController.Outcome.Kind.INVALID, null,
              "request " + request.getRequestId() + " failed: " + e.getMessage());
        }
        onOutcome.accept(request, outcome);
      }
      consumer.commitSync();
      onIdle.run();
    }
  }

  private Runnable onIdle = () -> {};

  /** Something to do after each poll (e.g. the local executor's growth trigger); runs on this thread. */
  public RetrainRequestListener onIdle(Runnable action) {
    this.onIdle = action;
    return this;
  }

  public long handled() {
    return handled;
  }

  public long unreadable() {
    return unreadable;
  }
}
