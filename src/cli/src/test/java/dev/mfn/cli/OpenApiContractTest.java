package dev.mfn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import dev.mfn.config.MfnSettings;
import dev.mfn.face.crop.FaceCropper;
import dev.mfn.face.decode.ImageDecoder;
import dev.mfn.face.detect.DetectorConfig;
import dev.mfn.face.detect.FaceChooser;
import dev.mfn.model.CropTensor;
import dev.mfn.model.OnnxEmbedder;
import dev.mfn.model.PhotoEmbedder;
import dev.mfn.search.FaceSearch;
import dev.mfn.search.enroll.FaceEmbedStage;
import dev.mfn.search.index.LuceneVectorIndex;
import dev.mfn.search.models.ModelShelf;
import dev.mfn.search.serve.ApiKey;
import dev.mfn.search.serve.ApiKeys;
import dev.mfn.search.serve.AuditTrail;
import dev.mfn.search.serve.RetrainTrigger;
import dev.mfn.search.serve.Scope;
import dev.mfn.search.serve.SearchServer;
import dev.mfn.search.serve.SearchService;
import dev.mfn.search.serve.ServerOptions;
import dev.mfn.services.kafka.KafkaBroker;
import dev.mfn.testkit.LocalKafka;
import dev.mfn.search.verify.FaceVerifier;
import dev.mfn.testkit.DetectorFiles;
import dev.mfn.testkit.SharedData;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The OpenAPI description (openapi.json) against the service it describes, as `mfn serve` builds it
 * (a real broker behind enrolment, the pipeline view, and no Flink cluster): the routes the server
 * has are exactly the documented operations, every documented operation is called, answers of several kinds are provoked (200/202, 400, 401, 403, 404, 413,
 * 422), and each answer's status must be documented for its operation, its content type listed,
 * and its JSON body valid against the documented schema (JSON Schema 2020-12, strict: required
 * fields, no undocumented ones). The description itself must be complete: every response has a
 * content type and a schema, every JSON answer an example that its schema accepts, and every
 * keyed operation documents 401.
 */
@ExtendWith(LocalKafka.class)
class OpenApiContractTest {
  private static final String KEY = "contract-key-0123456789abcdef";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static final Set<String> METHODS = Set.of("get", "post", "put", "delete", "patch");
  @TempDir static Path dir;
  static List<Path> people;
  static FaceCropper cropper;
  static OnnxEmbedder embedder;
  static LuceneVectorIndex index;
  static SearchServer server;
  static org.apache.kafka.clients.producer.Producer<String, byte[]> retrainProducer;
  static String verifyOnly;
  static String base;
  static JsonNode doc;
  static KafkaEnrolment enrolment;
  static String nobody;

  @BeforeAll
  static void start(KafkaBroker broker) throws Exception {
    try (InputStream in = SearchServer.class.getResourceAsStream("/openapi.json")) {
      doc = JSON.readTree(in);
    }
    Path lfw = SharedData.require("data/lfw/images");
    Path model = SharedData.require("models/reference/MobileFaceNet_paddlex.onnx");
    try (Stream<Path> all = Files.list(lfw)) {
      people = all.sorted().filter(p -> photos(p).size() >= 3).limit(3).toList();
    }
    MfnSettings settings = MfnSettings.load();
    DetectorConfig detectors = new DetectorConfig(DetectorFiles.blazefaceDir(),
        settings.getPath("detector.yunet.model"), settings.getPath("detector.mtcnn.dir"), 0.5);
    cropper = new FaceCropper(new ImageDecoder(50_000_000, 100_000_000), detectors.open("blazeface"), new FaceChooser(0.5, 20));
    embedder = new OnnxEmbedder(model, CropTensor.REFERENCE);
    index = new LuceneVectorIndex(dir.resolve("index"), "reference");
    PhotoEmbedder photoEmbedder = new PhotoEmbedder(cropper, embedder, true, false, 16);
    List<FaceEmbedStage.Photo> gallery = new ArrayList<>();
    for (Path p : people) {
      String name = p.getFileName().toString();
      gallery.add(new FaceEmbedStage.Photo(name + "/1", name, Files.readAllBytes(photos(p).get(0))));
      gallery.add(new FaceEmbedStage.Photo(name + "/2", name, Files.readAllBytes(photos(p).get(1))));
    }
    index.upsert(new FaceEmbedStage(cropper, photoEmbedder, "reference", FaceEmbedStage.Faces.CHOSEN).embed(gallery).documents());
    FaceSearch search = new FaceSearch(new FaceEmbedStage(cropper, photoEmbedder, "reference", FaceEmbedStage.Faces.ALL), index, 0.3);
    SearchService service = new SearchService(search, new FaceVerifier(photoEmbedder, 0.3), index, "reference", 0.3);
    ApiKeys keys = ApiKeys.fileAnd(dir.resolve("keys.json"), new ApiKey(KEY));
    verifyOnly = keys.create("verifier", EnumSet.of(Scope.VERIFY)).key();
    Path store = dir.resolve("store");
    copyFolder(Path.of(System.getProperty("mfn.repo", "../..")).resolve("models/default").toAbsolutePath().normalize(), store.resolve("v1"));
    String kafka = broker.bootstrapServers();
    // POST /retrain onto a real topic, and GET /training/runs reading it back (QUEUED: no controller here)
    dev.mfn.publish.KafkaAccess.prepare(kafka, "contract.requests", 1, 30_000);
    dev.mfn.publish.KafkaAccess.prepare(kafka, "contract.runs", 1, 30_000);
    retrainProducer = dev.mfn.publish.KafkaAccess.producer(kafka, 1 << 20);
    dev.mfn.retrain.RetrainRequests requests = new dev.mfn.retrain.RetrainRequests(retrainProducer, "contract.requests");
    RetrainTrigger retrain = r -> requests.send(r.requestedBy(), r.reason(), r.epochs(), r.minutes(), r.shards(), Map.of()).getRequestId();
    dev.mfn.publish.KafkaAccess.prepare(kafka, "contract.enroll", 1, 30_000);
    dev.mfn.publish.KafkaAccess.prepare(kafka, "contract.dlq", 1, 30_000);
    enrolment = KafkaEnrolment.of(settings, kafka, "contract.enroll", "contract.dlq");
    nobody = "127.0.0.1:" + dev.mfn.services.process.Ports.free(); // no Flink cluster: the pipeline says so
    server = new SearchServer(service, keys, ServerOptions.defaults().withMaxUploadBytes(2_000_000).withRate(0, 0), retrain,
        AuditTrail.NONE).withModels(new ModelShelf(store)).withEnrolment(enrolment)
        .withPipeline(new dev.mfn.cli.pipeline.KafkaPipelineView(kafka, nobody, "contract.dlq", List.of("contract.enroll", "contract.dlq")))
        .withTrainingRuns(new dev.mfn.cli.pipeline.KafkaTrainingRuns(kafka, "contract.requests", "contract.runs")).start("127.0.0.1", 0);
    base = "http://127.0.0.1:" + server.port();
  }

  @AfterAll
  static void stop() throws IOException {
    if (server != null) {
      server.close();
    }
    if (retrainProducer != null) {
      retrainProducer.close();
    }
    if (enrolment != null) {
      enrolment.close();
    }
    if (index != null) {
      index.close();
    }
    if (embedder != null) {
      embedder.close();
    }
    if (cropper != null) {
      cropper.close();
    }
  }

  /** Every operation of the description, as "METHOD /path/{template}". */
  private static Set<String> documented() {
    Set<String> ops = new TreeSet<>();
    doc.path("paths").fields().forEachRemaining(path -> path.getValue().fieldNames().forEachRemaining(method -> {
      if (METHODS.contains(method)) {
        ops.add(method.toUpperCase(java.util.Locale.ROOT) + " " + path.getKey());
      }
    }));
    return ops;
  }

  @Test
  void everyDocumentedEndpointAnswersAsDocumented() throws Exception {
    String person = people.get(0).getFileName().toString();
    String gone = people.get(2).getFileName().toString();
    byte[] probe = Files.readAllBytes(photos(people.get(0)).get(2));
    byte[] same = Files.readAllBytes(photos(people.get(0)).get(0));
    Set<String> called = new LinkedHashSet<>();

    HttpResponse<byte[]> found = call(called, "POST /search", post("/search?k=2", KEY, List.of("photo"), List.of(probe)), 200);
    String faceId = JSON.readTree(found.body()).path("faces").get(0).path("matches").get(0).path("id").asText();
    call(called, "POST /search", post("/search?k=0", KEY, List.of("photo"), List.of(probe)), 400);
    call(called, "POST /search", post("/search", null, List.of("photo"), List.of(probe)), 401);
    call(called, "POST /search", post("/search", verifyOnly, List.of("photo"), List.of(probe)), 403);
    call(called, "POST /search", post("/search", KEY, List.of("photo"), List.of(new byte[3_000_000])), 413);
    call(called, "POST /search", post("/search", KEY, List.of("photo"), List.of(blankJpeg())), 422);

    call(called, "POST /verify", post("/verify", verifyOnly, List.of("a", "b"), List.of(same, probe)), 200);
    call(called, "POST /verify", post("/verify", KEY, List.of("a"), List.of(same)), 400);
    call(called, "POST /verify", post("/verify", KEY, List.of("a", "b"), List.of(same, blankJpeg())), 422);

    call(called, "GET /faces/{id}/crop", get("/faces/" + encode(faceId) + "/crop", KEY), 200);
    call(called, "GET /faces/{id}/crop", get("/faces/" + encode("no-such-face#0@reference") + "/crop", KEY), 404);

    call(called, "GET /subjects", get("/subjects?filter=" + encode(person.substring(0, 4)) + "&limit=2", KEY), 200);
    call(called, "GET /subjects", get("/subjects?limit=0", KEY), 400);
    call(called, "GET /subjects", get("/subjects", verifyOnly), 403);
    call(called, "GET /subjects/{subject}/faces", get("/subjects/" + encode(person) + "/faces", KEY), 200);
    call(called, "GET /subjects/{subject}/faces", get("/subjects/" + encode(person) + "/faces?limit=500", KEY), 400);

    call(called, "GET /models", get("/models", KEY), 200);
    call(called, "GET /models/{version}/plots/{name}", get("/models/v1/plots/loss.png", KEY), 200);
    call(called, "GET /models/{version}/plots/{name}", get("/models/v1/plots/absent.png", KEY), 404);
    call(called, "GET /models/{version}/plots/{name}", get("/models/v1/plots/model-card.json", KEY), 400);

    call(called, "POST /retrain", json("/retrain", KEY, "{\"reason\": \"contract test\", \"minutes\": 30}"), 202);
    call(called, "POST /retrain", json("/retrain", KEY, "{\"epochs\": 5000}"), 400);
    call(called, "POST /retrain", json("/retrain", verifyOnly, "{}"), 403);
    HttpResponse<byte[]> runs = call(called, "GET /training/runs", get("/training/runs", KEY), 200);
    assertThat(JSON.readTree(runs.body()).path("runs").path(0).path("state").asText()).isEqualTo("QUEUED");
    assertThat(JSON.readTree(runs.body()).path("runs").path(0).path("reason").asText()).isEqualTo("contract test");
    call(called, "GET /training/runs", get("/training/runs", verifyOnly), 403);

    call(called, "DELETE /subjects/{subject}", delete("/subjects/" + encode(gone), verifyOnly), 403);
    HttpResponse<byte[]> deleted = call(called, "DELETE /subjects/{subject}", delete("/subjects/" + encode(gone), KEY), 200);
    assertThat(JSON.readTree(deleted.body()).path("removed").asInt()).isEqualTo(2);

    HttpResponse<byte[]> enrolled = call(called, "POST /enroll",
        post("/enroll", KEY, List.of("subject", "photo", "photo"), List.of("Contract_Person".getBytes(StandardCharsets.UTF_8), same, probe)), 202);
    String imageId = JSON.readTree(enrolled.body()).path("photos").get(0).path("image_id").asText();
    call(called, "POST /enroll", post("/enroll", KEY, List.of("photo"), List.of(same)), 400);
    call(called, "POST /enroll", post("/enroll", verifyOnly, List.of("subject", "photo"), List.of("X".getBytes(StandardCharsets.UTF_8), same)), 403);
    HttpResponse<byte[]> state = call(called, "GET /enroll/{imageId}", get("/enroll/" + imageId + "?subject=Contract_Person", KEY), 200);
    assertThat(JSON.readTree(state.body()).path("state").asText()).as("no embed job runs here").isEqualTo("waiting");
    call(called, "GET /enroll/{imageId}", get("/enroll/bad%20id?subject=Contract_Person", KEY), 400);

    HttpResponse<byte[]> pipeline = call(called, "GET /pipeline", get("/pipeline", KEY), 200);
    assertThat(JSON.readTree(pipeline.body()).path("jobs_error").asText()).contains(nobody);
    assertThat(JSON.readTree(pipeline.body()).path("photo_retention")).extracting(t -> t.path("topic").asText())
        .containsExactlyInAnyOrder("contract.enroll", "contract.dlq");
    call(called, "GET /pipeline/dead-letters/{partition}/{offset}/thumbnail", get("/pipeline/dead-letters/0/0/thumbnail", KEY), 404);
    call(called, "GET /pipeline/dead-letters/{partition}/{offset}/thumbnail", get("/pipeline/dead-letters/0/x/thumbnail", KEY), 400);

    call(called, "GET /health", get("/health", null), 200);
    call(called, "GET /ready", get("/ready", null), 200);
    call(called, "GET /metrics", get("/metrics", null), 200);
    call(called, "GET /openapi.json", get("/openapi.json", null), 200);

    assertThat(called).as("the operations this test calls are exactly the documented ones").containsExactlyInAnyOrderElementsOf(documented());
    assertThat(server.routes()).as("the routes the server has are exactly the documented ones").containsExactlyInAnyOrderElementsOf(documented());
  }

  @Test
  void theDescriptionIsCompleteAndItsExamplesFitItsSchemas() {
    assertThat(doc.path("openapi").asText()).startsWith("3.1");
    List<String> problems = new ArrayList<>();
    doc.path("paths").fields().forEachRemaining(path -> path.getValue().fields().forEachRemaining(entry -> {
      if (!METHODS.contains(entry.getKey())) {
        return;
      }
      String op = entry.getKey().toUpperCase(java.util.Locale.ROOT) + " " + path.getKey();
      JsonNode operation = entry.getValue();
      if (operation.path("operationId").asText().isEmpty() || operation.path("summary").asText().isEmpty()) {
        problems.add(op + ": no operationId or summary");
      }
      boolean keyed = !operation.has("security") || !operation.path("security").isEmpty();
      // what the guard in front of every keyed endpoint can answer, and what any endpoint can
      for (String status : keyed ? List.of("401", "403", "429", "500", "503") : List.of("500")) {
        if (!operation.path("responses").has(status)) {
          problems.add(op + ": documents no " + status);
        }
      }
      operation.path("responses").fields().forEachRemaining(response -> {
        JsonNode content = response.getValue().path("content");
        if (content.isEmpty()) {
          problems.add(op + " " + response.getKey() + ": no content type");
        }
        content.fields().forEachRemaining(media -> {
          if (!media.getValue().has("schema")) {
            problems.add(op + " " + response.getKey() + " " + media.getKey() + ": no schema");
          } else if (media.getKey().equals("application/json")) {
            if (!media.getValue().has("example")) {
              problems.add(op + " " + response.getKey() + ": no example");
            } else {
              for (String error : validate(media.getValue().path("schema"), media.getValue().path("example"))) {
                problems.add(op + " " + response.getKey() + " example: " + error);
              }
            }
          }
        });
      });
    }));
    assertThat(problems).as("what the description lacks or gets wrong").isEmpty();
  }

  /**
   * One request: its status must be the expected one and documented for the operation, its content
   * type documented, and a JSON body valid against the schema.
   */
  private static HttpResponse<byte[]> call(Set<String> called, String operation, HttpRequest request, int status) throws Exception {
    called.add(operation);
    HttpResponse<byte[]> r = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
    String body = new String(r.body(), StandardCharsets.UTF_8);
    assertThat(r.statusCode()).as(operation + " -> " + body).isEqualTo(status);
    String[] parts = operation.split(" ", 2);
    JsonNode documented = doc.path("paths").path(parts[1]).path(parts[0].toLowerCase(java.util.Locale.ROOT))
        .path("responses").path(String.valueOf(status));
    assertThat(documented.isMissingNode()).as(operation + " answered " + status + ", which the description does not list").isFalse();
    String type = r.headers().firstValue("Content-Type").orElse("").split(";")[0].trim();
    JsonNode media = documented.path("content").path(type);
    assertThat(media.isMissingNode()).as(operation + " " + status + " answered " + type + "; documented: "
        + documented.path("content").properties().stream().map(java.util.Map.Entry::getKey).toList()).isFalse();
    switch (type) {
      case "application/json" -> assertThat(validate(media.path("schema"), JSON.readTree(r.body())))
          .as(operation + " " + status + " body " + body).isEmpty();
      case "image/png" -> assertThat(java.util.Arrays.copyOf(r.body(), 4)).isEqualTo(new byte[] {(byte) 0x89, 'P', 'N', 'G'});
      default -> assertThat(body).isNotBlank();
    }
    return r;
  }

  /** The errors of one JSON value against one of the description's schemas ($refs into its components). */
  private static List<String> validate(JsonNode schema, JsonNode value) {
    ObjectNode root = schema.deepCopy();
    // (no $schema keyword: the factory's dialect, 2020-12, is the one OpenAPI 3.1 uses)
    root.set("components", doc.path("components"));
    Set<ValidationMessage> errors = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(root).validate(value);
    return errors.stream().map(ValidationMessage::getMessage).sorted().toList();
  }

  private static String encode(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  private static HttpRequest get(String path, String key) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60)).GET();
    if (key != null) {
      b.header(ApiKey.HEADER, key);
    }
    return b.build();
  }

  private static HttpRequest delete(String path, String key) {
    return HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60)).header(ApiKey.HEADER, key).DELETE().build();
  }

  private static HttpRequest json(String path, String key, String body) {
    return HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60)).header(ApiKey.HEADER, key)
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
  }

  private static final String BOUNDARY = "mfn-contract-boundary";

  private static HttpRequest post(String path, String key, List<String> fields, List<byte[]> files) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (int i = 0; i < fields.size(); i++) {
      // "subject" is a text field; the others are files
      String head = fields.get(i).equals("subject")
          ? "Content-Disposition: form-data; name=\"subject\"\r\n\r\n"
          : "Content-Disposition: form-data; name=\"" + fields.get(i) + "\"; filename=\"" + fields.get(i) + i + ".jpg\"\r\nContent-Type: image/jpeg\r\n\r\n";
      out.write(("--" + BOUNDARY + "\r\n" + head).getBytes(StandardCharsets.UTF_8));
      out.write(files.get(i));
      out.write("\r\n".getBytes(StandardCharsets.UTF_8));
    }
    out.write(("--" + BOUNDARY + "--\r\n").getBytes(StandardCharsets.UTF_8));
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
        .header("Content-Type", "multipart/form-data; boundary=" + BOUNDARY).POST(HttpRequest.BodyPublishers.ofByteArray(out.toByteArray()));
    if (key != null) {
      b.header(ApiKey.HEADER, key);
    }
    return b.build();
  }

  private static byte[] blankJpeg() throws IOException {
    var image = new java.awt.image.BufferedImage(200, 200, java.awt.image.BufferedImage.TYPE_INT_RGB);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    javax.imageio.ImageIO.write(image, "jpg", out);
    return out.toByteArray();
  }

  private static List<Path> photos(Path person) {
    try (Stream<Path> files = Files.list(person)) {
      return files.filter(f -> f.toString().endsWith(".jpg")).sorted().toList();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static void copyFolder(Path from, Path to) throws IOException {
    try (Stream<Path> files = Files.walk(from)) {
      for (Path f : files.toList()) {
        Path target = to.resolve(from.relativize(f).toString());
        if (Files.isDirectory(f)) {
          Files.createDirectories(target);
        } else {
          Files.copy(f, target);
        }
      }
    }
  }
}
