package dev.mfn.services.elasticsearch;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Properties;

/**
 * Finds a JDK of at least a given major version. Elasticsearch 9 needs Java 21+, while the project
 * itself builds on 17, so the machine usually has a second JDK beside the default.
 *
 * <p>Looks, in order, at ES_JAVA_HOME, JAVA_HOME, the JVM running us, then the usual install folders
 * (/usr/lib/jvm, /opt/java, /usr/java); the newest matching JDK wins.
 */
public final class JdkLocator {
  private static final List<Path> INSTALL_ROOTS =
      List.of(Path.of("/usr/lib/jvm"), Path.of("/opt/java"), Path.of("/usr/java"));

  private JdkLocator() {}

  public static Optional<Path> find(int minimumMajor) {
    List<Path> candidates = new ArrayList<>();
    for (String env : new String[] {"ES_JAVA_HOME", "JAVA_HOME"}) {
      String value = System.getenv(env);
      if (value != null && !value.isBlank()) {
        candidates.add(Path.of(value));
      }
    }
    candidates.add(Path.of(System.getProperty("java.home")));
    for (Path root : INSTALL_ROOTS) {
      if (Files.isDirectory(root)) {
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(root)) {
          List<Path> found = new ArrayList<>();
          dirs.forEach(found::add);
          found.sort(java.util.Comparator.comparing(p -> -majorVersion(p).orElse(0)));
          candidates.addAll(found);
        } catch (IOException e) {
          // an unreadable folder holds no JDK we can use
        }
      }
    }
    return candidates.stream()
        .filter(p -> Files.isExecutable(p.resolve("bin/java")))
        .filter(p -> majorVersion(p).orElse(0) >= minimumMajor)
        .findFirst();
  }

  /** JAVA_VERSION from the JDK's {@code release} file, e.g. "25.0.1" gives 25 and "1.8.0" gives 8. */
  static OptionalInt majorVersion(Path javaHome) {
    Path release = javaHome.resolve("release");
    if (!Files.isRegularFile(release)) {
      return OptionalInt.empty();
    }
    try (var in = Files.newBufferedReader(release)) {
      Properties p = new Properties();
      p.load(in);
      String v = p.getProperty("JAVA_VERSION", "").replace("\"", "");
      String[] parts = v.split("[.\\-+]");
      int major = Integer.parseInt(parts[0]);
      return OptionalInt.of(major == 1 && parts.length > 1 ? Integer.parseInt(parts[1]) : major);
    } catch (IOException | NumberFormatException e) {
      return OptionalInt.empty();
    }
  }
}
