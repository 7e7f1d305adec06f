package dev.mfn.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** metrics.jsonl across a crash: the resume keeps the checkpoint's lines and survives a torn tail. */
class MetricsLogTest {
  @Test
  void aResumeAfterAKillMidLineKeepsTheCheckpointsLinesAndGoesOn(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("metrics.jsonl");
    try (MetricsLog log = new MetricsLog(file, 0)) {
      for (long step = 10; step <= 40; step += 10) {
        log.write(log.record("step", step).put("loss", 1.0 / step));
      }
    }
    // kill -9 in the middle of a line: half a JSON object and half of a two-byte character ("é")
    byte[] torn = "{\"type\":\"step\",\"step\":50,\"note\":\"\u00e9".getBytes(StandardCharsets.UTF_8);
    Files.write(file, java.util.Arrays.copyOf(torn, torn.length - 1), StandardOpenOption.APPEND);

    try (MetricsLog log = new MetricsLog(file, 30)) { // the checkpoint was at step 30
      log.write(log.record("step", 40).put("loss", 0.5));
    }
    assertThat(MetricsLog.read(file)).extracting(r -> r.path("step").asLong()).containsExactly(10L, 20L, 30L, 40L);
    assertThat(MetricsLog.read(file).get(3).path("loss").asDouble()).isEqualTo(0.5);
    assertThat(Files.readAllLines(file)).hasSize(4);
    try (var left = Files.list(dir)) {
      assertThat(left).containsExactly(file); // no temporary file left beside it
    }
  }

  @Test
  void aLineThatIsNotARecordBeforeTheLastStillFails(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("metrics.jsonl");
    Files.writeString(file, "{\"type\":\"step\",\"step\":10}\nnot json\n{\"type\":\"step\",\"step\":20}\n");
    assertThatThrownBy(() -> MetricsLog.read(file)).isInstanceOf(IOException.class).hasMessageContaining("line 2");
  }
}
