package dev.mfn.retrain;

import dev.mfn.records.RetrainRequest;
import dev.mfn.records.kafka.AvroSerde;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Puts RetrainRequests on the training.requests topic: what `mfn retrain` and the search service's
 * `POST /retrain` do. The controller that reads the topic is the only one that starts training.
 */
public final class RetrainRequests {
  private final Producer<String, byte[]> producer;
  private final String topic;
  private final AvroSerde<RetrainRequest> serde = new AvroSerde<>(RetrainRequest.class);

  public RetrainRequests(Producer<String, byte[]> producer, String topic) {
    this.producer = producer;
    this.topic = topic;
  }

  /** A request with a fresh id, sent and acknowledged; returns it. */
  public RetrainRequest send(String requestedBy, String reason, Integer epochs, Integer minutes, String shards,
      Map<String, String> parameters) throws Exception {
    RetrainRequest request = RetrainRequest.newBuilder()
        .setRequestId(Instant.now().toString().substring(0, 10) + "-" + UUID.randomUUID().toString().substring(0, 8))
        .setRequestedBy(requestedBy)
        .setReason(reason == null ? "" : reason)
        .setEpochs(epochs)
        .setMaxMinutes(minutes)
        .setShardsUri(shards)
        .setParameters(new HashMap<>(parameters))
        .setTimestamp(Instant.now())
        .build();
    producer.send(new ProducerRecord<>(topic, request.getRequestId(), serde.encode(request))).get();
    return request;
  }
}
