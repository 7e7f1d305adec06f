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
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * POST /enroll, GET /enroll/{id} and the console's Enrol tab, over an enrolment that does in this
 * process what the embed job does ({@link InProcessEnrolment}: a moment later, on a thread of its
 * own, the photos detected, embedded and indexed, or refused with a reason), so the states move as
 * in a deployment. Keys and scopes, bad input (nothing published, nothing audited), the audit
 * record, 503 without an enrolment, the metrics label; then in headless Chromium two photos of an
 * LFW person and a file of zeros: searchable, searchable, a dead letter with its reason, and Search
 * finds the person. The whole path through Kafka and the real embed job: ConsoleEnrolTest (CLI).
 */
class EnrolTabTest {
  private static final String KEY = "enrol-tab-key-0123456789abcdef";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  @TempDir static Path dir;
  static Path person;
  /** Enrolled over REST under another name: never the person the page enrols and searches for. */
  static Path restPerson;
  static List<FaceCropper> croppers = new ArrayList<>();
  static List<OnnxEmbedder> embedders = new ArrayList<>();
  static LuceneVectorIndex index;
  static InProcessEnrolment enrolment;
  static List<List<String>> audited = Collections.synchronizedList(new ArrayList<>());
  static SearchServer server;
  static SearchServer without;
  static String searchOnly;
  static String base;

  @BeforeAll
  static void start() throws Exception {
    Path model = SharedData.require("models/reference/MobileFaceNet_paddlex.onnx");
    List<Path> people;
    try (Stream<Path> all = Files.list(SharedData.require("data/lfw/images"))) {
      people = all.sorted().filter(p -> photos(p).size() >= 3).skip(20).limit(3).toList();
    }
    person = people.get(0);
    restPerson = people.get(2);
    index = new LuceneVectorIndex(dir.resolve("index"), "reference");
    // the service's model, and the "job's" own (neither is thread-safe)
    FaceEmbedStage serving = stage(model, FaceEmbedStage.Faces.ALL);
    FaceEmbedStage job = stage(model, FaceEmbedStage.Faces.CHOSEN);
    // someone else is in the index already: a search has another person to find
    Path other = people.get(1);
    index.upsert(job.embed(List.of(new FaceEmbedStage.Photo("other-1", other.getFileName().toString(),
        Files.readAllBytes(photos(other).get(0))))).documents());
    PhotoEmbedder verifying = new PhotoEmbedder(croppers.get(0), embedders.get(0), true, false, 16);
    SearchService service = new SearchService(new FaceSearch(serving, index, 0.3), new FaceVerifier(verifying, 0.3), index, "reference", 0.3);
    ApiKeys keys = ApiKeys.fileAnd(dir.resolve("keys.json"), new ApiKey(KEY));
    searchOnly = keys.create("searcher", EnumSet.of(Scope.SEARCH)).key();
    enrolment = new InProcessEnrolment(job, index);
    AuditTrail audit = (keyId, action, target, detail) -> audited.add(List.of(keyId, action, target, detail));
    ServerOptions options = ServerOptions.defaults().withMaxUploadBytes(2_000_000).withRate(0, 0);
    server = new SearchServer(service, keys, options, null, audit).withEnrolment(enrolment).start("127.0.0.1", 0);
    without = new SearchServer(service, keys, options, null, audit).start("127.0.0.1", 0);
    base = "http://127.0.0.1:" + server.port();
  }

  private static FaceEmbedStage stage(Path model, FaceEmbedStage.Faces faces) throws IOException {
    MfnSettings settings = MfnSettings.load();
    DetectorConfig detectors = new DetectorConfig(DetectorFiles.blazefaceDir(),
        settings.getPath("detector.yunet.model"), settings.getPath("detector.mtcnn.dir"), 0.5);
    FaceCropper cropper = new FaceCropper(new ImageDecoder(50_000_000, 100_000_000), detectors.open("blazeface"), new FaceChooser(0.5, 20));
    OnnxEmbedder embedder = new OnnxEmbedder(model, CropTensor.REFERENCE);
    croppers.add(cropper);
    embedders.add(embedder);
    return new FaceEmbedStage(cropper, new PhotoEmbedder(cropper, embedder, true, false, 16), "reference", faces);
  }

  @AfterAll
  static void stop() throws Exception {
    for (SearchServer s : new SearchServer[] {server, without}) {
      if (s != null) {
        s.close();
      }
    }
    if (enrolment != null) {
      enrolment.close();
    }
    if (index != null) {
      index.close();
    }
    for (OnnxEmbedder e : embedders) {
      e.close();
    }
    for (FaceCropper c : croppers) {
      c.close();
    }
  }

  // ---------------------------------------------------------------- REST

  @Test
  void theMetricsLabelNeverHoldsTheImageId() {
    assertThat(ServiceMetrics.endpoint("POST", "/enroll")).isEqualTo("/enroll");
    assertThat(ServiceMetrics.endpoint("GET", "/enroll/0123abcd")).isEqualTo("/enroll/{id}");
    assertThat(ServiceMetrics.endpoint("GET", "//enroll/0123abcd/")).isEqualTo("/enroll/{id}");
  }

  @Test
  void withoutAnEnrolmentBothEndpointsSayItIsNotConfigured() throws Exception {
    String plain = "http://127.0.0.1:" + without.port();
    HttpResponse<String> off = send(plain, "/enroll", KEY, form("Someone", List.of("a.jpg"), List.of(new byte[] {1})));
    assertThat(off.statusCode()).as(off.body()).isEqualTo(503);
    assertThat(JSON.readTree(off.body()).path("error").asText()).isEqualTo("enrolment is not configured for this service");
    assertThat(get(plain, "/enroll/0123abcd?subject=Someone", KEY).statusCode()).isEqualTo(503);
  }

  @Test
  void keysScopesAndBadInputAreRefusedBeforeAnythingIsPublished() throws Exception {
    byte[] photo = Files.readAllBytes(photos(person).get(0));
    int published = enrolment.submissions();
    int records = audited.size();
    assertThat(send(base, "/enroll", null, form("Someone", List.of("a.jpg"), List.of(photo))).statusCode()).isEqualTo(401);
    HttpResponse<String> searcher = send(base, "/enroll", searchOnly, form("Someone", List.of("a.jpg"), List.of(photo)));
    assertThat(searcher.statusCode()).isEqualTo(403);
    assertThat(searcher.body()).contains("may not enroll");
    assertThat(get(base, "/enroll/0123abcd?subject=Someone", searchOnly).statusCode()).isEqualTo(403);

    HttpResponse<String> nameless = send(base, "/enroll", KEY, form(null, List.of("a.jpg"), List.of(photo)));
    assertThat(nameless.statusCode()).isEqualTo(400);
    assertThat(JSON.readTree(nameless.body()).path("error").asText()).contains("subject");
    for (String bad : List.of("", "a/b", "x".repeat(201), "Bell\u0007", "two\nlines", ".", "..", "...", "a\\b", "100%",
        "50%2F50", "who?", "#1", "a#b")) {
      assertThat(send(base, "/enroll", KEY, form(bad, List.of("a.jpg"), List.of(photo))).statusCode()).as(bad).isEqualTo(400);
    }
    // the answer says why: a name that cannot be one URL path segment
    for (String bad : List.of("..", "a\\b", "100%", "who?", "#1")) {
      HttpResponse<String> refused = send(base, "/enroll", KEY, form(bad, List.of("a.jpg"), List.of(photo)));
      assertThat(refused.statusCode()).as(bad).isEqualTo(400);
      assertThat(JSON.readTree(refused.body()).path("error").asText()).as(bad).contains("subject").contains("URL path");
    }
    assertThat(JSON.readTree(send(base, "/enroll", KEY, form("who?", List.of("a.jpg"), List.of(photo))).body())
        .path("error").asText()).contains("'?'");
    // and GET /enroll/{id} takes the same names only
    for (String bad : List.of(".", "..", "a\\b", "100%", "who?", "#1")) {
      assertThat(get(base, "/enroll/0123abcd?subject=" + URLEncoder.encode(bad, StandardCharsets.UTF_8), KEY).statusCode())
          .as(bad).isEqualTo(400);
    }
    // names with dots, spaces, apostrophes and letters of any script are fine
    assertThat(SearchServer.subject("J. R. R. Tolkien")).isEqualTo("J. R. R. Tolkien");
    assertThat(SearchServer.subject("Renée O'Brien-Łukasz")).isEqualTo("Renée O'Brien-Łukasz");
    assertThat(send(base, "/enroll", KEY, form("Someone", List.of(), List.of())).statusCode()).isEqualTo(400);
    List<String> names = new ArrayList<>();
    List<byte[]> many = new ArrayList<>();
    for (int i = 0; i <= SearchServer.MAX_ENROL_PHOTOS; i++) {
      names.add(i + ".jpg");
      many.add(new byte[] {(byte) i});
    }
    HttpResponse<String> tooMany = send(base, "/enroll", KEY, form("Someone", names, many));
    assertThat(tooMany.statusCode()).isEqualTo(400);
    assertThat(tooMany.body()).contains("at most 50 photos");
    assertThat(send(base, "/enroll", KEY, form("Someone", List.of("big.jpg"), List.of(new byte[2_100_000]))).statusCode()).isEqualTo(413);
    assertThat(get(base, "/enroll/0123abcd", KEY).statusCode()).isEqualTo(400); // no subject
    assertThat(get(base, "/enroll/0123abcd?subject=a%2Fb", KEY).statusCode()).isEqualTo(400);
    assertThat(get(base, "/enroll/" + URLEncoder.encode("a b", StandardCharsets.UTF_8) + "?subject=Someone", KEY).statusCode()).isEqualTo(400);
    assertThat(enrolment.submissions()).as("nothing published").isEqualTo(published);
    assertThat(audited).as("nothing audited").hasSize(records);
  }

  @Test
  void aPhotoWaitsThenIsSearchableAndBytesThatAreNoImageAreADeadLetter() throws Exception {
    String who = "Enrolled Over Rest";
    enrolment.hold(); // the "job" waits: the states can be seen before it runs
    HttpResponse<String> sent;
    try {
      sent = send(base, "/enroll", KEY, form(who, List.of("face.jpg", "zeros.jpg"),
          List.of(Files.readAllBytes(photos(restPerson).get(0)), new byte[2048])));
      assertThat(sent.statusCode()).as(sent.body()).isEqualTo(202);
      assertThat(audited).anySatisfy(r -> assertThat(r.subList(1, 4)).containsExactly("enroll", who, "POST /enroll, 2 photos"));
      JsonNode body = JSON.readTree(sent.body());
      assertThat(body.path("subject").asText()).isEqualTo(who);
      assertThat(body.path("topic").asText()).isEqualTo("in-process");
      assertThat(body.path("photos")).hasSize(2);
      assertThat(body.path("photos").get(0).path("filename").asText()).isEqualTo("face.jpg");
      assertThat(body.path("photos").get(1).path("filename").asText()).isEqualTo("zeros.jpg");
      for (JsonNode p : body.path("photos")) {
        JsonNode state = state(who, p.path("image_id").asText());
        assertThat(state.path("state").asText()).isEqualTo("waiting");
        assertThat(state.path("faces").asInt()).isZero();
        assertThat(state.path("reason").isNull()).isTrue();
      }
    } finally {
      enrolment.release();
    }
    JsonNode body = JSON.readTree(sent.body());
    String face = body.path("photos").get(0).path("image_id").asText();
    String zeros = body.path("photos").get(1).path("image_id").asText();
    until("the photo searchable", () -> "searchable".equals(stateText(who, face)));
    JsonNode searchable = state(who, face);
    assertThat(searchable.path("faces").asInt()).isEqualTo(1);
    assertThat(searchable.path("model").asText()).isEqualTo("reference");
    until("the zeros refused", () -> "dead_letter".equals(stateText(who, zeros)));
    JsonNode refused = state(who, zeros);
    assertThat(refused.path("reason").asText()).isEqualTo("NOT_AN_IMAGE");
    assertThat(refused.path("message").asText()).isNotBlank();
    assertThat(refused.path("faces").asInt()).isZero();
    // an id asked about under another subject is not found there
    assertThat(state("Somebody Else", face).path("state").asText()).isEqualTo("waiting");
  }

  // ---------------------------------------------------------------- the page

  @Test
  void theEnrolTabFollowsEachPhotoUntilSearchableOrDeadLetteredThenSearchFindsThePerson() throws Exception {
    String who = person.getFileName().toString();
    Path zeros = Files.write(dir.resolve("blank.jpg"), new byte[4096]);
    List<Path> chosen = List.of(photos(person).get(0), photos(person).get(1), zeros);
    WebDriver browser = browser();
    try {
      WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(60));
      browser.get(base + "/");
      browser.findElement(By.id("key")).sendKeys(KEY);
      browser.findElement(By.id("tab-enroll")).click();
      wait.until(d -> d.findElement(By.id("panel-enroll")).isDisplayed());
      assertThat(browser.getCurrentUrl()).endsWith("#enroll");
      browser.findElement(By.id("enroll-subject")).sendKeys(who);
      browser.findElement(By.id("enroll-photos")).sendKeys(String.join("\n", chosen.stream().map(p -> p.toAbsolutePath().toString()).toList()));
      browser.findElement(By.id("enroll-submit")).click();
      wait.until(d -> d.findElements(By.cssSelector("#enroll-rows .enroll-photo")).size() == 3);
      List<WebElement> rows = browser.findElements(By.cssSelector("#enroll-rows .enroll-photo"));
      assertThat(rows).allSatisfy(r -> assertThat(r.getDomAttribute("data-image-id")).matches("[0-9a-f]{32}"));
      assertThat(rows.stream().map(r -> r.findElement(By.className("filename")).getText()).toList())
          .containsExactly(chosen.get(0).getFileName().toString(), chosen.get(1).getFileName().toString(), "blank.jpg");
      wait.until(d -> d.findElement(By.id("enroll-status")).getText().startsWith("Done: 2 photos searchable, 1 dead letter"));
      for (int i = 0; i < 2; i++) {
        WebElement row = browser.findElements(By.cssSelector("#enroll-rows .enroll-photo")).get(i);
        assertThat(row.findElement(By.className("state")).getText()).isEqualTo("searchable");
        assertThat(row.findElement(By.className("reason")).getText()).isEqualTo("1 face in the index of model reference");
      }
      WebElement blank = browser.findElements(By.cssSelector("#enroll-rows .enroll-photo")).get(2);
      assertThat(blank.getDomAttribute("data-state")).isEqualTo("dead_letter");
      assertThat(blank.findElement(By.className("state")).getText()).isEqualTo("dead letter");
      assertThat(blank.findElement(By.className("reason")).getText()).startsWith("NOT_AN_IMAGE: ");
      screenshot(browser, "enroll");

      // Search: a third photo of the person, never enrolled, finds them
      browser.findElement(By.id("tab-search")).click();
      wait.until(d -> d.findElement(By.id("panel-search")).isDisplayed());
      browser.findElement(By.id("file")).sendKeys(photos(person).get(2).toAbsolutePath().toString());
      wait.until(d -> d.findElement(By.id("status")).getText().contains("face(s); model reference"));
      WebElement name = wait.until(d -> d.findElements(By.className("face-name")).stream().findFirst().orElse(null));
      assertThat(name.getText()).isEqualTo("face 1: " + who);
    } finally {
      browser.quit();
    }
  }

  // ---------------------------------------------------------------- helpers

  /**
   * What the embed job does, in this process: each submission on a thread of its own, a second
   * later (or when released, after {@link #hold}), detected, embedded and indexed, or refused
   * with its reason as a dead letter. Ids are new per photo, as Kafka's enrolment makes them.
   */
  static final class InProcessEnrolment implements Enrolment, AutoCloseable {
    private final ExecutorService job = Executors.newSingleThreadExecutor();
    private final FaceEmbedStage stage;
    private final LuceneVectorIndex into;
    private final Map<String, DeadLetterNote> refused = new ConcurrentHashMap<>();
    private final AtomicInteger submissions = new AtomicInteger();
    private volatile CountDownLatch held = new CountDownLatch(0);

    InProcessEnrolment(FaceEmbedStage stage, LuceneVectorIndex into) {
      this.stage = stage;
      this.into = into;
    }

    @Override
    public List<String> submit(String subject, List<Upload> photos) {
      submissions.incrementAndGet();
      List<String> ids = new ArrayList<>();
      List<FaceEmbedStage.Photo> batch = new ArrayList<>();
      for (Upload u : photos) {
        String id = UUID.randomUUID().toString().replace("-", "");
        ids.add(id);
        batch.add(new FaceEmbedStage.Photo(id, subject, u.bytes()));
      }
      CountDownLatch gate = held;
      job.submit(() -> {
        gate.await(2, TimeUnit.MINUTES); // hold() keeps the photos waiting for as long as a test looks
        FaceEmbedStage.Result result = stage.embed(batch);
        into.upsert(result.documents());
        result.rejected().forEach((id, reason) -> refused.put(id, new DeadLetterNote(reason.name(), reason.description())));
        return null;
      });
      return ids;
    }

    @Override
    public Optional<DeadLetterNote> deadLetter(String imageId) {
      return Optional.ofNullable(refused.get(imageId));
    }

    @Override
    public String topic() {
      return "in-process";
    }

    int submissions() {
      return submissions.get();
    }

    void hold() {
      held = new CountDownLatch(1);
    }

    void release() {
      held.countDown();
    }

    @Override
    public void close() throws InterruptedException {
      release();
      job.shutdown();
      job.awaitTermination(1, TimeUnit.MINUTES);
    }
  }

  private static JsonNode state(String subject, String id) throws Exception {
    HttpResponse<String> r = get(base, "/enroll/" + id + "?subject=" + URLEncoder.encode(subject, StandardCharsets.UTF_8), KEY);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    JsonNode body = JSON.readTree(r.body());
    assertThat(body.path("image_id").asText()).isEqualTo(id);
    return body;
  }

  private static void until(String what, java.util.function.BooleanSupplier condition) {
    dev.mfn.testkit.Await.until(what, java.time.Duration.ofMinutes(1), condition);
  }

  private static String stateText(String subject, String id) {
    try {
      return state(subject, id).path("state").asText();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static final String BOUNDARY = "mfn-enrol-boundary";

  /** A multipart body: the subject field (none when null), then each photo as a file field "photo". */
  private static byte[] form(String subject, List<String> names, List<byte[]> files) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    if (subject != null) {
      out.write(("--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"subject\"\r\n\r\n" + subject + "\r\n")
          .getBytes(StandardCharsets.UTF_8));
    }
    for (int i = 0; i < files.size(); i++) {
      out.write(("--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"" + names.get(i)
          + "\"\r\nContent-Type: image/jpeg\r\n\r\n").getBytes(StandardCharsets.UTF_8));
      out.write(files.get(i));
      out.write("\r\n".getBytes(StandardCharsets.UTF_8));
    }
    out.write(("--" + BOUNDARY + "--\r\n").getBytes(StandardCharsets.UTF_8));
    return out.toByteArray();
  }

  private static HttpResponse<String> send(String at, String path, String key, byte[] body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(at + path))
        .header("Content-Type", "multipart/form-data; boundary=" + BOUNDARY)
        .POST(HttpRequest.BodyPublishers.ofByteArray(body));
    if (key != null) {
      b.header(ApiKey.HEADER, key);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> get(String at, String path, String key) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(at + path)).GET();
    if (key != null) {
      b.header(ApiKey.HEADER, key);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /**
   * Headless Chromium; where it is missing the test is skipped, except where CI requires every
   * test to run (MFN_SHARED_REQUIRED=1): there it fails.
   */
  private static WebDriver browser() {
    if (!Files.isExecutable(Path.of("/usr/bin/chromium")) || !Files.isExecutable(Path.of("/usr/bin/chromedriver"))) {
      String missing = "needs Debian's chromium and chromium-driver (.ci/run installs them)";
      if ("1".equals(System.getenv("MFN_SHARED_REQUIRED"))) {
        throw new AssertionError(missing + "; MFN_SHARED_REQUIRED=1");
      }
      Assumptions.abort(missing);
    }
    ChromeOptions options = new ChromeOptions();
    options.setBinary("/usr/bin/chromium");
    options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1800");
    ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(new java.io.File("/usr/bin/chromedriver")).build();
    return new ChromeDriver(service, options);
  }

  private static void screenshot(WebDriver browser, String tab) throws IOException {
    Path to = Files.createDirectories(Path.of("target", "console-screenshots"));
    Files.write(to.resolve(tab + ".png"), ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));
  }

  private static List<Path> photos(Path person) {
    try (Stream<Path> files = Files.list(person)) {
      return files.sorted().toList();
    } catch (IOException e) {
      return List.of();
    }
  }
}
