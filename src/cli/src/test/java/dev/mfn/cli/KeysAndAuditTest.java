package dev.mfn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mfn.services.kafka.KafkaBroker;
import dev.mfn.services.process.Ports;
import dev.mfn.testkit.Await;
import dev.mfn.testkit.LocalKafka;
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
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The operator's view of access control, through the CLI as the README shows it: `mfn keys create`
 * a search key and a delete key, `mfn serve` with the keys file, the search key refused a deletion,
 * the delete key's deletion on the audit topic (who, what, when) before it happens, `mfn keys
 * revoke` and the revoked key refused by the running service; keys never on its command line.
 */
@ExtendWith(LocalKafka.class)
class KeysAndAuditTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void scopedKeysAreCreatedListedRevokedAndEveryDeletionIsAudited(KafkaBroker broker, @TempDir Path dir) throws Exception {
    Path lfw = SharedData.require("data/lfw/images");
    String model = SharedData.require("models/reference/MobileFaceNet_paddlex.onnx").toString();
    String index = dir.resolve("index").toString();
    List<Path> people;
    try (Stream<Path> all = Files.list(lfw)) {
      people = all.sorted().limit(3).toList();
    }
    Path gallery = dir.resolve("gallery");
    for (Path person : people) {
      Path first;
      try (Stream<Path> files = Files.list(person)) {
        first = files.sorted().findFirst().orElseThrow();
      }
      Files.createDirectories(gallery.resolve(person.getFileName().toString()));
      Files.createSymbolicLink(gallery.resolve(person.getFileName().toString()).resolve(first.getFileName()), first);
    }
    assertThat(MfnCliTest.mfn("enroll", gallery.toString(), "--direct", "--model", model, "--index", index, "--no-progress").exit()).isZero();

    Path keysFile = dir.resolve("keys.json");
    MfnCliTest.Run kiosk = MfnCliTest.mfn("keys", "create", "--name", "kiosk", "--scopes", "search", "--keys-file", keysFile.toString());
    assertThat(kiosk.exit()).as(kiosk.err()).isZero();
    String searchKey = kiosk.out().trim();
    assertThat(searchKey).startsWith("mfn_");
    assertThat(kiosk.err()).contains("(search) for kiosk; shown once");
    MfnCliTest.Run ops = MfnCliTest.mfn("keys", "create", "--name", "privacy-desk", "--scopes", "search,delete", "--keys-file", keysFile.toString());
    String deleteKey = ops.out().trim();
    String deleteKeyId = deleteKey.split("_")[1];
    assertThat(MfnCliTest.mfn("keys", "create", "--name", "x", "--scopes", "root", "--keys-file", keysFile.toString()).err())
        .contains("unknown scope 'root'");
    assertThat(Files.readString(keysFile)).doesNotContain(searchKey).doesNotContain(deleteKey);

    int port = Ports.free();
    CompletableFuture<MfnCliTest.Run> serve = new CompletableFuture<>();
    Thread serving = new Thread(() -> serve.complete(MfnCliTest.mfn("serve", "--index", index,
        "--model", model, "--no-follow", "--threshold", "0.3", "--port", String.valueOf(port), "--keys-file", keysFile.toString(),
        "--bootstrap", broker.bootstrapServers(), "--workers", "1", "--for-seconds", "120")), "mfn serve");
    serving.start();
    try {
    String base = "http://127.0.0.1:" + port;
    HttpClient http = HttpClient.newHttpClient();
    Await.until("the service answers", Duration.ofMinutes(2), () -> {
      try {
        return http.send(HttpRequest.newBuilder(URI.create(base + "/health")).build(), HttpResponse.BodyHandlers.ofString()).statusCode() == 200;
      } catch (Exception e) {
        return !serve.isDone() ? false : failed(serve);
      }
    });
    String who = people.get(1).getFileName().toString();
    HttpResponse<String> refused = delete(http, base + "/subjects/" + who, searchKey);
    assertThat(refused.statusCode()).isEqualTo(403);
    HttpResponse<String> deleted = delete(http, base + "/subjects/" + who, deleteKey);
    assertThat(deleted.statusCode()).as(deleted.body()).isEqualTo(200);
    assertThat(JSON.readTree(deleted.body()).path("removed").asInt()).isEqualTo(1);

    // the audit topic: one deletion, the delete key's id, the subject; none for the refused call
    // (of this subject: other tests of the run's broker delete people too, e.g. ConsoleEnrolTest)
    List<JsonNode> deletions = new java.util.ArrayList<>();
    for (var r : TopicReader.readAll(broker.bootstrapServers(), "audit.events")) {
      JsonNode event = JSON.readTree(r.value());
      if (event.path("action").asText().equals("delete") && event.path("target").asText().equals(who)) {
        deletions.add(event);
      }
    }
    assertThat(deletions).hasSize(1);
    JsonNode audit = deletions.get(0);
    assertThat(audit.path("key_id").asText()).isEqualTo(deleteKeyId);
    assertThat(audit.path("action").asText()).isEqualTo("delete");
    assertThat(audit.path("target").asText()).isEqualTo(who);
    assertThat(audit.path("at").asText()).isNotBlank();
    // and the tombstone went where the pipeline honours it
    assertThat(TopicReader.readAll(broker.bootstrapServers(), "subjects.deleted")).anyMatch(r -> who.equals(r.key()));

    MfnCliTest.Run list = MfnCliTest.mfn("keys", "list", "--keys-file", keysFile.toString());
    assertThat(list.out()).contains("kiosk").contains("privacy-desk").contains("delete,search").doesNotContain(searchKey);
    String kioskId = searchKey.split("_")[1];
    assertThat(MfnCliTest.mfn("keys", "revoke", kioskId, "--keys-file", keysFile.toString()).out()).contains("revoked " + kioskId);
    assertThat(MfnCliTest.mfn("keys", "revoke", "nosuchkey", "--keys-file", keysFile.toString()).exit()).isEqualTo(Mfn.EXIT_USAGE);
    HttpResponse<String> afterRevoke = http.send(HttpRequest.newBuilder(URI.create(base + "/faces/x/crop"))
        .header("X-API-Key", searchKey).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(afterRevoke.statusCode()).isEqualTo(401);
    assertThat(MfnCliTest.mfn("keys", "list", "--keys-file", keysFile.toString()).out().lines()
        .filter(l -> l.startsWith(kioskId)).findFirst().orElseThrow()).doesNotEndWith("-");
    // a trailing or doubled slash reaches the same endpoint: the scope still applies
    String another = MfnCliTest.mfn("keys", "create", "--name", "kiosk-2", "--scopes", "search", "--keys-file",
        keysFile.toString()).out().trim();
    for (String path : List.of("/subjects/" + who + "/", "//subjects/" + who, "/subjects//" + who)) {
      assertThat(delete(http, base + path, another).statusCode()).as(path).isEqualTo(403);
    }
    } finally {
      serving.interrupt(); // stops mfn serve now (it would otherwise hold its port for its --for-seconds)
      serving.join(30_000);
    }
    // no flag takes a key: a key on the command line would be in every `ps` listing
    assertThat(MfnCliTest.mfn("serve", "--api-key", "some-key-0123456789abcdef").err()).contains("Unknown options: '--api-key'");
  }

  private static boolean failed(CompletableFuture<MfnCliTest.Run> serve) {
    throw new AssertionError("mfn serve stopped: " + serve.join().err());
  }

  private static HttpResponse<String> delete(HttpClient http, String url, String key) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(url)).header("X-API-Key", key).DELETE().build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
