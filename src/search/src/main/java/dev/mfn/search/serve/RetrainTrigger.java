package dev.mfn.search.serve;

/**
 * Where `POST /retrain` hands a request: in deployments, onto the training.requests topic, which the
 * one retraining controller reads (the service itself never starts training).
 */
@FunctionalInterface
public interface RetrainTrigger {
  /** What a caller may ask for; nulls leave the training Job template's choice. */
  record Request(String reason, Integer epochs, Integer minutes, String shards, String requestedBy) {}

  /** Queues the request; returns its id. */
  String request(Request request) throws Exception;
}
