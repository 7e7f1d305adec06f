package dev.mfn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mfn.search.index.LuceneVectorIndex;
import dev.mfn.services.process.Ports;
import dev.mfn.testkit.SearchLoad;
import dev.mfn.testkit.SharedData;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `mfn serve` follows the version the index serves, under load: 8 LFW people enrolled in two
 * versions (our committed model, v1, served first; the reference model); 3 clients search with the
 * enrolled photos themselves while the SERVING file moves to the reference version (as the embed
 * job's migrator does). No request fails; every answer is one version's model over that version's
 * index (an enrolled photo finds itself at similarity ~1; a model over the other model's index
 * would not); each client sees v1, then the reference model, never back; /health counts one switch.
 */
class ServeFollowsTest {
  private static final String KEY = "serve-follows-test-key-0123";

  @Test
  void switchesModelAndIndexTogetherUnderLoadWithoutAFailedRequest(@TempDir Path dir) throws Exception {
    Path reference = SharedData.require("models/reference/MobileFaceNet_paddlex.onnx");
    Path ours = Path.of(System.getProperty("mfn.repo", "../..")).resolve("models/default").toAbsolutePath().normalize();
    String old = dev.mfn.model.EmbeddingModels.version(ours); // the committed model's id, which names its index
    List<Path> people;
    try (Stream<Path> all = Files.list(SharedData.require("data/lfw/images"))) {
      people = all.sorted().filter(p -> photos(p).size() >= 2).skip(60).limit(8).toList();
    }
    Path gallery = dir.resolve("gallery");
    List<SearchLoad.Query> queries = new ArrayList<>();
    for (Path person : people) {
      Path first = photos(person).get(0);
      Path to = Files.createDirectories(gallery.resolve(person.getFileName().toString()));
      Files.createSymbolicLink(to.resolve(first.getFileName()), first);
      queries.add(new SearchLoad.Query(person.getFileName().toString(), Files.readAllBytes(first)));
    }
    Path index = dir.resolve("index");
    for (Path model : List.of(ours, reference)) {
      MfnCliTest.Run enroll = MfnCliTest.mfn("enroll", gallery.toString(), "--direct", "--model", model.toString(),
          "--index", index.toString(), "--no-progress");
      assertThat(enroll.exit()).as(enroll.err()).isZero();
    }
    String newVersion = reference.getFileName().toString();
    try (var v1 = LuceneVectorIndex.readOnly(index, old)) {
      v1.serve(ours.toUri().toString());
    }

    int port = Ports.free();
    Path keyFile = java.nio.file.Files.writeString(dir.resolve("api-key"), KEY); // keys never go on the command line
    CompletableFuture<MfnCliTest.Run> serve = CompletableFuture.supplyAsync(() -> MfnCliTest.mfn("serve", "--index", index.toString(),
        "--port", String.valueOf(port), "--api-key-file", keyFile.toString(), "--rate", "0", "--follow-ms", "300", "--for-seconds", "45",
        "--threshold", "0.35")); // the reference model (an .onnx file) has no calibrated threshold
    String base = "http://127.0.0.1:" + port;
    HttpClient http = HttpClient.newHttpClient();
    dev.mfn.testkit.Await.until("the service answers", Duration.ofMinutes(2), () -> {
      try {
        return http.send(HttpRequest.newBuilder(URI.create(base + "/health")).build(), HttpResponse.BodyHandlers.ofString()).statusCode() == 200;
      } catch (Exception e) {
        return false;
      }
    });

    CompletableFuture<Void> switchOver = CompletableFuture.runAsync(() -> {
      try {
        // in the middle of the load: once the service has answered 20 searches with v1
        dev.mfn.testkit.Await.until("20 searches answered", Duration.ofMinutes(1), () -> searches(http, base) >= 20);
        try (var next = LuceneVectorIndex.readOnly(index, newVersion)) {
          next.serve(reference.toUri().toString());
        }
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    List<SearchLoad.Answer> answers = SearchLoad.run(base, KEY, queries, 3, Duration.ofSeconds(20));
    switchOver.get();
    var health = new ObjectMapper().readTree(http.send(HttpRequest.newBuilder(URI.create(base + "/health")).build(),
        HttpResponse.BodyHandlers.ofString()).body());
    MfnCliTest.Run run = serve.get();
    assertThat(run.exit()).as(run.err()).isZero();
    assertThat(run.out()).contains("serving model " + old).contains("following the served version");

    assertThat(answers).hasSizeGreaterThan(20);
    assertThat(answers).allSatisfy(a -> assertThat(a.status()).as(a.error()).isEqualTo(200));
    assertThat(answers).allSatisfy(a -> {
      assertThat(a.model()).isIn(old, newVersion);
      assertThat(a.similarity()).as("an enrolled photo finds itself with its own model's index (%s)", a.model()).isGreaterThan(0.95);
    });
    assertThat(answers).allSatisfy(a -> assertThat(a.subject()).isEqualTo(a.expected()));
    Map<Integer, List<SearchLoad.Answer>> byWorker = new HashMap<>();
    answers.stream().sorted(java.util.Comparator.comparingLong(SearchLoad.Answer::startedMillis))
        .forEach(a -> byWorker.computeIfAbsent(a.worker(), w -> new ArrayList<>()).add(a));
    assertThat(answers).extracting(SearchLoad.Answer::model).contains(old, newVersion);
    byWorker.values().forEach(seen -> {
      int firstNew = seen.stream().map(SearchLoad.Answer::model).toList().indexOf(newVersion);
      assertThat(firstNew).as("switched during the load").isPositive();
      assertThat(seen.subList(firstNew, seen.size())).as("never back to " + old).allSatisfy(a -> assertThat(a.model()).isEqualTo(newVersion));
    });
    assertThat(health.path("model").asText()).isEqualTo(newVersion);
    assertThat(health.path("model_switches").asInt()).isEqualTo(1);
  }

  private static long searches(HttpClient http, String base) {
    try {
      return new ObjectMapper().readTree(http.send(HttpRequest.newBuilder(URI.create(base + "/health")).build(),
          HttpResponse.BodyHandlers.ofString()).body()).path("searches").asLong();
    } catch (Exception e) {
      return 0;
    }
  }

  private static List<Path> photos(Path person) {
    return dev.mfn.testkit.PhotoFolders.photos(person);
  }
}
