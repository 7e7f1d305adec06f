package dev.mfn.cli.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mfn.publish.KafkaAccess;
import dev.mfn.records.RetrainRequest;
import dev.mfn.retrain.RetrainController;
import dev.mfn.retrain.RetrainRequests;
import dev.mfn.retrain.TrainingRunEvent;
import dev.mfn.retrain.TrainingRunEvent.State;
import dev.mfn.services.kafka.KafkaBroker;
import dev.mfn.testkit.LocalKafka;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The Models tab's training runs on a real broker: requests as `POST /retrain` sends them, events
 * as the controller encodes them. A request nobody answered is QUEUED; a run's end is its state; a
 * replay's "refused" after the run does not hide the run's end; a request refused because another
 * run was going stays REFUSED; an event whose request is older than what is read is still listed;
 * a record that is neither is counted in the error line, never fatal. Topics that do not exist are
 * an empty list (and are not created by looking); a broker that does not answer is one line.
 */
@ExtendWith(LocalKafka.class)
class KafkaTrainingRunsTest {

  @Test
  void requestsJoinedWithWhatTheControllerSaid(KafkaBroker broker) throws Exception {
    String kafka = broker.bootstrapServers();
    String requestsTopic = "runs-test.requests";
    String runsTopic = "runs-test.runs";
    KafkaAccess.prepare(kafka, requestsTopic, 1, 30_000);
    KafkaAccess.prepare(kafka, runsTopic, 1, 30_000);
    RetrainRequest trained;
    RetrainRequest refused;
    RetrainRequest queued;
    RetrainRequest invalid;
    try (Producer<String, byte[]> producer = KafkaAccess.producer(kafka, 1 << 20)) {
      RetrainRequests requests = new RetrainRequests(producer, requestsTopic);
      trained = requests.send("api:console", "six new people", 2, null, null, Map.of());
      refused = requests.send("trigger:shard-growth", "grew", null, 30, null, Map.of());
      queued = requests.send("cli", "nightly", null, null, null, Map.of());
      invalid = requests.send("cli", "bad flag", null, null, null, Map.of("--x", "1"));
      tell(producer, runsTopic, TrainingRunEvent.of(trained.getRequestId(),
          new RetrainController.Outcome(RetrainController.Outcome.Kind.CREATED, "mfn-train-a", "started training run mfn-train-a")));
      tell(producer, runsTopic, TrainingRunEvent.of(refused.getRequestId(),
          new RetrainController.Outcome(RetrainController.Outcome.Kind.REFUSED, "mfn-train-a", "training run mfn-train-a is still running")));
      tell(producer, runsTopic, TrainingRunEvent.now(trained.getRequestId(), "mfn-train-a", State.SUCCEEDED, "trained and announced"));
      // the same request read again (a replay): refused, as it ran already
      tell(producer, runsTopic, TrainingRunEvent.of(trained.getRequestId(),
          new RetrainController.Outcome(RetrainController.Outcome.Kind.REFUSED, "mfn-train-a", "has a run already")));
      tell(producer, runsTopic, TrainingRunEvent.of(invalid.getRequestId(),
          new RetrainController.Outcome(RetrainController.Outcome.Kind.INVALID, null, "parameter '--x' is not a trainer flag name")));
      // a run whose request left the window (or the topic's retention) long ago
      tell(producer, runsTopic, new TrainingRunEvent("2026-01-01-older", "mfn-train-2026-01-01-older", State.REFUSED_BY_GATE,
          "the gate refused", java.time.Instant.parse("2026-01-01T12:00:00Z").toEpochMilli()));
      producer.send(new ProducerRecord<>(runsTopic, "junk", "{not json".getBytes(StandardCharsets.UTF_8))).get();
    }

    Map<String, Object> answer = new KafkaTrainingRuns(kafka, requestsTopic, runsTopic).runs();
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> runs = (List<Map<String, Object>>) answer.get("runs");
    Map<String, Map<String, Object>> byId = runs.stream().collect(Collectors.toMap(r -> (String) r.get("request_id"), Function.identity()));
    assertThat(byId).containsOnlyKeys(trained.getRequestId(), refused.getRequestId(), queued.getRequestId(),
        invalid.getRequestId(), "2026-01-01-older");
    assertThat(byId.get(trained.getRequestId())).containsEntry("state", "SUCCEEDED").containsEntry("run", "mfn-train-a")
        .containsEntry("requested_by", "api:console").containsEntry("reason", "six new people").containsEntry("epochs", 2)
        .containsEntry("message", "trained and announced");
    assertThat(byId.get(refused.getRequestId())).containsEntry("state", "REFUSED").containsEntry("minutes", 30);
    assertThat(byId.get(queued.getRequestId())).containsEntry("state", "QUEUED").containsEntry("run", null).containsEntry("updated_at", null);
    assertThat(byId.get(invalid.getRequestId())).containsEntry("state", "INVALID");
    assertThat(byId.get("2026-01-01-older")).containsEntry("state", "REFUSED_BY_GATE").containsEntry("requested_by", null);
    List<String> times = runs.stream().map(r -> (String) r.get("requested_at")).filter(java.util.Objects::nonNull).toList();
    assertThat(times).as("newest request first").hasSize(4)
        .isSortedAccordingTo(java.util.Comparator.comparing(java.time.Instant::parse).reversed());
    assertThat(runs.get(runs.size() - 1).get("request_id")).as("the older run's own time puts it last").isEqualTo("2026-01-01-older");
    assertThat(answer.get("error")).isEqualTo("1 record was not a request or a run event");
    assertThat(answer.get("topics")).isEqualTo(Map.of("requests", requestsTopic, "runs", runsTopic));
  }

  @Test
  void missingTopicsAreEmptyAndStayMissing(KafkaBroker broker) throws Exception {
    Map<String, Object> answer = new KafkaTrainingRuns(broker.bootstrapServers(), "runs-test.none.requests", "runs-test.none.runs").runs();
    assertThat((List<?>) answer.get("runs")).isEmpty();
    assertThat(answer).doesNotContainKey("error");
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
      assertThat(admin.listTopics().names().get()).doesNotContain("runs-test.none.requests", "runs-test.none.runs");
    }
  }

  @Test
  void aBrokerThatDoesNotAnswerIsOneLine() {
    long started = System.nanoTime();
    Map<String, Object> answer = new KafkaTrainingRuns("127.0.0.1:1", "training.requests", "training.runs").runs();
    assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(30));
    assertThat((List<?>) answer.get("runs")).isEmpty();
    assertThat((String) answer.get("error")).contains("could not read training.requests").contains("could not read training.runs");
  }

  private static void tell(Producer<String, byte[]> producer, String topic, TrainingRunEvent event) throws Exception {
    producer.send(new ProducerRecord<>(topic, event.requestId(), event.encode())).get();
  }
}
