package dev.mfn.face.detect;

import dev.mfn.testkit.SharedData;
import java.nio.file.Path;

/** Opens each detector for tests, from ../shared/models and the fetched BlazeFace files. */
final class Detectors {
  private Detectors() {}

  static FaceDetector open(String name) throws Exception {
    Path blazeface = dev.mfn.testkit.DetectorFiles.blazefaceDir();
    Path yunet = name.equals("yunet") ? SharedData.require("models/yunet/face_detection_yunet_2023mar.onnx") : null;
    Path mtcnn = name.equals("mtcnn") ? SharedData.require("models/mtcnn") : null;
    return new DetectorConfig(blazeface, yunet, mtcnn, 0.5).open(name);
  }
}
