package dev.mfn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mfn.services.kafka.KafkaBroker;
import dev.mfn.testkit.LocalKafka;
import dev.mfn.testkit.SharedData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** enroll, search and delete as a person runs them, on real LFW photos with the reference model. */
@ExtendWith(LocalKafka.class)
class SearchCommandsTest {
  @Test
  void enrollSearchAndDelete(KafkaBroker broker, @TempDir Path dir) throws IOException {
    Path lfw = SharedData.require("data/lfw/images");
    String model = SharedData.require("models/reference/MobileFaceNet_paddlex.onnx").toString();
    String index = dir.resolve("index").toString();
    List<Path> people;
    try (Stream<Path> all = Files.list(lfw)) {
      people = all.sorted().filter(p -> photos(p).size() >= 2).limit(8).toList();
    }
    Path gallery = dir.resolve("gallery");
    for (Path person : people) {
      Path first = photos(person).get(0);
      Files.createDirectories(gallery.resolve(person.getFileName().toString()));
      Files.createSymbolicLink(gallery.resolve(person.getFileName().toString()).resolve(first.getFileName()), first);
    }
    MfnCliTest.Run enroll = MfnCliTest.mfn("enroll", gallery.toString(), "--direct", "--model", model, "--index", index, "--no-progress");
    assertThat(enroll.exit()).as(enroll.err()).isZero();
    assertThat(enroll.out()).contains("enrolled 8 faces from 8 photos").contains("index holds 8");
    // the streaming path (Kafka + the embed job) writes the same documents: still 8
    MfnCliTest.Run again = MfnCliTest.mfn("enroll", gallery.toString(), "--model", model, "--index", index,
        "--bootstrap", broker.bootstrapServers(), "--topic", "enroll-cli", "--no-progress");
    assertThat(again.exit()).as(again.err()).isZero();
    assertThat(again.out()).contains("published 8 photos to enroll-cli").contains("read 8 records").contains("holds 8 faces");

    String who = people.get(3).getFileName().toString();
    MfnCliTest.Run search = MfnCliTest.mfn("search", photos(people.get(3)).get(1).toString(), "--model", model,
        "--index", index, "--threshold", "0.3", "--k", "3");
    assertThat(search.exit()).as(search.err()).isZero();
    assertThat(search.out()).contains("1 face(s)").containsPattern("face 1 at [0-9]+,[0-9]+ [0-9]+x[0-9]+: " + who);
    assertThat(search.out().lines().filter(l -> l.startsWith("  "))).hasSize(3);
    // --json: the same facts as one document
    MfnCliTest.Run searchJson = MfnCliTest.mfn("search", photos(people.get(3)).get(1).toString(), "--model", model,
        "--index", index, "--threshold", "0.3", "--k", "3", "--json");
    assertThat(searchJson.exit()).as(searchJson.err()).isZero();
    JsonNode found = JsonOutputTest.single(searchJson.out());
    assertThat(found.get("ok").asBoolean()).isTrue();
    assertThat(found.get("index_faces").asLong()).isEqualTo(8);
    assertThat(found.get("threshold").asDouble()).isEqualTo(0.3);
    assertThat(found.get("faces")).hasSize(1);
    assertThat(found.get("faces").get(0).get("subject").asText()).isEqualTo(who);
    assertThat(found.get("faces").get(0).get("hits")).hasSize(3);
    assertThat(found.get("faces").get(0).get("box")).hasSize(4);

    // the committed default model gets its own index from the stored crops alone
    MfnCliTest.Run reindex = MfnCliTest.mfn("reindex", "--from", "MobileFaceNet_paddlex.onnx", "--index", index,
        "--bootstrap", broker.bootstrapServers(), "--no-progress");
    assertThat(reindex.exit()).as(reindex.err()).isZero();
    assertThat(reindex.out()).contains("re-indexed 8 faces from MobileFaceNet_paddlex.onnx").contains("0 without a stored crop");

    MfnCliTest.Run delete = MfnCliTest.mfn("delete", "--subject", who, "--index", index, "--bootstrap", broker.bootstrapServers(),
        "--reason", "request 42", "--photo-topics", "enroll-cli");
    assertThat(delete.exit()).as(delete.err()).isZero();
    assertThat(delete.out()).contains("tombstone for " + who + " on subjects.deleted")
        .contains("removed 2 face(s) of " + who + " from 2 index version(s)")
        .contains("enroll-cli: retention");
    MfnCliTest.Run after = MfnCliTest.mfn("search", photos(people.get(3)).get(1).toString(), "--model", model,
        "--index", index, "--threshold", "0.3", "--k", "7");
    assertThat(after.out()).doesNotContain("  " + who).doesNotContain(": " + who);

    // enrolling the same folder again (its photos published anew): the tombstone keeps the person out
    MfnCliTest.Run replay = MfnCliTest.mfn("enroll", gallery.toString(), "--model", model, "--index", index,
        "--bootstrap", broker.bootstrapServers(), "--topic", "enroll-cli", "--no-progress");
    assertThat(replay.exit()).as(replay.err()).isZero();
    assertThat(replay.out()).contains("read 8 records").contains("holds 7 faces");
    // re-enrolment is an explicit act: clear the tombstone, then enroll new photos
    MfnCliTest.Run clear = MfnCliTest.mfn("delete", "--subject", who, "--clear", "--index", index, "--bootstrap", broker.bootstrapServers());
    assertThat(clear.exit()).as(clear.err()).isZero();
    assertThat(clear.out()).contains("cleared the tombstone of " + who);
    MfnCliTest.Run back = MfnCliTest.mfn("enroll", gallery.toString(), "--model", model, "--index", index,
        "--bootstrap", broker.bootstrapServers(), "--topic", "enroll-cli", "--no-progress");
    assertThat(back.exit()).as(back.err()).isZero();
    assertThat(back.out()).contains("holds 8 faces");
  }

  @Test
  void searchingAnEmptyIndexIsOneClearLine(@TempDir Path dir) {
    Path photo = SharedData.require("data/lfw/images/Aaron_Eckhart/Aaron_Eckhart_0001.jpg");
    String model = SharedData.require("models/reference/MobileFaceNet_paddlex.onnx").toString();
    MfnCliTest.Run run = MfnCliTest.mfn("search", photo.toString(), "--model", model, "--index", dir.toString(), "--threshold", "0.3");
    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err().strip().lines()).hasSize(1);
    assertThat(run.err()).contains("empty").contains("mfn enroll");
  }

  private static List<Path> photos(Path person) {
    return dev.mfn.testkit.PhotoFolders.photos(person);
  }
}
