package dev.mfn.face.detect;

import dev.mfn.face.OpenCv;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.opencv.core.Mat;
import org.opencv.core.Size;
import org.opencv.imgproc.Imgproc;
import org.opencv.objdetect.FaceDetectorYN;

/**
 * YuNet (OpenCV Zoo, ONNX) through OpenCV's FaceDetectorYN, which returns box, 5 landmarks and
 * score per face. Its landmark order (right eye, left eye, nose, right and left mouth corners, as
 * the subject sees them) is already the template's image-left-first order.
 */
public final class YuNetDetector implements FaceDetector {
  /**
   * Larger images are shrunk to 640 px (YuNet's training scale) for speed and the results scaled
   * back; smaller ones run at native size. Enlarging small photos to 640 was measured: LFW rose
   * from 99.27% to 99.40% (finer landmarks on 110 px faces) but CFP-FP fell from 92.96% to 89.78%
   * (faces that fill the photo grow past YuNet's range) at a seventh of the speed
   * (bench/RESULTS.md).
   */
  private static final int MAX_SIDE = 640;

  private final FaceDetectorYN net;

  public YuNetDetector(Path onnxModel, float scoreThreshold) {
    OpenCv.load();
    if (!Files.isRegularFile(onnxModel)) {
      throw new IllegalArgumentException("YuNet model not found: " + onnxModel);
    }
    this.net =
        OpenCv.build(
            () -> FaceDetectorYN.create(onnxModel.toString(), "", new Size(320, 320), scoreThreshold, 0.3f, 5000));
  }

  @Override
  public String name() {
    return "yunet";
  }

  @Override
  public List<DetectedFace> detect(Mat bgr) {
    double scale = Math.min(1.0, (double) MAX_SIDE / Math.max(bgr.cols(), bgr.rows()));
    Mat input = bgr;
    if (scale < 1.0) {
      input = new Mat();
      Imgproc.resize(bgr, input, new Size(Math.round(bgr.cols() * scale), Math.round(bgr.rows() * scale)), 0, 0, Imgproc.INTER_AREA);
    }
    Mat faces = new Mat();
    try {
      net.setInputSize(input.size());
      net.detect(input, faces);
      List<DetectedFace> out = new ArrayList<>();
      double inverse = 1.0 / scale;
      for (int r = 0; r < faces.rows(); r++) {
        float[] row = new float[15];
        faces.get(r, 0, row);
        double[] xy = new double[10];
        for (int i = 0; i < 10; i++) {
          xy[i] = row[4 + i] * inverse;
        }
        out.add(
            new DetectedFace(
                new Box(row[0] * inverse, row[1] * inverse, row[2] * inverse, row[3] * inverse),
                row[14],
                new Landmarks(xy),
                name(),
                0));
      }
      out.sort(Comparator.comparingDouble(DetectedFace::score).reversed());
      return out;
    } finally {
      faces.release();
      if (input != bgr) {
        input.release();
      }
    }
  }

  @Override
  public void close() {
    // FaceDetectorYN frees its network when collected; nothing else to release
  }
}
