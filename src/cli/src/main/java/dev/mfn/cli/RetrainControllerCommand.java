package dev.mfn.cli;

import dev.mfn.config.MfnSettings;
import dev.mfn.retrain.RetrainController;
import dev.mfn.retrain.RetrainRequestListener;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** `mfn retrain-controller`: the one process that turns retrain requests into training Jobs. */
@Command(
    name = "retrain-controller",
    mixinStandardHelpOptions = true,
    description = {
      "Reads training.requests (setting topic.retrain) and, for each RetrainRequest, creates one",
      "training Job in the namespace from the PodTemplate mfn-training, unless a training Job is",
      "still running (then the request is refused and logged). Runs until stopped; meant for the",
      "cluster (k8s/base/retrain-controller.yaml), with in-cluster credentials or a kubeconfig."
    })
final class RetrainControllerCommand implements Callable<Integer> {
  @Option(names = "--namespace", paramLabel = "NS", defaultValue = "mfn", description = "Where the Jobs go (default: ${DEFAULT-VALUE}).")
  String namespace;

  @Option(names = "--bootstrap", paramLabel = "HOST:PORT", description = "Kafka (default: setting kafka.bootstrap).")
  String bootstrap;

  @Spec CommandSpec spec;
  private final MfnSettings settings;

  RetrainControllerCommand(MfnSettings settings) {
    this.settings = settings;
  }

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap != null ? bootstrap : settings.kafkaBootstrap());
    p.put(ConsumerConfig.GROUP_ID_CONFIG, "mfn-retrain-controller");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    // the probes look for this file: it exists while the loop runs
    Path alive = Path.of(System.getProperty("java.io.tmpdir"), "mfn-retrain-controller.alive");
    AtomicBoolean stop = new AtomicBoolean();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> stop.set(true)));
    try (KubernetesClient client = new KubernetesClientBuilder().build();
        KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer())) {
      RetrainRequestListener listener = new RetrainRequestListener(consumer, settings.topics().retrain(), new RetrainController(client, namespace));
      Files.writeString(alive, "");
      out.printf("retrain controller: reading %s, training jobs go to namespace %s%n", settings.topics().retrain(), namespace);
      out.flush();
      listener.run(stop::get, outcome -> {
        out.printf("%s: %s%n", outcome.kind(), outcome.message());
        out.flush();
      });
    } finally {
      Files.deleteIfExists(alive);
    }
    return 0;
  }
}
