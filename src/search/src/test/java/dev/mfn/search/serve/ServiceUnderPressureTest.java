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
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The service as a hostile or careless client meets it: chunked uploads without a length, huge
 * {@code k}, keys of the wrong scope, a revoked key, a key that floods, large photos that keep
 * every model worker busy while Kubernetes probes /health, error bodies that must not leak
 * internals, the page's headers, TLS. Real index, real detector and model, real HTTP.
 */
class ServiceUnderPressureTest {
  private static final long MAX_UPLOAD = 2_000_000;
  private static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  @TempDir static Path dir;
  static List<Path> people;
  static List<AutoCloseable> resources = new ArrayList<>();
  static LuceneVectorIndex index;
  static SearchServer server;
  static SearchService service;
  static String base;
  static ApiKeys keys;
  static String admin;
  static String searchOnly;
  static String flooder;
  static final List<String> audited = Collections.synchronizedList(new ArrayList<>());
  static final AtomicBoolean auditDown = new AtomicBoolean();

  @BeforeAll
  static void start() throws Exception {
    Path lfw = SharedData.require("data/lfw/images");
    Path model = SharedData.require("models/reference/MobileFaceNet_paddlex.onnx");
    try (Stream<Path> all = Files.list(lfw)) {
      people = all.sorted().filter(p -> photos(p).size() >= 2).limit(6).toList();
    }
    index = new LuceneVectorIndex(dir.resolve("index"), "reference");
    List<SearchService.Worker> workers = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      FaceCropper cropper = cropper();
      OnnxEmbedder embedder = new OnnxEmbedder(model, CropTensor.REFERENCE);
      resources.add(embedder);
      resources.add(cropper);
      PhotoEmbedder photos = new PhotoEmbedder(cropper, embedder, true, false, 16);
      if (i == 0) {
        List<FaceEmbedStage.Photo> gallery = new ArrayList<>();
        for (Path p : people) {
          String name = p.getFileName().toString();
          gallery.add(new FaceEmbedStage.Photo(name + "/1", name, Files.readAllBytes(photos(p).get(0))));
        }
        index.upsert(new FaceEmbedStage(cropper, photos, "reference", FaceEmbedStage.Faces.CHOSEN).embed(gallery).documents());
      }
      workers.add(new SearchService.Worker(
          new FaceSearch(new FaceEmbedStage(cropper, photos, "reference", FaceEmbedStage.Faces.ALL), index, 0.3),
          new FaceVerifier(photos, 0.3)));
    }
    service = new SearchService(
        new SearchService.Served("reference", workers, index, 0.3, "given", 0.3, null),
        index::deleteSubject, subject -> {}, Duration.ofSeconds(30));
    keys = ApiKeys.file(dir.resolve("keys.json"));
    admin = keys.create("ops", EnumSet.allOf(Scope.class)).key();
    searchOnly = keys.create("kiosk", EnumSet.of(Scope.SEARCH)).key();
    flooder = keys.create("flood", EnumSet.of(Scope.SEARCH)).key();
    RetrainTrigger failing = r -> {
      throw new IllegalStateException("connection to kafka-internal.corp:9092 refused (secret-detail)");
    };
    AuditTrail audit = (key, action, target, detail) -> {
      if (auditDown.get()) {
        throw new IOException("audit topic unreachable");
      }
      audited.add(key + " " + action + " " + target);
    };
    // a generous rate for most keys; the flooder's bucket is tested below on its own
    server = new SearchServer(service, keys, ServerOptions.defaults().withMaxUploadBytes(MAX_UPLOAD).withRate(5, 20),
        failing, audit).start("127.0.0.1", 0);
    base = "http://127.0.0.1:" + server.port();
  }

  @AfterAll
  static void stop() throws Exception {
    if (server != null) {
      server.close();
    }
    if (index != null) {
      index.close();
    }
    for (AutoCloseable r : resources) {
      r.close();
    }
  }

  @Test
  void aChunkedUploadWithoutALengthIsCutOffAtTheLimit() throws Exception {
    // 64 MB, streamed in chunks (no Content-Length): counted while read, refused, never buffered whole
    long sent = 64L << 20;
    HttpRequest request = HttpRequest.newBuilder(URI.create(base + "/search"))
        .header("Content-Type", "multipart/form-data; boundary=" + BOUNDARY).header(ApiKey.HEADER, admin)
        .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new MultipartStream(sent))).build();
    HttpResponse<String> response;
    try {
      response = http.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException closedEarly) {
      // the server may close the connection as soon as it has answered 413: that is a refusal too
      assertThat(closedEarly.getMessage()).isNotNull();
      return;
    }
    assertThat(response.statusCode()).as(response.body()).isEqualTo(413);
    assertThat(response.body()).contains("larger than " + MAX_UPLOAD);
    // a declared length over the limit is refused before a byte is read
    assertThat(post("/search", admin, "photo", new byte[(int) MAX_UPLOAD + 10]).statusCode()).isEqualTo(413);
  }

  @Test
  void aRefusedUploadIsHeardAndTheConnectionSurvivesIt() throws Exception {
    // the client sends its whole body without asking first, as most do; the refusal is decided on the
    // declared length while the second half is still to come. Answering then and closing made the
    // client's next bytes meet a reset, which can destroy the 413 before it is read (CI saw "header
    // parser received no bytes"): the server reads the body first, and the connection stays usable
    int length = (int) MAX_UPLOAD + 500_000;
    try (RawHttp client = new RawHttp(base)) {
      client.send("POST /search HTTP/1.1\r\nHost: test\r\n" + ApiKey.HEADER + ": " + admin
          + "\r\nContent-Type: application/octet-stream\r\nContent-Length: " + length + "\r\n\r\n");
      client.send(new byte[length / 2]);
      // refused and being drained: only now does the rest come
      Awaitility.await("the refusal's drain").atMost(Duration.ofSeconds(4)).pollInterval(Duration.ofMillis(10))
          .until(() -> server.drainsInProgress() == 1);
      client.send(new byte[length - length / 2]);
      RawHttp.Answer refused = client.read();
      assertThat(refused.status()).as(refused.statusLine()).isEqualTo(413);
      assertThat(refused.body()).contains("larger than " + MAX_UPLOAD);
      assertThat(refused.closesTheConnection()).as(refused.headers()).isFalse();
      RawHttp.Answer next = client.send("GET /health HTTP/1.1\r\nHost: test\r\n\r\n").read();
      assertThat(next.status()).as("the same connection, next request").isEqualTo(200);
    }
  }

  @Test
  void aClientThatAsksFirstIsRefusedBeforeSendingItsBody() throws Exception {
    // Expect: 100-continue: reading the body would ask for it (a 100); the refusal must come instead
    try (RawHttp client = new RawHttp(base)) {
      RawHttp.Answer refused = client.send("POST /search HTTP/1.1\r\nHost: test\r\n" + ApiKey.HEADER + ": " + admin
          + "\r\nContent-Type: application/octet-stream\r\nExpect: 100-continue\r\nContent-Length: " + (MAX_UPLOAD + 1) + "\r\n\r\n").read();
      assertThat(refused.status()).as(refused.statusLine()).isEqualTo(413);
    }
  }

  @Test
  void aSlowRefusedBodyIsWaitedForBrieflyOnly() throws Exception {
    // no key, a declared 1 MB of which 100 kB come and then nothing: the 401 goes out once the
    // drain's budget is spent (and the connection closes), not after Jetty's 30 s idle timeout
    try (RawHttp client = new RawHttp(base)) {
      client.send("POST /search HTTP/1.1\r\nHost: test\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n");
      long start = System.nanoTime();
      RawHttp.Answer refused = client.send(new byte[100_000]).read();
      double seconds = (System.nanoTime() - start) / 1e9;
      assertThat(refused.status()).isEqualTo(401);
      assertThat(seconds).as("seconds until the refusal").isBetween(RefusedUpload.BUDGET.toSeconds() - 1.0, RefusedUpload.BUDGET.toSeconds() + 10.0);
      // the rest of that body must never be read as a next request: the connection is closed
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> client.send("GET /health HTTP/1.1\r\nHost: test\r\n\r\n").read())
          .isInstanceOf(IOException.class);
    }
  }

  @Test
  void slowRefusedBodiesCannotHoldMoreThanAFewThreads() throws Exception {
    // RefusedUpload.AT_ONCE clients without a key trickle their bodies: each holds a drain (and a
    // thread) for up to its budget; the next one is answered at once, without its body being read
    String head = "POST /search HTTP/1.1\r\nHost: test\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n";
    List<RawHttp> holding = new ArrayList<>();
    try {
      for (int i = 0; i < RefusedUpload.AT_ONCE; i++) {
        holding.add(new RawHttp(base).send(head).send(new byte[10_000]));
      }
      Awaitility.await("every one of them drained").atMost(Duration.ofSeconds(4)).pollInterval(Duration.ofMillis(10))
          .until(() -> server.drainsInProgress() == RefusedUpload.AT_ONCE);
      try (RawHttp next = new RawHttp(base)) {
        long start = System.nanoTime();
        RawHttp.Answer refused = next.send(head).send(new byte[10_000]).read();
        double seconds = (System.nanoTime() - start) / 1e9;
        assertThat(refused.status()).isEqualTo(401);
        assertThat(seconds).as("seconds until the refusal, with every drain taken").isLessThan(2.0);
      }
    } finally {
      for (RawHttp h : holding) {
        h.close(); // their drains end at once (the body fails), well before the budget
      }
    }
  }

  @Test
  void kIsBounded() throws Exception {
    byte[] probe = Files.readAllBytes(photos(people.get(1)).get(1));
    for (String k : List.of("0", "-1", "101", "2147483647", "99999999999", "abc", "")) {
      HttpResponse<String> r = post("/search?k=" + k, admin, "photo", probe);
      assertThat(r.statusCode()).as("k=" + k + ": " + r.body()).isEqualTo(400);
      assertThat(r.body()).contains("k is a whole number from 1 to 100");
    }
    assertThat(post("/search?k=100", admin, "photo", probe).statusCode()).isEqualTo(200);
  }

  @Test
  void keysHaveScopesAndARevokedKeyStopsWorkingAtOnce() throws Exception {
    byte[] probe = Files.readAllBytes(photos(people.get(1)).get(1));
    HttpResponse<String> found = post("/search?k=2", searchOnly, "photo", probe);
    assertThat(found.statusCode()).as(found.body()).isEqualTo(200);
    assertThat(new ObjectMapper().readTree(found.body()).path("faces").get(0).path("subject").asText())
        .isEqualTo(people.get(1).getFileName().toString());
    HttpResponse<String> delete = send("DELETE", "/subjects/" + people.get(0).getFileName(), searchOnly);
    assertThat(delete.statusCode()).isEqualTo(403);
    assertThat(delete.body()).contains("may not delete");
    assertThat(json("/retrain", searchOnly, "{}").statusCode()).isEqualTo(403);
    // the router also serves "/retrain/" and "//retrain": so does the scope check
    assertThat(json("/retrain/", searchOnly, "{}").statusCode()).isEqualTo(403);
    assertThat(json("//retrain", searchOnly, "{}").statusCode()).isEqualTo(403);
    assertThat(post2("/verify/", searchOnly, probe, probe).statusCode()).isEqualTo(403);
    assertThat(send("GET", "/nothing-here", searchOnly).statusCode()).isEqualTo(404); // deny by default
    assertThat(post2("/verify", searchOnly, probe, probe).statusCode()).isEqualTo(403);
    String kept = people.get(0).getFileName().toString();
    assertThat(index.search(unit(), 10)).anyMatch(h -> h.subject().equals(kept)); // the refused deletion removed nothing

    // the key file holds hashes only: no key can be read back from it
    String stored = Files.readString(dir.resolve("keys.json"));
    assertThat(stored).doesNotContain(searchOnly).doesNotContain(admin)
        .doesNotContain(searchOnly.substring(searchOnly.lastIndexOf('_') + 1));
    assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("keys.json"))))
        .isEqualTo("rw-------");

    ApiKeys.Created temporary = keys.create("temp", EnumSet.of(Scope.SEARCH));
    assertThat(post("/search?k=1", temporary.key(), "photo", probe).statusCode()).isEqualTo(200);
    assertThat(keys.revoke(temporary.entry().id())).isTrue();
    HttpResponse<String> revoked = post("/search?k=1", temporary.key(), "photo", probe);
    assertThat(revoked.statusCode()).isEqualTo(401);
    assertThat(revoked.body()).contains("revoked");
  }

  @Test
  void aFloodingKeyGets429WithRetryAfterAndOthersAreNotSlowed() throws Exception {
    int refused = 0;
    String retryAfter = null;
    for (int i = 0; i < 40; i++) {
      HttpResponse<String> r = send("GET", "/faces/none/crop", flooder);
      if (r.statusCode() == 429) {
        refused++;
        retryAfter = r.headers().firstValue("Retry-After").orElse(null);
      } else {
        assertThat(r.statusCode()).isEqualTo(404);
      }
    }
    // a burst of 20 goes through, then at most a few refills: most of the other 20 are refused
    assertThat(refused).isBetween(10, 20);
    assertThat(retryAfter).isNotNull();
    assertThat(Integer.parseInt(retryAfter)).isPositive();
    assertThat(send("GET", "/faces/none/crop", admin).statusCode()).isEqualTo(404); // another key's bucket
    assertThat(get("/health").statusCode()).isEqualTo(200); // health is never limited
  }

  @Test
  void healthAnswersAtOnceWhileEveryWorkerIsBusy() throws Exception {
    // a large photo (the person in a 4000 x 4000 frame) keeps a worker busy for a while
    byte[] large = largePhoto(photos(people.get(2)).get(1), 4000);
    ExecutorService clients = Executors.newFixedThreadPool(6);
    try {
      List<Future<HttpResponse<String>>> searches = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        searches.add(clients.submit(() -> post("/search?k=1", admin, "photo", large)));
      }
      long slowest = 0;
      int sawAllBusy = 0;
      while (searches.stream().anyMatch(f -> !f.isDone())) {
        long t0 = System.nanoTime();
        HttpResponse<String> health = get("/health");
        slowest = Math.max(slowest, (System.nanoTime() - t0) / 1_000_000);
        assertThat(health.statusCode()).isEqualTo(200);
        if (new ObjectMapper().readTree(health.body()).path("workers_idle").asInt() == 0) {
          sawAllBusy++;
        }
      }
      for (var f : searches) {
        HttpResponse<String> r = f.get();
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(new ObjectMapper().readTree(r.body()).path("faces").get(0).path("subject").asText())
            .isEqualTo(people.get(2).getFileName().toString());
      }
      assertThat(sawAllBusy).as("health was asked while both workers were busy").isPositive();
      // the liveness probe's timeout is 1 s: health never waited for the searches
      assertThat(slowest).isLessThan(500);
    } finally {
      clients.shutdownNow();
    }
  }

  @Test
  void everyHostileKindIsAFaceOrA422WithItsReasonOnBothEndpoints() throws Exception {
    List<dev.mfn.testkit.HostileCorpus.Kind> corpus = dev.mfn.testkit.HostileCorpus.build(
        SharedData.require("data/lfw/images/Aaron_Eckhart/Aaron_Eckhart_0001.jpg"), dev.mfn.face.decode.WebpEncoder::encode);
    byte[] good = Files.readAllBytes(SharedData.require("data/lfw/images/Aaron_Eckhart/Aaron_Eckhart_0001.jpg"));
    // the service's defaults (16 MB uploads), no rate limit: 92 requests in a row
    try (SearchServer open = new SearchServer(service, keys, ServerOptions.defaults().withRate(0, 0), null, AuditTrail.NONE)
        .start("127.0.0.1", 0)) {
      String at = "http://127.0.0.1:" + open.port();
      List<String> wrong = new ArrayList<>();
      for (var kind : corpus) {
        HttpResponse<String> search = multipartTo(at + "/search?k=1", admin, List.of("photo"), List.of(kind.bytes()));
        HttpResponse<String> verify = multipartTo(at + "/verify", admin, List.of("a", "b"), List.of(good, kind.bytes()));
        for (var r : List.of(search, verify)) {
          String endpoint = r.request().uri().getPath();
          if (kind.faceExpected()) {
            if (r.statusCode() != 200) {
              wrong.add(endpoint + " " + kind + ": " + r.statusCode() + " " + r.body());
            }
          } else {
            String reason = r.statusCode() == 422 ? new ObjectMapper().readTree(r.body()).path("reason").asText() : null;
            if (!kind.reasons().contains(reason)) {
              wrong.add(endpoint + " " + kind + ": " + r.statusCode() + " " + r.body() + ", expected 422 with " + kind.reasons());
            }
          }
        }
      }
      assertThat(wrong).isEmpty();
    }
  }

  @Test
  void errorBodiesSayWhyWithoutInternals() throws Exception {
    HttpResponse<String> garbage = post("/search", admin, "photo", "<html><script>x</script>".getBytes());
    assertThat(garbage.statusCode()).isEqualTo(422);
    assertThat(new ObjectMapper().readTree(garbage.body()).path("reason").asText()).isEqualTo("NOT_AN_IMAGE");
    HttpResponse<String> retrain = json("/retrain", admin, "{\"reason\": \"weekly\"}");
    assertThat(retrain.statusCode()).isEqualTo(503);
    assertThat(retrain.body()).contains("could not queue the request").contains("incident")
        .doesNotContain("kafka-internal").doesNotContain("secret-detail").doesNotContain("Exception");
    assertThat(audited).anyMatch(a -> a.endsWith(" retrain training"));
    HttpResponse<String> notJson = json("/retrain", admin, "{not json");
    assertThat(notJson.statusCode()).isEqualTo(400);
    assertThat(notJson.body()).doesNotContain("Exception").doesNotContain("jackson");
    HttpResponse<String> noField = post("/search", admin, "wrong-field", new byte[] {1});
    assertThat(noField.statusCode()).isEqualTo(400);
  }

  @Test
  void deletionsAreAuditedFirstAndRefusedWhenTheAuditCannotBeWritten() throws Exception {
    String subject = people.get(5).getFileName().toString();
    auditDown.set(true);
    HttpResponse<String> refused = send("DELETE", "/subjects/" + subject, admin);
    auditDown.set(false);
    assertThat(refused.statusCode()).isEqualTo(503);
    assertThat(refused.body()).contains("audit").doesNotContain("unreachable");
    assertThat(index.search(unit(), 10)).anyMatch(h -> h.subject().equals(subject));
    HttpResponse<String> deleted = send("DELETE", "/subjects/" + subject, admin);
    assertThat(deleted.statusCode()).as(deleted.body()).isEqualTo(200);
    String adminId = admin.split("_")[1];
    assertThat(audited).contains(adminId + " delete " + subject);
    assertThat(index.search(unit(), 10)).noneMatch(h -> h.subject().equals(subject));
  }

  @Test
  void thePageSendsSecurityHeadersAndKeepsTheKeyInMemory() throws Exception {
    HttpResponse<String> page = get("/");
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.headers().firstValue("Content-Security-Policy").orElse("")).contains("default-src 'none'")
        .contains("script-src 'self'").doesNotContain("unsafe-inline").contains("frame-ancestors 'none'");
    assertThat(page.headers().firstValue("X-Content-Type-Options")).contains("nosniff");
    assertThat(page.headers().firstValue("X-Frame-Options")).contains("DENY");
    assertThat(page.body()).doesNotContain("<script>").doesNotContain("style="); // no inline script or style: the policy forbids them
    // every file of the console answers without a key, and none keeps the key anywhere but in the
    // page's memory; no script writes HTML (text only, through textContent), so nothing an answer
    // holds (a name, a file name, a reason) can become markup or code
    List<String> files = webFiles();
    assertThat(files).contains("index.html", "app.css", "console.js", "search.js", "verify.js", "subjects.js", "models.js",
        "enroll.js", "pipeline.js");
    java.util.regex.Pattern evaluates = java.util.regex.Pattern.compile("(?<![\\w$])eval\\s*\\(");
    for (String name : files) {
      HttpResponse<String> file = get(name.equals("index.html") ? "/" : "/" + name);
      assertThat(file.statusCode()).as(name).isEqualTo(200);
      assertThat(file.body()).as(name).doesNotContain("localStorage").doesNotContain("sessionStorage")
          .doesNotContain("document.cookie").doesNotContain("indexedDB");
      if (name.endsWith(".js")) {
        assertThat(page.body()).contains("<script src=\"" + name + "\"></script>");
        assertThat(file.body()).as(name).doesNotContain("innerHTML").doesNotContain("outerHTML")
            .doesNotContain("insertAdjacentHTML").doesNotContain("document.write");
        assertThat(evaluates.matcher(file.body()).find()).as(name + " calls eval(").isFalse();
      }
    }
    assertThat(get("/console.js").body()).contains("X-API-Key");
    assertThat(get("/app.css").statusCode()).isEqualTo(200);
    assertThat(send("GET", "/faces/none/crop", admin).headers().firstValue("Cache-Control")).contains("no-store");
  }

  /**
   * The files of the console (resources under dev/mfn/search/web): listed from the classpath's
   * folder (target/classes when the build runs the tests), else from the module's source folder.
   */
  private static List<String> webFiles() throws Exception {
    java.net.URL url = SearchServer.class.getResource("/dev/mfn/search/web/");
    Path folder = url != null && "file".equals(url.getProtocol()) ? Path.of(url.toURI())
        : Path.of("src", "main", "resources", "dev", "mfn", "search", "web");
    try (Stream<Path> all = Files.list(folder)) {
      return all.filter(Files::isRegularFile).map(f -> f.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void servesHttpsOnlyWithAKeystore() throws Exception {
    Path keystore = dir.resolve("serve.p12");
    Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
        "-genkeypair", "-alias", "mfn", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=127.0.0.1",
        "-ext", "SAN=ip:127.0.0.1", "-validity", "2", "-storetype", "PKCS12", "-keystore", keystore.toString(),
        "-storepass", "store-pass-123", "-keypass", "store-pass-123").redirectErrorStream(true).start();
    String out = new String(keytool.getInputStream().readAllBytes());
    assertThat(keytool.waitFor()).as(out).isZero();
    ApiKeys single = ApiKeys.single(new ApiKey("tls-test-key-0123456789"));
    SearchService service = new SearchService(null, null, index, "reference", 0.3);
    try (SearchServer tls = new SearchServer(service, single,
        ServerOptions.defaults().withTls(keystore, "store-pass-123"), null, AuditTrail.NONE).start("127.0.0.1", 0)) {
      KeyStore trust = KeyStore.getInstance("PKCS12");
      try (InputStream in = Files.newInputStream(keystore)) {
        trust.load(in, "store-pass-123".toCharArray());
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      SSLContext ssl = SSLContext.getInstance("TLS");
      ssl.init(null, tmf.getTrustManagers(), null);
      HttpClient https = HttpClient.newBuilder().sslContext(ssl).connectTimeout(Duration.ofSeconds(5)).build();
      HttpResponse<String> health = https.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + tls.port() + "/health")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(health.statusCode()).isEqualTo(200);
      assertThat(health.headers().firstValue("Strict-Transport-Security")).isPresent();
      // plain HTTP on the same port is not served
      boolean plainServed;
      try {
        plainServed = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + tls.port() + "/health"))
            .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).statusCode() == 200;
      } catch (IOException refused) {
        plainServed = false;
      }
      assertThat(plainServed).isFalse();
      // a client that does not trust the certificate is refused
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> http.send(
              HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + tls.port() + "/health")).build(),
              HttpResponse.BodyHandlers.ofString()))
          .isInstanceOf(javax.net.ssl.SSLHandshakeException.class);
    }
  }

  // --- helpers ---

  private static FaceCropper cropper() throws IOException {
    MfnSettings settings = MfnSettings.load();
    DetectorConfig detectors = new DetectorConfig(DetectorFiles.blazefaceDir(),
        settings.getPath("detector.yunet.model"), settings.getPath("detector.mtcnn.dir"), 0.5);
    return new FaceCropper(new ImageDecoder(), detectors.open("blazeface"), new FaceChooser(0.5, 20)); // the service's limits
  }

  /** The photo scaled up to size x size pixels (a slow decode, a slow detector pass). */
  private static byte[] largePhoto(Path photo, int size) throws IOException {
    var source = javax.imageio.ImageIO.read(photo.toFile());
    var big = new java.awt.image.BufferedImage(size, size, java.awt.image.BufferedImage.TYPE_INT_RGB);
    var g = big.createGraphics();
    g.drawImage(source, 0, 0, size, size, null);
    g.dispose();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    javax.imageio.ImageIO.write(big, "jpg", out);
    return out.toByteArray();
  }

  private static final String BOUNDARY = "mfn-pressure-boundary";

  /** A multipart body of {@code total} bytes, generated as it is read. */
  private static final class MultipartStream extends InputStream {
    private final byte[] head = ("--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"big.jpg\""
        + "\r\nContent-Type: image/jpeg\r\n\r\n").getBytes(StandardCharsets.UTF_8);
    private final long total;
    private long at;

    MultipartStream(long total) {
      this.total = total;
    }

    @Override
    public int read() {
      if (at >= total) {
        return -1;
      }
      return at < head.length ? head[(int) at++] : (int) (at++ & 0x7f);
    }

    @Override
    public int read(byte[] b, int off, int len) {
      if (at >= total) {
        return -1;
      }
      int n = (int) Math.min(len, total - at);
      for (int i = 0; i < n; i++) {
        b[off + i] = (byte) read();
      }
      return n;
    }
  }

  private static HttpResponse<String> get(String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(base + path)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> send(String method, String path, String key) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(base + path)).header(ApiKey.HEADER, key)
        .method(method, HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> json(String path, String key, String body) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(base + path)).header(ApiKey.HEADER, key)
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> post(String path, String key, String field, byte[] bytes) throws Exception {
    return multipart(path, key, List.of(field), List.of(bytes));
  }

  private static HttpResponse<String> post2(String path, String key, byte[] a, byte[] b) throws Exception {
    return multipart(path, key, List.of("a", "b"), List.of(a, b));
  }

  private static HttpResponse<String> multipart(String path, String key, List<String> fields, List<byte[]> files) throws Exception {
    return multipartTo(base + path, key, fields, files);
  }

  private static HttpResponse<String> multipartTo(String url, String key, List<String> fields, List<byte[]> files) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (int i = 0; i < fields.size(); i++) {
      out.write(("--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"" + fields.get(i)
          + "\"; filename=\"" + fields.get(i) + ".jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").getBytes(StandardCharsets.UTF_8));
      out.write(files.get(i));
      out.write("\r\n".getBytes(StandardCharsets.UTF_8));
    }
    out.write(("--" + BOUNDARY + "--\r\n").getBytes(StandardCharsets.UTF_8));
    return http.send(HttpRequest.newBuilder(URI.create(url)).header(ApiKey.HEADER, key)
        .header("Content-Type", "multipart/form-data; boundary=" + BOUNDARY)
        .POST(HttpRequest.BodyPublishers.ofByteArray(out.toByteArray())).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static float[] unit() {
    float[] v = new float[128];
    v[0] = 1;
    return v;
  }

  private static List<Path> photos(Path person) {
    try (Stream<Path> files = Files.list(person)) {
      return files.sorted().toList();
    } catch (IOException e) {
      return List.of();
    }
  }
}
