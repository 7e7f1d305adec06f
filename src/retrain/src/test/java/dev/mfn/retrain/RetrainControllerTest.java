package dev.mfn.retrain;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mfn.records.RetrainRequest;
import dev.mfn.records.kafka.AvroSerde;
import dev.mfn.services.kafka.KafkaBroker;
import dev.mfn.testkit.LocalKafka;
import io.fabric8.kubernetes.api.model.PodTemplate;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobConditionBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The retraining controller against fabric8's Kubernetes API server (CRUD mode), with the training
 * PodTemplate as the gpu overlay renders it: a request becomes one Job built from the template; a
 * second request is refused while that Job runs, and accepted once it has finished; requests also
 * arrive through the real broker's training.requests topic.
 */
@EnableKubernetesMockClient(crud = true)
@ExtendWith(LocalKafka.class)
class RetrainControllerTest {
  private static final String NS = "mfn";
  KubernetesClient client;

  @BeforeEach
  void applyTheTemplate() throws Exception {
    String doc = K8sManifestsTest.render("gpu").stream().filter(d -> d.contains("kind: PodTemplate")).findFirst().orElseThrow();
    PodTemplate template = Serialization.unmarshal(doc, PodTemplate.class);
    client.v1().podTemplates().inNamespace(NS).resource(template).create();
  }

  @Test
  void oneJobAtATimeFromTheTemplate() {
    RetrainController controller = new RetrainController(client, NS);
    RetrainController.Outcome first = controller.submit(request("Nightly 2026-11-28", 12, Map.of("batch", "256")));
    assertThat(first.kind()).isEqualTo(RetrainController.Outcome.Kind.CREATED);
    assertThat(first.job()).isEqualTo("mfn-train-nightly-2026-11-28");

    List<Job> jobs = client.batch().v1().jobs().inNamespace(NS).list().getItems();
    assertThat(jobs).hasSize(1);
    Job job = jobs.get(0);
    var pod = job.getSpec().getTemplate().getSpec();
    var trainer = pod.getContainers().get(0);
    assertThat(trainer.getImage()).isEqualTo("mfn/cli-cuda:0.1.0");
    assertThat(trainer.getResources().getLimits()).containsKey("nvidia.com/gpu");
    assertThat(pod.getNodeSelector()).containsEntry("nvidia.com/gpu.present", "true");
    assertThat(trainer.getArgs()).containsSubsequence("--epochs", "12").containsSubsequence("--batch", "256")
        .containsSubsequence("--device", "gpu:1").doesNotContain("--minutes", "120").contains("--publish");
    assertThat(job.getMetadata().getLabels()).containsEntry(TrainingJobs.COMPONENT_LABEL, TrainingJobs.COMPONENT);
    // a model refused by the gate (exit 3) is not retried: no second two-hour training
    assertThat(job.getSpec().getPodFailurePolicy().getRules()).singleElement().satisfies(rule -> {
      assertThat(rule.getAction()).isEqualTo("FailJob");
      assertThat(rule.getOnExitCodes().getValues()).containsExactly(3);
      assertThat(rule.getOnExitCodes().getContainerName()).isEqualTo(trainer.getName());
    });
    assertThat(controller.jobs()).extracting(RetrainController.JobState::state).containsExactly("Running");

    RetrainController.Outcome second = controller.submit(request("another", null, Map.of()));
    assertThat(second.kind()).isEqualTo(RetrainController.Outcome.Kind.REFUSED);
    assertThat(second.message()).contains("mfn-train-nightly-2026-11-28 is still running");
    assertThat(client.batch().v1().jobs().inNamespace(NS).list().getItems()).hasSize(1);

    job.setStatus(new JobStatusBuilder().withConditions(new JobConditionBuilder().withType("Complete").withStatus("True").build()).build());
    client.batch().v1().jobs().inNamespace(NS).resource(job).updateStatus();
    assertThat(controller.jobs()).extracting(RetrainController.JobState::state).containsExactly("Succeeded");

    RetrainController.Outcome third = controller.submit(request("another", null, Map.of()));
    assertThat(third.kind()).isEqualTo(RetrainController.Outcome.Kind.CREATED);
    assertThat(client.batch().v1().jobs().inNamespace(NS).list().getItems()).hasSize(2);
    // the same request again (a replayed record) does not make a second Job
    job = client.batch().v1().jobs().inNamespace(NS).withName(third.job()).get();
    job.setStatus(new JobStatusBuilder().withConditions(new JobConditionBuilder().withType("Failed").withStatus("True").build()).build());
    client.batch().v1().jobs().inNamespace(NS).resource(job).updateStatus();
    assertThat(controller.submit(request("another", null, Map.of())).kind()).isEqualTo(RetrainController.Outcome.Kind.REFUSED);
    assertThat(client.batch().v1().jobs().inNamespace(NS).list().getItems()).hasSize(2);
  }

  /**
   * How each Job ended is told once, per request id as it was asked (not the Job name's cleaned
   * form): succeeded, refused by the gate (the pod failure policy's FailJob on exit 3) or failed.
   * "Once" is kept on the Job: a controller made afresh (a restart) tells an end it had not told
   * (one that came while it was down, or whose event the broker did not take), and not one it had.
   */
  @Test
  void endsOfJobsAreToldOncePerRequestAcrossRestarts() {
    RetrainController controller = new RetrainController(client, NS);
    assertThat(controller.submit(request("Gated Run", null, Map.of())).kind()).isEqualTo(RetrainController.Outcome.Kind.CREATED);
    assertThat(controller.untoldEnds()).as("still running").isEmpty();
    end("mfn-train-gated-run", "Failed", "PodFailurePolicy",
        "Container trainer for pod mfn/mfn-train-gated-run-x failed with exit code 3 matching FailJob rule at index 0");
    assertThat(controller.untoldEnds()).singleElement().satisfies(e -> {
      assertThat(e.requestId()).isEqualTo("Gated Run");
      assertThat(e.run()).isEqualTo("mfn-train-gated-run");
      assertThat(e.state()).isEqualTo(TrainingRunEvent.State.REFUSED_BY_GATE);
    });
    assertThat(controller.untoldEnds()).as("not told yet (the broker did not take it): told again").hasSize(1);
    controller.told("mfn-train-gated-run");
    assertThat(controller.untoldEnds()).as("told once").isEmpty();

    assertThat(controller.submit(request("crashing", null, Map.of())).kind()).isEqualTo(RetrainController.Outcome.Kind.CREATED);
    end("mfn-train-crashing", "Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit");
    assertThat(controller.submit(request("fine", null, Map.of())).kind()).isEqualTo(RetrainController.Outcome.Kind.CREATED);
    end("mfn-train-fine", "Complete", null, null);
    // the controller restarts: its successor tells the two ends not told, and not the told one
    RetrainController restarted = new RetrainController(client, NS);
    assertThat(restarted.untoldEnds()).extracting(TrainingRunEvent::requestId, TrainingRunEvent::state)
        .containsExactlyInAnyOrder(org.assertj.core.groups.Tuple.tuple("crashing", TrainingRunEvent.State.FAILED),
            org.assertj.core.groups.Tuple.tuple("fine", TrainingRunEvent.State.SUCCEEDED));
    restarted.told("mfn-train-crashing");
    restarted.told("mfn-train-fine");
    assertThat(new RetrainController(client, NS).untoldEnds()).isEmpty();
    assertThat(client.batch().v1().jobs().inNamespace(NS).withName("mfn-train-fine").get().getMetadata().getAnnotations())
        .containsKey(RetrainController.END_TOLD).containsEntry(TrainingJobs.REQUEST_ANNOTATION, "fine");
  }

  private void end(String name, String type, String reason, String message) {
    Job job = client.batch().v1().jobs().inNamespace(NS).withName(name).get();
    job.setStatus(new JobStatusBuilder().withConditions(new JobConditionBuilder().withType(type).withStatus("True")
        .withReason(reason).withMessage(message).build()).build());
    client.batch().v1().jobs().inNamespace(NS).resource(job).updateStatus();
  }

  @Test
  void aFlagThatIsNoFlagIsRefusedAsInvalid() {
    RetrainController controller = new RetrainController(client, NS);
    var outcome = controller.submit(request("bad", null, Map.of("--rm -rf", "x")));
    assertThat(outcome.kind()).isEqualTo(RetrainController.Outcome.Kind.INVALID);
    assertThat(client.batch().v1().jobs().inNamespace(NS).list().getItems()).isEmpty();
  }

  @Test
  void requestsFromTheTopicBecomeOneJob(KafkaBroker broker) throws Exception {
    String topic = "retrain-requests-test";
    Properties p = new Properties();
    p.put("bootstrap.servers", broker.bootstrapServers());
    try (var producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer())) {
      AvroSerde<RetrainRequest> serde = new AvroSerde<>(RetrainRequest.class);
      producer.send(new ProducerRecord<>(topic, "a", serde.encode(request("from-topic-1", 3, Map.of())))).get();
      producer.send(new ProducerRecord<>(topic, "x", "not avro".getBytes())).get();
      producer.send(new ProducerRecord<>(topic, "b", serde.encode(request("from-topic-2", 3, Map.of())))).get();
    }
    Properties c = new Properties();
    c.put("bootstrap.servers", broker.bootstrapServers());
    c.put(ConsumerConfig.GROUP_ID_CONFIG, "retrain-test");
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    List<RetrainController.Outcome> outcomes = new ArrayList<>();
    try (var consumer = new KafkaConsumer<>(c, new StringDeserializer(), new ByteArrayDeserializer())) {
      RetrainRequestListener listener = new RetrainRequestListener(consumer, topic, new RetrainController(client, NS));
      long deadline = System.nanoTime() + 60_000_000_000L;
      listener.run(() -> outcomes.size() >= 2 || System.nanoTime() > deadline, (request, outcome) -> outcomes.add(outcome));
      assertThat(listener.unreadable()).isEqualTo(1);
    }
    assertThat(outcomes).extracting(RetrainController.Outcome::kind)
        .containsExactly(RetrainController.Outcome.Kind.CREATED, RetrainController.Outcome.Kind.REFUSED);
    assertThat(client.batch().v1().jobs().inNamespace(NS).list().getItems()).extracting(j -> j.getMetadata().getName())
        .containsExactly("mfn-train-from-topic-1");
  }

  private static RetrainRequest request(String id, Integer epochs, Map<String, String> parameters) {
    return RetrainRequest.newBuilder().setRequestId(id).setRequestedBy("test").setReason("test")
        .setEpochs(epochs).setParameters(new java.util.HashMap<>(parameters)).setTimestamp(Instant.now()).build();
  }
}
