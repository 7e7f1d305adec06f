package dev.mfn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mfn.publish.KafkaAccess;
import dev.mfn.records.DeadLetter;
import dev.mfn.records.RawImage;
import dev.mfn.records.kafka.AvroSerde;
import dev.mfn.services.kafka.KafkaBroker;
import dev.mfn.services.process.Ports;
import dev.mfn.testkit.Await;
import dev.mfn.testkit.LocalKafka;
import dev.mfn.testkit.SharedData;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The console's Pipeline tab through `mfn serve` on a real broker: a consumer group 6 records
 * behind on a topic of 10, three dead letters (a decodable photo, undecodable bytes, none at all),
 * and no Flink JobManager at the address given. GET /pipeline says all three, the missing cluster
 * as one line beside the rest; the thumbnail route gives a small PNG of the decodable photo only.
 * (A running job's row is checked in ClusterCommandsTest, on a real cluster.) The Models tab's
 * training runs follow a request asked for on its form through the topics, as the controller tells.
 */
@ExtendWith(LocalKafka.class)
class PipelineTabTest {
  private static final String KEY = "pipeline-tab-test-key-0123";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String REQUESTS = "pipeline-tab.requests";
  private static final String RUNS = "pipeline-tab.runs";

  @Test
  void showsLagDeadLettersAndAMissingClusterAsOneLine(KafkaBroker broker, @TempDir Path dir) throws Exception {
    String kafka = broker.bootstrapServers();
    String dlq = "pipeline-tab.dlq";
    KafkaAccess.prepare(kafka, "pipeline-tab", 2, 30_000);
    KafkaAccess.prepare(kafka, dlq, 1, 30_000);
    KafkaAccess.prepare(kafka, REQUESTS, 1, 30_000);
    KafkaAccess.prepare(kafka, RUNS, 1, 30_000);
    try (var producer = KafkaAccess.producer(kafka, 8 << 20)) {
      for (int i = 0; i < 10; i++) {
        producer.send(new ProducerRecord<>("pipeline-tab", i % 2, "k" + i, new byte[] {(byte) i})).get();
      }
      // dead letters as the jobs write them: the refused RawImage itself in `original`
      AvroSerde<DeadLetter> serde = new AvroSerde<>(DeadLetter.class);
      AvroSerde<RawImage> images = new AvroSerde<>(RawImage.class);
      producer.send(new ProducerRecord<>(dlq, "a", serde.encode(dev.mfn.flink.common.DeadLetters.forImage("embed", "images.enroll",
          image("alice", drawing()), dev.mfn.face.RejectReason.NO_FACE, "no face (test)", images)))).get();
      producer.send(new ProducerRecord<>(dlq, "b", serde.encode(dev.mfn.flink.common.DeadLetters.forImage("embed", "images.enroll",
          image("bob", "not an image".getBytes()), dev.mfn.face.RejectReason.NOT_AN_IMAGE, "not an image (test)", images)))).get();
      producer.send(new ProducerRecord<>(dlq, "c", serde.encode(erased("carol")))).get();
    }
    commit(kafka, "pipeline-tab-group", Map.of(new TopicPartition("pipeline-tab", 0), 2L, new TopicPartition("pipeline-tab", 1), 2L));

    Path index = enrolOne(dir);
    int port = Ports.free();
    int noCluster = Ports.free();
    Path keyFile = Files.writeString(dir.resolve("api-key"), KEY);
    // until the test stops it (a machine under load takes its time, and a fixed lifetime would race it)
    BackgroundCommand serve = new BackgroundCommand("serve", "--index", index.toString(),
        "--port", String.valueOf(port), "--api-key-file", keyFile.toString(), "--rate", "0", "--for-seconds", "900",
        "--threshold", "0.35", "--bootstrap", kafka, "--flink", "127.0.0.1:" + noCluster, "--dlq-topic", dlq,
        "--retrain-topic", REQUESTS, "--runs-topic", RUNS);
    String base = "http://127.0.0.1:" + port;
    HttpClient http = HttpClient.newHttpClient();
    Await.until("the service answers", Duration.ofMinutes(2), () -> {
      if (serve.done()) {
        throw new AssertionError("serve ended: " + serve.run());
      }
      try {
        return http.send(HttpRequest.newBuilder(URI.create(base + "/health")).build(), HttpResponse.BodyHandlers.ofString()).statusCode() == 200;
      } catch (Exception e) {
        return false;
      }
    });

    assertThat(http.send(HttpRequest.newBuilder(URI.create(base + "/pipeline")).build(), HttpResponse.BodyHandlers.ofString()).statusCode())
        .as("the pipeline needs a key").isEqualTo(401);
    HttpResponse<String> answer = http.send(keyed(base + "/pipeline").build(), HttpResponse.BodyHandlers.ofString());
    assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
    JsonNode pipeline = JSON.readTree(answer.body());
    assertThat(pipeline.path("jobs_error").asText()).isEqualTo("no Flink JobManager answers at 127.0.0.1:" + noCluster);
    assertThat(pipeline.has("jobs")).isFalse();
    JsonNode lag = null;
    for (JsonNode row : pipeline.path("lag")) {
      if (row.path("group").asText().equals("pipeline-tab-group")) {
        lag = row;
      }
    }
    assertThat(lag).as(answer.body()).isNotNull();
    // what a deletion leaves behind: the dead-letter topic's photos, until its retention ends
    JsonNode kept = null;
    for (JsonNode t : pipeline.path("photo_retention")) {
      if (t.path("topic").asText().equals(dlq)) {
        kept = t;
      }
    }
    assertThat(kept).as(answer.body()).isNotNull();
    assertThat(kept.path("retention_ms").isIntegralNumber()).isTrue();
    assertThat(lag.path("topic").asText()).isEqualTo("pipeline-tab");
    assertThat(lag.path("lag").asLong()).isEqualTo(6);
    assertThat(lag.path("partitions").asInt()).isEqualTo(2);

    JsonNode letters = pipeline.path("dead_letters");
    assertThat(letters.path("topic").asText()).isEqualTo(dlq);
    assertThat(letters.path("scanned").asInt()).isEqualTo(3);
    assertThat(JSON.convertValue(letters.path("by_reason"), Map.class))
        .isEqualTo(Map.of("NO_FACE", 1, "NOT_AN_IMAGE", 1, "SUBJECT_ERASED", 1));
    assertThat(letters.path("recent")).hasSize(3);
    for (JsonNode e : letters.path("recent")) {
      HttpResponse<byte[]> thumb = http.send(keyed(base + "/pipeline/dead-letters/" + e.path("partition").asInt() + "/"
          + e.path("offset").asLong() + "/thumbnail").build(), HttpResponse.BodyHandlers.ofByteArray());
      switch (e.path("reason").asText()) {
        case "NO_FACE" -> {
          assertThat(e.path("subject").asText()).isEqualTo("alice");
          assertThat(e.path("has_photo").asBoolean()).isTrue();
          assertThat(thumb.statusCode()).isEqualTo(200);
          assertThat(thumb.headers().firstValue("Content-Type").orElse("")).startsWith("image/png");
          BufferedImage small = javax.imageio.ImageIO.read(new java.io.ByteArrayInputStream(thumb.body()));
          assertThat(Math.max(small.getWidth(), small.getHeight())).as("a thumbnail, not the 640x480 photo").isEqualTo(160);
        }
        case "NOT_AN_IMAGE" -> {
          assertThat(e.path("has_photo").asBoolean()).isTrue();
          assertThat(thumb.statusCode()).as("bytes that do not decode have no preview").isEqualTo(404);
        }
        default -> {
          assertThat(e.path("has_photo").asBoolean()).isFalse();
          assertThat(thumb.statusCode()).isEqualTo(404);
        }
      }
    }
    assertThat(http.send(keyed(base + "/pipeline/dead-letters/0/999/thumbnail").build(), HttpResponse.BodyHandlers.ofString()).statusCode())
        .as("an offset past the end").isEqualTo(404);
    assertThat(http.send(keyed(base + "/pipeline/dead-letters/0/x/thumbnail").build(), HttpResponse.BodyHandlers.ofString()).statusCode())
        .isEqualTo(400);
    try {
      tab(base, kafka);
    } finally {
      MfnCliTest.Run run = serve.stop();
      assertThat(run == null ? "" : run.out()).contains("metrics: GET /metrics on this port");
    }
  }

  /**
   * The tab in headless Chromium: the missing cluster as one line, the lag row, the reasons, and
   * the decodable photo's thumbnail loaded (the undecodable one says so). Screenshot:
   * target/console-screenshots/pipeline.png (a drawing, no one's face).
   */
  private static void tab(String base, String kafka) throws Exception {
    if (!Files.isExecutable(Path.of("/usr/bin/chromium")) || !Files.isExecutable(Path.of("/usr/bin/chromedriver"))) {
      if ("1".equals(System.getenv("MFN_SHARED_REQUIRED"))) {
        throw new AssertionError("needs Debian's chromium and chromium-driver (.ci/run installs them)");
      }
      return;
    }
    var options = new org.openqa.selenium.chrome.ChromeOptions();
    options.setBinary("/usr/bin/chromium");
    options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000");
    var service = new org.openqa.selenium.chrome.ChromeDriverService.Builder()
        .usingDriverExecutable(new java.io.File("/usr/bin/chromedriver")).build();
    var browser = new org.openqa.selenium.chrome.ChromeDriver(service, options);
    try {
      var wait = new org.openqa.selenium.support.ui.WebDriverWait(browser, Duration.ofSeconds(30));
      browser.get(base + "/#pipeline");
      browser.findElement(org.openqa.selenium.By.id("key")).sendKeys(KEY);
      browser.findElement(org.openqa.selenium.By.id("pipeline-refresh")).click();
      wait.until(d -> d.findElement(org.openqa.selenium.By.id("pipeline-reasons")).getText().contains("NO_FACE"));
      assertThat(browser.findElement(org.openqa.selenium.By.id("pipeline-jobs")).getText()).startsWith("no Flink JobManager answers at");
      assertThat(browser.findElement(org.openqa.selenium.By.id("pipeline-lag")).getText()).contains("pipeline-tab-group pipeline-tab 6 2");
      var js = (org.openqa.selenium.JavascriptExecutor) browser;
      wait.until(d -> Boolean.TRUE.equals(js.executeScript(
          "const i = document.querySelector('.dead-letter[data-reason=NO_FACE] img'); return i !== null && i.complete && i.naturalWidth > 0;")));
      wait.until(d -> d.findElement(org.openqa.selenium.By.cssSelector(".dead-letter[data-reason=NOT_AN_IMAGE]")).getText()
          .equals("no preview (not decodable)"));
      Path shots = Files.createDirectories(Path.of("target", "console-screenshots"));
      Files.write(shots.resolve("pipeline.png"), browser.getScreenshotAs(org.openqa.selenium.OutputType.BYTES));
      trainingRuns(browser, kafka);
      Files.write(shots.resolve("models-runs.png"), browser.getScreenshotAs(org.openqa.selenium.OutputType.BYTES));
    } finally {
      browser.quit();
    }
  }

  /**
   * The Models tab's training runs: a retrain asked for on the form is a real request on the topic,
   * listed as QUEUED at once; what the controller then says of it (as it encodes it, on the runs
   * topic) reaches the row while the tab polls: STARTED, then SUCCEEDED, where polling stops.
   */
  private static void trainingRuns(org.openqa.selenium.WebDriver browser, String kafka) throws Exception {
    var wait = new org.openqa.selenium.support.ui.WebDriverWait(browser, Duration.ofSeconds(60));
    browser.findElement(org.openqa.selenium.By.id("tab-models")).click();
    browser.findElement(org.openqa.selenium.By.id("retrain-reason")).sendKeys("pipeline tab test");
    browser.findElement(org.openqa.selenium.By.id("retrain-epochs")).sendKeys("2");
    browser.findElement(org.openqa.selenium.By.id("retrain-submit")).click();
    wait.until(d -> d.findElement(org.openqa.selenium.By.id("retrain-result")).getText().startsWith("Queued: request "));
    // the rows are made anew on every poll: each look reads the row in one script (no stale elements)
    String id = (String) wait.until(d -> row(d, "QUEUED")).get("request");
    Map<String, Object> queued = row(browser, "QUEUED");
    assertThat(browser.findElement(org.openqa.selenium.By.id("retrain-result")).getText()).contains(id);
    assertThat(queued).containsEntry("reason", "pipeline tab test").containsEntry("budget", "2 epochs").containsEntry("rows", 1L);
    try (var producer = KafkaAccess.producer(kafka, 1 << 20)) {
      var started = dev.mfn.retrain.TrainingRunEvent.now(id, "mfn-train-x", dev.mfn.retrain.TrainingRunEvent.State.STARTED, "started training run mfn-train-x");
      producer.send(new ProducerRecord<>(RUNS, id, started.encode())).get();
      wait.until(d -> row(d, "STARTED"));
      var ended = dev.mfn.retrain.TrainingRunEvent.now(id, "mfn-train-x", dev.mfn.retrain.TrainingRunEvent.State.SUCCEEDED,
          "run mfn-train-x trained and announced its model");
      producer.send(new ProducerRecord<>(RUNS, id, ended.encode())).get();
    }
    Map<String, Object> done = wait.until(d -> row(d, "SUCCEEDED"));
    assertThat(done).containsEntry("request", id).containsEntry("rows", 1L);
    assertThat((String) done.get("stateClass")).contains("state-succeeded");
    assertThat((String) done.get("detail")).contains("mfn-train-x").contains("announced");
  }

  /** The first run's row when its state is {@code state}, read at once; else null. */
  @SuppressWarnings("unchecked")
  private static Map<String, Object> row(org.openqa.selenium.WebDriver browser, String state) {
    Map<String, Object> row = (Map<String, Object>) ((org.openqa.selenium.JavascriptExecutor) browser).executeScript(
        "const rows = document.querySelectorAll('#runs-rows tr.run'); const r = rows[0];"
        + " if (!r) { return null; } const cell = c => r.querySelector(c).textContent;"
        + " return {rows: rows.length, request: r.dataset.request, state: cell('td.run-state'),"
        + " stateClass: r.querySelector('td.run-state').className, reason: cell('td.run-reason'),"
        + " budget: cell('td.run-budget'), detail: cell('td.run-detail')};");
    return row != null && state.equals(row.get("state")) ? row : null;
  }

  private static HttpRequest.Builder keyed(String url) {
    return HttpRequest.newBuilder(URI.create(url)).header("X-API-Key", KEY).timeout(Duration.ofSeconds(30));
  }

  private static RawImage image(String subject, byte[] photo) {
    return RawImage.newBuilder().setId(subject + "-1").setSubject(subject).setSource("test:" + subject).setContentType("image/jpeg")
        .setSizeBytes(photo.length).setSha256("0".repeat(64)).setData(ByteBuffer.wrap(photo)).setUri(null)
        .setTimestamp(Instant.now()).setAttributes(Map.of()).build();
  }

  /** As the embed job writes it for a photo of a deleted subject: no copy of the photo. */
  private static DeadLetter erased(String subject) {
    return DeadLetter.newBuilder().setStage("embed").setReason("SUBJECT_ERASED").setMessage("the subject was deleted (test)")
        .setImageId(subject + "-1").setSubject(subject).setOriginalTopic("images.enroll").setJob("embed")
        .setTimestamp(Instant.now()).build();
  }

  /** A 640x480 drawing without a face (no photo of a person goes into a screenshot or a fixture). */
  private static byte[] drawing() throws Exception {
    BufferedImage image = new BufferedImage(640, 480, BufferedImage.TYPE_INT_RGB);
    var g = image.createGraphics();
    g.setColor(new Color(40, 90, 160));
    g.fillRect(0, 0, 640, 480);
    g.setColor(Color.ORANGE);
    g.fillOval(200, 120, 240, 240);
    g.dispose();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    javax.imageio.ImageIO.write(image, "jpg", out);
    return out.toByteArray();
  }

  private static void commit(String kafka, String group, Map<TopicPartition, Long> offsets) {
    Map<String, Object> config = Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka, ConsumerConfig.GROUP_ID_CONFIG, group,
        ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class,
        ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    try (var consumer = new KafkaConsumer<String, byte[]>(config)) {
      consumer.assign(offsets.keySet());
      Map<TopicPartition, OffsetAndMetadata> commit = new java.util.HashMap<>();
      offsets.forEach((tp, offset) -> commit.put(tp, new OffsetAndMetadata(offset)));
      consumer.commitSync(commit);
    }
  }

  /** One LFW person enrolled with the reference model: `serve` needs an index to serve. */
  private static Path enrolOne(Path dir) throws Exception {
    Path reference = SharedData.require("models/reference/MobileFaceNet_paddlex.onnx");
    Path person;
    try (Stream<Path> all = Files.list(SharedData.require("data/lfw/images"))) {
      person = all.sorted().findFirst().orElseThrow();
    }
    Path gallery = Files.createDirectories(dir.resolve("gallery").resolve(person.getFileName().toString()));
    try (Stream<Path> photos = Files.list(person)) {
      Path first = photos.filter(p -> p.toString().endsWith(".jpg")).sorted().findFirst().orElseThrow();
      Files.createSymbolicLink(gallery.resolve(first.getFileName()), first);
    }
    Path index = dir.resolve("index");
    MfnCliTest.Run enroll = MfnCliTest.mfn("enroll", dir.resolve("gallery").toString(), "--direct", "--model", reference.toString(),
        "--index", index.toString(), "--no-progress");
    assertThat(enroll.exit()).as(enroll.err()).isZero();
    return index;
  }
}
