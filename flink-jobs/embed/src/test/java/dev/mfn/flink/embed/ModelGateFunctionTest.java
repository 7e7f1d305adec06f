package dev.mfn.flink.embed;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mfn.model.EmbeddingModels;
import dev.mfn.model.store.ModelStore;
import dev.mfn.records.DeadLetter;
import dev.mfn.records.ModelEvent;
import dev.mfn.records.ModelEventKind;
import dev.mfn.search.index.VectorIndex;
import dev.mfn.services.kafka.KafkaBroker;
import dev.mfn.testkit.DetectorFiles;
import dev.mfn.testkit.LocalKafka;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.apache.flink.formats.avro.typeutils.AvroSerializer;
import org.apache.flink.streaming.api.datastream.AsyncDataStream;
import org.apache.flink.streaming.api.operators.async.AsyncWaitOperatorFactory;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.types.Either;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embed job's gate on README's upgrade path: an index that serves {@code v1} (a former
 * committed default) with {@code models/default} as its model, and the folder, now the committed
 * model with another id, announced by an operator. The folder records no evaluation pairs and the
 * job has no --gate-pairs, so the canary cannot run: unforced, the announcement is refused (a
 * MODEL_REFUSED dead letter, and a RETIRED event on the models topic so that `mfn models list`
 * knows); forced, it passes once the model opens. Runs the gate as the job does, in Flink's async
 * operator (ordered, capacity 1).
 */
@ExtendWith(LocalKafka.class)
class ModelGateFunctionTest {
  private static final Path OURS = Path.of(System.getProperty("mfn.repo", "../..")).resolve("models/default").toAbsolutePath().normalize();

  @Test
  void aFolderWithoutPairsPassesOnlyWhenForcedAndARefusalIsOnRecord(KafkaBroker broker, @TempDir Path dir) throws Exception {
    String models = "gate-upgrade-models";
    dev.mfn.flink.common.KafkaTopics.ensure(broker.bootstrapServers(), models, 1, java.util.Map.of());
    IndexTarget target = IndexTarget.lucene(dir.resolve("index"));
    try (VectorIndex former = target.open("v1")) {
      former.serve(OURS.toUri().toString());
    }
    EmbedConfig config = new EmbedConfig(broker.bootstrapServers(), "unused", "unused-dlq", models, "g", false, 1,
        OURS.toString(), target, false, 8, 200, 1_000, dir.resolve("chk").toString(), "blazeface",
        DetectorFiles.blazefaceDir().toString(), null, null, 0.5, 20, 64L << 20, 60_000_000);
    assertThat(config.gate().pairs()).as("no --gate-pairs").isNull();
    String committed = EmbeddingModels.version(OURS);
    assertThat(committed).isNotEqualTo("v1");

    Either<DeadLetter, ModelEvent> refused = gate(config, promotion(committed, false));
    assertThat(refused.isLeft()).as("unforced: refused").isTrue();
    assertThat(refused.left().getReason()).isEqualTo("MODEL_REFUSED");
    assertThat(refused.left().getMessage()).startsWith(committed).contains("no pair set");
    List<ModelEvent> topic = ModelEventsTopic.events(new ModelEventsTopic(broker.bootstrapServers(), models).history());
    assertThat(topic).as("the refusal on record").hasSize(1);
    assertThat(topic.get(0).getKind()).isEqualTo(ModelEventKind.RETIRED);
    assertThat(topic.get(0).getModelVersion()).isEqualTo(committed);
    assertThat(topic.get(0).getReason()).startsWith("refused by the embed job's gate");

    Either<DeadLetter, ModelEvent> forced = gate(config, promotion(committed, true));
    assertThat(forced.isRight()).as("forced: through to the followers").isTrue();
    assertThat(forced.right().getModelVersion()).isEqualTo(committed);
    assertThat(ModelEventsTopic.events(new ModelEventsTopic(broker.bootstrapServers(), models).history()))
        .as("nothing more on record").hasSize(1);
  }

  private static ModelEvent promotion(String version, boolean forced) throws Exception {
    return ModelEvent.newBuilder().setKind(ModelEventKind.PROMOTED).setModelVersion(version)
        .setLocation(OURS.toUri().toString()).setChecksum(ModelStore.checksum(OURS)).setSequence(1).setForced(forced)
        .setTimestamp(Instant.now()).build();
  }

  /** One event through a gate without state (it starts where the index serves), as the job wires it. */
  private static Either<DeadLetter, ModelEvent> gate(EmbedConfig config, ModelEvent event) throws Exception {
    var factory = new AsyncWaitOperatorFactory<ModelEvent, Either<DeadLetter, ModelEvent>>(
        new ModelGateFunction(config), 600_000, 1, AsyncDataStream.OutputMode.ORDERED);
    try (var harness = new OneInputStreamOperatorTestHarness<>(factory, new AvroSerializer<>(ModelEvent.class))) {
      // the output's serializer given: the harness cannot infer an Either's types from a value
      harness.setup(new org.apache.flink.api.java.typeutils.runtime.EitherSerializer<>(
          new AvroSerializer<>(DeadLetter.class), new AvroSerializer<>(ModelEvent.class)));
      harness.open();
      synchronized (harness.getCheckpointLock()) {
        harness.processElement(event, 0);
        harness.endInput(); // waits for the answer
      }
      List<Either<DeadLetter, ModelEvent>> out = harness.extractOutputValues();
      assertThat(out).hasSize(1);
      return out.get(0);
    }
  }
}
