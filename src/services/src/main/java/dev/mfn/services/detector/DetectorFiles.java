package dev.mfn.services.detector;

import dev.mfn.services.npm.NpmPackageFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

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

  private final NpmPackageFiles files;

  public DetectorFiles(String version, Path buildDir) {
    this.files = new NpmPackageFiles(NPM_PACKAGE, version, SHA256,
        buildDir.resolve("models").resolve("mediapipe-face_detection-" + version));
  }

  public Path cacheDir() {
    return files.cacheDir();
  }

  public Path shortRange() {
    return cacheDir().resolve(SHORT_RANGE);
  }

  public Path fullRange() {
    return cacheDir().resolve(FULL_RANGE);
  }

  /** True when both files are cached and match their checksums. */
  public boolean present() {
    return files.present();
  }

  /** Fetches the files unless already cached; returns the cache folder. */
  public Path fetch() throws IOException {
    return files.fetch();
  }

  static String sha256(Path file) throws IOException {
    return NpmPackageFiles.sha256(file);
  }
}
