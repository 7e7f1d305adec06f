package dev.mfn.services.flink;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

/**
 * This JVM's class path split in two: the libraries (Flink, Kafka, OpenCV, DJL, ...), which the
 * cluster's processes run with, and our own code (every entry holding {@code dev/mfn}), which
 * travels to the cluster inside each submitted job jar, as user code does on any Flink cluster.
 */
public final class ClusterClasspath {
  private static final String OUR_PACKAGE = "dev/mfn/";

  private ClusterClasspath() {}

  /**
   * The libraries (the class path without our own code) as hard links in {@code lib} (copies
   * where links cannot be made): the cluster runs from there, so rebuilding the project, which
   * replaces the jars under target/, leaves a running cluster's jars alone.
   */
  public static void linkLibraries(Path lib) throws IOException {
    if (Files.isDirectory(lib)) {
      try (Stream<Path> old = Files.list(lib)) {
        for (Path f : old.toList()) {
          Files.delete(f);
        }
      }
    }
    Files.createDirectories(lib);
    int index = 0;
    for (String entry : withoutJobCode().split(File.pathSeparator)) {
      Path jar = Path.of(entry);
      if (!Files.isRegularFile(jar) || !entry.endsWith(".jar")) {
        continue; // a classes folder of a library: none in practice
      }
      // numbered: the class path keeps this JVM's order (it decides between duplicate classes)
      Path target = lib.resolve(String.format("%04d-%s", index++, jar.getFileName()));
      try {
        Files.createLink(target, jar);
      } catch (IOException | UnsupportedOperationException e) {
        Files.copy(jar, target);
      }
    }
  }

  /** The linked libraries in {@code lib}, in their class path order. */
  public static String linked(Path lib) throws IOException {
    try (Stream<Path> jars = Files.list(lib)) {
      return String.join(File.pathSeparator, jars.map(Path::toString).filter(n -> n.endsWith(".jar")).sorted().toList());
    }
  }

  /** The class path without our own code. */
  public static String withoutJobCode() {
    List<String> kept = new ArrayList<>();
    for (String entry : entries()) {
      if (!holdsJobCode(Path.of(entry))) {
        kept.add(entry);
      }
    }
    return String.join(File.pathSeparator, kept);
  }

  /**
   * One jar of our own code (every class path entry that holds {@code dev/mfn}, merged), written
   * under {@code dir} and named by its content, so a repeated call reuses it.
   */
  public static Path jobJar(Path dir) throws IOException {
    List<Path> ours = entries().stream().map(Path::of).filter(ClusterClasspath::holdsJobCode).toList();
    Files.createDirectories(dir);
    Path tmp = Files.createTempFile(dir, "mfn-jobs-", ".jar.tmp");
    Set<String> seen = new HashSet<>();
    try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(tmp))) {
      for (Path entry : ours) {
        if (Files.isDirectory(entry)) {
          try (Stream<Path> files = Files.walk(entry)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
              String name = entry.relativize(f).toString().replace(File.separatorChar, '/');
              try (InputStream in = Files.newInputStream(f)) {
                copy(name, in, out, seen);
              }
            }
          }
        } else {
          try (JarFile jar = new JarFile(entry.toFile())) {
            for (JarEntry e : java.util.Collections.list(jar.entries())) {
              if (!e.isDirectory()) {
                try (InputStream in = jar.getInputStream(e)) {
                  copy(e.getName(), in, out, seen);
                }
              }
            }
          }
        }
      }
    }
    Path jar = dir.resolve("mfn-jobs-" + digest(tmp) + ".jar");
    Files.move(tmp, jar, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    return jar;
  }

  private static void copy(String name, InputStream in, JarOutputStream out, Set<String> seen) throws IOException {
    if (name.startsWith("META-INF/") && (name.endsWith(".SF") || name.endsWith(".RSA") || name.endsWith(".DSA")
        || name.equals("META-INF/MANIFEST.MF")) || !seen.add(name)) {
      return;
    }
    JarEntry e = new JarEntry(name);
    e.setTime(0); // same content, same bytes: the jar's name (its digest) stays the same
    out.putNextEntry(e);
    in.transferTo(out);
    out.closeEntry();
  }

  private static String digest(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      in.transferTo(new OutputStream() {
        @Override
        public void write(int b) {
          sha.update((byte) b);
        }

        @Override
        public void write(byte[] b, int off, int len) {
          sha.update(b, off, len);
        }
      });
      return HexFormat.of().formatHex(sha.digest()).substring(0, 16);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static List<String> entries() {
    List<String> all = new ArrayList<>();
    for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
      if (!e.isBlank()) {
        all.add(e);
      }
    }
    return all;
  }

  static boolean holdsJobCode(Path entry) {
    if (Files.isDirectory(entry)) {
      return Files.isDirectory(entry.resolve(OUR_PACKAGE));
    }
    if (!Files.isRegularFile(entry) || !entry.toString().endsWith(".jar")) {
      return false;
    }
    try (JarFile jar = new JarFile(entry.toFile())) {
      return jar.getEntry(OUR_PACKAGE) != null
          || jar.stream().limit(2000).anyMatch(e -> e.getName().startsWith(OUR_PACKAGE));
    } catch (IOException e) {
      return false;
    }
  }
}
