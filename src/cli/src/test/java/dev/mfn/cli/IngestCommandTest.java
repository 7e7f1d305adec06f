package dev.mfn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mfn.services.kafka.KafkaBroker;
import dev.mfn.testkit.LocalKafka;
import dev.mfn.testkit.PhotoFolders;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** `mfn publish` then `mfn ingest`, as the README shows, on real photos and the real broker. */
@ExtendWith(LocalKafka.class)
class IngestCommandTest {

  @Test
  void publishThenIngestPrintsABalancedSummary(KafkaBroker broker, @TempDir Path dir) throws Exception {
    Path photos = dir.resolve("photos");
    PhotoFolders.cfpFrontal(photos, "010", 5);
    PhotoFolders.cfpFrontal(photos, "011", 5);
    // Starts like a JPEG, so the publisher sends it; the job's decoder refuses it.
    Files.write(photos.resolve("010/broken.jpg"), new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, 0x00, 0x01});
    MfnCliTest.Run publish = MfnCliTest.mfn("publish", photos.toString(), "--topic", "cli-ingest",
        "--bootstrap", broker.bootstrapServers(), "--no-progress");
    assertThat(publish.exit()).as(publish.err()).isZero();

    Path out = dir.resolve("shards");
    MfnCliTest.Run ingest = MfnCliTest.mfn("ingest", "--topic", "cli-ingest", "--bootstrap", broker.bootstrapServers(),
        "--out", out.toString(), "--policy", "20,8,4,2", "--no-progress");
    assertThat(ingest.exit()).as(ingest.err()).isZero();
    // 5 photos each -> x2 tier (4 < n <= 8): 20 samples; the broken file is a dead letter.
    assertThat(ingest.out())
        .contains("ingested 11 records")
        .contains("photos kept:        10")
        .contains("dead letters:       1")
        .contains("identities:         2 ({OPENING=2}), 2 labelled");
    assertThat(Files.exists(out.resolve("manifest.json"))).isTrue();
  }

  @Test
  void inconsistentPolicyThresholdsAreOneClearLine() {
    MfnCliTest.Run run = MfnCliTest.mfn("ingest", "--out", "/tmp/unused", "--policy", "350,90,200,30",
        "--bootstrap", "127.0.0.1:1", "--no-progress");
    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err().strip().lines()).hasSize(1);
  }
}
