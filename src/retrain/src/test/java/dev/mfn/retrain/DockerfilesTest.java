package dev.mfn.retrain;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mfn.config.MfnSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The images' recipes (no Docker engine here to build them): every base image pinned to a
 * version, every build stage ends as a non-root user, and what they copy from the repository is
 * what the build makes or what the repository holds.
 */
class DockerfilesTest {
  @ParameterizedTest
  @ValueSource(strings = {"flink-jobs.Dockerfile", "cli.Dockerfile"})
  void pinnedBasesNonRootUsersAndRealInputs(String name) throws Exception {
    Path repo = MfnSettings.load().repo();
    List<String> lines = Files.readAllLines(repo.resolve("docker").resolve(name)).stream()
        .map(String::strip).filter(l -> !l.startsWith("#") && !l.isEmpty()).toList();
    List<String> stages = lines.stream().filter(l -> l.startsWith("FROM ")).toList();
    assertThat(stages).isNotEmpty();
    for (String from : stages) {
      String image = from.split("\\s+")[1];
      assertThat(image).as(from).matches("[\\w./-]+:[0-9][\\w.-]*").doesNotEndWith(":latest");
    }
    // the last USER of each stage is a named or numeric non-root user
    String user = null;
    for (String line : lines) {
      if (line.startsWith("FROM ") && user != null) {
        assertThat(user).as(name + " stage user").isNotIn("root", "0");
      }
      if (line.startsWith("FROM ")) {
        user = null;
      } else if (line.startsWith("USER ")) {
        user = line.substring(5).strip();
      }
    }
    assertThat(user).as(name + " last stage user").isNotNull().isNotIn("root", "0");
    for (String line : lines) {
      if (line.startsWith("COPY ") && !line.contains("--from=")) {
        String[] parts = line.replaceAll("--chown=\\S+", "").trim().split("\\s+");
        String source = parts[1];
        if (source.startsWith("models/") || source.startsWith("flink-jobs/") || source.startsWith("src/")) {
          // repository files exist now; build outputs belong to a module that makes them
          Path module = repo.resolve(source.startsWith("models/") ? source : source.substring(0, source.indexOf("/target/")));
          assertThat(module).as(line).exists();
        } else {
          assertThat(source).as(line).startsWith("build/models/mediapipe-face_detection-" + MfnSettings.pinnedVersion("mediapipe.face_detection.version"));
        }
      }
    }
  }
}
