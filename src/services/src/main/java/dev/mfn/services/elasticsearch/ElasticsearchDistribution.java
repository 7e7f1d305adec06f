package dev.mfn.services.elasticsearch;

import dev.mfn.services.process.Commands;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * The Elasticsearch distribution zip, fetched from Maven Central with Maven itself (by its
 * coordinates) and unpacked once.
 */
final class ElasticsearchDistribution {
  static final String COORDINATES = "org.elasticsearch.distribution.integ-test-zip:elasticsearch";

  private final String version;
  private final Path root;

  ElasticsearchDistribution(String version, Path root) {
    this.version = version;
    this.root = root;
  }

  /** The unpacked ES_HOME, fetching and unpacking the zip when it is not there yet. */
  Path ensureUnpacked() throws IOException {
    Path home = root.resolve("elasticsearch-" + version);
    Path marker = home.resolve(".mfn-unpacked");
    if (Files.exists(marker)) {
      return home;
    }
    Path zip = fetch();
    Path staging = Files.createTempDirectory(Files.createDirectories(root), "unpack-");
    unzip(zip, staging);
    Path unpacked = staging.resolve("elasticsearch-" + version);
    if (!Files.isDirectory(unpacked)) {
      throw new IOException("unexpected layout in " + zip + ": no elasticsearch-" + version + "/");
    }
    deleteRecursively(home);
    Files.move(unpacked, home, StandardCopyOption.ATOMIC_MOVE);
    deleteRecursively(staging);
    Files.writeString(marker, version + "\n");
    return home;
  }

  private Path fetch() throws IOException {
    Path downloads = Files.createDirectories(root.resolve("downloads"));
    Path zip = downloads.resolve("elasticsearch-" + version + ".zip");
    if (Files.isRegularFile(zip) && Files.size(zip) > 0) {
      return zip;
    }
    if (!Commands.onPath("mvn")) {
      throw new IOException("Maven (mvn) is needed to fetch Elasticsearch " + version);
    }
    Commands.check(
        List.of(
            "mvn",
            "-q",
            "-B",
            "org.apache.maven.plugins:maven-dependency-plugin:"
                + dev.mfn.config.MfnSettings.pinnedVersion("maven.dependency.plugin.version")
                + ":copy",
            "-Dartifact=" + COORDINATES + ":" + version + ":zip",
            "-DoutputDirectory=" + downloads),
        null,
        1800);
    if (!Files.isRegularFile(zip)) {
      throw new IOException("Maven did not deliver " + zip.getFileName());
    }
    return zip;
  }

  private static void unzip(Path zip, Path target) throws IOException {
    try (InputStream raw = Files.newInputStream(zip);
        ZipInputStream in = new ZipInputStream(raw)) {
      for (ZipEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
        Path out = target.resolve(e.getName()).normalize();
        if (!out.startsWith(target)) {
          throw new IOException("zip entry outside the target: " + e.getName());
        }
        if (e.isDirectory()) {
          Files.createDirectories(out);
          continue;
        }
        Files.createDirectories(out.getParent());
        Files.copy(in, out, StandardCopyOption.REPLACE_EXISTING);
        // java.util.zip drops Unix modes: scripts under any bin/ folder must be executable.
        if (out.getParent().getFileName().toString().equals("bin")) {
          ElasticsearchServer.makeExecutable(out);
        }
      }
    }
  }

  static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (var paths = Files.walk(dir)) {
      for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
