package dev.mfn.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MfnSettingsTest {

  @Test
  void defaultsWorkOnOneMachine() {
    Properties sys = new Properties();
    sys.setProperty("mfn.repo", "/nonexistent-repo");
    MfnSettings s = MfnSettings.load(Map.of(), sys);
    assertThat(s.kafkaBootstrap()).isEqualTo("127.0.0.1:9092");
    assertThat(s.topics().train()).isEqualTo("images.train");
    assertThat(s.topics().deadLetters()).isEqualTo("images.dlq");
    assertThat(s.getLong("publish.inline.limit.bytes")).isEqualTo(1 << 20);
    assertThat(s.home()).isEqualTo(Path.of("/nonexistent-repo/build"));
  }

  @Test
  void fileThenEnvironmentThenSystemPropertiesOverride(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("mfn.properties");
    Files.writeString(file, "topic.train=from-file\ntopic.enroll=from-file\nkafka.port=1\n");
    Properties sys = new Properties();
    sys.setProperty("mfn.repo", dir.toString());
    sys.setProperty("mfn.kafka.port", "3");
    MfnSettings s =
        MfnSettings.load(Map.of("MFN_TOPIC_ENROLL", "from-env", "MFN_KAFKA_PORT", "2"), sys);
    assertThat(s.topics().train()).isEqualTo("from-file");
    assertThat(s.topics().enroll()).isEqualTo("from-env");
    assertThat(s.getInt("kafka.port")).isEqualTo(3);
  }

  @Test
  void serviceVersionsArePinnedByTheBuild() {
    assertThat(MfnSettings.pinnedVersion("elasticsearch.version")).matches("\\d+\\.\\d+\\.\\d+");
    assertThat(MfnSettings.pinnedVersion("mediapipe.face_detection.version")).isNotBlank();
  }
}
