package dev.mfn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mfn.evaluate.PairSets;
import dev.mfn.flink.embed.EmbedConfig;
import dev.mfn.flink.embed.EmbedJob;
import dev.mfn.flink.embed.IndexTarget;
import dev.mfn.publish.KafkaAccess;
import dev.mfn.publish.ImagePublisher;
import dev.mfn.publish.RawImageFactory;
import dev.mfn.records.RetrainRequest;
import dev.mfn.records.kafka.AvroSerde;
import dev.mfn.retrain.TrainingRunEvent;
import dev.mfn.search.index.LuceneVectorIndex;
import dev.mfn.services.kafka.KafkaBroker;
import dev.mfn.services.process.Ports;
import dev.mfn.testkit.Await;
import dev.mfn.testkit.DetectorFiles;
import dev.mfn.testkit.LocalKafka;
import dev.mfn.testkit.PhotoFolders;
import dev.mfn.testkit.SearchLoad;
import dev.mfn.testkit.SharedData;
import dev.mfn.testkit.TopicReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.producer.Producer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The loop closes on one machine, end to end on the local services: 6 new people published and
 * ingested into shards; the local retrain controller's trigger sees 6 identities past the serving
 * model's data and asks for a run; its executor trains (2 epochs) as a child process, gates and
 * announces; the running embed job (following, its gate set to accept any sane model here) switches,
 * migrates and serves the new index; the running search service answers with the new version.
 */
@ExtendWith(LocalKafka.class)
class LocalRetrainLoopTest {
  private static final String KEY = "local-retrain-loop-key-01234";

  @Test
  void newPeopleTriggerATrainingWhoseModelTheRunningServicesEndUpServing(KafkaBroker broker, @TempDir Path dir) throws Exception {
    String bootstrap = broker.bootstrapServers();
    String trainTopic = "loop-train";
    String enrollTopic = "loop-enroll";
    String models = "loop-models";
    String requests = "loop-requests";
    String runs = "loop-runs";
    for (String t : List.of(trainTopic, enrollTopic, models, requests, "loop-dlq")) {
      KafkaAccess.prepare(bootstrap, t, 1, 30_000);
    }
    Path ours = Path.of(System.getProperty("mfn.repo", "../..")).resolve("models/default").toAbsolutePath().normalize();
    String oursId = dev.mfn.model.EmbeddingModels.version(ours); // the committed model's id, which names its index
    Path pairs = PairSets.lfwSlice(SharedData.require("data/lfw"), dir.resolve("pairs"), 20);

    // the serving side: the embed job follows the models topic; 4 people enrolled with our model
    Path index = dir.resolve("index");
    EmbedConfig config = new EmbedConfig(bootstrap, enrollTopic, "loop-dlq", models, "loop-embed", false, 1,
        ours.toString(), IndexTarget.lucene(index), false, 8, 200, 1_000, dir.resolve("checkpoints").toString(),
        "blazeface", DetectorFiles.blazefaceDir().toString(), null, null, 0.5, 20, 64L << 20, 60_000_000)
        .withGate(new EmbedConfig.GateSettings(pairs.toString(), 1.0)); // any sane model: the loop is under test here
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(EmbedJob.flinkConfiguration(config));
    EmbedJob.fromConfig(config).build(env);
    JobClient job = env.executeAsync("loop embed");
    List<Path> people;
    try (Stream<Path> all = Files.list(SharedData.require("data/lfw/images"))) {
      people = all.sorted().filter(p -> photos(p).size() >= 2).skip(80).limit(4).toList();
    }
    Path gallery = dir.resolve("gallery");
    for (Path person : people) {
      Path to = Files.createDirectories(gallery.resolve(person.getFileName().toString()));
      Files.createSymbolicLink(to.resolve("1.jpg"), photos(person).get(0));
    }
    try (Producer<String, byte[]> producer = KafkaAccess.producer(bootstrap, 8L << 20)) {
      new ImagePublisher(producer, new RawImageFactory(8L << 20, null), 64L << 20).publish(ImagePublisher.scan(gallery), enrollTopic, f -> {});
    }
    Await.until("4 faces in the committed model's index", Duration.ofMinutes(3), () -> faces(index, oursId) == 4);

    int port = Ports.free();
    Path keyFile = java.nio.file.Files.writeString(dir.resolve("api-key"), KEY); // keys never go on the command line
    BackgroundCommand serve = new BackgroundCommand("serve", "--index", index.toString(),
        "--port", String.valueOf(port), "--api-key-file", keyFile.toString(), "--rate", "0", "--follow-ms", "300", "--for-seconds", "900", "--threshold", "0.3",
        "--bootstrap", bootstrap, "--enroll-topic", enrollTopic, "--dlq-topic", "loop-dlq", "--retrain-topic", requests, "--runs-topic", runs);
    String base = "http://127.0.0.1:" + port;
    Await.until("the search service", Duration.ofMinutes(2), () -> model(base).equals(oursId));

    // new people arrive for training: published and ingested into shards
    Path photos = dir.resolve("train-photos");
    for (int s = 30; s < 36; s++) {
      PhotoFolders.cfpFrontal(photos, String.format("%03d", s), 6);
    }
    assertThat(MfnCliTest.mfn("publish", photos.toString(), "--topic", trainTopic, "--bootstrap", bootstrap, "--no-progress").exit()).isZero();
    Path shards = dir.resolve("shards");
    MfnCliTest.Run ingest = MfnCliTest.mfn("ingest", "--topic", trainTopic, "--bootstrap", bootstrap,
        "--out", shards.toString(), "--policy", "20,8,4,2", "--validation-fraction", "0.2", "--no-progress");
    assertThat(ingest.exit()).as(ingest.err()).isZero();

    // the local controller: its trigger asks, its executor trains, gates and announces
    Path store = dir.resolve("store");
    BackgroundCommand controller = new BackgroundCommand("retrain-controller", "--local",
        "--bootstrap", bootstrap, "--requests-topic", requests, "--runs-topic", runs, "--models-topic", models, "--shards", shards.toString(),
        "--model-store", store.toString(), "--lfw", pairs.toString(), "--state-dir", dir.resolve("retrain").toString(),
        "--train-option", "epochs=2", "--train-option", "batch=8", "--train-option", "warmup=2", "--train-option", "arcface-epoch=1",
        "--trigger-new-identities", "5", "--trigger-every-seconds", "1", "--trigger-cooldown-minutes", "0", "--for-seconds", "900");
    String id;
    MfnCliTest.Run stopped;
    try {
      Await.until("a model trained, announced, migrated and served by the running service", Duration.ofMinutes(6), () -> {
        if (controller.done()) {
          throw new AssertionError("the controller ended: " + controller.run());
        }
        // the new store's v1, not the committed model (whose id also starts with v1-)
        return Files.isRegularFile(store.resolve("STORE_ID"))
            && model(base).equals("v1-" + storeId(store));
      });
      id = "v1-" + storeId(store);
      // the console's Models tab: the trigger's request, and how its run ended, as the controller said
      Await.until("the run's end on GET /training/runs", Duration.ofMinutes(2), () -> runs(base).path("runs").path(0).path("state").asText().equals("SUCCEEDED"));
      JsonNode listed = runs(base);
      assertThat(listed.path("runs")).hasSize(1);
      assertThat(listed.path("runs").path(0).path("requested_by").asText()).isEqualTo("trigger:shard-growth");
      assertThat(listed.path("runs").path(0).path("run").asText()).startsWith("mfn-train-");
      assertThat(listed.path("runs").path(0).path("message").asText()).contains("trained and announced its model");
      assertThat(listed.has("error")).as(listed.toString()).isFalse();
      assertThat(model(base)).isEqualTo(id);
      assertThat(LuceneVectorIndex.servedVersion(index)).contains(id);
      // the running service answers from the new version's index: the 4 enrolled people, migrated
      List<SearchLoad.Answer> answers = SearchLoad.run(base, KEY,
          people.stream().map(p -> new SearchLoad.Query(p.getFileName().toString(), read(photos(p).get(0)))).toList(), 1, Duration.ofSeconds(3));
      assertThat(answers).isNotEmpty().allSatisfy(a -> {
        assertThat(a.status()).isEqualTo(200);
        assertThat(a.model()).isEqualTo(id);
        assertThat(a.subject()).isEqualTo(a.expected());
      });
    } finally {
      stopped = controller.stop();
      serve.stop();
      job.cancel().get();
    }
    AvroSerde<RetrainRequest> serde = new AvroSerde<>(RetrainRequest.class);
    List<RetrainRequest> asked = TopicReader.readAll(bootstrap, requests).stream().map(r -> serde.decode(r.value())).toList();
    assertThat(asked).as("one request, by the trigger, for the same shards only once").singleElement()
        .satisfies(r -> assertThat(r.getRequestedBy()).isEqualTo("trigger:shard-growth"));
    assertThat(asked.get(0).getReason()).contains("6 identities");
    assertThat(new ObjectMapper().readTree(store.resolve("v1/gate.json").toFile()).path("passed").asBoolean()).isTrue();
    assertThat(stopped.out()).contains("CREATED: started training run").contains("trained and announced its model");
    // what the controller said of the request: started, then succeeded, each once
    List<TrainingRunEvent> said = TopicReader.readAll(bootstrap, runs).stream().map(r -> TrainingRunEvent.decode(r.value())).toList();
    assertThat(said).extracting(TrainingRunEvent::requestId).containsOnly(asked.get(0).getRequestId());
    assertThat(said).extracting(TrainingRunEvent::state).containsExactly(TrainingRunEvent.State.STARTED, TrainingRunEvent.State.SUCCEEDED);
    // what anyone with a browse key reads: no pid, no path of the controller's machine
    assertThat(said).extracting(TrainingRunEvent::message).allSatisfy(m -> assertThat(m).doesNotContain("pid").doesNotContain(dir.toString()));
  }

  private static JsonNode runs(String base) {
    try {
      var response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(base + "/training/runs"))
          .header("X-API-Key", KEY).build(), HttpResponse.BodyHandlers.ofString());
      return response.statusCode() == 200 ? new ObjectMapper().readTree(response.body()) : new ObjectMapper().createObjectNode();
    } catch (Exception e) {
      return new ObjectMapper().createObjectNode();
    }
  }

  private static long faces(Path index, String version) {
    try (var v = LuceneVectorIndex.readOnly(index, version)) {
      return v.count();
    } catch (Exception e) {
      return -1;
    }
  }

  private static String model(String base) {
    try {
      var response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(base + "/health")).build(),
          HttpResponse.BodyHandlers.ofString());
      return response.statusCode() == 200 ? new ObjectMapper().readTree(response.body()).path("model").asText() : "";
    } catch (Exception e) {
      return "";
    }
  }

  private static byte[] read(Path file) {
    try {
      return Files.readAllBytes(file);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static List<Path> photos(Path person) {
    return dev.mfn.testkit.PhotoFolders.photos(person);
  }

  private static String storeId(Path store) {
    try {
      return Files.readString(store.resolve("STORE_ID")).strip();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
