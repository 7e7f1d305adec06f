package dev.mfn.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mfn.config.MfnSettings;
import dev.mfn.flink.embed.ModelTimeline;
import dev.mfn.publish.KafkaAccess;
import dev.mfn.records.RetrainRequest;
import dev.mfn.records.kafka.AvroSerde;
import dev.mfn.retrain.LocalTrainingExecutor;
import dev.mfn.retrain.RetrainController;
import dev.mfn.retrain.RetrainRequestListener;
import dev.mfn.retrain.ShardGrowthTrigger;
import dev.mfn.retrain.TrainingExecutor;
import dev.mfn.services.process.JavaCommand;
import dev.mfn.training.loader.ShardSet;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** `mfn retrain-controller`: the one process that turns retrain requests into training runs. */
@Command(
    name = "retrain-controller",
    mixinStandardHelpOptions = true,
    description = {
      "Reads training.requests (setting topic.retrain) and, for each RetrainRequest, starts one",
      "training run unless one is still running (then the request is refused and logged):",
      "  on Kubernetes (default): a training Job in the namespace from the PodTemplate mfn-training,",
      "    with in-cluster credentials or a kubeconfig (k8s/base/retrain-controller.yaml);",
      "  --local: `mfn train` as a child process on this machine, on --shards, evaluated and gated on",
      "    --lfw, announced on the models topic when the gate passes (the embed job then migrates",
      "    and serves it; a search service following the index switches to it).",
      "With --trigger-new-identities / --trigger-new-samples it also asks for a run by itself when the",
      "newest shard set has grown that much past the serving model's training data, at most once per",
      "--trigger-cooldown-minutes. What became of each request (started, refused, succeeded, refused",
      "by the gate, failed) goes on training.runs (setting topic.training-runs), which the console's",
      "Models tab shows. Runs until stopped."
    })
final class RetrainControllerCommand implements Callable<Integer> {
  @Option(names = "--namespace", paramLabel = "NS", defaultValue = "mfn", description = "Where the Jobs go (default: ${DEFAULT-VALUE}).")
  String namespace;

  @Option(names = "--bootstrap", paramLabel = "HOST:PORT", description = "Kafka (default: setting kafka.bootstrap).")
  String bootstrap;

  @Option(names = "--requests-topic", paramLabel = "T", description = "Where requests come from (default: setting topic.retrain).")
  String requestsTopic;

  @Option(names = "--runs-topic", paramLabel = "T", description = "Where it says what became of each request: started, refused, how the run ended (JSON; the console's Models tab reads it; default: setting topic.training-runs).")
  String runsTopic;

  @Option(names = "--local", description = "Train here, as a child process, instead of creating Kubernetes Jobs.")
  boolean local;

  @Option(names = "--shards", paramLabel = "DIR", description = "(--local) The shard set to train on when a request names none (the ingest job's --out; its newest cut).")
  Path shards;

  @Option(names = "--model-store", paramLabel = "DIR", description = "(--local) Where new versions go (default: setting model.store).")
  Path store;

  @Option(names = "--lfw", paramLabel = "DIR", description = "(--local) LFW-layout pairs the new model is evaluated on, and gated on before it is announced.")
  Path lfw;

  @Option(names = "--minutes", paramLabel = "M", defaultValue = "10", description = "(--local) Training time when a request says none (default: ${DEFAULT-VALUE}).")
  int minutes;

  @Option(names = "--train-option", paramLabel = "FLAG=VALUE", description = "(--local) More `mfn train` flags for every run, e.g. batch=64, gate-tolerance=0.02.")
  Map<String, String> trainOptions = Map.of();

  @Option(names = "--models-topic", paramLabel = "T", description = "(--local) Where runs announce, and what serves (default: setting topic.models).")
  String modelsTopic;

  @Option(names = "--trigger-new-identities", paramLabel = "N", description = "(--local) Ask for a run when the shard set has N more identities than the serving model's data.")
  Long triggerIdentities;

  @Option(names = "--trigger-new-samples", paramLabel = "N", description = "(--local) ... or N more training samples.")
  Long triggerSamples;

  @Option(names = "--trigger-cooldown-minutes", paramLabel = "M", defaultValue = "1440", description = "(--local) At most one automatic request per M minutes (default: ${DEFAULT-VALUE}).")
  long coolDownMinutes;

  @Option(names = "--trigger-every-seconds", paramLabel = "S", defaultValue = "60", description = "(--local) How often the trigger looks at the shards (default: ${DEFAULT-VALUE}).")
  long triggerEverySeconds;

  @Option(names = "--state-dir", paramLabel = "DIR", description = "(--local) Run logs and the trigger's memory (default: build/retrain under the settings' home).")
  Path stateDir;

  @Option(names = "--for-seconds", paramLabel = "S", description = "Stop after S seconds (scripts and tests); default: until stopped.")
  Long forSeconds;

  @Spec CommandSpec spec;
  private final MfnSettings settings;

  RetrainControllerCommand(MfnSettings settings) {
    this.settings = settings;
  }

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    String servers = bootstrap != null ? bootstrap : settings.kafkaBootstrap();
    String requests = requestsTopic != null ? requestsTopic : settings.topics().retrain();
    KafkaAccess.prepare(servers, requests, 1, 10_000);
    String runs = runsTopic != null ? runsTopic : settings.topics().trainingRuns();
    KafkaAccess.prepare(servers, runs, 1, 10_000);
    Properties p = new Properties();
    dev.mfn.config.KafkaSecurity.addTo(p);
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, servers);
    p.put(ConsumerConfig.GROUP_ID_CONFIG, local ? "mfn-retrain-controller-local" : "mfn-retrain-controller");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    // the probes look for this file: it exists while the loop runs
    Path alive = Path.of(System.getProperty("java.io.tmpdir"), "mfn-retrain-controller.alive");
    AtomicBoolean stop = new AtomicBoolean();
    // Ctrl-C: the loop stops, and a training child goes with this process (it would outlive it)
    java.util.concurrent.atomic.AtomicReference<LocalTrainingExecutor> training = new java.util.concurrent.atomic.AtomicReference<>();
    Thread onExit = new Thread(() -> {
      stop.set(true);
      LocalTrainingExecutor t = training.get();
      if (t != null) {
        t.close();
      }
    });
    Runtime.getRuntime().addShutdownHook(onExit);
    long until = forSeconds == null ? Long.MAX_VALUE : System.nanoTime() + forSeconds * 1_000_000_000L;
    KubernetesClient client = null;
    LocalTrainingExecutor here = null;
    // closed last, after a training child was stopped: the child's end is still told
    RunEvents events = new RunEvents(servers, runs, out);
    try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer())) {
      TrainingExecutor executor;
      RetrainController cluster = null;
      if (local) {
        here = localExecutor(servers, out, events);
        training.set(here);
        executor = here;
      } else {
        client = new KubernetesClientBuilder().build();
        cluster = new RetrainController(client, namespace);
        executor = cluster;
      }
      RetrainRequestListener listener = new RetrainRequestListener(consumer, requests, executor);
      if (cluster != null) {
        // a Job's end is only seen by looking: every 15 s, the Jobs that ended since are told
        RetrainController jobs = cluster;
        long[] nextLook = {0};
        listener.onIdle(() -> {
          if (System.nanoTime() >= nextLook[0]) {
            nextLook[0] = System.nanoTime() + 15_000_000_000L;
            try {
              for (var end : jobs.untoldEnds()) {
                if (events.tell(end)) {
                  jobs.told(end.run()); // told once; an event the broker did not take is told on a later look
                }
              }
            } catch (RuntimeException e) {
              say(out, "could not look at the training jobs: " + Mfn.oneLine(e));
            }
          }
        });
      }
      ShardGrowthTrigger trigger = local && (triggerIdentities != null || triggerSamples != null) ? trigger(servers, requests) : null;
      if (trigger != null) {
        long[] next = {0};
        LocalTrainingExecutor executorHere = here;
        listener.onIdle(() -> {
          // not while a run goes: its request would be refused, and the trigger would not ask again
          if (System.nanoTime() >= next[0] && !executorHere.busy()) {
            next[0] = System.nanoTime() + triggerEverySeconds * 1_000_000_000L;
            try {
              trigger.check().ifPresent(r -> say(out, "asked for a new model: " + r.getReason()));
            } catch (Exception e) {
              say(out, "the growth trigger could not look: " + e.getMessage());
            }
          }
        });
      }
      Files.writeString(alive, "");
      say(out, String.format("retrain controller: reading %s, training %s%s", requests,
          local ? "here, as child processes" : "jobs go to namespace " + namespace,
          trigger == null ? "" : "; asking by itself when " + shards + " grows past the serving model's data"));
      listener.run(() -> stop.get() || System.nanoTime() > until, (request, outcome) -> {
        say(out, outcome.kind() + ": " + outcome.message());
        events.tell(dev.mfn.retrain.TrainingRunEvent.of(request.getRequestId(), outcome));
      });
    } finally {
      try {
        Runtime.getRuntime().removeShutdownHook(onExit);
      } catch (IllegalStateException shuttingDown) {
        // Ctrl-C: the hook runs now
      }
      Files.deleteIfExists(alive);
      if (here != null) {
        here.close();
      }
      if (client != null) {
        client.close();
      }
      events.close();
    }
    return 0;
  }

  private static void say(PrintWriter out, String line) {
    synchronized (out) {
      out.println(line);
      out.flush();
    }
  }

  /**
   * Says on the training.runs topic what became of each request. A broker that does not take the
   * event is one line on the console, never the controller's end: the run itself goes on.
   */
  private static final class RunEvents implements AutoCloseable {
    private final String servers;
    private final String topic;
    private final PrintWriter out;
    private Producer<String, byte[]> producer;

    RunEvents(String servers, String topic, PrintWriter out) {
      this.servers = servers;
      this.topic = topic;
      this.out = out;
    }

    /** Whether the broker took the event. */
    synchronized boolean tell(dev.mfn.retrain.TrainingRunEvent event) {
      try {
        if (producer == null) {
          producer = KafkaAccess.producer(servers, 1 << 20, Duration.ofSeconds(10));
        }
        producer.send(new ProducerRecord<>(topic, event.requestId(), event.encode())).get();
        return true;
      } catch (Exception e) {
        say(out, "could not tell " + topic + " that request " + event.requestId() + " is " + event.state() + ": " + Mfn.oneLine(e));
        return false;
      }
    }

    @Override
    public synchronized void close() {
      if (producer != null) {
        producer.close(Duration.ofSeconds(5));
      }
    }
  }

  private LocalTrainingExecutor localExecutor(String servers, PrintWriter out, RunEvents events) {
    if (shards == null) {
      throw new IllegalArgumentException("--local needs --shards DIR (the shard set to train on)");
    }
    if (lfw == null) {
      throw new IllegalArgumentException("--local needs --lfw DIR: the pairs a new model is evaluated and gated on");
    }
    List<String> train = new ArrayList<>(List.of("train", "--shards", shards.toAbsolutePath().toString(),
        "--model-store", (store != null ? store : settings.getPath("model.store")).toAbsolutePath().toString(),
        "--lfw", lfw.toAbsolutePath().toString(), "--publish", "--bootstrap", servers, "--models-topic", models(), "--no-progress"));
    if (!trainOptions.containsKey("epochs")) {
      train.addAll(List.of("--minutes", String.valueOf(minutes))); // a budget: epochs or minutes, not both
    }
    trainOptions.forEach((flag, value) -> {
      train.add("--" + flag);
      train.add(value);
    });
    // the child is this CLI in a JVM of its own, with the same classpath and properties
    List<String> jvm = new ArrayList<>();
    for (String property : List.of("mfn.repo", "java.io.tmpdir", "DJL_CACHE_DIR", "ENGINE_CACHE_DIR")) {
      if (System.getProperty(property) != null) {
        jvm.add("-D" + property + "=" + System.getProperty(property));
      }
    }
    List<String> command = JavaCommand.of(jvm, Mfn.class.getName(), List.of());
    return new LocalTrainingExecutor(new LocalTrainingExecutor.Options(command, train, stateDir()),
        finished -> {
          say(out, "FINISHED: " + finished.describe());
          events.tell(finished.event());
        });
  }

  private Path stateDir() {
    return stateDir != null ? stateDir : settings.home().resolve("retrain");
  }

  private String models() {
    return modelsTopic != null ? modelsTopic : settings.topics().models();
  }

  private ShardGrowthTrigger trigger(String servers, String requests) {
    ModelAnnouncer topic = new ModelAnnouncer(servers, models());
    AvroSerde<RetrainRequest> serde = new AvroSerde<>(RetrainRequest.class);
    return new ShardGrowthTrigger(
        () -> {
          if (!Files.isDirectory(shards)) {
            return Optional.empty();
          }
          ShardSet set = ShardSet.open(shards);
          return Optional.of(new ShardGrowthTrigger.DataSize(set.classes(), set.samples(ShardSet.Split.TRAIN)));
        },
        () -> servedData(topic),
        () -> shards.toAbsolutePath().toString(),
        new ShardGrowthTrigger.Thresholds(triggerIdentities == null ? Long.MAX_VALUE : triggerIdentities,
            triggerSamples == null ? Long.MAX_VALUE : triggerSamples, Duration.ofMinutes(coolDownMinutes)),
        stateDir().resolve("trigger-state.json"),
        request -> {
          try (Producer<String, byte[]> producer = KafkaAccess.producer(servers, 1 << 20)) {
            producer.send(new ProducerRecord<>(requests, request.getRequestId(), serde.encode(request))).get();
          } catch (Exception e) {
            throw new IllegalStateException("could not send the request to " + requests + ": " + e.getMessage(), e);
          }
        },
        Clock.systemUTC());
  }

  /** The serving model's training data, from its model card (nothing serves: empty). */
  private static Optional<ShardGrowthTrigger.DataSize> servedData(ModelAnnouncer topic) throws Exception {
    ModelTimeline timeline = ModelAnnouncer.timeline(topic.history());
    if (!timeline.serving()) {
      return Optional.empty();
    }
    Path card = timeline.current().path().resolve("model-card.json");
    if (!Files.isRegularFile(card)) {
      return Optional.empty();
    }
    JsonNode data = new ObjectMapper().readTree(card.toFile()).path("data");
    return Optional.of(new ShardGrowthTrigger.DataSize(data.path("identities").asLong(), data.path("totals").path("train_samples").asLong()));
  }
}
