package dev.mfn.flink.embed;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mfn.records.ModelEvent;
import dev.mfn.records.ModelEventKind;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The rule every follower applies to model events: only a newer sequence applies (a replayed,
 * duplicate or older event changes nothing, also after a restore from state), a checksum must
 * match the file, RETIRED of the serving version goes back to the one before it, and the only
 * version cannot be retired.
 */
class ModelTimelineTest {
  /** Checksums of the "files" of this test: what a real SHA-256 of each location would give. */
  private static final Map<String, String> FILES = Map.of("/m/v1", "aa", "/m/v2", "bb", "/m/v3", "cc");
  private static final ModelTimeline.Checksums SUMS = p -> FILES.getOrDefault(p.toString(), "missing");

  private static ModelEvent event(ModelEventKind kind, String version, long sequence, String checksum) {
    return ModelEvent.newBuilder().setKind(kind).setModelVersion(version).setLocation("/m/" + version)
        .setTimestamp(Instant.EPOCH).setSequence(sequence).setChecksum(checksum).build();
  }

  private static ModelTimeline startingWithV1() {
    return new ModelTimeline(new ModelTimeline.Model("v1", "/m/v1", 0));
  }

  @Test
  void onlyANewerSequenceApplies() throws Exception {
    ModelTimeline t = startingWithV1();
    assertThat(t.apply(event(ModelEventKind.PUBLISHED, "v2", 5, "bb"), SUMS)).isEqualTo(ModelTimeline.Outcome.SWITCHED);
    assertThat(t.current().version()).isEqualTo("v2");
    // the same event again (a replay), an older one, and an unnumbered one: nothing moves
    assertThat(t.apply(event(ModelEventKind.PUBLISHED, "v2", 5, "bb"), SUMS)).isEqualTo(ModelTimeline.Outcome.STALE);
    assertThat(t.apply(event(ModelEventKind.PUBLISHED, "v1", 4, "aa"), SUMS)).isEqualTo(ModelTimeline.Outcome.STALE);
    assertThat(t.apply(event(ModelEventKind.PUBLISHED, "v1", 0, "aa"), SUMS)).isEqualTo(ModelTimeline.Outcome.STALE);
    assertThat(t.current().version()).isEqualTo("v2");

    // restored from its state (a restarted job), the replayed older event still changes nothing
    ModelTimeline restored = ModelTimeline.fromJson(t.toJson());
    assertThat(restored.apply(event(ModelEventKind.PUBLISHED, "v1", 3, "aa"), SUMS)).isEqualTo(ModelTimeline.Outcome.STALE);
    assertThat(restored.current()).isEqualTo(t.current());
    assertThat(restored.lastSequence()).isEqualTo(5);
  }

  @Test
  void aChecksumThatDoesNotMatchTheFileIsRefusedAndDoesNotUseUpTheSequence() {
    ModelTimeline t = startingWithV1();
    assertThat(t.apply(event(ModelEventKind.PUBLISHED, "v2", 1, "not-bb"), SUMS)).isEqualTo(ModelTimeline.Outcome.CHECKSUM_MISMATCH);
    assertThat(t.apply(event(ModelEventKind.PUBLISHED, "v2", 2, null), SUMS)).isEqualTo(ModelTimeline.Outcome.CHECKSUM_MISMATCH);
    assertThat(t.current().version()).isEqualTo("v1");
    // the right one, numbered after the refused ones, applies
    assertThat(t.apply(event(ModelEventKind.PUBLISHED, "v2", 2, "bb"), SUMS)).isEqualTo(ModelTimeline.Outcome.SWITCHED);
  }

  @Test
  void retiringTheServingVersionGoesBackAndTheOnlyVersionStays() {
    ModelTimeline t = startingWithV1();
    assertThat(t.apply(event(ModelEventKind.RETIRED, "v1", 1, null), SUMS)).isEqualTo(ModelTimeline.Outcome.ONLY_VERSION);
    assertThat(t.current().version()).isEqualTo("v1");
    t.apply(event(ModelEventKind.PUBLISHED, "v2", 2, "bb"), SUMS);
    t.apply(event(ModelEventKind.PUBLISHED, "v3", 3, "cc"), SUMS);
    // retiring another version is recorded; retiring the serving one goes back past the retired one
    assertThat(t.apply(event(ModelEventKind.RETIRED, "v2", 4, null), SUMS)).isEqualTo(ModelTimeline.Outcome.RECORDED);
    assertThat(t.apply(event(ModelEventKind.RETIRED, "v3", 5, null), SUMS)).isEqualTo(ModelTimeline.Outcome.SWITCHED);
    assertThat(t.current().version()).isEqualTo("v1");
    assertThat(t.current().path()).isEqualTo(Path.of("/m/v1"));
    assertThat(t.previous().version()).as("where the tasks wrote before").isEqualTo("v3");
    // a retired version may be promoted again (a new event)
    assertThat(t.apply(event(ModelEventKind.PROMOTED, "v3", 6, "cc"), SUMS)).isEqualTo(ModelTimeline.Outcome.SWITCHED);
    assertThat(t.current().version()).isEqualTo("v3");
  }

  @Test
  void theTopicsHistoryAloneServesNothingUntilAnEventApplies() {
    ModelTimeline t = ModelTimeline.empty();
    assertThat(t.serving()).isFalse();
    t.apply(event(ModelEventKind.RETIRED, "v9", 1, null), ModelTimeline.TRUSTED);
    assertThat(t.serving()).isFalse();
    t.apply(event(ModelEventKind.PUBLISHED, "v2", 2, "bb"), ModelTimeline.TRUSTED);
    assertThat(t.current().version()).isEqualTo("v2");
    assertThat(t.apply(event(ModelEventKind.RETIRED, "v2", 3, null), ModelTimeline.TRUSTED))
        .as("nothing to go back to").isEqualTo(ModelTimeline.Outcome.ONLY_VERSION);
  }
}
