package dev.mfn.cli;

import dev.mfn.config.MfnSettings;
import dev.mfn.publish.KafkaAccess;
import dev.mfn.records.RetrainRequest;
import dev.mfn.retrain.RetrainController;
import dev.mfn.retrain.RetrainRequests;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.PrintWriter;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.producer.Producer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** `mfn retrain`: ask for a training run on the cluster, or see where the runs stand. */
@Command(
    name = "retrain",
    mixinStandardHelpOptions = true,
    description = {
      "Ask for a new model: puts a RetrainRequest on the training.requests topic (setting topic.retrain).",
      "The retraining controller on the cluster (`mfn retrain-controller`) turns it into one training",
      "Job from the PodTemplate mfn-training, or refuses it while another training Job runs.",
      "--status lists the training Jobs of the namespace and their state instead (kubeconfig or",
      "in-cluster credentials). To train on this machine, use `mfn train`."
    })
final class RetrainCommand implements Callable<Integer> {
  @Option(names = "--reason", paramLabel = "TEXT", description = "Why (kept on the Job).")
  String reason;

  @Option(names = "--epochs", paramLabel = "E", description = "Train this many epochs (default: the template's --minutes).")
  Integer epochs;

  @Option(names = "--minutes", paramLabel = "M", description = "Train for this long.")
  Integer minutes;

  @Option(names = "--shards", paramLabel = "PATH", description = "Training shards as the trainer pod sees them (default: the template's).")
  String shards;

  @Option(names = "--param", paramLabel = "FLAG=VALUE", description = "Another trainer flag, e.g. --param batch=256 (repeatable).")
  Map<String, String> parameters = new TreeMap<>();

  @Option(names = "--bootstrap", paramLabel = "HOST:PORT", description = "Kafka (default: setting kafka.bootstrap).")
  String bootstrap;

  @Option(names = "--status", description = "List the training Jobs and their state instead.")
  boolean status;

  @Option(names = "--namespace", paramLabel = "NS", defaultValue = "mfn", description = "Namespace for --status (default: ${DEFAULT-VALUE}).")
  String namespace;

  @Spec CommandSpec spec;
  private final MfnSettings settings;

  RetrainCommand(MfnSettings settings) {
    this.settings = settings;
  }

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    if (status) {
      try (KubernetesClient client = new KubernetesClientBuilder().build()) {
        var jobs = new RetrainController(client, namespace).jobs();
        out.printf("%d training job(s) in namespace %s%n", jobs.size(), namespace);
        jobs.forEach(j -> out.printf("  %-40s %-10s requested by %s: %s%n", j.name(), j.state(), j.requestedBy(), j.reason()));
      }
      return 0;
    }
    if (epochs != null && minutes != null) {
      throw new IllegalArgumentException("give --epochs or --minutes, not both");
    }
    String servers = bootstrap != null ? bootstrap : settings.kafkaBootstrap();
    String topic = settings.topics().retrain();
    try {
      KafkaAccess.prepare(servers, topic, 1, 10_000);
    } catch (KafkaAccess.BrokerUnreachableException e) {
      spec.commandLine().getErr().println("mfn retrain: " + e.getMessage());
      return Mfn.EXIT_USAGE;
    }
    AuditTopic.recordCli(settings, servers, "retrain", "training", reason == null ? "" : reason, spec.commandLine().getErr());
    try (Producer<String, byte[]> producer = KafkaAccess.producer(servers, 1 << 20)) {
      RetrainRequest request = new RetrainRequests(producer, topic)
          .send("cli:" + System.getProperty("user.name"), reason, epochs, minutes, shards, parameters);
      out.printf("queued retrain request %s on %s; the retraining controller starts a training job unless one runs%n",
          request.getRequestId(), topic);
    }
    return 0;
  }
}
