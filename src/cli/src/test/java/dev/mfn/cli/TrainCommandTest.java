package dev.mfn.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mfn.records.ModelEvent;
import dev.mfn.records.ModelEventKind;
import dev.mfn.records.kafka.AvroSerde;
import dev.mfn.services.kafka.KafkaBroker;
import dev.mfn.testkit.LocalKafka;
import dev.mfn.testkit.PhotoFolders;
import dev.mfn.testkit.SharedData;
import dev.mfn.testkit.TopicReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A newcomer's path to a model: publish photos, ingest them into shards, `mfn train` with an LFW
 * evaluation and --publish, then use the new version with `mfn embed`. Real photos, real broker,
 * real training (tiny: 6 people, 2 epochs).
 */
@ExtendWith(LocalKafka.class)
class TrainCommandTest {

  @Test
  void trainsEvaluatesStoresAndAnnouncesAModel(KafkaBroker broker, @TempDir Path dir) throws Exception {
    Path photos = dir.resolve("photos");
    for (int s = 20; s < 26; s++) {
      PhotoFolders.cfpFrontal(photos, String.format("%03d", s), 6);
    }
    String bootstrap = broker.bootstrapServers();
    assertThat(MfnCliTest.mfn("publish", photos.toString(), "--topic", "cli-train", "--bootstrap", bootstrap, "--no-progress").exit()).isZero();
    Path shards = dir.resolve("shards");
    MfnCliTest.Run ingest = MfnCliTest.mfn("ingest", "--topic", "cli-train", "--bootstrap", bootstrap,
        "--out", shards.toString(), "--policy", "20,8,4,2", "--validation-fraction", "0.2", "--no-progress");
    assertThat(ingest.exit()).as(ingest.err()).isZero();

    // the reference model serves (an operator promoted it past the gate)
    String topic = "cli-train-models";
    Path reference = SharedData.require("models/reference/MobileFaceNet_paddlex.onnx");
    MfnCliTest.Run promote = MfnCliTest.mfn("models", "promote", reference.toString(), "--force", "--topic", topic, "--bootstrap", bootstrap);
    assertThat(promote.exit()).as(promote.err()).isZero();

    Path store = dir.resolve("store");
    MfnCliTest.Run train = MfnCliTest.mfn("train", "--shards", shards.toString(), "--model-store", store.toString(),
        "--epochs", "2", "--batch", "8", "--warmup", "2", "--arcface-epoch", "1", "--lfw", miniLfw(dir).toString(),
        "--fill-outside", "--low-res", "0.4", "--publish", "--models-topic", topic, "--bootstrap", bootstrap, "--no-progress");
    // a 2-epoch model against a 99% one: trained and stored, refused by the gate, never announced
    assertThat(train.exit()).as(train.out() + train.err()).isEqualTo(TrainCommand.REFUSED);
    assertThat(train.out()).contains("training v1: 6 identities").contains("trained 2 epochs")
        .contains("model v1 NOT announced: refused by the gate").contains("worse than what serves");
    AvroSerde<ModelEvent> serde = new AvroSerde<>(ModelEvent.class);
    List<ModelEvent> history = TopicReader.readAll(bootstrap, topic).stream().map(r -> serde.decode(r.value())).toList();
    assertThat(history).extracting(ModelEvent::getKind).containsExactly(ModelEventKind.PROMOTED, ModelEventKind.RETIRED);
    assertThat(history).extracting(ModelEvent::getSequence).containsExactly(1L, 2L);
    assertThat(history.get(1).getReason()).startsWith("refused by the gate");
    MfnCliTest.Run models = MfnCliTest.mfn("models", "list", "--topic", topic, "--bootstrap", bootstrap);
    assertThat(models.out()).contains("serving: MobileFaceNet_paddlex.onnx");

    Path v1 = store.resolve("v1");
    for (String file : List.of("config.json", "mobilefacenet.params", "model.onnx", "model-card.json", "model-card.md",
        "metrics.jsonl", "eval-lfw.json", "plots/loss.png", "plots/accuracy.png", "plots/learning-rate.png", "plots/roc-lfw.png")) {
      assertThat(v1.resolve(file)).as(file).isRegularFile();
    }
    assertThat(v1.resolve("checkpoints")).as("a finished run keeps no checkpoints").doesNotExist();
    assertThat(v1.resolve(dev.mfn.model.store.ModelStore.INCOMPLETE)).as("complete, so latest() may serve it").doesNotExist();
    JsonNode card = new ObjectMapper().readTree(v1.resolve("model-card.json").toFile());
    assertThat(card.path("training").path("epochs").asInt()).isEqualTo(2);
    assertThat(card.path("training").path("arcface_from_epoch").asInt()).isEqualTo(1);
    assertThat(card.path("trainable_parameters").asLong()).isBetween(950_000L, 1_050_000L);
    // --scale auto: the card says which scale the class count gave, and how
    int classes = dev.mfn.training.loader.ShardSet.open(shards).classes();
    assertThat(card.path("training").path("arcface_scale").asDouble())
        .isEqualTo(dev.mfn.training.TrainingOptions.defaultScale(classes), org.assertj.core.data.Offset.offset(1e-3));
    assertThat(card.path("training").path("arcface_scale_rule").asText()).startsWith("auto");
    // --fill-outside and --low-res reached the loader (the card describes the crops' changes from the options it trained with)
    assertThat(card.path("training").path("crop_jitter").asText())
        .isEqualTo("on the fly: low resolution 40-100% of the side (p 0.5), outside-photo black painted over");
    assertThat(card.path("verification").get(0).path("pairs").asInt()).isEqualTo(20);
    JsonNode config = new ObjectMapper().readTree(v1.resolve("config.json").toFile());
    assertThat(config.path("threshold").asDouble())
        .isEqualTo(card.path("verification").get(0).path("best_threshold").asDouble(), org.assertj.core.data.Offset.offset(1e-3));
    assertThat(Files.readString(v1.resolve("model-card.md"))).contains("| LFW |").contains("mfn train --shards");

    assertThat(config.path("threshold_far").asDouble()).as("1:N is stricter than 1:1").isGreaterThanOrEqualTo(config.path("threshold").asDouble());
    assertThat(config.path("target_far").asDouble()).isEqualTo(1e-4);
    assertThat(config.path("checksum").asText()).isEqualTo(dev.mfn.model.store.ModelStore.checksum(v1));
    // the training run exported what serves, from these parameters, and the embedders take it
    assertThat(train.out()).contains("exported " + v1.resolve("model.onnx"));
    assertThat(config.path("onnx").path("parameters_sha256").asText()).isEqualTo(config.path("checksum").asText());
    assertThat(dev.mfn.model.export.OnnxExport.usable(v1, dev.mfn.model.store.ModelConfig.read(v1))).isPresent();
    assertThat(card.path("threshold_far").asDouble()).isEqualTo(config.path("threshold_far").asDouble(), org.assertj.core.data.Offset.offset(1e-4));
    assertThat(new ObjectMapper().readTree(v1.resolve("gate.json").toFile()).path("passed").asBoolean()).isFalse();

    // an operator overrides the gate: forced, numbered next, with the checksum of the parameters
    MfnCliTest.Run force = MfnCliTest.mfn("models", "promote", v1.toString(), "--force", "--reason", "test", "--topic", topic, "--bootstrap", bootstrap);
    assertThat(force.exit()).as(force.err()).isZero();
    List<ConsumerRecord<String, byte[]>> events = TopicReader.readAll(bootstrap, topic);
    ModelEvent event = serde.decode(events.get(events.size() - 1).value());
    String id = "v1-" + Files.readString(store.resolve("STORE_ID")).strip();
    assertThat(config.path("store_id").asText()).isEqualTo(id.substring(3));
    assertThat(event.getModelVersion()).as("the version's id, unique across stores").isEqualTo(id);
    assertThat(event.getSequence()).isEqualTo(3);
    assertThat(event.getForced()).isTrue();
    assertThat(event.getChecksum()).isEqualTo(config.path("checksum").asText());
    assertThat(event.getLocation()).isEqualTo(v1.toAbsolutePath().toUri().toString());
    assertThat(MfnCliTest.mfn("models", "list", "--topic", topic, "--bootstrap", bootstrap).out()).contains("serving: " + id);

    // the committed default, a folder in no store (README's upgrade path for an index a following
    // job built with a former default): announced under its own id, v1-<first 8 hex of its checksum>
    Path committed = Path.of(System.getProperty("mfn.repo", "../..")).resolve("models/default").toAbsolutePath().normalize();
    String committedSum = dev.mfn.model.store.ModelStore.checksum(committed);
    MfnCliTest.Run promoteDefault = MfnCliTest.mfn("models", "promote", committed.toString(), "--force", "--topic", topic, "--bootstrap", bootstrap);
    assertThat(promoteDefault.exit()).as(promoteDefault.err()).isZero();
    events = TopicReader.readAll(bootstrap, topic);
    ModelEvent defaultEvent = serde.decode(events.get(events.size() - 1).value());
    assertThat(defaultEvent.getModelVersion()).isEqualTo("v1-" + committedSum.substring(0, 8));
    assertThat(defaultEvent.getChecksum()).isEqualTo(committedSum);
    assertThat(defaultEvent.getLocation()).isEqualTo(committed.toUri().toString());
    assertThat(defaultEvent.getSequence()).isEqualTo(4);
    assertThat(MfnCliTest.mfn("models", "list", "--topic", topic, "--bootstrap", bootstrap).out())
        .contains("serving: v1-" + committedSum.substring(0, 8));

    // the store (its latest version) is a MODEL for the other commands
    Path list = dir.resolve("list.txt");
    Files.write(list, List.of(photos.resolve("020/01.jpg").toAbsolutePath().toString()));
    MfnCliTest.Run embed = MfnCliTest.mfn("embed", "--model", store.toString(), "--list", list.toString(),
        "--out", dir.resolve("e.csv").toString(), "--no-progress");
    assertThat(embed.exit()).as(embed.err()).isZero();
    assertThat(Files.readString(dir.resolve("e.csv")).split(",")).hasSize(129);
  }

  @Test
  void aDivergedRunIsNeverPickedForAResume(@TempDir Path dir) throws IOException {
    // two interrupted runs (incomplete, with a checkpoint); v2 diverged: only v1 is resumable
    for (String v : List.of("v1", "v2")) {
      Path run = dir.resolve(v);
      Files.createDirectories(run.resolve("checkpoints"));
      Files.writeString(run.resolve(dev.mfn.model.store.ModelStore.INCOMPLETE), "");
      Files.writeString(run.resolve("checkpoints").resolve("LATEST"), "step-000000001-epoch00000\n");
    }
    var store = new dev.mfn.model.store.ModelStore(dir);
    assertThat(TrainCommand.interrupted(store)).extracting(p -> p.getFileName().toString()).containsExactly("v2", "v1");
    Files.writeString(dir.resolve("v2").resolve(dev.mfn.training.FaceTrainer.DIVERGED), "training diverged at step 2\n");
    assertThat(TrainCommand.interrupted(store)).extracting(p -> p.getFileName().toString()).containsExactly("v1");
  }

  @Test
  void aDivergedRunIsItsOwnReasonForScripts() {
    // --json gets the reason code; a person gets the message's one line (Mfn's handler)
    assertThat(Mfn.reason(new dev.mfn.training.FaceTrainer.DivergedException("training diverged at step 2")))
        .isEqualTo("TRAINING_DIVERGED");
  }

  @Test
  void weightDecayTakesBodyAndHeadOrOneValueForBoth() {
    assertThat(TrainCommand.parseDecay("4e-5,4e-4")).containsExactly(4e-5f, 4e-4f);
    assertThat(TrainCommand.parseDecay("5e-4")).containsExactly(5e-4f, 5e-4f);
    assertThat(TrainCommand.parseDecay(" 0.0005 , .001")).containsExactly(5e-4f, 1e-3f);
    assertThat(TrainCommand.parseDecay("0,+4e-4")).containsExactly(0f, 4e-4f);
    for (String bad : new String[] {"", "5e-4,", "a,b", "1,2,3", "5e-4f", "0x1p-11", "NaN", "Infinity", "-0", "-1e-4", "1e-50"}) {
      assertThatThrownBy(() -> TrainCommand.parseDecay(bad)).hasMessageContaining("--weight-decay");
    }
    // the options refuse what would make SGD grow the weights or erase them in one step
    var options = dev.mfn.training.TrainingOptions.defaults(Path.of("s")).withBudget(1, null);
    assertThatThrownBy(() -> options.withDecay(-1e-4f, 4e-4f).validate()).hasMessageContaining("--weight-decay");
    assertThatThrownBy(() -> options.withDecay(4e-5f, Float.NaN).validate()).hasMessageContaining("--weight-decay");
    options.withDecay(0f, 0f).validate();
  }

  @Test
  void theGpuPathOnAMachineWithoutOneIsOneClearLine(@TempDir Path dir) throws IOException {
    Path shards = Files.createDirectories(dir.resolve("shards"));
    Files.writeString(shards.resolve("manifest.json"), "{\"labels\":{\"a\":0,\"b\":1},\"totals\":{}}");
    MfnCliTest.Run run = MfnCliTest.mfn("train", "--shards", shards.toString(), "--model-store",
        dir.resolve("store").toString(), "--epochs", "1", "--device", "gpu", "--no-progress");
    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err().strip().lines()).hasSize(1);
    assertThat(run.err()).contains("GPU").contains("--device cpu");
  }

  @Test
  void anEraseShareOutOfRangeIsOneClearLineAndTheHelpSaysWhatItDoes(@TempDir Path dir) throws IOException {
    Path shards = Files.createDirectories(dir.resolve("shards"));
    Files.writeString(shards.resolve("manifest.json"), "{\"labels\":{\"a\":0,\"b\":1},\"totals\":{}}");
    for (String bad : List.of("0.7", "0", "NaN")) {
      MfnCliTest.Run run = MfnCliTest.mfn("train", "--shards", shards.toString(), "--model-store",
          dir.resolve("store").toString(), "--epochs", "1", "--erase", bad, "--no-progress");
      assertThat(run.exit()).as(bad).isEqualTo(2);
      assertThat(run.err().strip().lines()).as(bad).hasSize(1);
      assertThat(run.err()).contains("--erase must be a share of the crop in [0.02, 0.5]");
      assertThat(dir.resolve("store")).as("nothing made before the options are checked").doesNotExist();
    }
    assertThat(MfnCliTest.mfn("train", "--help").out()).contains("--erase=SHARE").contains("Random erasing");
  }

  @Test
  void aLabelSmoothingDropoutCosineMarginOrJitterStrengthOutOfRangeIsOneClearLineAndTheHelpSaysWhatItDoes(@TempDir Path dir) throws IOException {
    Path shards = Files.createDirectories(dir.resolve("shards"));
    Files.writeString(shards.resolve("manifest.json"), "{\"labels\":{\"a\":0,\"b\":1},\"totals\":{}}");
    for (String bad : List.of("1", "0", "-0.1")) {
      refusedInOneLine(dir, shards, "--label-smoothing must be a share in (0, 1)", "--label-smoothing", bad);
    }
    refusedInOneLine(dir, shards, "--dropout must be a rate in (0, 1)", "--dropout", "1");
    refusedInOneLine(dir, shards, "--cos-margin must be in (0, 1)", "--cos-margin", "1.5");
    refusedInOneLine(dir, shards, "--jitter-strength needs --jitter", "--jitter-strength", "1.5");
    refusedInOneLine(dir, shards, "--jitter-strength must be in [0.25, 3.0]", "--jitter", "--jitter-strength", "4");
    assertThat(MfnCliTest.mfn("train", "--help").out())
        .contains("--label-smoothing=EPS").contains("Label smoothing")
        .contains("--dropout=P").contains("Dropout before the embedding")
        .contains("--cos-margin=M3").contains("CosFace")
        .contains("--jitter-strength=K");
  }

  /** `mfn train` with {@code flags} on top of a valid command: exit 2, one line saying {@code message}, nothing made. */
  private static void refusedInOneLine(Path dir, Path shards, String message, String... flags) {
    List<String> args = new java.util.ArrayList<>(List.of("train", "--shards", shards.toString(), "--model-store",
        dir.resolve("store").toString(), "--epochs", "1", "--no-progress"));
    args.addAll(List.of(flags));
    MfnCliTest.Run run = MfnCliTest.mfn(args.toArray(String[]::new));
    assertThat(run.exit()).as(String.join(" ", flags)).isEqualTo(2);
    assertThat(run.err().strip().lines()).as(String.join(" ", flags)).hasSize(1);
    assertThat(run.err()).contains(message);
    assertThat(dir.resolve("store")).as("nothing made before the options are checked").doesNotExist();
  }

  @Test
  void resumeWithoutAnInterruptedRunIsOneClearLine(@TempDir Path dir) throws IOException {
    Path shards = Files.createDirectories(dir.resolve("shards"));
    Files.writeString(shards.resolve("manifest.json"), "{\"labels\":{\"a\":0,\"b\":1},\"totals\":{}}");
    MfnCliTest.Run run = MfnCliTest.mfn("train", "--shards", shards.toString(), "--model-store",
        dir.resolve("store").toString(), "--minutes", "1", "--resume", "--no-progress");
    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err()).contains("no interrupted run");
  }

  @Test
  void resumeWithOtherOptionsThanTheCheckpointsIsOneClearLine(@TempDir Path dir) throws Exception {
    Path shards = Files.createDirectories(dir.resolve("shards"));
    Files.writeString(shards.resolve("manifest.json"), "{\"labels\":{\"a\":0,\"b\":1},\"totals\":{}}");
    // an interrupted run: a version still marked incomplete, its checkpoint made with --lr 0.1
    var options = dev.mfn.training.TrainingOptions.defaults(shards).withBudget(null, 1.0);
    Path v1 = interruptedRun(dir.resolve("store"), 1, options.withBatch(32, 0.1f, 200), shards);

    MfnCliTest.Run run = MfnCliTest.mfn("train", "--shards", shards.toString(), "--model-store",
        dir.resolve("store").toString(), "--minutes", "1", "--resume", "--no-progress");
    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err().strip().lines()).hasSize(1);
    assertThat(run.err()).contains("--resume: the checkpoint at step 0 was made with other settings: --lr 0.1 (now 0.05)");
    assertThat(run.out()).doesNotContain("trained");

    // what a retried Kubernetes Job runs: that run does not match, so a new version is started ...
    run = MfnCliTest.mfn("train", "--shards", shards.toString(), "--model-store",
        dir.resolve("store").toString(), "--minutes", "1", "--resume-if-interrupted", "--no-progress");
    assertThat(run.out()).contains("training v2");
    assertThat(run.err()).contains("the shards hold no training samples"); // (these shards are empty)
    // ... while an interrupted run made with the same options and shards is continued
    Path v3 = interruptedRun(dir.resolve("store"), 3, options, shards);
    run = MfnCliTest.mfn("train", "--shards", shards.toString(), "--model-store",
        dir.resolve("store").toString(), "--minutes", "1", "--resume-if-interrupted", "--no-progress");
    assertThat(run.out()).contains("training v3").contains("resuming v3 from its checkpoint at step 0");
    // a run another process is training is never taken over
    try (var lock = dev.mfn.training.RunLock.tryAcquire(v3).orElseThrow()) {
      run = MfnCliTest.mfn("train", "--shards", shards.toString(), "--model-store",
          dir.resolve("store").toString(), "--minutes", "1", "--resume-if-interrupted", "--no-progress");
      assertThat(run.out()).contains("training v4");
    }
    assertThat(v1.resolve(dev.mfn.model.store.ModelStore.INCOMPLETE)).exists();
  }

  /** A version folder as a crash leaves it: marked incomplete, one checkpoint at step 0. */
  private static Path interruptedRun(Path store, int number, dev.mfn.training.TrainingOptions options, Path shards)
      throws IOException {
    Path v = Files.createDirectories(store.resolve("v" + number));
    Files.createFile(v.resolve(dev.mfn.model.store.ModelStore.INCOMPLETE));
    Path checkpoint = Files.createDirectories(v.resolve("checkpoints/step-000000000-epoch00000"));
    Files.writeString(v.resolve("checkpoints/LATEST"), "step-000000000-epoch00000\n");
    new ObjectMapper().writeValue(checkpoint.resolve("state.json").toFile(), dev.mfn.training.TrainingState.start(2));
    new ObjectMapper().writeValue(checkpoint.resolve("run.json").toFile(),
        dev.mfn.training.Checkpoint.RunIdentity.of(options, dev.mfn.training.loader.ShardSet.open(shards)));
    Files.writeString(store.resolve(dev.mfn.model.store.ModelStore.LEDGER), number + "\n");
    return v;
  }

  /** LFW's protocol shrunk to 10 folds of 1 same + 1 different pair, over the real images. */
  private static Path miniLfw(Path dir) throws IOException {
    Path lfw = SharedData.require("data/lfw");
    List<String> lines = Files.readAllLines(lfw.resolve("pairs.txt"));
    List<String> mini = new ArrayList<>(List.of("10\t1"));
    for (int fold = 0; fold < 10; fold++) {
      mini.add(lines.get(1 + fold * 600));
      mini.add(lines.get(1 + fold * 600 + 300));
    }
    Path out = Files.createDirectories(dir.resolve("lfw"));
    Files.write(out.resolve("pairs.txt"), mini);
    Files.createSymbolicLink(out.resolve("images"), lfw.resolve("images").toAbsolutePath());
    return out;
  }
}
