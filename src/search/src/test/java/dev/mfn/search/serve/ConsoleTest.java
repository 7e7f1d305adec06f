package dev.mfn.search.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mfn.config.MfnSettings;
import dev.mfn.face.crop.FaceCropper;
import dev.mfn.face.decode.ImageDecoder;
import dev.mfn.face.detect.DetectorConfig;
import dev.mfn.face.detect.FaceChooser;
import dev.mfn.model.CropTensor;
import dev.mfn.model.OnnxEmbedder;
import dev.mfn.model.PhotoEmbedder;
import dev.mfn.model.store.ModelConfig;
import dev.mfn.search.FaceSearch;
import dev.mfn.search.enroll.FaceEmbedStage;
import dev.mfn.search.index.FaceDocument;
import dev.mfn.search.index.LuceneVectorIndex;
import dev.mfn.search.models.ModelShelf;
import dev.mfn.search.verify.FaceVerifier;
import dev.mfn.testkit.DetectorFiles;
import dev.mfn.testkit.SharedData;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.Alert;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The operator's console over a real index and model store: 6 LFW people enrolled with two photos
 * each (the reference model), a model store with v1 (a copy of models/default), v2 (refused by the
 * gate) and v3 (still being made). The console's endpoints over HTTP (open files, keys and scopes,
 * bad input, listings, plots and path traversal), then the tabs in headless Chromium: find a person
 * in Subjects, find them by a photo in Search, delete them in Subjects, and no longer find them;
 * Verify on two photos of one person and of two people; Models with the card, the gate and every
 * plot loaded. A screenshot of each tab goes to target/console-screenshots.
 */
class ConsoleTest {
  private static final String KEY = "console-key-0123456789abcdef";
  private static final String SECRET = "SECRET-BYTES-OUTSIDE-THE-PLOTS";
  private static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Path SCREENSHOTS = Path.of("target", "console-screenshots");
  @TempDir static Path dir;
  static List<Path> people;
  /** Faces enrolled per subject (what the index holds before any deletion). */
  static Map<String, Long> enrolled = new TreeMap<>();
  static FaceCropper cropper;
  static OnnxEmbedder embedder;
  static LuceneVectorIndex index;
  static FaceSearch search;
  static FaceVerifier verifier;
  static SearchServer server;
  static ModelShelf shelf;
  static Path store;
  static String verifyOnly;
  static String searchOnly;
  static String browseOnly;
  static String base;
  /** When the first photo of each person was published (the second's time is not known). */
  static final long PUBLISHED = java.time.Instant.parse("2025-03-14T09:26:53.589Z").toEpochMilli();

  @BeforeAll
  static void start() throws Exception {
    Path lfw = SharedData.require("data/lfw/images");
    Path model = SharedData.require("models/reference/MobileFaceNet_paddlex.onnx");
    try (Stream<Path> all = Files.list(lfw)) {
      people = all.sorted().filter(p -> photos(p).size() >= 3).limit(6).toList();
    }
    MfnSettings settings = MfnSettings.load();
    DetectorConfig detectors = new DetectorConfig(DetectorFiles.blazefaceDir(),
        settings.getPath("detector.yunet.model"), settings.getPath("detector.mtcnn.dir"), 0.5);
    cropper = new FaceCropper(new ImageDecoder(50_000_000, 100_000_000), detectors.open("blazeface"), new FaceChooser(0.5, 20));
    embedder = new OnnxEmbedder(model, CropTensor.REFERENCE);
    index = new LuceneVectorIndex(dir.resolve("index"), "reference");
    PhotoEmbedder photoEmbedder = new PhotoEmbedder(cropper, embedder, true, false, 16);
    // two photos of each person enrolled, each with its source as the publisher names it (the path
    // under the published folder); the third is the probe, never enrolled
    List<FaceEmbedStage.Photo> gallery = new ArrayList<>();
    for (Path p : people) {
      String name = p.getFileName().toString();
      for (int i = 1; i <= 2; i++) {
        Path photo = photos(p).get(i - 1);
        gallery.add(new FaceEmbedStage.Photo(name + "/" + i, name, Files.readAllBytes(photo), name + "/" + photo.getFileName()));
      }
    }
    // the first photo's publication time as the embed job adds it; the second's stays unknown (0),
    // as for faces indexed before the index kept it
    List<FaceDocument> documents = new FaceEmbedStage(cropper, photoEmbedder, "reference", FaceEmbedStage.Faces.CHOSEN)
        .embed(gallery).documents().stream().map(d -> d.imageId().endsWith("/1") ? d.withPublishedAt(PUBLISHED) : d).toList();
    index.upsert(documents);
    for (FaceDocument d : documents) {
      enrolled.merge(d.subject(), 1L, Long::sum);
    }
    search = new FaceSearch(new FaceEmbedStage(cropper, photoEmbedder, "reference", FaceEmbedStage.Faces.ALL), index, 0.3);
    verifier = new FaceVerifier(photoEmbedder, 0.3);
    SearchService service = new SearchService(search, verifier, index, "reference", 0.3);
    ApiKeys keys = ApiKeys.fileAnd(dir.resolve("keys.json"), new ApiKey(KEY));
    verifyOnly = keys.create("verifier", EnumSet.of(Scope.VERIFY)).key();
    searchOnly = keys.create("kiosk", EnumSet.of(Scope.SEARCH)).key();
    browseOnly = keys.create("operator", EnumSet.of(Scope.BROWSE)).key();
    store = modelStore();
    shelf = new ModelShelf(store);
    server = new SearchServer(service, keys, ServerOptions.defaults().withMaxUploadBytes(2_000_000).withRate(0, 0), null,
        AuditTrail.NONE).withModels(shelf).start("127.0.0.1", 0);
    base = "http://127.0.0.1:" + server.port();
  }

  /**
   * v1: a copy of models/default; v2: the same card with a lower accuracy, refused by the gate;
   * v3: being made (its INCOMPLETE marker). Besides them, files the plots route must never read:
   * one at the store's root, one beside the store, and a link in v1's plots that leads out.
   */
  private static Path modelStore() throws IOException {
    Path committed = Path.of(System.getProperty("mfn.repo", "../..")).resolve("models/default").toAbsolutePath().normalize();
    Path root = dir.resolve("store");
    Path v1 = root.resolve("v1");
    copyFolder(committed, v1);
    Path v2 = root.resolve("v2");
    Files.createDirectories(v2.resolve("plots"));
    // a version of its own: another version name and store id, so another id than v1's
    ObjectNode config = (ObjectNode) JSON.readTree(v1.resolve("config.json").toFile());
    config.put("version", "v2");
    config.put("store_id", "5be01c3a");
    JSON.writeValue(v2.resolve("config.json").toFile(), config);
    for (String plot : List.of("loss.png", "accuracy.png", "learning-rate.png", "roc-lfw.png")) {
      Files.copy(v1.resolve("plots").resolve(plot), v2.resolve("plots").resolve(plot));
    }
    ObjectNode card = (ObjectNode) JSON.readTree(v1.resolve("model-card.json").toFile());
    card.put("model", "v2");
    ((ObjectNode) card.get("verification").get(0)).put("accuracy", 0.70);
    JSON.writeValue(v2.resolve("model-card.json").toFile(), card);
    Files.writeString(v2.resolve("gate.json"), "{\"passed\": false, \"reason\": \"verification accuracy 0.7000 is below the served"
        + " model's 0.8920 minus the tolerance 0.01\", \"served\": \"v1-5ba27732\"}");
    Path v3 = Files.createDirectories(root.resolve("v3"));
    Files.createFile(v3.resolve("INCOMPLETE"));
    Files.writeString(root.resolve("secret.png"), SECRET);
    Files.writeString(dir.resolve("outside.png"), SECRET);
    try {
      Files.createSymbolicLink(v1.resolve("plots").resolve("link.png"), root.resolve("secret.png"));
    } catch (UnsupportedOperationException | IOException e) {
      // a file system without links: the other traversal checks still run
    }
    return root;
  }

  private static void copyFolder(Path from, Path to) throws IOException {
    try (Stream<Path> files = Files.walk(from)) {
      for (Path f : files.toList()) {
        Path target = to.resolve(from.relativize(f).toString());
        if (Files.isDirectory(f)) {
          Files.createDirectories(target);
        } else {
          Files.copy(f, target, StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
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

  // ---------------------------------------------------------------- REST

  @Test
  void scopesAreExactPerMethod() {
    assertThat(SearchServer.scopeOf("GET", "/subjects")).isEqualTo(Scope.BROWSE);
    assertThat(SearchServer.scopeOf("GET", "/subjects/Ann/faces")).isEqualTo(Scope.BROWSE);
    assertThat(SearchServer.scopeOf("DELETE", "/subjects/Ann")).isEqualTo(Scope.DELETE);
    assertThat(SearchServer.scopeOf("DELETE", "/subjects/Ann/faces")).isNull();
    assertThat(SearchServer.scopeOf("GET", "/subjects/Ann")).isNull();
    assertThat(SearchServer.scopeOf("POST", "/subjects")).isNull();
    assertThat(SearchServer.scopeOf("DELETE", "/subjects")).isNull();
    assertThat(SearchServer.scopeOf("GET", "/models")).isEqualTo(Scope.BROWSE);
    assertThat(SearchServer.scopeOf("GET", "/models/v1/plots/loss.png")).isEqualTo(Scope.BROWSE);
    assertThat(SearchServer.scopeOf("POST", "/models")).isNull();
    assertThat(SearchServer.scopeOf("GET", "/models/v1/plots/a/b.png")).isNull();
    assertThat(SearchServer.scopeOf("GET", "/models/v1/config.json")).isNull();
    assertThat(SearchServer.scopeOf("POST", "/enroll")).isEqualTo(Scope.ENROLL);
    assertThat(SearchServer.scopeOf("GET", "/pipeline")).isEqualTo(Scope.BROWSE);
    assertThat(SearchServer.scopeOf("GET", "/pipeline/dead-letters/0/12/thumbnail")).isEqualTo(Scope.BROWSE);
    assertThat(SearchServer.scopeOf("GET", "/pipeline/dead-letters/0/12")).isNull();
    assertThat(SearchServer.scopeOf("GET", "/enroll/0123abcd")).isEqualTo(Scope.ENROLL);
    assertThat(SearchServer.scopeOf("GET", "/enroll")).isNull();
    assertThat(SearchServer.scopeOf("POST", "/enroll/0123abcd")).isNull();
    assertThat(SearchServer.scopeOf("DELETE", "/enroll/0123abcd")).isNull();
    assertThat(SearchServer.scopeOf("GET", "/enroll/a/b")).isNull();
  }

  @Test
  void theConsoleFilesAnswerWithoutAKeyAndItsListingsNeedScopeBrowse() throws Exception {
    for (String file : List.of("/", "/index.html", "/app.css", "/console.js", "/search.js", "/verify.js", "/subjects.js", "/models.js",
        "/enroll.js", "/pipeline.js")) {
      assertThat(get(file, null).statusCode()).as(file).isEqualTo(200);
    }
    String someone = distinct(1, 3).getFileName().toString();
    for (String path : List.of("/subjects", "/subjects/" + someone + "/faces", "/models", "/models/v1/plots/loss.png")) {
      assertThat(get(path, null).statusCode()).as(path + " without a key").isEqualTo(401);
      HttpResponse<String> refused = get(path, verifyOnly);
      assertThat(refused.statusCode()).as(path + " with a verify-only key").isEqualTo(403);
      assertThat(refused.body()).contains("may not browse");
      // a kiosk's search key finds faces in photos; it does not list who is enrolled, the models or the pipeline
      assertThat(get(path, searchOnly).statusCode()).as(path + " with a search-only key").isEqualTo(403);
      assertThat(get(path, KEY).statusCode()).as(path).isEqualTo(200);
    }
    // a browse key (an operator's console) sees the crops too, and searches nothing
    String firstFace = index.facesOf(someone, 1).get(0).id();
    assertThat(get("/faces/" + java.net.URLEncoder.encode(firstFace, java.nio.charset.StandardCharsets.UTF_8).replace("+", "%20") + "/crop",
        browseOnly).statusCode()).isEqualTo(200);
    assertThat(get("/subjects", browseOnly).statusCode()).isEqualTo(200);
    assertThat(get("/pipeline", searchOnly).statusCode()).as("pipeline with a search key").isEqualTo(403);
    // the faces route is no way around the delete scope: DELETE on it does not exist
    assertThat(send("DELETE", "/subjects/" + someone + "/faces", KEY).statusCode()).isEqualTo(404);
    assertThat(index.facesOf(someone, 10)).isNotEmpty();
  }

  @Test
  void badPagingIsRefused() throws Exception {
    for (String query : List.of("limit=0", "limit=201", "limit=-5", "limit=ten", "offset=-1", "offset=x", "limit=1.5")) {
      HttpResponse<String> bad = get("/subjects?" + query, KEY);
      assertThat(bad.statusCode()).as(query).isEqualTo(400);
      assertThat(JSON.readTree(bad.body()).path("error").asText()).as(query).isNotBlank();
    }
    assertThat(get("/subjects?filter=" + "x".repeat(101), KEY).statusCode()).isEqualTo(400);
    String someone = distinct(1, 3).getFileName().toString();
    assertThat(get("/subjects/" + someone + "/faces?limit=0", KEY).statusCode()).isEqualTo(400);
    assertThat(get("/subjects/" + someone + "/faces?limit=201", KEY).statusCode()).isEqualTo(400);
    assertThat(get("/subjects?limit=200&offset=0", KEY).statusCode()).isEqualTo(200);
  }

  @Test
  void subjectsArePagedFilteredAndShowTheirFaces() throws Exception {
    JsonNode all = json(get("/subjects?limit=200", KEY));
    List<String> names = new ArrayList<>();
    all.path("subjects").forEach(s -> names.add(s.path("subject").asText()));
    assertThat(names).isSorted().isNotEmpty();
    assertThat(all.path("total").asLong()).isEqualTo(names.size());
    assertThat(all.path("offset").asInt()).isZero();
    assertThat(all.path("limit").asInt()).isEqualTo(200);
    all.path("subjects").forEach(s -> {
      assertThat(s.path("faces").asLong()).isEqualTo(enrolled.get(s.path("subject").asText()));
      assertThat(s.path("face_id").asText()).startsWith(s.path("subject").asText() + "/");
    });
    assertThat(json(get("/subjects", KEY)).path("limit").asInt()).isEqualTo(50); // the default

    JsonNode page = json(get("/subjects?offset=1&limit=2", KEY));
    assertThat(page.path("subjects")).hasSize(2);
    assertThat(page.path("subjects").get(0).path("subject").asText()).isEqualTo(names.get(1));
    assertThat(page.path("subjects").get(1).path("subject").asText()).isEqualTo(names.get(2));
    assertThat(page.path("total").asLong()).isEqualTo(names.size());

    Path someonesPhotos = distinct(1, 3);
    String someone = someonesPhotos.getFileName().toString();
    JsonNode found = json(get("/subjects?filter=" + someone.toUpperCase(Locale.ROOT), KEY));
    assertThat(found.path("subjects")).hasSize(1);
    assertThat(found.path("total").asLong()).isEqualTo(1);
    assertThat(found.path("subjects").get(0).path("subject").asText()).isEqualTo(someone);
    assertThat(json(get("/subjects?filter=no-such-person-anywhere", KEY)).path("subjects")).isEmpty();

    JsonNode faces = json(get("/subjects/" + someone + "/faces", KEY));
    assertThat(faces.path("subject").asText()).isEqualTo(someone);
    assertThat(faces.path("faces")).hasSize(enrolled.get(someone).intValue());
    for (JsonNode face : faces.path("faces")) {
      assertThat(face.path("image_id").asText()).startsWith(someone + "/");
      assertThat(face.path("box")).hasSize(4);
      // the photo it came from: its source as published, and its publication time when known
      int photo = face.path("image_id").asText().endsWith("/1") ? 1 : 2;
      assertThat(face.path("source").asText()).isEqualTo(someone + "/" + photos(someonesPhotos).get(photo - 1).getFileName());
      if (photo == 1) {
        assertThat(face.path("published_at").asText()).isEqualTo("2025-03-14T09:26:53.589Z");
      } else {
        assertThat(face.path("published_at").isNull()).as("published_at of a photo whose time is not known").isTrue();
      }
      String id = java.net.URLEncoder.encode(face.path("id").asText(), StandardCharsets.UTF_8).replace("+", "%20");
      assertThat(get("/faces/" + id + "/crop", KEY).statusCode()).isEqualTo(200);
    }
    assertThat(json(get("/subjects/no-such-person/faces", KEY)).path("faces")).isEmpty();
  }

  @Test
  void modelsListTheStoreNewestFirstWithCardGateAndPlots() throws Exception {
    JsonNode models = json(get("/models", KEY));
    assertThat(models.path("served").asText()).isEqualTo("reference");
    JsonNode versions = models.path("versions");
    assertThat(versions).hasSize(3);
    assertThat(List.of(versions.get(0).path("version").asText(), versions.get(1).path("version").asText(),
        versions.get(2).path("version").asText())).containsExactly("v3", "v2", "v1");
    JsonNode v3 = versions.get(0);
    assertThat(v3.path("complete").asBoolean()).isFalse();
    assertThat(v3.path("id").isNull()).as("no config, no id").isTrue();
    assertThat(v3.path("card").isObject()).isFalse(); // null: no card yet
    assertThat(v3.path("plots")).isEmpty();
    JsonNode v2 = versions.get(1);
    assertThat(v2.path("complete").asBoolean()).isTrue();
    assertThat(v2.path("gate").path("passed").asBoolean(true)).isFalse();
    assertThat(v2.path("gate").path("reason").asText()).contains("below");
    assertThat(versions.get(1).path("id").asText()).isEqualTo("v2-5be01c3a");
    JsonNode v1 = versions.get(2);
    assertThat(v1.path("complete").asBoolean()).isTrue();
    // the id the committed model serves under (version and weights' checksum), not the folder name
    assertThat(v1.path("id").asText()).isEqualTo(ModelConfig.read(store.resolve("v1")).id()).startsWith("v1-");
    assertThat(v1.path("gate").isObject()).isFalse(); // null: not gated
    // the committed card's own figure, read from the file (not the one the service might invent)
    double committed = JSON.readTree(dir.resolve("store/v1/model-card.json").toFile())
        .path("verification").get(0).path("accuracy").asDouble();
    assertThat(committed).isBetween(0.5, 1.0);
    assertThat(v1.path("card").path("verification").get(0).path("accuracy").asDouble()).isEqualTo(committed);
    assertThat(v1.path("created").asText()).isEqualTo(v1.path("card").path("created").asText());
    List<String> plots = new ArrayList<>();
    v1.path("plots").forEach(p -> plots.add(p.asText()));
    assertThat(plots).containsExactly("loss.png", "accuracy.png", "learning-rate.png", "roc-lfw.png"); // no link.png
    assertThat(shelf.refusedByGate()).isEqualTo(1);

    HttpResponse<byte[]> loss = getBytes("/models/v1/plots/loss.png", KEY);
    assertThat(loss.statusCode()).isEqualTo(200);
    assertThat(loss.headers().firstValue("Content-Type").orElse("")).startsWith("image/png");
    assertThat(loss.body()).isEqualTo(Files.readAllBytes(store.resolve("v1/plots/loss.png")));
    assertThat(get("/models/v1/plots/nope.png", KEY).statusCode()).isEqualTo(404);
    assertThat(get("/models/v9/plots/loss.png", KEY).statusCode()).isEqualTo(404);
    assertThat(get("/models/v3/plots/loss.png", KEY).statusCode()).isEqualTo(404);
  }

  /** Whatever the path, the plots route reads nothing outside a version's plots folder. */
  @Test
  void plotsCannotLeaveThePlotsFolder() throws Exception {
    for (String path : List.of(
        "/models/v1/plots/..%2Fconfig.json",
        "/models/v1/plots/..%2F..%2Fsecret.png",
        "/models/v1/plots/..%2F..%2F..%2Foutside.png",
        "/models/v1/plots/%2E%2E%2Fmodel-card.json",
        "/models/v1/plots/..%5C..%5Csecret.png",
        "/models/v1/plots/link.png",
        "/models/v1/plots/LOSS.png",
        "/models/v1/plots/loss.png%00.txt",
        "/models/..%2F..%2Foutside/plots/loss.png",
        "/models/..%2Fstore/plots/secret.png",
        "/models/%2E%2E/plots/secret.png",
        "/models/v1/plots/%2Fetc%2Fpasswd",
        "/models/v1/plots/secret.png")) {
      HttpResponse<String> answer = get(path, KEY);
      assertThat(answer.statusCode()).as(path).isIn(400, 404);
      assertThat(answer.body()).as(path).doesNotContain(SECRET).doesNotContain("checksum").doesNotContain("root:");
    }
  }

  // ---------------------------------------------------------------- the page

  @Test
  void subjectsTabFindsAPersonSearchFindsThemAndAfterTheirDeletionNeither() throws Exception {
    Path person = distinct(3, people.size());
    String who = person.getFileName().toString();
    long faces = enrolled.get(who);
    Path probe = photos(person).get(2); // never enrolled
    WebDriver browser = browser();
    try {
      WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(30));
      browser.get(base + "/");
      browser.findElement(By.id("key")).sendKeys(KEY);

      // Subjects: filter to the person, their face count and thumbnail, then their faces
      browser.findElement(By.id("tab-subjects")).click();
      wait.until(d -> d.findElement(By.id("panel-subjects")).isDisplayed() && !d.findElements(By.cssSelector("#subjects-list .subject")).isEmpty());
      String typed = who.toLowerCase(Locale.ROOT);
      browser.findElement(By.id("subjects-filter")).sendKeys(typed);
      // the list of the whole filter (not of a part typed so far): its status names it
      wait.until(d -> d.findElement(By.id("subjects-status")).getText().contains("whose name contains \"" + typed + "\"")
          && shown(d).equals(List.of(who)));
      assertThat(browser.findElement(By.id("subjects-status")).getText()).startsWith("1 person");
      WebElement row = browser.findElement(By.cssSelector("#subjects-list .subject"));
      assertThat(row.findElement(By.className("subject-name")).getText()).isEqualTo(who);
      assertThat(row.findElement(By.className("subject-faces")).getText()).isEqualTo(faces + (faces == 1 ? " face" : " faces"));
      wait.until(d -> naturalWidth(d, row.findElement(By.className("subject-thumb"))) == 112);
      row.findElement(By.className("subject-open")).click();
      wait.until(d -> d.findElement(By.id("subject-detail")).isDisplayed()
          && d.findElements(By.cssSelector("#subject-faces .subject-face img")).size() == faces
          && d.findElements(By.cssSelector("#subject-faces .subject-face img")).stream().allMatch(img -> naturalWidth(d, img) == 112));
      assertThat(browser.findElement(By.id("subject-name")).getText()).isEqualTo(who);
      assertThat(browser.findElements(By.cssSelector("#subject-faces figcaption")))
          .allSatisfy(c -> {
            // a line each: the photo it came from, when it was published (the first photo's time, to
            // the second in UTC as the Pipeline tab writes times; the second's is not known), the face
            int photo = c.getText().contains("\nimage " + who + "/1,") ? 1 : 2;
            assertThat(c.getText()).startsWith("from " + who + "/" + photos(person).get(photo - 1).getFileName() + "\n"
                + (photo == 1 ? "published 2025-03-14 09:26:53 UTC\n" : "") + "image " + who + "/" + photo + ", face 0, box ");
          });
      screenshot(browser, "subjects");

      // Search: the probe photo finds them
      browser.findElement(By.id("tab-search")).click();
      WebElement name = search(browser, wait, probe);
      assertThat(name.getText()).isEqualTo("face 1: " + who);
      assertThat(browser.findElement(By.id("panel-subjects")).isDisplayed()).isFalse();
      assertThat(browser.getCurrentUrl()).endsWith("#search");
      wait.until(d -> d.findElements(By.cssSelector(".match img")).stream().allMatch(img -> naturalWidth(d, img) == 112));
      screenshot(browser, "search");

      // Subjects again: the key, the filter and the person's faces are still there (one page); delete
      // after the confirmation
      browser.findElement(By.id("tab-subjects")).click();
      wait.until(d -> d.findElement(By.id("subject-detail")).isDisplayed()
          && d.findElement(By.id("subject-name")).getText().equals(who)
          && d.findElement(By.id("subject-summary")).getText().contains("in the index of model reference"));
      assertThat(browser.findElement(By.id("subjects-filter")).getDomProperty("value")).isEqualTo(typed);
      browser.findElement(By.id("subject-delete")).click();
      Alert confirm = wait.until(ExpectedConditions.alertIsPresent());
      assertThat(confirm.getText()).contains("all " + faces + (faces == 1 ? " face" : " faces") + " of " + who)
          .contains("every model version's index, vectors and crops").contains("tombstone")
          // no Kafka here: the retention is not known, and the confirmation says so rather than "nothing stays"
          .contains("photos already in Kafka topics stay there until their retention ends")
          .contains("their retention could not be read: the pipeline view is not configured for this service (no Kafka)")
          .contains("blob store").contains("training shards already cut");
      confirm.accept();
      wait.until(d -> d.findElement(By.id("subjects-result")).getText().startsWith("Deleted " + who + ": " + faces));
      wait.until(d -> shown(d).isEmpty() && d.findElement(By.id("subjects-status")).getText().startsWith("nobody whose name contains"));
      assertThat(browser.findElement(By.id("subject-detail")).isDisplayed()).isFalse();
      WebElement filter = browser.findElement(By.id("subjects-filter"));
      filter.clear();
      filter.sendKeys(Keys.ENTER);
      List<String> others = people.stream().map(p -> p.getFileName().toString()).filter(n -> !n.equals(who) && enrolled.containsKey(n))
          .sorted().toList();
      wait.until(d -> shown(d).equals(others));
      assertThat(index.facesOf(who, 10)).isEmpty();

      // Search again: the same photo no longer finds them
      browser.findElement(By.id("tab-search")).click();
      WebElement after = search(browser, wait, probe);
      assertThat(after.getText()).isNotEqualTo("face 1: " + who);
      assertThat(browser.findElements(By.cssSelector(".match"))).noneMatch(m -> m.getText().startsWith(who + " "));
    } finally {
      browser.quit();
    }
  }

  @Test
  void verifyTabTellsOnePersonFromTwo() throws Exception {
    Path a = photos(people.get(0)).get(0);
    Path sameAsA = photos(people.get(0)).get(2);
    Path other = photos(people.get(5)).get(0);
    WebDriver browser = browser();
    try {
      WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(30));
      browser.get(base + "/");
      browser.findElement(By.id("key")).sendKeys(KEY);
      browser.findElement(By.id("tab-verify")).click();
      wait.until(d -> d.findElement(By.id("panel-verify")).isDisplayed());
      browser.findElement(By.id("verify-a")).sendKeys(a.toAbsolutePath().toString());
      browser.findElement(By.id("verify-b")).sendKeys(sameAsA.toAbsolutePath().toString());
      browser.findElement(By.id("verify-run")).click();
      wait.until(d -> d.findElement(By.id("verify-result")).isDisplayed());
      assertThat(browser.findElement(By.id("verify-verdict")).getText()).isEqualTo("Same person");
      assertThat(browser.findElement(By.id("verify-why")).getText())
          .matches("similarity -?\\d\\.\\d{3} >= threshold 0\\.300 \\(the model's 1:1 best-accuracy threshold\\), model reference");
      wait.until(d -> naturalWidth(d, d.findElement(By.id("verify-a-preview"))) > 0
          && naturalWidth(d, d.findElement(By.id("verify-b-preview"))) > 0);
      screenshot(browser, "verify");

      browser.findElement(By.id("verify-b")).sendKeys(other.toAbsolutePath().toString());
      browser.findElement(By.id("verify-run")).click();
      wait.until(d -> d.findElement(By.id("verify-result")).isDisplayed()
          && d.findElement(By.id("verify-verdict")).getText().equals("Different people"));
      assertThat(browser.findElement(By.id("verify-why")).getText())
          .matches("similarity -?\\d\\.\\d{3} < threshold 0\\.300 \\(the model's 1:1 best-accuracy threshold\\), model reference");
    } finally {
      browser.quit();
    }
  }

  @Test
  void modelsTabShowsEveryVersionWithItsCardGateAndPlots() throws Exception {
    JsonNode card = JSON.readTree(store.resolve("v1/model-card.json").toFile());
    String accuracy = String.format(Locale.ROOT, "LFW accuracy %.2f%%", 100 * card.path("verification").get(0).path("accuracy").asDouble());
    WebDriver browser = browser();
    try {
      WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(30));
      browser.get(base + "/");
      browser.findElement(By.id("key")).sendKeys(KEY);
      browser.findElement(By.id("tab-models")).click();
      wait.until(d -> d.findElements(By.cssSelector("#models-list .model")).size() == 3);
      List<String> order = browser.findElements(By.cssSelector("#models-list .model")).stream()
          .map(m -> m.getDomAttribute("data-version")).toList();
      assertThat(order).containsExactly("v3", "v2", "v1");
      assertThat(browser.findElement(By.id("models-served")).getText()).isEqualTo("Served now: model reference");
      WebElement v1 = browser.findElement(By.cssSelector("#models-list .model[data-version='v1']"));
      assertThat(v1.findElement(By.className("card-lfw")).getText()).startsWith(accuracy).contains("\u00b1");
      // the committed model's own card (v1 is its copy): the page shows what the card says
      JsonNode lfw = card.path("verification").get(0);
      JsonNode training = card.path("training");
      assertThat(v1.findElement(By.className("card-tar")).getText())
          .startsWith(String.format(Locale.ROOT, "TAR@FAR1e-3 %.2f%%", 100 * lfw.path("tar_at_far_1e-3").asDouble()));
      assertThat(v1.findElement(By.className("card-threshold")).getText())
          .startsWith(String.format(Locale.ROOT, "threshold %.4f", card.path("threshold").asDouble()));
      assertThat(v1.findElement(By.className("card-training")).getText())
          .contains(training.path("images").asLong() + " images")
          .contains(training.path("epochs").asInt() + " epochs")
          .contains(Math.round(training.path("seconds").asDouble() / 60) + " minutes");
      assertThat(v1.findElement(By.className("card-command")).getText()).contains("mfn train");
      assertThat(v1.findElements(By.className("model-gate"))).isEmpty();
      WebElement v2 = browser.findElement(By.cssSelector("#models-list .model[data-version='v2']"));
      assertThat(v2.findElement(By.className("model-gate")).getText()).startsWith("Refused by the gate: verification accuracy");
      assertThat(v2.findElement(By.className("card-lfw")).getText()).startsWith("LFW accuracy 70.00%");
      WebElement v3 = browser.findElement(By.cssSelector("#models-list .model[data-version='v3']"));
      assertThat(v3.findElement(By.className("model-title")).getText()).contains("incomplete");
      assertThat(v3.findElement(By.className("card-missing")).getText()).isEqualTo("no model card");
      // every plot image has loaded (through the key: blob URLs)
      wait.until(d -> {
        List<WebElement> images = d.findElements(By.cssSelector("#models-list img.plot-image"));
        return images.size() == 8 && images.stream().allMatch(img -> naturalWidth(d, img) > 0);
      });
      screenshot(browser, "models");

      // the retrain form: this service has no trigger, and the answer says so
      browser.findElement(By.id("retrain-reason")).sendKeys("console test");
      browser.findElement(By.id("retrain-epochs")).sendKeys("2");
      browser.findElement(By.id("retrain-submit")).click();
      wait.until(d -> d.findElement(By.id("retrain-result")).getText().startsWith("not queued: retraining is not configured"));
      assertThat(browser.getCurrentUrl()).endsWith("#models"); // the form did not navigate
    } finally {
      browser.quit();
    }
  }

  /**
   * The "served" badge goes on the version whose id (v1-5ba27732 for models/default) the service
   * serves: the page once compared the folder name (v1), which no store model's id equals.
   */
  @Test
  void theServedBadgeMarksTheVersionWhoseIdIsServed() throws Exception {
    String v1Id = ModelConfig.read(store.resolve("v1")).id();
    SearchService servingV1 = new SearchService(search, verifier, index, v1Id, 0.3);
    try (SearchServer second = new SearchServer(servingV1, ApiKeys.fileAnd(dir.resolve("keys-badge.json"), new ApiKey(KEY)),
        ServerOptions.defaults().withRate(0, 0), null, AuditTrail.NONE).withModels(shelf).start("127.0.0.1", 0)) {
      WebDriver browser = browser();
      try {
        WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(30));
        browser.get("http://127.0.0.1:" + second.port() + "/");
        browser.findElement(By.id("key")).sendKeys(KEY);
        browser.findElement(By.id("tab-models")).click();
        wait.until(d -> d.findElements(By.cssSelector("#models-list .model")).size() == 3);
        assertThat(browser.findElement(By.id("models-served")).getText()).isEqualTo("Served now: model " + v1Id);
        List<String> badged = browser.findElements(By.cssSelector("#models-list .model")).stream()
            .filter(m -> !m.findElements(By.cssSelector(".model-title .badge.served")).isEmpty())
            .map(m -> m.getDomAttribute("data-version")).toList();
        assertThat(badged).containsExactly("v1");
      } finally {
        browser.quit();
      }
    }
  }

  // ---------------------------------------------------------------- helpers

  /** Chooses the photo on the Search tab and waits for its answer; returns the first face's name. */
  private static WebElement search(WebDriver browser, WebDriverWait wait, Path photo) {
    wait.until(d -> d.findElement(By.id("panel-search")).isDisplayed());
    // the last answer's faces go first, so that the wait below sees only this one's
    ((JavascriptExecutor) browser).executeScript(
        "document.getElementById('results').replaceChildren(); document.getElementById('status').textContent = '';");
    browser.findElement(By.id("file")).sendKeys(photo.toAbsolutePath().toString());
    wait.until(d -> d.findElement(By.id("status")).getText().contains("face(s); model reference"));
    return wait.until(d -> d.findElements(By.className("face-name")).stream().findFirst().orElse(null));
  }

  /**
   * The first person of {@code people.subList(from, to)} whose name no other name contains (in any
   * case): filtering by it finds them alone. The REST tests look in 1..2, the page's deletion from
   * 3 on: never the same person.
   */
  private static Path distinct(int from, int to) {
    for (Path p : people.subList(from, to)) {
      String name = p.getFileName().toString().toLowerCase(Locale.ROOT);
      if (enrolled.containsKey(p.getFileName().toString()) && people.stream().filter(o -> o != p)
          .noneMatch(o -> o.getFileName().toString().toLowerCase(Locale.ROOT).contains(name))) {
        return p;
      }
    }
    throw new IllegalStateException("no person from " + from + " to " + to + " with a name of their own");
  }

  /** The subjects the list shows now, read in one step (the list may be redrawn meanwhile). */
  @SuppressWarnings("unchecked")
  private static List<String> shown(WebDriver browser) {
    return (List<String>) ((JavascriptExecutor) browser).executeScript(
        "return Array.from(document.querySelectorAll('#subjects-list .subject')).map(e => e.dataset.subject);");
  }

  private static WebDriver browser() {
    Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/chromium")) && Files.isExecutable(Path.of("/usr/bin/chromedriver")),
        "needs Debian's chromium and chromium-driver (.ci/run installs them)");
    ChromeOptions options = new ChromeOptions();
    options.setBinary("/usr/bin/chromium");
    options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1800");
    ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(new java.io.File("/usr/bin/chromedriver")).build();
    return new ChromeDriver(service, options);
  }

  private static long naturalWidth(WebDriver browser, WebElement img) {
    return Long.parseLong(String.valueOf(((JavascriptExecutor) browser).executeScript("return arguments[0].naturalWidth", img)));
  }

  /**
   * The tab as it is, and a copy with every photo blurred past recognition ({@code
   * <tab>-blurred.png}): LFW photos never go into the repository, the blurred copies are the
   * README's pictures of the tabs that show faces.
   */
  private static void screenshot(WebDriver browser, String tab) throws IOException {
    Files.createDirectories(SCREENSHOTS);
    Files.write(SCREENSHOTS.resolve(tab + ".png"), ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));
    JavascriptExecutor js = (JavascriptExecutor) browser;
    js.executeScript("document.querySelectorAll('img').forEach(i => { i.dataset.filter = i.style.filter; i.style.filter = 'blur(24px)'; });");
    try {
      Files.write(SCREENSHOTS.resolve(tab + "-blurred.png"), ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));
    } finally {
      js.executeScript("document.querySelectorAll('img').forEach(i => { i.style.filter = i.dataset.filter || ''; delete i.dataset.filter; });");
    }
  }

  private static JsonNode json(HttpResponse<String> response) throws IOException {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return JSON.readTree(response.body());
  }

  private static HttpResponse<String> get(String path, String key) throws Exception {
    return send("GET", path, key);
  }

  private static HttpResponse<String> send(String method, String path, String key) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).method(method, HttpRequest.BodyPublishers.noBody());
    if (key != null) {
      b.header(ApiKey.HEADER, key);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<byte[]> getBytes(String path, String key) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).GET();
    if (key != null) {
      b.header(ApiKey.HEADER, key);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  private static List<Path> photos(Path person) {
    try (Stream<Path> files = Files.list(person)) {
      return files.sorted().toList();
    } catch (IOException e) {
      return List.of();
    }
  }
}
