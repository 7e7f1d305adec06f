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
import java.security.SecureRandom;
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

  @Option(names = "--threshold", paramLabel = "T", description = "Similarity below which a face is 'unknown' (default: the model's).")
  Double threshold;

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
    try (FaceCropper cropper = face.openCropper(settings);
        Embedder embedder = Models.open(indexOptions.model, settings)) {
      String version = IndexOptions.version(embedder, indexOptions.model, settings);
      double t = Models.threshold(embedder, threshold);
      PhotoEmbedder photos = new PhotoEmbedder(cropper, embedder, true, false, settings.getInt("embed.batch.size"));
      try (VectorIndex index = indexOptions.openIndex(settings, version)) {
        FaceSearch search = new FaceSearch(new FaceEmbedStage(cropper, photos, version, FaceEmbedStage.Faces.ALL), index, t);
        SearchService service = new SearchService(search, new FaceVerifier(photos, t), index, version, t, subject -> {
          long removed = 0; // DELETE /subjects/{s} removes the person from every version, as `mfn delete` does
          for (String other : indexOptions.versions(settings)) {
            if (!other.equals(version)) {
              try (var older = indexOptions.openIndex(settings, other)) {
                removed += older.deleteSubject(subject);
              }
            }
          }
          return removed;
        });
        try (SearchServer server = new SearchServer(service, new ApiKey(key), maxUploadMb * 1024L * 1024L, retrainTrigger()).start(host, port)) {
          var out = spec.commandLine().getOut();
          out.printf(Locale.ROOT, "serving model %s (%d faces in %s, threshold %.3f) at http://%s:%d/%n",
              version, index.count(), indexOptions.describe(settings, version), t, host, server.port());
          out.println(generated ? "API key (generated for this run): " + key : "API key: from --api-key / serve.api.key");
          out.println("Ctrl-C stops it.");
          out.flush();
          CountDownLatch stop = new CountDownLatch(1);
          Runtime.getRuntime().addShutdownHook(new Thread(stop::countDown));
          stop.await();
        }
      }
    }
    return 0;
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
