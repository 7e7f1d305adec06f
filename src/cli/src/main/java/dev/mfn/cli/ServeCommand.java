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
      "GET /faces/{id}/crop, GET /health, GET /openapi.json, and a web page at / (drop a photo, see",
      "the faces boxed and their matches). Calls need the API key in the X-API-Key header: --api-key,",
      "else the setting serve.api.key (MFN_SERVE_API_KEY), else a random key printed at start.",
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

  @Option(names = "--api-key", paramLabel = "KEY", description = "API key (at least 16 characters).")
  String apiKey;

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
  private final MfnSettings settings;

  ServeCommand(MfnSettings settings) {
    this.settings = settings;
  }

  @Override
  public Integer call() throws Exception {
    String key = apiKey != null ? apiKey : settings.get("serve.api.key");
    boolean generated = key == null || key.isBlank();
    if (generated) {
      byte[] random = new byte[16];
      new SecureRandom().nextBytes(random);
      key = HexFormat.of().formatHex(random);
    }
    try (FaceCropper cropper = face.openCropper(settings)) {
      Optional<ServedVersion> servedNow = noFollow ? Optional.empty() : indexOptions.served(settings);
      SearchService.Served first = servedNow.isPresent() && knowsModel(servedNow.get())
          ? open(cropper, servedNow.get())
          : open(cropper, null);
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
      }, subject -> new Tombstones(settings.kafkaBootstrap(), settings.topics().deleted()).erase(subject, "DELETE /subjects", "api"));
      ServingFollower follower = noFollow ? null
          : new ServingFollower(service, () -> indexOptions.served(settings), v -> open(cropper, v), Duration.ofSeconds(60))
              .start(Duration.ofMillis(followMillis));
      try (SearchServer server = new SearchServer(service, new ApiKey(key), maxUploadMb * 1024L * 1024L, retrainTrigger()).start(host, port)) {
        var out = spec.commandLine().getOut();
        out.printf(Locale.ROOT, "serving model %s (%d faces in %s; unknown below %.3f: %s; verify at %.3f) at http://%s:%d/%n",
            first.version(), first.index().count(), indexOptions.describe(settings, first.version()), first.searchThreshold(),
            first.searchThresholdSource(), first.verifyThreshold(), host, server.port());
        out.println(noFollow ? "pinned to this model (--no-follow)"
            : "following the served version: when the embed job serves a new model's index, this service switches to it");
        out.println(generated ? "API key (generated for this run): " + key : "API key: from --api-key / serve.api.key");
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
      }
    }
    return 0;
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
   * the --model / default model and its version's index.
   */
  private SearchService.Served open(FaceCropper cropper, ServedVersion served) throws Exception {
    Path model = served == null || served.modelLocation() == null
        ? Models.resolve(indexOptions.model, settings)
        : location(served.modelLocation());
    Embedder embedder = EmbeddingModels.open(model);
    VectorIndex index = null;
    try {
      String version = EmbeddingModels.version(embedder, model);
      if (served != null && !served.version().equals(version)) {
        throw new IllegalStateException("the index serves " + served.version() + " but the model at " + model + " is " + version);
      }
      Models.Threshold cutoff = Models.searchThreshold(embedder, threshold);
      double verifyAt = threshold != null ? threshold : Models.threshold(embedder, null);
      PhotoEmbedder photos = new PhotoEmbedder(cropper, embedder, true, false, settings.getInt("embed.batch.size"));
      index = indexOptions.openForServing(settings, version);
      VectorIndex opened = index;
      FaceSearch search = new FaceSearch(new FaceEmbedStage(cropper, photos, version, FaceEmbedStage.Faces.ALL), index, cutoff.value());
      return new SearchService.Served(version, search, new FaceVerifier(photos, verifyAt), index, cutoff.value(),
          cutoff.source(), verifyAt, () -> {
            try (embedder) {
              opened.close();
            }
          });
    } catch (Exception | Error e) {
      if (index != null) {
        index.close();
      }
      embedder.close();
      throw e;
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
  private dev.mfn.search.serve.RetrainTrigger retrainTrigger() {
    return new dev.mfn.search.serve.RetrainTrigger() {
      private dev.mfn.retrain.RetrainRequests requests;

      @Override
      public synchronized String request(Request r) throws Exception {
        if (requests == null) {
          requests = new dev.mfn.retrain.RetrainRequests(
              dev.mfn.publish.KafkaAccess.producer(settings.kafkaBootstrap(), 1 << 20), settings.topics().retrain());
        }
        return requests.send(r.requestedBy(), r.reason(), r.epochs(), r.minutes(), r.shards(), java.util.Map.of()).getRequestId();
      }
    };
  }
}
