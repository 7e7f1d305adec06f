package dev.mfn.flink.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The manifest writer alone, in Flink's operator test harness: a cut's manifest appears only when
 * the cut is whole (every curator task done, every kept identity labelled), and only after a
 * checkpoint later than the one holding the cut has completed (that one commits its shard files);
 * its dead-letter totals are those of the moment it became whole; a restore keeps all of it.
 */
class ManifestWriterTest {
  @Test
  void aCutsManifestWaitsForWholenessAndTheCheckpointAfterIt(@TempDir Path out) throws Exception {
    Path manifest = out.resolve("cuts/c1/manifest.json");
    OperatorSubtaskState restored;
    try (var harness = harness(out)) {
      harness.open();
      harness.processElement(record(ManifestEntry.deadLetter("NO_FACE", 1)));
      harness.processElement(record(ManifestEntry.decision("c1", "a", 12, 10, "KEEP", 9, 1)));
      harness.processElement(record(ManifestEntry.decision("c1", "b", 3, 0, "DROP", 0, 0)));
      harness.processElement(record(ManifestEntry.cutDone("c1", 0, 2)));
      harness.snapshot(1, 1);
      harness.notifyOfCompletedCheckpoint(1);
      harness.snapshot(2, 2);
      harness.notifyOfCompletedCheckpoint(2);
      assertThat(manifest).as("one curator task of two has not finished the cut").doesNotExist();

      harness.processElement(record(ManifestEntry.cutDone("c1", 1, 2)));
      harness.snapshot(3, 3);
      harness.notifyOfCompletedCheckpoint(3);
      assertThat(manifest).as("a's label has not come").doesNotExist();

      harness.processElement(record(ManifestEntry.label("c1", "a", 7)));
      harness.processElement(record(ManifestEntry.deadLetter("TRUNCATED", 1))); // after the cut: not in it
      restored = harness.snapshot(4, 4);
      harness.notifyOfCompletedCheckpoint(4);
      assertThat(manifest).as("checkpoint 4 holds the cut and commits its files").doesNotExist();
    }
    // a failure here: the job restarts from checkpoint 4, and the next checkpoint writes it
    try (var harness = harness(out)) {
      harness.initializeState(restored);
      harness.open();
      harness.snapshot(5, 5);
      assertThat(manifest).doesNotExist();
      harness.notifyOfCompletedCheckpoint(5);
    }
    JsonNode doc = new ObjectMapper().readTree(manifest.toFile());
    assertThat(doc.at("/labels/a").asInt()).isEqualTo(7);
    assertThat(doc.at("/identities/a/label").asInt()).isEqualTo(7);
    assertThat(doc.at("/identities/b/tier").asText()).isEqualTo("DROP");
    assertThat(doc.at("/totals/dead_letters").asLong()).isEqualTo(1);
    assertThat(doc.at("/totals/records_in").asLong()).isEqualTo(12 + 3 + 1);
    assertThat(doc.at("/totals/photos_kept").asLong() + doc.at("/totals/dropped_by_policy").asLong()
        + doc.at("/totals/dead_letters").asLong()).isEqualTo(doc.at("/totals/records_in").asLong());
    assertThat(Files.exists(out.resolve("manifest.json"))).as("an unbounded run writes no root manifest").isFalse();
  }

  private static OneInputStreamOperatorTestHarness<ManifestEntry, Void> harness(Path out) throws Exception {
    return new OneInputStreamOperatorTestHarness<>(new ManifestWriter(ClusterIngestConfigs.unbounded(out)));
  }

  private static StreamRecord<ManifestEntry> record(ManifestEntry e) {
    return new StreamRecord<>(e);
  }
}
