package dev.mfn.face.detect;

import dev.mfn.face.detect.blazeface.BlazeFaceDetector;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where each detector's files are and how strict it is. Built from the settings (one place for
 * configuration) by the commands and jobs.
 *
 * @param blazefaceDir folder with face_detection_short_range.tflite and ..._full_range.tflite
 * @param yunetModel YuNet ONNX file
 * @param mtcnnDir folder with det1..det3 .prototxt/.caffemodel
 * @param minScore detection score a face needs
 * @param blazeface how BlazeFace runs its two models (default: the short-range one gated)
 */
public record DetectorConfig(
    Path blazefaceDir, Path yunetModel, Path mtcnnDir, double minScore, BlazeFaceDetector.Options blazeface) {

  /** With BlazeFace's default passes. */
  public DetectorConfig(Path blazefaceDir, Path yunetModel, Path mtcnnDir, double minScore) {
    this(blazefaceDir, yunetModel, mtcnnDir, minScore, BlazeFaceDetector.Options.DEFAULT);
  }

  /** Opens a detector by name: blazeface, yunet or mtcnn. */
  public FaceDetector open(String name) {
    return switch (name) {
      case "blazeface" ->
          new BlazeFaceDetector(require(blazefaceDir, "BlazeFace folder"), minScore, blazeface);
      case "mtcnn" ->
          new dev.mfn.face.detect.mtcnn.MtcnnDetector(require(mtcnnDir, "MTCNN folder"), 20);
      case "yunet" -> new YuNetDetector(require(yunetModel, "YuNet model"), (float) minScore);
      default -> throw new IllegalArgumentException(
          "unknown detector '" + name + "' (choose blazeface, mtcnn or yunet)");
    };
  }

  private static Path require(Path path, String what) {
    if (path == null || !Files.exists(path)) {
      throw new IllegalArgumentException(what + " not found at " + path);
    }
    return path;
  }
}
