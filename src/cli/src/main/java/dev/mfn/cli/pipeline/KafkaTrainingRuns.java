package dev.mfn.cli.pipeline;

import dev.mfn.records.RetrainRequest;
import dev.mfn.records.kafka.AvroSerde;
import dev.mfn.retrain.TrainingRunEvent;
import dev.mfn.search.serve.TrainingRunsView;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The console's training runs for `mfn serve`: the last {@value #WINDOW} retrain requests (topic
 * training.requests) joined by request id with the last {@value #EVENTS_WINDOW} events of the
 * retraining controller (training.runs; a few hundred bytes each). A request the controller has not answered is QUEUED; otherwise its state is the
 * controller's newest word. An event whose request is older than the window is still listed, with
 * what the event says. Read again at most every 5 s, whoever asks.
 */
public final class KafkaTrainingRuns implements TrainingRunsView {
  /** How many of the newest requests are read. */
  static final int WINDOW = 200;
  /**
   * How many of the newest run events are read: more than requests, as each request may have
   * several (and every request refused while a run goes has one), so that a run's STARTED is not
   * pushed out of the window while its request is still in it.
   */
  static final int EVENTS_WINDOW = 2_000;
  /** How many runs the page gets. */
  static final int SHOWN = 50;
  private static final AvroSerde<RetrainRequest> REQUESTS = new AvroSerde<>(RetrainRequest.class);
  private final String bootstrap;
  private final String requestsTopic;
  private final String runsTopic;
  private final ReusedLook<Map<String, Object>> looks = new ReusedLook<>(this::look, 5);

  public KafkaTrainingRuns(String bootstrap, String requestsTopic, String runsTopic) {
    this.bootstrap = bootstrap;
    this.requestsTopic = requestsTopic;
    this.runsTopic = runsTopic;
  }

  @Override
  public Map<String, Object> runs() {
    return looks.get();
  }

  /** One run as the page shows it, built up from its request and the controller's events. */
  private static final class Run {
    final String id;
    RetrainRequest request;
    TrainingRunEvent last;

    Run(String id) {
      this.id = id;
    }

    long requestedAt() {
      return request != null && request.getTimestamp() != null ? request.getTimestamp().toEpochMilli()
          : last != null ? last.at() : 0;
    }

    Map<String, Object> json() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("request_id", id);
      m.put("requested_at", request == null || request.getTimestamp() == null ? null : request.getTimestamp().toString());
      m.put("requested_by", request == null ? null : request.getRequestedBy());
      m.put("reason", request == null ? null : request.getReason());
      m.put("epochs", request == null ? null : request.getEpochs());
      m.put("minutes", request == null ? null : request.getMaxMinutes());
      m.put("state", last == null ? "QUEUED" : last.state().name());
      m.put("run", last == null ? null : last.run());
      m.put("message", last == null ? null : last.message());
      m.put("updated_at", last == null ? null : Instant.ofEpochMilli(last.at()).toString());
      return m;
    }
  }

  private Map<String, Object> look() {
    Map<String, Run> byId = new HashMap<>();
    List<String> errors = new ArrayList<>();
    int[] unreadable = {0};
    try {
      if (!TopicTail.read(bootstrap, requestsTopic, WINDOW, r -> {
        try {
          RetrainRequest request = REQUESTS.decode(r.value());
          byId.computeIfAbsent(request.getRequestId(), Run::new).request = request;
        } catch (RuntimeException notOne) {
          unreadable[0]++;
        }
      })) {
        errors.add(requestsTopic + " was not read to its end within 5 s");
      }
    } catch (RuntimeException e) {
      errors.add("could not read " + requestsTopic + ": " + KafkaPipelineView.reason(e));
    }
    try {
      if (!TopicTail.read(bootstrap, runsTopic, EVENTS_WINDOW, r -> {
        try {
          TrainingRunEvent event = TrainingRunEvent.decode(r.value());
          Run run = byId.computeIfAbsent(event.requestId(), Run::new);
          // in the topic's order (one partition); a replay's "refused" never hides the run it had
          if (run.last == null || event.state().replaces(run.last.state())) {
            run.last = event;
          }
        } catch (RuntimeException notOne) {
          unreadable[0]++;
        }
      })) {
        errors.add(runsTopic + " was not read to its end within 5 s");
      }
    } catch (RuntimeException e) {
      errors.add("could not read " + runsTopic + ": " + KafkaPipelineView.reason(e));
    }
    if (unreadable[0] > 0) {
      errors.add(unreadable[0] + (unreadable[0] == 1 ? " record was" : " records were") + " not a request or a run event");
    }
    List<Map<String, Object>> runs = byId.values().stream()
        .sorted(Comparator.comparingLong(Run::requestedAt).reversed().thenComparing(r -> r.id))
        .limit(SHOWN).map(Run::json).toList();
    Map<String, Object> answer = new LinkedHashMap<>();
    answer.put("runs", runs);
    answer.put("topics", Map.of("requests", requestsTopic, "runs", runsTopic));
    if (!errors.isEmpty()) {
      answer.put("error", String.join("; ", errors));
    }
    return answer;
  }
}
