package dev.mfn.services.flink;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cluster setup that keeps native libraries working across failovers: the job jar carries our
 * own code only, the cluster's class path carries every library (the ones with native code too),
 * and the native-code packages are parent-first, so they are never loaded by a job's class loader.
 */
class ClusterClasspathTest {
  @Test
  void theJobJarHoldsOurCodeOnlyAndTheClusterEverythingElse(@TempDir Path dir) throws Exception {
    Path jar = ClusterClasspath.jobJar(dir);
    List<String> entries;
    try (JarFile file = new JarFile(jar.toFile())) {
      entries = Collections.list(file.entries()).stream().map(e -> e.getName()).toList();
    }
    assertThat(entries).anyMatch(e -> e.startsWith("dev/mfn/services/flink/"));
    assertThat(entries).noneMatch(e -> e.startsWith("org/apache/flink/") || e.startsWith("nu/pattern/")
        || e.startsWith("org/opencv/") || e.startsWith("ai/djl/") || e.startsWith("org/rocksdb/"));
    // the same content gives the same jar (its name is its digest): a resubmission reuses it
    assertThat(ClusterClasspath.jobJar(dir)).isEqualTo(jar);

    String libraries = ClusterClasspath.withoutJobCode();
    assertThat(libraries.split(File.pathSeparator)).noneMatch(e -> ClusterClasspath.holdsJobCode(Path.of(e)))
        .anyMatch(e -> e.contains("flink-runtime-")).anyMatch(e -> e.contains("rocksdb"));
    ClusterClasspath.linkLibraries(dir.resolve("lib"));
    assertThat(ClusterClasspath.linked(dir.resolve("lib")).split(File.pathSeparator))
        .hasSameSizeAs(java.util.Arrays.stream(libraries.split(File.pathSeparator)).filter(e -> e.endsWith(".jar")).toArray());
    assertThat(ClusterConfigFile.PARENT_FIRST.split(";")).contains("nu.pattern.", "org.opencv.", "ai.djl.");
    assertThat(Files.isRegularFile(jar)).isTrue();
  }
}
