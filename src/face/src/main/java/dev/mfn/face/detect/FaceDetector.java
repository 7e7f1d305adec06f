package dev.mfn.face.detect;

import java.util.List;
import org.opencv.core.Mat;

/**
 * Finds every face in a BGR image. Implementations hold native networks: open one per thread (or
 * per Flink task), reuse it for many images, close it at the end. Not thread-safe.
 */
public interface FaceDetector extends AutoCloseable {
  /** Every face above the detector's own threshold, best first. Never null. */
  List<DetectedFace> detect(Mat bgr);

  /** Short name: blazeface, mtcnn, yunet. */
  String name();

  @Override
  void close();
}
