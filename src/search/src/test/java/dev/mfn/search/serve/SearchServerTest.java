package dev.mfn.search.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
import dev.mfn.search.verify.FaceVerifier;
import dev.mfn.testkit.DetectorFiles;
import dev.mfn.testkit.SharedData;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The REST service and the web page over a real index: 8 LFW people enrolled with the reference
 * model; the API over HTTP (key, 401, 413, search, verify, delete, description), then the page in
 * headless Chromium: a photo in, the face boxed and named, thumbnails of the matches.
 */
class SearchServerTest {
  private static final String KEY = "test-key-0123456789abcdef";
  private static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  @TempDir static Path dir;
  static List<Path> people;
  static FaceCropper cropper;
  static OnnxEmbedder embedder;
  static LuceneVectorIndex index;
  static SearchServer server;
  static SearchService service;
  static String base;

  @BeforeAll
  static void start() throws Exception {
    Path lfw = SharedData.require("data/lfw/images");
    Path model = SharedData.require("models/reference/MobileFaceNet_paddlex.onnx");
    try (Stream<Path> all = Files.list(lfw)) {
      people = all.sorted().filter(p -> photos(p).size() >= 2).limit(8).toList();
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
    }
    index.upsert(new FaceEmbedStage(cropper, photoEmbedder, "reference", FaceEmbedStage.Faces.CHOSEN).embed(gallery).documents());
    FaceSearch search = new FaceSearch(new FaceEmbedStage(cropper, photoEmbedder, "reference", FaceEmbedStage.Faces.ALL), index, 0.3);
    service = new SearchService(search, new FaceVerifier(photoEmbedder, 0.3), index, "reference", 0.3);
    server = new SearchServer(service, new ApiKey(KEY), 200_000).start("127.0.0.1", 0);
    base = "http://127.0.0.1:" + server.port();
  }

  @AfterAll
  static void stop() throws IOException {
    if (server != null) {
      server.close();
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

  @Test
  void theApiSearchesVerifiesDeletesAndGuardsItself() throws Exception {
    assertThat(get("/health", null).statusCode()).isEqualTo(200);
    assertThat(get("/openapi.json", null).body()).contains("\"/search\"").contains("X-API-Key");
    byte[] probe = Files.readAllBytes(photos(people.get(2)).get(1));

    assertThat(post("/search", null, "photo", probe).statusCode()).isEqualTo(401);
    assertThat(post("/search", "wrong-key-0123456789", "photo", probe).statusCode()).isEqualTo(401);
    assertThat(post("/search", KEY, "photo", new byte[300_000]).statusCode()).isEqualTo(413);

    HttpResponse<String> found = post("/search?k=3", KEY, "photo", probe);
    assertThat(found.statusCode()).as(found.body()).isEqualTo(200);
    JsonNode faces = new ObjectMapper().readTree(found.body()).path("faces");
    assertThat(faces).isNotEmpty(); // the person first (largest); faces behind them are "unknown"
    assertThat(faces.get(0).path("subject").asText()).isEqualTo(people.get(2).getFileName().toString());
    assertThat(faces.get(0).path("matches")).hasSize(3);
    String firstId = faces.get(0).path("matches").get(0).path("id").asText();
    HttpResponse<String> crop = get("/faces/" + java.net.URLEncoder.encode(firstId, StandardCharsets.UTF_8).replace("+", "%20") + "/crop", KEY);
    assertThat(crop.statusCode()).isEqualTo(200);

    HttpResponse<String> verify = post2("/verify", KEY, Files.readAllBytes(photos(people.get(2)).get(0)), probe);
    assertThat(verify.statusCode()).as(verify.body()).isEqualTo(200);
    assertThat(new ObjectMapper().readTree(verify.body()).path("same_person").asBoolean()).isTrue();

    String gone = people.get(7).getFileName().toString();
    assertThat(delete("/subjects/" + gone, null).statusCode()).isEqualTo(401);
    HttpResponse<String> deleted = delete("/subjects/" + gone, KEY);
    assertThat(deleted.statusCode()).isEqualTo(200);
    assertThat(new ObjectMapper().readTree(deleted.body()).path("removed").asInt()).isEqualTo(1);
    assertThat(index.search(unit(), 8)).hasSize(7).noneMatch(h -> h.subject().equals(gone));

    HttpResponse<String> blank = post("/search", KEY, "photo", blankJpeg());
    assertThat(blank.statusCode()).isEqualTo(422);
    assertThat(blank.body()).contains("NO_FACE");
  }

  @Test
  void thePageBoxesTheFaceAndShowsTheMatches() throws Exception {
    Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/chromium")) && Files.isExecutable(Path.of("/usr/bin/chromedriver")),
        "needs Debian's chromium and chromium-driver (.ci/run installs them)");
    ChromeOptions options = new ChromeOptions();
    options.setBinary("/usr/bin/chromium");
    options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage");
    ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(new java.io.File("/usr/bin/chromedriver")).build();
    WebDriver browser = new ChromeDriver(service, options);
    try {
      browser.get(base + "/");
      browser.findElement(By.id("key")).sendKeys(KEY);
      Path probe = photos(people.get(5)).get(1);
      browser.findElement(By.id("file")).sendKeys(probe.toAbsolutePath().toString());
      WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(30));
      String who = people.get(5).getFileName().toString();
      WebElement name = wait.until(d -> d.findElements(By.className("face-name")).stream().findFirst().orElse(null));
      assertThat(name.getText()).isEqualTo("face 1: " + who);
      // every face of the photo gets a box (LFW photos sometimes show someone behind); the first is the person
      assertThat(browser.findElements(By.className("box"))).isNotEmpty();
      assertThat(browser.findElements(By.className("box")).get(0).getText()).isEqualTo("1: " + who);
      wait.until(d -> d.findElements(By.cssSelector(".match img")).stream()
          .allMatch(img -> Long.parseLong(String.valueOf(((org.openqa.selenium.JavascriptExecutor) d)
              .executeScript("return arguments[0].naturalWidth", img))) == 112));
      assertThat(browser.findElements(By.cssSelector(".face:first-child .match"))).hasSize(3);
    } finally {
      browser.quit();
    }
  }

  /**
   * POST /retrain queues a RetrainRequest on the real broker's topic (what the deployed service does;
   * the controller that reads it is tested in src/retrain), behind the key; without a trigger, 503.
   */
  @Test
  @org.junit.jupiter.api.extension.ExtendWith(dev.mfn.testkit.LocalKafka.class)
  void retrainRequestsGoToTheTopic(dev.mfn.services.kafka.KafkaBroker broker) throws Exception {
    String topic = "retrain-api-test";
    try (var producer = dev.mfn.publish.KafkaAccess.producer(broker.bootstrapServers(), 1 << 20)) {
      var requests = new dev.mfn.retrain.RetrainRequests(producer, topic);
      var service = new SearchService(null, null, index, "reference", 0.3);
      try (SearchServer withTrigger = new SearchServer(service, new ApiKey(KEY), 200_000,
          r -> requests.send(r.requestedBy(), r.reason(), r.epochs(), r.minutes(), r.shards(), java.util.Map.of()).getRequestId())
          .start("127.0.0.1", 0)) {
        String at = "http://127.0.0.1:" + withTrigger.port();
        assertThat(json(at + "/retrain", null, "{}").statusCode()).isEqualTo(401);
        assertThat(json(at + "/retrain", KEY, "{\"epochs\": -3}").statusCode()).isEqualTo(400);
        HttpResponse<String> accepted = json(at + "/retrain", KEY, "{\"reason\": \"new people\", \"epochs\": 4}");
        assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
        var records = dev.mfn.testkit.TopicReader.readAll(broker.bootstrapServers(), topic);
        assertThat(records).hasSize(1);
        var request = new dev.mfn.records.kafka.AvroSerde<>(dev.mfn.records.RetrainRequest.class).decode(records.get(0).value());
        assertThat(accepted.body()).contains(request.getRequestId());
        assertThat(request.getReason()).isEqualTo("new people");
        assertThat(request.getEpochs()).isEqualTo(4);
        assertThat(request.getRequestedBy()).isEqualTo("key:static"); // who: the key's id, for the audit trail
      }
    }
    assertThat(json(base + "/retrain", KEY, "{}").statusCode()).isEqualTo(503); // this one has no trigger
  }

  /**
   * GET /metrics counts every answer (refused ones too) under a bounded endpoint label, and exports
   * every metric the Grafana dashboard's "Search service" row queries.
   */
  @Test
  void metricsCountEveryAnswerAndNameWhatTheDashboardQueries() throws Exception {
    byte[] probe = Files.readAllBytes(photos(people.get(3)).get(1));
    String before = get("/metrics", null).body();
    assertThat(post("/search", KEY, "photo", probe).statusCode()).isEqualTo(200);
    assertThat(post("/search", KEY, "photo", probe).statusCode()).isEqualTo(200);
    assertThat(post("/search", null, "photo", probe).statusCode()).isEqualTo(401);
    assertThat(post("/search", KEY, "photo", blankJpeg()).statusCode()).isEqualTo(422);
    assertThat(get("/no-such-thing-4711/x", KEY).statusCode()).isEqualTo(404);
    HttpResponse<String> scraped = get("/metrics", null);
    assertThat(scraped.statusCode()).isEqualTo(200);
    assertThat(scraped.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
    String after = scraped.body();

    String requests = "mfn_http_requests_seconds_count";
    assertThat(sample(after, requests, "endpoint=\"/search\"", "status=\"200\"") - sample(before, requests, "endpoint=\"/search\"", "status=\"200\""))
        .isEqualTo(2);
    assertThat(sample(after, requests, "endpoint=\"/search\"", "status=\"401\"") - sample(before, requests, "endpoint=\"/search\"", "status=\"401\""))
        .isEqualTo(1);
    assertThat(sample(after, requests, "endpoint=\"/search\"", "status=\"422\"") - sample(before, requests, "endpoint=\"/search\"", "status=\"422\""))
        .isEqualTo(1);
    assertThat(sample(after, "mfn_faces_rejected_total", "reason=\"NO_FACE\"") - sample(before, "mfn_faces_rejected_total", "reason=\"NO_FACE\""))
        .isEqualTo(1);
    // a path nobody routes is "other": a scan of random paths cannot grow the number of series
    assertThat(sample(after, requests, "endpoint=\"other\"", "status=\"404\"")).isGreaterThanOrEqualTo(1);
    assertThat(after).doesNotContain("no-such-thing");
    assertThat(sample(after, "mfn_http_requests_seconds_bucket", "endpoint=\"/search\"", "status=\"200\"", "le=\"+Inf\""))
        .isEqualTo(sample(after, requests, "endpoint=\"/search\"", "status=\"200\""));
    assertThat(sample(after, "mfn_index_faces")).isEqualTo(index.count());
    assertThat(sample(after, "mfn_model_served", "version=\"reference\"")).isEqualTo(1);

    var names = dev.mfn.testkit.DashboardQueries.exported(after);
    var queried = dev.mfn.testkit.DashboardQueries.byRow().get("Search service");
    assertThat(queried).as("the dashboard's service row").isNotEmpty();
    assertThat(names).as("what the dashboard's service row queries").containsAll(queried);
  }

  /**
   * With a metrics port (Kubernetes: 9464, which only Prometheus may reach), /metrics answers there
   * and nowhere on the service's own port, which the world may reach.
   */
  @Test
  void aMetricsPortTakesMetricsOffTheServicePort() throws Exception {
    try (SearchServer separate = new SearchServer(service, ApiKeys.single(new ApiKey(KEY)),
        ServerOptions.defaults().withMetricsPort(0), null, AuditTrail.NONE).start("127.0.0.1", 0)) {
      assertThat(separate.metricsPort()).isNotEqualTo(separate.port());
      String own = "http://127.0.0.1:" + separate.port();
      assertThat(http.send(HttpRequest.newBuilder(URI.create(own + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).statusCode())
          .as("no longer open on the service's port").isEqualTo(401);
      assertThat(http.send(HttpRequest.newBuilder(URI.create(own + "/metrics")).header(ApiKey.HEADER, KEY).build(),
          HttpResponse.BodyHandlers.ofString()).statusCode()).as("nor routed there").isEqualTo(404);
      String metrics = "http://127.0.0.1:" + separate.metricsPort();
      HttpResponse<String> scraped = http.send(HttpRequest.newBuilder(URI.create(metrics + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(scraped.statusCode()).isEqualTo(200);
      // (request timers appear with the first request; this server has had none)
      assertThat(dev.mfn.testkit.DashboardQueries.exported(scraped.body())).contains("mfn_index_faces", "mfn_model_served",
          "mfn_models_refused_by_gate", "mfn_busy_refusals_total");
      assertThat(http.send(HttpRequest.newBuilder(URI.create(metrics + "/search")).build(), HttpResponse.BodyHandlers.ofString()).statusCode())
          .as("the metrics port serves nothing else").isEqualTo(404);
    }
  }

  /** The sum of the samples of a metric whose labels contain every fragment given. */
  private static double sample(String exposition, String name, String... labels) {
    double sum = 0;
    for (String line : exposition.split("\n")) {
      if (!line.startsWith(name + "{") && !line.startsWith(name + " ")) {
        continue;
      }
      if (java.util.Arrays.stream(labels).allMatch(line::contains)) {
        sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return sum;
  }

  private static HttpResponse<String> json(String url, String key, String body) throws Exception {
    var request = java.net.http.HttpRequest.newBuilder(java.net.URI.create(url))
        .header("Content-Type", "application/json").POST(java.net.http.HttpRequest.BodyPublishers.ofString(body));
    if (key != null) {
      request.header("X-API-Key", key);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> get(String path, String key) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).GET();
    if (key != null) {
      b.header(ApiKey.HEADER, key);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> delete(String path, String key) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).DELETE();
    if (key != null) {
      b.header(ApiKey.HEADER, key);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static float[] unit() {
    float[] v = new float[128];
    v[0] = 1;
    return v;
  }

  private static HttpResponse<String> post(String path, String key, String field, byte[] bytes) throws Exception {
    return send(path, key, multipart(List.of(field), List.of(bytes)));
  }

  private static HttpResponse<String> post2(String path, String key, byte[] a, byte[] b) throws Exception {
    return send(path, key, multipart(List.of("a", "b"), List.of(a, b)));
  }

  private static final String BOUNDARY = "mfn-test-boundary";

  private static HttpResponse<String> send(String path, String key, byte[] body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path))
        .header("Content-Type", "multipart/form-data; boundary=" + BOUNDARY)
        .POST(HttpRequest.BodyPublishers.ofByteArray(body));
    if (key != null) {
      b.header(ApiKey.HEADER, key);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static byte[] multipart(List<String> fields, List<byte[]> files) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (int i = 0; i < fields.size(); i++) {
      out.write(("--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"" + fields.get(i)
          + "\"; filename=\"" + fields.get(i) + ".jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").getBytes(StandardCharsets.UTF_8));
      out.write(files.get(i));
      out.write("\r\n".getBytes(StandardCharsets.UTF_8));
    }
    out.write(("--" + BOUNDARY + "--\r\n").getBytes(StandardCharsets.UTF_8));
    return out.toByteArray();
  }

  private static byte[] blankJpeg() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    javax.imageio.ImageIO.write(new java.awt.image.BufferedImage(300, 200, java.awt.image.BufferedImage.TYPE_INT_RGB), "jpg", out);
    return out.toByteArray();
  }

  private static List<Path> photos(Path person) {
    try (Stream<Path> files = Files.list(person)) {
      return files.sorted().toList();
    } catch (IOException e) {
      return List.of();
    }
  }
}
