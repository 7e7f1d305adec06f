package dev.mfn.cli;

import dev.mfn.config.MfnSettings;
import dev.mfn.face.crop.FaceCropper;
import dev.mfn.model.Embedder;
import dev.mfn.model.PhotoEmbedder;
import dev.mfn.search.FaceSearch;
import dev.mfn.search.enroll.FaceEmbedStage;
import dev.mfn.search.index.VectorIndex;
import dev.mfn.search.serve.ApiKey;
import dev.mfn.search.serve.SearchServer;
import dev.mfn.search.serve.SearchService;
import dev.mfn.search.verify.FaceVerifier;
import dev.mfn.model.EmbeddingModels;
import dev.mfn.search.index.ServedVersion;
import dev.mfn.search.serve.ServingFollower;
import java.net.URI;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Optional;
import java.util.HexFormat;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** `mfn serve`: the REST API and the web page over the embedded index. */
@Command(
    name = "serve",
    mixinStandardHelpOptions = true,
    description = {
      "Serve search over HTTP: POST /search and /verify (multipart photos), DELETE /subjects/{s},",
      "POST /enroll and GET /enroll/{id} (photos onto --enroll-topic for the embed job, and each one's",
      "state: searchable, dead letter with its reason, or waiting),",
      "GET /faces/{id}/crop, GET /subjects, GET /models, GET /health, GET /openapi.json, and the",
      "operator's console at / (tabs Search, Verify, Enrol, Subjects, Models: a photo's faces boxed and",
      "named, 1:1 verification, a person's photos enrolled, the enrolled people and their deletion, the versions of the model",
      "store (setting model.store) with cards, gate verdicts and plots, a retrain request). Calls",
      "need an API key in the X-API-Key header whose scope",
      "covers the endpoint: keys of `mfn keys create` (the keys file), and the one key with every",
      "scope of the setting serve.api.key (MFN_SERVE_API_KEY, or a file: --api-key-file,",
      "serve.api.key.file); with neither, a random key for this run, printed at start. Keys never",
      "go on the command line. Per key: --rate requests a second (429 above). Uploads above",
      "--max-upload-mb get 413, chunked or not; enrolments, deletions and retrain requests are audited on the",
      "topic audit.events before they happen. --tls-keystore serves HTTPS only.",
      "It serves the version the index serves (Elasticsearch alias / the embedded index's SERVING file,",
      "with the model recorded there; --model when none is recorded) and switches model and index",
      "together when the embed job serves a new version, without a restart or a failed request.",
      "Runs until Ctrl-C."
    })
final class ServeCommand implements Callable<Integer> {
  @Option(names = "--host", paramLabel = "HOST", defaultValue = "127.0.0.1", description = "Address to listen on (default: ${DEFAULT-VALUE}).")
  String host;

  @Option(names = "--port", paramLabel = "PORT", defaultValue = "8080", description = "Port (default: ${DEFAULT-VALUE}; 0 picks a free one).")
  int port;

  @Option(names = "--api-key-file", paramLabel = "FILE", description = "A file whose first line is a key with every scope (at least 16 characters); default: setting serve.api.key / serve.api.key.file.")
  Path apiKeyFile;

  @Option(names = "--keys-file", paramLabel = "FILE", description = "Scoped keys of `mfn keys create` (default: setting serve.keys.file).")
  Path keysFile;

  @Option(names = "--bootstrap", paramLabel = "HOST:PORT", description = "Kafka, for deletions' tombstones, retrain requests and the audit trail (default: setting kafka.bootstrap).")
  String bootstrap;

  @Option(names = "--enroll-topic", paramLabel = "T", description = "Where POST /enroll (the console's Enrol tab) publishes photos for the embed job (default: setting topic.enroll).")
  String enrollTopic;

  @Option(names = "--dlq-topic", paramLabel = "T", description = "The dead-letter topic followed for the photos the embed job refuses, for GET /enroll/{id} (default: setting topic.dlq).")
  String dlqTopic;

  @Option(names = "--retrain-topic", paramLabel = "T", description = "Where POST /retrain (the console's retrain form) puts requests, and whose recent requests the Models tab lists (default: setting topic.retrain).")
  String retrainTopic;

  @Option(names = "--runs-topic", paramLabel = "T", description = "What the retraining controller says of each request, shown on the Models tab (default: setting topic.training-runs).")
  String runsTopic;

  @Option(names = "--photo-topics", paramLabel = "T", split = ",", description = "The topics that carry photos, whose retention the delete confirmation reports (default: the enroll topic, setting topic.train, the dead-letter topic).")
  java.util.List<String> photoTopics;

  @Option(names = "--flink", paramLabel = "HOST:PORT", description = "The Flink cluster whose jobs the console's Pipeline tab shows (its REST API; default: setting flink.rest, else the local cluster of `mfn services start flink`, 127.0.0.1:flink.port).")
  String flink;

  @Option(names = "--metrics-port", paramLabel = "PORT", description = "Serve GET /metrics (Prometheus) alone on this port, not on --port (default: setting serve.metrics.port; empty: on --port). Kubernetes uses 9464, reachable by Prometheus only.")
  Integer metricsPort;

  @Option(names = "--model-store", paramLabel = "DIR", description = "The model store the console's Models tab lists, read only (default: setting model.store).")
  Path modelStore;

  @Option(names = "--workers", paramLabel = "N", description = "Model workers: requests answered at once (default: setting serve.workers = 2).")
  Integer workers;

  @Option(names = "--rate", paramLabel = "R", description = "Requests per second per key on average, 0 for no limit (default: setting serve.rate.per.second = 20; burst: serve.rate.burst).")
  Long rate;

  @Option(names = "--tls-keystore", paramLabel = "FILE", description = "Serve HTTPS with this PKCS12 keystore (password: setting serve.tls.keystore.password or its .file); default: setting serve.tls.keystore, empty = HTTP.")
  Path tlsKeystore;

  @Option(names = "--max-upload-mb", paramLabel = "MB", defaultValue = "16", description = "Largest upload (default: ${DEFAULT-VALUE} MB; larger gets 413).")
  int maxUploadMb;

  @Option(names = "--threshold", paramLabel = "T", description = "Similarity below which a face is 'unknown' and two photos differ (default: the model's: its 1:N threshold at its target FAR for search, its 1:1 one for verify).")
  Double threshold;

  @Option(names = "--no-follow", description = "Keep --model (or the default model) instead of following the version the index serves.")
  boolean noFollow;

  @Option(names = "--follow-ms", paramLabel = "MS", defaultValue = "2000", description = "How often to check which version the index serves (default: ${DEFAULT-VALUE}).")
  long followMillis;

  @Option(names = "--for-seconds", paramLabel = "S", description = "Stop after S seconds (scripts and benchmarks); default: until Ctrl-C.")
  Long forSeconds;

  @Mixin IndexOptions indexOptions;
  @Mixin FaceOptions face;
  @Spec CommandSpec spec;

  /** What runs the model (runtime and file), for the start-up lines. */
  private volatile String runtime = "";
  private final MfnSettings settings;

  ServeCommand(MfnSettings settings) {
    this.settings = settings;
  }

  @Override
  public Integer call() throws Exception {
    String key = apiKeyFile != null
        ? java.nio.file.Files.readAllLines(apiKeyFile).stream().findFirst().orElse("").trim()
        : settings.secret("serve.api.key");
    Path keyStore = keysFile != null ? keysFile : settings.getPath("serve.keys.file");
    boolean scopedKeys = dev.mfn.search.serve.ApiKeys.file(keyStore).entries().stream().anyMatch(e -> e.active());
    boolean generated = key.isBlank() && !scopedKeys;
    if (generated) {
      byte[] random = new byte[16];
      new SecureRandom().nextBytes(random);
      key = HexFormat.of().formatHex(random);
    }
    dev.mfn.search.serve.ApiKeys keys = dev.mfn.search.serve.ApiKeys.fileAnd(keyStore, key.isBlank() ? null : new ApiKey(key));
    int workerCount = workers != null ? workers : settings.getInt("serve.workers");
    if (workerCount < 1) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--workers is at least 1");
    }
    Path keystore = tlsKeystore != null ? tlsKeystore
        : settings.get("serve.tls.keystore").isBlank() ? null : settings.getPath("serve.tls.keystore");
    dev.mfn.search.serve.ServerOptions options = dev.mfn.search.serve.ServerOptions.defaults()
        .withMaxUploadBytes(maxUploadMb * 1024L * 1024L)
        .withMaxK(settings.getInt("serve.max.k"))
        .withRate(rate != null ? rate : settings.getLong("serve.rate.per.second"), settings.getLong("serve.rate.burst"))
        .withTls(keystore, keystore == null ? null : settings.secret("serve.tls.keystore.password"))
        .withMetricsPort(metricsPort != null ? metricsPort
            : settings.get("serve.metrics.port").isBlank() ? null : Integer.valueOf(settings.getInt("serve.metrics.port")));
    try (AuditTopic audit = new AuditTopic(kafka(), settings.get("topic.audit")); KafkaEnrolment enrolment = enrolment()) {
      Optional<ServedVersion> servedNow = noFollow ? Optional.empty() : indexOptions.served(settings);
      SearchService.Served first = servedNow.isPresent() && knowsModel(servedNow.get())
          ? open(servedNow.get(), workerCount)
          : open(null, workerCount);
      SearchService service = new SearchService(first, subject -> {
        // DELETE /subjects/{s} removes the person from every version, as `mfn delete` does; a
        // version whose embedded index a running embed job holds is cleaned by the job (tombstone)
        long removed = 0;
        for (String version : indexOptions.versions(settings)) {
          try (var index = indexOptions.openForServing(settings, version)) {
            removed += index.deleteSubject(subject);
          } catch (java.io.IOException e) {
            if (!(e.getCause() instanceof org.apache.lucene.store.LockObtainFailedException)) {
              throw e;
            }
          }
        }
        return removed;
      }, subject -> new Tombstones(kafka(), settings.topics().deleted()).erase(subject, "DELETE /subjects", "api"));
      ServingFollower follower = noFollow ? null
          : new ServingFollower(service, () -> indexOptions.served(settings), v -> open(v, workerCount), Duration.ofSeconds(60))
              .start(Duration.ofMillis(followMillis));
      // the console's Models tab reads the model store (setting model.store), never writes it
      try (SearchServer server = new SearchServer(service, keys, options, retrainTrigger(), audit)
          .withModels(new dev.mfn.search.models.ModelShelf(modelStore != null ? modelStore : settings.getPath("model.store")))
          .withEnrolment(enrolment).withPipeline(pipelineView()).withTrainingRuns(trainingRuns()).start(host, port)) {
        var out = spec.commandLine().getOut();
        out.printf(Locale.ROOT, "serving model %s (%d faces in %s; unknown below %.3f: %s; verify at %.3f; %d workers) at %s://%s:%d/%n",
            first.version(), first.index().count(), indexOptions.describe(settings, first.version()), first.searchThreshold(),
            first.searchThresholdSource(), first.verifyThreshold(), workerCount, keystore == null ? "http" : "https", host, server.port());
        out.println("embedder: " + runtime);
        out.println(options.metricsPort() == null ? "metrics: GET /metrics on this port (Prometheus; no key)"
            : "metrics: GET /metrics on " + host + ":" + server.metricsPort() + " only (Prometheus; no key)");
        out.println(enrolment == null ? "enrolment: off (no Kafka configured)"
            : "enrolment: POST /enroll publishes to " + enrolment.topic() + " for the embed job; its dead letters are followed on "
                + (dlqTopic != null ? dlqTopic : settings.topics().deadLetters()));
        out.println(noFollow ? "pinned to this model (--no-follow)"
            : "following the served version: when the embed job serves a new model's index, this service switches to it");
        out.println(generated ? "API key (generated for this run, every scope): " + key
            : "API keys: " + (key.isBlank() ? "" : "serve.api.key (every scope)" + (scopedKeys ? " and " : ""))
                + (scopedKeys ? "the scoped keys of " + keyStore : ""));
        out.println("Ctrl-C stops it.");
        out.flush();
        CountDownLatch stop = new CountDownLatch(1);
        Thread hook = new Thread(stop::countDown);
        Runtime.getRuntime().addShutdownHook(hook);
        if (forSeconds != null) {
          stop.await(forSeconds, java.util.concurrent.TimeUnit.SECONDS);
          Runtime.getRuntime().removeShutdownHook(hook);
        } else {
          stop.await();
        }
      } finally {
        if (follower != null) {
          follower.close();
        }
        service.switchTo(first).close(); // whatever is served last
        if (retrainProducer != null) {
          retrainProducer.close(java.time.Duration.ofSeconds(5));
        }
      }
    }
    return 0;
  }

  private String kafka() {
    return bootstrap != null ? bootstrap : settings.kafkaBootstrap();
  }

  /**
   * POST /enroll's photos onto the enroll topic, and the dead-letter topic followed from the start
   * (from 30 minutes back, so a letter published just before a restart is still known); null
   * without a broker address (the enrolment endpoints then answer 503). The embed job that reads
   * the topic runs elsewhere (`mfn enroll --follow`, the cluster's FlinkDeployment, `mfn demo --serve`).
   */
  private KafkaEnrolment enrolment() {
    String servers = kafka();
    if (servers == null || servers.isBlank()) {
      return null;
    }
    return KafkaEnrolment.of(settings, servers, enrollTopic != null ? enrollTopic : settings.topics().enroll(),
        dlqTopic != null ? dlqTopic : settings.topics().deadLetters());
  }

  private String retrainTopic() {
    return retrainTopic != null ? retrainTopic : settings.topics().retrain();
  }

  /**
   * The console's training runs (Models tab): the recent requests and what the retraining
   * controller did with each; null without a broker address (GET /training/runs then answers 503).
   */
  private dev.mfn.search.serve.TrainingRunsView trainingRuns() {
    String servers = kafka();
    if (servers == null || servers.isBlank()) {
      return null;
    }
    return new dev.mfn.cli.pipeline.KafkaTrainingRuns(servers, retrainTopic(),
        runsTopic != null ? runsTopic : settings.topics().trainingRuns());
  }

  /**
   * The console's Pipeline tab: the cluster's jobs, the broker's consumer lag and the dead-letter
   * topic's tail; null without a broker address (GET /pipeline then answers 503).
   */
  private dev.mfn.search.serve.PipelineView pipelineView() {
    String servers = kafka();
    if (servers == null || servers.isBlank()) {
      return null;
    }
    String rest = flink != null ? flink : settings.get("flink.rest");
    if (rest == null || rest.isBlank()) {
      rest = "127.0.0.1:" + settings.getInt("flink.port");
    }
    String dlq = dlqTopic != null ? dlqTopic : settings.topics().deadLetters();
    // where photos stay after a deletion, until their retention ends (the delete confirmation says so)
    java.util.List<String> photos = photoTopics != null ? photoTopics
        : java.util.List.of(enrollTopic != null ? enrollTopic : settings.topics().enroll(), settings.topics().train(), dlq);
    return new dev.mfn.cli.pipeline.KafkaPipelineView(servers, rest.trim(), dlq, photos);
  }

  /** True when the served version's model can be found: its location is recorded, or it is --model's. */
  private boolean knowsModel(ServedVersion served) throws Exception {
    if (served.modelLocation() != null) {
      return true;
    }
    return served.version().equals(EmbeddingModels.version(Models.resolve(indexOptions.model, settings)));
  }

  /**
   * Opens one version's model and index together: the served version's recorded model, or (null)
   * the --model / default model and its version's index; with {@code workers} detector and model
   * instances (neither is thread-safe), so that that many requests are answered at once.
   */
  private SearchService.Served open(ServedVersion served, int workers) throws Exception {
    Path model = served == null || served.modelLocation() == null
        ? Models.resolve(indexOptions.model, settings)
        : location(served.modelLocation());
    java.util.List<AutoCloseable> opened = new java.util.ArrayList<>();
    try {
      java.util.List<SearchService.Worker> pool = new java.util.ArrayList<>();
      String version = null;
      Models.Threshold cutoff = null;
      double verifyAt = 0;
      VectorIndex index = null;
      for (int i = 0; i < workers; i++) {
        FaceCropper cropper = face.openCropper(settings);
        opened.add(cropper);
        Embedder embedder = EmbeddingModels.open(model, workerRuntime(workers));
        opened.add(embedder);
        if (i == 0) {
          runtime = embedder.describe();
          version = EmbeddingModels.version(embedder, model);
          if (served != null && !served.version().equals(version)) {
            throw new IllegalStateException("the index serves " + served.version() + " but the model at " + model + " is " + version);
          }
          cutoff = Models.searchThreshold(embedder, threshold);
          verifyAt = threshold != null ? threshold : Models.threshold(embedder, null);
          index = indexOptions.openForServing(settings, version);
          opened.add(index);
        }
        PhotoEmbedder photos = new PhotoEmbedder(cropper, embedder, true, false, settings.getInt("embed.batch.size"));
        pool.add(new SearchService.Worker(
            new FaceSearch(new FaceEmbedStage(cropper, photos, version, FaceEmbedStage.Faces.ALL), index, cutoff.value()),
            new FaceVerifier(photos, verifyAt)));
      }
      java.util.List<AutoCloseable> owned = java.util.List.copyOf(opened);
      return new SearchService.Served(version, pool, index, cutoff.value(), cutoff.source(), verifyAt, () -> closeAll(owned));
    } catch (Exception | Error e) {
      closeAll(opened);
      throw e;
    }
  }

  /**
   * The runtime for each of {@code workers} models that run at once: ONNX Runtime's threads shared
   * out (cores / workers, at least 1) unless onnx.threads says otherwise, so two workers do not
   * each start a pool the size of the machine.
   */
  private dev.mfn.model.EmbedRuntime workerRuntime(int workers) {
    dev.mfn.model.EmbedRuntime runtime = dev.mfn.model.EmbedRuntime.fromSettings(settings);
    if (runtime.threads() > 0) {
      return runtime;
    }
    return new dev.mfn.model.EmbedRuntime(runtime.choice(), Math.max(1, Runtime.getRuntime().availableProcessors() / workers));
  }

  private static void closeAll(java.util.List<AutoCloseable> resources) throws Exception {
    Exception first = null;
    for (int i = resources.size() - 1; i >= 0; i--) {
      try {
        resources.get(i).close();
      } catch (Exception e) {
        first = first == null ? e : first;
      }
    }
    if (first != null) {
      throw first;
    }
  }

  private static Path location(String uriOrPath) {
    return uriOrPath.startsWith("file:") ? Path.of(URI.create(uriOrPath)) : Path.of(uriOrPath);
  }

  /**
   * POST /retrain puts a RetrainRequest on training.requests (setting topic.retrain) for the
   * retraining controller; the producer is made on the first request, so a service without Kafka
   * still serves searches (and answers 503 to /retrain).
   */
  /** The retrain requests' producer, made on the first request; closed when the service stops. */
  private volatile org.apache.kafka.clients.producer.Producer<String, byte[]> retrainProducer;

  private dev.mfn.search.serve.RetrainTrigger retrainTrigger() {
    return new dev.mfn.search.serve.RetrainTrigger() {
      private dev.mfn.retrain.RetrainRequests requests;

      @Override
      public synchronized String request(Request r) throws Exception {
        if (requests == null) {
          retrainProducer = dev.mfn.publish.KafkaAccess.producer(kafka(), 1 << 20, java.time.Duration.ofSeconds(5));
          requests = new dev.mfn.retrain.RetrainRequests(retrainProducer, retrainTopic());
        }
        return requests.send(r.requestedBy(), r.reason(), r.epochs(), r.minutes(), r.shards(), java.util.Map.of()).getRequestId();
      }
    };
  }
}
