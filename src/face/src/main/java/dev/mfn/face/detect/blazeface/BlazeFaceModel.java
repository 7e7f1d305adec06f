package dev.mfn.face.detect.blazeface;

import dev.mfn.face.OpenCv;
import dev.mfn.face.detect.Box;
import dev.mfn.face.detect.DetectedFace;
import dev.mfn.face.detect.Landmarks;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.Rect;
import org.opencv.core.Scalar;
import org.opencv.core.Size;
import org.opencv.dnn.Dnn;
import org.opencv.dnn.Net;
import org.opencv.imgproc.Imgproc;

/**
 * One BlazeFace network (short or full range) run by OpenCV's DNN module on a letterboxed square:
 * input RGB, (x - 127.5) / 127.5; outputs a score and 16 regression values per anchor (box centre
 * and size, then 6 keypoints), all relative to the anchor and scaled by the input size.
 *
 * <p>BlazeFace's 6 keypoints are: subject's right eye, left eye, nose tip, mouth centre, right ear
 * tragion, left ear tragion. The template wants mouth corners, which BlazeFace does not give, so
 * they are placed on either side of the mouth centre, parallel to the eye line, at the template's
 * ratio of mouth width to eye distance (29.18 / 35.24 = 0.828). Ears are not used: they are
 * unreliable and absent from the template. A least-squares similarity fit through the two
 * estimated corners is the same as a fit through the mouth centre counted twice, so alignment is
 * driven by eyes, nose and mouth centre.
 */
public final class BlazeFaceModel implements AutoCloseable {
  /** Half the template's mouth width over its eye distance. */
  static final double HALF_MOUTH_PER_EYE_DISTANCE = 0.5 * 29.1806 / 35.2382;

  /** Which network. */
  public enum Range {
    SHORT("face_detection_short_range.tflite", 128, new int[] {8, 16, 16, 16}, 2),
    FULL("face_detection_full_range.tflite", 192, new int[] {4}, 1);

    final String file;
    final int input;
    final int[] strides;
    final int anchorsPerLayer;

    Range(String file, int input, int[] strides, int anchorsPerLayer) {
      this.file = file;
      this.input = input;
      this.strides = strides;
      this.anchorsPerLayer = anchorsPerLayer;
    }
  }

  private final Range range;
  private final Net net;
  private final List<String> outputs;
  private final float[] anchors;
  private final double minScore;

  public BlazeFaceModel(Path folder, Range range, double minScore) {
    this.range = range;
    this.net = OpenCv.build(() -> Dnn.readNetFromTFLite(folder.resolve(range.file).toString()));
    this.outputs = net.getUnconnectedOutLayersNames();
    this.anchors = BlazeFaceAnchors.generate(range.input, range.strides, range.anchorsPerLayer);
    this.minScore = minScore;
  }

  public Range range() {
    return range;
  }

  /**
   * Faces in {@code region} of {@code image}, in image pixels, before non-maximum suppression. The
   * region may reach outside the image: that part is black.
   */
  public List<DetectedFace> detect(Mat image, Rect region) {
    int side = Math.max(region.width, region.height);
    int offX = (side - region.width) / 2;
    int offY = (side - region.height) / 2;
    // Letterbox: the region centred on a black square, so the network sees undistorted faces.
    Mat square = new Mat(side, side, CvType.CV_8UC3, new Scalar(0, 0, 0));
    Rect inside = clip(region, image);
    Mat roi = image.submat(inside);
    Mat target =
        square.submat(
            new Rect(offX + inside.x - region.x, offY + inside.y - region.y, inside.width, inside.height));
    roi.copyTo(target);
    roi.release();
    target.release();
    Mat resized = new Mat();
    Imgproc.resize(square, resized, new Size(range.input, range.input), 0, 0, Imgproc.INTER_AREA);
    square.release();
    Mat blob =
        Dnn.blobFromImage(
            resized, 1 / 127.5, new Size(range.input, range.input),
            new Scalar(127.5, 127.5, 127.5), true, false);
    resized.release();
    net.setInput(blob);
    List<Mat> out = new ArrayList<>();
    net.forward(out, outputs);
    blob.release();
    Mat scoresMat = out.get(0).total() * 16 == out.get(1).total() ? out.get(0) : out.get(1);
    Mat regressMat = scoresMat == out.get(0) ? out.get(1) : out.get(0);
    int n = anchors.length / 2;
    float[] scores = new float[n];
    float[] reg = new float[n * 16];
    scoresMat.reshape(1, 1).get(0, 0, scores);
    regressMat.reshape(1, 1).get(0, 0, reg);
    out.forEach(Mat::release);

    List<DetectedFace> faces = new ArrayList<>();
    double scale = side; // normalised -> letterbox pixels
    double dx = region.x - offX;
    double dy = region.y - offY;
    for (int i = 0; i < n; i++) {
      double score = 1 / (1 + Math.exp(-Math.max(-100, Math.min(100, scores[i]))));
      if (score < minScore) {
        continue;
      }
      double ax = anchors[2 * i];
      double ay = anchors[2 * i + 1];
      int r = 16 * i;
      double cx = reg[r] / range.input + ax;
      double cy = reg[r + 1] / range.input + ay;
      double w = reg[r + 2] / range.input;
      double h = reg[r + 3] / range.input;
      double[] kp = new double[12];
      for (int k = 0; k < 6; k++) {
        kp[2 * k] = (reg[r + 4 + 2 * k] / range.input + ax) * scale + dx;
        kp[2 * k + 1] = (reg[r + 5 + 2 * k] / range.input + ay) * scale + dy;
      }
      Box box = new Box((cx - w / 2) * scale + dx, (cy - h / 2) * scale + dy, w * scale, h * scale);
      faces.add(new DetectedFace(box, score, fivePoints(kp), "blazeface", 2));
    }
    return faces;
  }

  /** Eyes and nose as detected; mouth corners estimated from the mouth centre (see class doc). */
  static Landmarks fivePoints(double[] kp) {
    double ex = kp[2] - kp[0];
    double ey = kp[3] - kp[1];
    double mx = kp[6];
    double my = kp[7];
    double hx = HALF_MOUTH_PER_EYE_DISTANCE * ex;
    double hy = HALF_MOUTH_PER_EYE_DISTANCE * ey;
    return new Landmarks(
        new double[] {kp[0], kp[1], kp[2], kp[3], kp[4], kp[5], mx - hx, my - hy, mx + hx, my + hy});
  }

  @Override
  public void close() {
    // OpenCV's Net is freed by its finalizer; nothing else is held
  }

  static Rect clip(Rect r, Mat image) {
    int x0 = Math.max(0, r.x);
    int y0 = Math.max(0, r.y);
    int x1 = Math.min(image.cols(), r.x + r.width);
    int y1 = Math.min(image.rows(), r.y + r.height);
    return new Rect(x0, y0, Math.max(1, x1 - x0), Math.max(1, y1 - y0));
  }

}
