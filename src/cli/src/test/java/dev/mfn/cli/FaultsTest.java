package dev.mfn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mfn.config.MfnSettings;
import dev.mfn.flink.embed.EmbedConfig;
import dev.mfn.flink.embed.EmbedJob;
import dev.mfn.flink.embed.IndexTarget;
import dev.mfn.flink.ingest.IngestConfig;
import dev.mfn.flink.ingest.IngestJob;
import dev.mfn.publish.KafkaAccess;
import dev.mfn.records.DeadLetter;
import dev.mfn.records.FaceSample;
import dev.mfn.records.RawImage;
import dev.mfn.records.kafka.AvroSerde;
import dev.mfn.search.index.ElasticsearchVectorIndex;
import dev.mfn.search.index.FaceDocument;
import dev.mfn.search.index.LuceneVectorIndex;
import dev.mfn.services.elasticsearch.ElasticsearchServer;
import dev.mfn.services.kafka.KafkaBroker;
import dev.mfn.services.process.Ports;
import dev.mfn.testkit.Await;
import dev.mfn.testkit.DetectorFiles;
import dev.mfn.testkit.PhotoFolders;
import dev.mfn.testkit.SharedData;
import dev.mfn.testkit.TopicReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The services failing under the pipeline, with real processes: the Kafka broker restarted while
 * `mfn publish` sends, while the ingest job runs and while the embed job runs; Elasticsearch
 * stopped for 60 s while the embed job writes and `mfn serve` answers searches; then a full
 * replay of each topic. After each: nothing lost, nothing duplicated (manifest balance, one index
 * document per face), the jobs recovered by themselves (their exponential-delay restarts), and
 * the service answered 503 with a reason while the index was down and 200 again afterwards,
 * without a restart. Tagged "faults" (CI runs them; `mvn -B verify -pl src/cli -Dgroups=faults`
 * runs only them).
 */
@Tag("faults")
class FaultsTest {
  private static final long MIB = 1 << 20;
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void aBrokerRestartLosesAndDuplicatesNothingInPublishIngestOrEmbed(@TempDir Path dir) throws Exception {
    KafkaBroker broker = new KafkaBroker(dir.resolve("kafka"), Ports.free(), Ports.free());
    broker.start(false);
    try {
      String bootstrap = broker.bootstrapServers();
      // 1. publish: the whole CFP set (4,900 photos); the broker goes down while the producer sends
      Path cfp = SharedData.cfpImages();
      CompletableFuture<MfnCliTest.Run> publish = CompletableFuture.supplyAsync(() -> MfnCliTest.mfn("publish", cfp.toString(),
          "--topic", "fault-publish", "--bootstrap", bootstrap, "--no-progress"));
      Await.until("the first records are in", Duration.ofMinutes(1), () -> endOffset(bootstrap, "fault-publish") > 0);
      boolean sendingWhenStopped = !publish.isDone();
      restart(broker);
      MfnCliTest.Run published = publish.join();
      assertThat(sendingWhenStopped).as("the broker stopped while publish was still sending").isTrue();
      assertThat(published.exit()).as(published.err() + published.out()).isZero();
      long files;
      try (Stream<Path> all = Files.walk(cfp)) {
        files = all.filter(Files::isRegularFile).count();
      }
      assertThat(published.out()).contains("published " + files + " of " + files + " files");
      List<String> ids = TopicReader.readAll(bootstrap, "fault-publish").stream()
          .map(r -> new AvroSerde<>(RawImage.class).decode(r.value()).getId()).toList();
      assertThat(ids).hasSize((int) files).doesNotHaveDuplicates(); // the idempotent producer wrote each once

      // 2. the ingest job (60 people x 10 frontal photos), the broker restarted after its first checkpoint
      Path photos = dir.resolve("photos");
      try (Stream<Path> people = Files.list(cfp)) {
        for (Path person : people.sorted().limit(60).toList()) {
          PhotoFolders.cfpFrontal(photos, person.getFileName().toString(), 10);
        }
      }
      assertThat(MfnCliTest.mfn("publish", photos.toString(), "--topic", "fault-train", "--bootstrap", bootstrap,
          "--no-progress").exit()).isZero();
      Path shards = dir.resolve("shards");
      IngestConfig ingest = new IngestConfig(bootstrap, "fault-train", "fault-dlq", "fault-ingest", true, shards.toString(), 2, 4,
          0.1, 8, 7, 5, 3, "fault-train.labels", null, 1_000, "blazeface", DetectorFiles.blazefaceDir().toString(), null, null,
          0.5, 20, 64 * MIB, 60_000_000, false);
      KafkaAccess.prepare(bootstrap, "fault-dlq", 1, 30_000);
      CompletableFuture<Void> ingestRun = runAsync(() -> {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(IngestJob.flinkConfiguration(ingest));
        IngestJob.fromConfig(ingest).build(env);
        env.execute("fault ingest");
      });
      Await.until("the ingest job's first checkpoint", Duration.ofMinutes(2),
          () -> Await.committed(bootstrap, "fault-ingest") > 0 || ingestRun.isDone());
      assertThat(ingestRun.isDone()).as("the ingest job was still running at the restart").isFalse();
      restart(broker);
      ingestRun.join();
      JsonNode totals = JSON.readTree(shards.resolve("manifest.json").toFile()).get("totals");
      assertThat(totals.get("records_in").asLong()).isEqualTo(600);
      assertThat(totals.get("photos_kept").asLong() + totals.get("dead_letters").asLong() + totals.get("dropped_by_policy").asLong())
          .isEqualTo(600);
      List<FaceSample> samples = readShards(shards);
      assertThat(samples).extracting(FaceSample::getId).doesNotHaveDuplicates();
      assertThat((long) samples.size()).isEqualTo(totals.get("train_samples").asLong() + totals.get("validation_samples").asLong());
      // a full replay of the topic into a new output: the same totals
      Path replay = dir.resolve("shards-replay");
      IngestConfig again = new IngestConfig(bootstrap, "fault-train", "fault-dlq", "fault-ingest-replay", true, replay.toString(),
          2, 4, 0.1, 8, 7, 5, 3, "fault-train.labels", null, 1_000, "blazeface", DetectorFiles.blazefaceDir().toString(), null,
          null, 0.5, 20, 64 * MIB, 60_000_000, false);
      StreamExecutionEnvironment replayEnv = StreamExecutionEnvironment.getExecutionEnvironment(IngestJob.flinkConfiguration(again));
      IngestJob.fromConfig(again).build(replayEnv);
      replayEnv.execute("fault ingest replay");
      JsonNode replayed = JSON.readTree(replay.resolve("manifest.json").toFile()).get("totals");
      for (String field : List.of("records_in", "photos_kept", "dead_letters", "dropped_by_policy", "train_samples", "validation_samples")) {
        assertThat(replayed.get(field).asLong()).as(field).isEqualTo(totals.get(field).asLong());
      }

      // 3. the embed job over the same photos, the broker restarted while it runs
      Path index = dir.resolve("index");
      String model = SharedData.require("models/reference/MobileFaceNet_paddlex.onnx").toString();
      KafkaAccess.prepare(bootstrap, "fault-embed-dlq", 1, 30_000);
      EmbedConfig embed = new EmbedConfig(bootstrap, "fault-train", "fault-embed-dlq", null, "fault-embed", true, 2, model,
          IndexTarget.lucene(index), false, 8, 200, 1_000, dir.resolve("embed-checkpoints").toString(), "blazeface",
          DetectorFiles.blazefaceDir().toString(), null, null, 0.5, 20, 64 * MIB, 60_000_000);
      CompletableFuture<Void> embedRun = runAsync(() -> {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(EmbedJob.flinkConfiguration(embed));
        EmbedJob.fromConfig(embed).build(env);
        env.execute("fault embed");
      });
      Await.until("the embed job's first checkpoint", Duration.ofMinutes(2),
          () -> Await.committed(bootstrap, "fault-embed") > 0 || embedRun.isDone());
      assertThat(embedRun.isDone()).as("the embed job was still running at the restart").isFalse();
      restart(broker);
      embedRun.join();
      Set<String> indexed = imageIds(index, "MobileFaceNet_paddlex.onnx");
      Set<String> dead = deadImageIds(bootstrap, "fault-embed-dlq");
      assertThat(indexed).noneMatch(dead::contains);
      assertThat(indexed.size() + dead.size()).as("every photo a face or a dead letter").isEqualTo(600);
      // a full replay (a new consumer group: the whole topic) adds nothing
      EmbedConfig replayEmbed = new EmbedConfig(bootstrap, "fault-train", "fault-embed-dlq", null, "fault-embed-replay", true, 2,
          model, IndexTarget.lucene(index), false, 8, 200, 1_000, dir.resolve("embed-checkpoints-2").toString(), "blazeface",
          DetectorFiles.blazefaceDir().toString(), null, null, 0.5, 20, 64 * MIB, 60_000_000);
      StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(EmbedJob.flinkConfiguration(replayEmbed));
      EmbedJob.fromConfig(replayEmbed).build(env);
      env.execute("fault embed replay");
      try (var lucene = LuceneVectorIndex.readOnly(index, "MobileFaceNet_paddlex.onnx")) {
        assertThat(lucene.count()).isEqualTo(indexed.size());
      }
    } finally {
      broker.stop();
    }
  }

  @Test
  void elasticsearchDownFor60SecondsDuringAnEmbedRunAndSearches(@TempDir Path dir) throws Exception {
    MfnSettings settings = MfnSettings.load();
    Path esData = Files.createTempDirectory(Files.createDirectories(settings.home()), "es-fault-test-");
    ElasticsearchServer es = new ElasticsearchServer(MfnSettings.pinnedVersion("elasticsearch.version"),
        settings.home().resolve("elasticsearch"), esData, Ports.free(), settings.get("elasticsearch.user"), "512m");
    KafkaBroker broker = new KafkaBroker(dir.resolve("kafka"), Ports.free(), Ports.free());
    es.start();
    broker.start(false);
    CompletableFuture<MfnCliTest.Run> serve = new CompletableFuture<>();
    Thread serving = null;
    try {
      String bootstrap = broker.bootstrapServers();
      String model = SharedData.require("models/reference/MobileFaceNet_paddlex.onnx").toString();
      String version = "MobileFaceNet_paddlex.onnx";
      Path lfw = SharedData.require("data/lfw/images");
      List<Path> people;
      try (Stream<Path> all = Files.list(lfw)) {
        people = all.sorted().filter(p -> PhotoFolders.photos(p).size() >= 2).limit(150).toList();
      }
      // the first 10 people enrolled before the service starts; the other 140 by the embed job during the outage
      Path first = dir.resolve("first");
      Path rest = dir.resolve("rest");
      for (int i = 0; i < people.size(); i++) {
        Path person = people.get(i);
        Path to = Files.createDirectories((i < 10 ? first : rest).resolve(person.getFileName().toString()));
        Files.copy(PhotoFolders.photos(person).get(0), to.resolve("1.jpg"));
      }
      assertThat(MfnCliTest.mfn("enroll", first.toString(), "--direct", "--model", model, "--es", es.url(), "--no-progress").exit())
          .isZero();
      Path keyFile = Files.writeString(dir.resolve("key"), "fault-test-key-0123456789");
      int port = Ports.free();
      serving = new Thread(() -> serve.complete(MfnCliTest.mfn("serve", "--es", es.url(), "--model", model, "--no-follow",
          "--threshold", "0.3", "--port", String.valueOf(port), "--api-key-file", keyFile.toString(), "--rate", "0",
          "--for-seconds", "600")), "mfn serve");
      serving.start();
      String base = "http://127.0.0.1:" + port;
      HttpClient http = HttpClient.newHttpClient();
      byte[] probe = Files.readAllBytes(PhotoFolders.photos(people.get(3)).get(1));
      Await.until("the service answers", Duration.ofMinutes(2), () -> status(http, base, probe) == 200);

      assertThat(MfnCliTest.mfn("publish", rest.toString(), "--topic", "fault-enroll", "--bootstrap", bootstrap, "--no-progress")
          .exit()).isZero();
      KafkaAccess.prepare(bootstrap, "fault-es-dlq", 1, 30_000);
      EmbedConfig embed = new EmbedConfig(bootstrap, "fault-enroll", "fault-es-dlq", null, "fault-es-embed", true, 1, model,
          IndexTarget.elasticsearch(es.url(), null, null), false, 4, 200, 1_000, dir.resolve("checkpoints").toString(),
          "blazeface", DetectorFiles.blazefaceDir().toString(), null, null, 0.5, 20, 64 * MIB, 60_000_000);
      CompletableFuture<Void> embedRun = runAsync(() -> {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(EmbedJob.flinkConfiguration(embed));
        EmbedJob.fromConfig(embed).build(env);
        env.execute("fault embed into elasticsearch");
      });
      Await.until("the job has written faces", Duration.ofMinutes(2), () -> faces(es, version) > 10 || embedRun.isDone());
      assertThat(embedRun.isDone()).as("the embed job was still running when Elasticsearch stopped").isFalse();

      es.stop();
      long stopped = System.nanoTime();
      // while it is down: searches are refused with a reason, health is alive but degraded, not ready
      HttpResponse<String> down = search(http, base, probe);
      assertThat(down.statusCode()).as(down.body()).isEqualTo(503);
      assertThat(JSON.readTree(down.body()).path("reason").asText()).isEqualTo("INDEX_UNAVAILABLE");
      assertThat(down.headers().firstValue("Retry-After")).isPresent();
      HttpResponse<String> health = http.send(HttpRequest.newBuilder(URI.create(base + "/health")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(health.statusCode()).isEqualTo(200);
      assertThat(JSON.readTree(health.body()).path("status").asText()).isEqualTo("degraded");
      assertThat(http.send(HttpRequest.newBuilder(URI.create(base + "/ready")).build(), HttpResponse.BodyHandlers.ofString())
          .statusCode()).isEqualTo(503);
      // an outage of 60 s, searched through all along: every answer a 503, never an error of another kind
      Await.until("60 s of outage, every search refused with 503", Duration.ofSeconds(90), () -> {
        assertThat(status(http, base, probe)).isEqualTo(503);
        return System.nanoTime() - stopped >= 60_000_000_000L;
      });
      assertThat(embedRun.isDone()).as("the job rides out the outage instead of failing: %s", outcome(embedRun)).isFalse();
      es.start();

      // the service recovers by itself, the job finishes by itself
      Await.until("searches answer again", Duration.ofMinutes(2), () -> status(http, base, probe) == 200);
      assertThat(serve.isDone()).as("the service was not restarted").isFalse();
      embedRun.get(5, java.util.concurrent.TimeUnit.MINUTES);
      Set<String> dead = deadImageIds(bootstrap, "fault-es-dlq");
      Set<String> indexed = new HashSet<>();
      try (var index = ElasticsearchVectorIndex.open(new ElasticsearchVectorIndex.Connection(es.url(), null, null, null, null), version)) {
        index.forEachStored(d -> indexed.add(d.imageId()));
        assertThat(index.count()).as("one document per face").isEqualTo(indexed.size());
      }
      assertThat(indexed.size() - 10 + dead.size()).as("every published photo a face or a dead letter").isEqualTo(140);
    } finally {
      if (serving != null) {
        serving.interrupt(); // stops mfn serve now, its port and workers with it
        serving.join(30_000);
      }
      broker.stop();
      es.stop();
    }
  }

  // --- helpers ---

  private static void deleteTree(Path root) throws java.io.IOException {
    if (Files.exists(root)) {
      try (Stream<Path> all = Files.walk(root)) {
        for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  private interface Body {
    void run() throws Exception;
  }

  private static CompletableFuture<Void> runAsync(Body body) {
    return CompletableFuture.runAsync(() -> {
      try {
        body.run();
      } catch (Exception e) {
        throw new java.util.concurrent.CompletionException(e);
      }
    });
  }

  private static String outcome(CompletableFuture<?> run) {
    if (!run.isDone()) {
      return "still running";
    }
    return run.handle((v, e) -> {
      StringBuilder chain = new StringBuilder("finished");
      for (Throwable t = e; t != null; t = t.getCause()) {
        chain.append(" <- ").append(t);
      }
      return chain.toString();
    }).join();
  }

  /**
   * Stops the broker (SIGTERM, as a rolling restart does; stop returns once the process has exited
   * and its port is closed) and starts it again on its data.
   */
  private static void restart(KafkaBroker broker) throws Exception {
    assertThat(broker.stop()).isTrue();
    assertThat(dev.mfn.services.process.Ports.isListening(Integer.parseInt(broker.bootstrapServers().split(":")[1])))
        .as("the broker is down").isFalse();
    broker.start(false);
  }

  /** Every sample of the shard set's split folders (Avro container files). */
  private static List<FaceSample> readShards(Path out) throws Exception {
    List<FaceSample> all = new ArrayList<>();
    for (String split : List.of("train", "validation")) {
      if (!Files.isDirectory(out.resolve(split))) {
        continue;
      }
      try (Stream<Path> files = Files.walk(out.resolve(split))) {
        for (Path f : files.filter(p -> p.getFileName().toString().startsWith("part") && p.toString().endsWith(".avro")).toList()) {
          try (var reader = new org.apache.avro.file.DataFileReader<>(f.toFile(),
              new org.apache.avro.specific.SpecificDatumReader<>(FaceSample.class))) {
            reader.forEach(all::add);
          }
        }
      }
    }
    return all;
  }

  private static long endOffset(String bootstrap, String topic) {
    try {
      return IngestCommand.endOffsets(bootstrap, topic).values().stream().mapToLong(Long::longValue).sum();
    } catch (Exception e) {
      return 0;
    }
  }

  private static Set<String> imageIds(Path index, String version) throws Exception {
    Set<String> ids = new HashSet<>();
    List<FaceDocument> all = new ArrayList<>();
    try (var lucene = LuceneVectorIndex.readOnly(index, version)) {
      lucene.forEachStored(all::add);
    }
    all.forEach(d -> ids.add(d.imageId()));
    assertThat(all).as("one document per photo (chosen face)").hasSize(ids.size());
    return ids;
  }

  private static Set<String> deadImageIds(String bootstrap, String topic) {
    AvroSerde<DeadLetter> serde = new AvroSerde<>(DeadLetter.class);
    Set<String> ids = new HashSet<>();
    for (var r : TopicReader.readAll(bootstrap, topic)) {
      ids.add(serde.decode(r.value()).getImageId());
    }
    return ids;
  }

  private static long faces(ElasticsearchServer es, String version) {
    try (var index = ElasticsearchVectorIndex.open(new ElasticsearchVectorIndex.Connection(es.url(), null, null, null, null), version)) {
      return index.count();
    } catch (Exception e) {
      return 0;
    }
  }

  private static int status(HttpClient http, String base, byte[] photo) {
    try {
      return search(http, base, photo).statusCode();
    } catch (Exception e) {
      return -1;
    }
  }

  private static HttpResponse<String> search(HttpClient http, String base, byte[] photo) throws Exception {
    String boundary = "fault-boundary";
    java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream();
    body.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"p.jpg\"\r\n"
        + "Content-Type: image/jpeg\r\n\r\n").getBytes());
    body.write(photo);
    body.write(("\r\n--" + boundary + "--\r\n").getBytes());
    return http.send(HttpRequest.newBuilder(URI.create(base + "/search?k=1")).header("X-API-Key", "fault-test-key-0123456789")
        .header("Content-Type", "multipart/form-data; boundary=" + boundary).timeout(Duration.ofSeconds(30))
        .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build(), HttpResponse.BodyHandlers.ofString());
  }
}
