package dev.mfn.face.detect.mtcnn;

import dev.mfn.face.OpenCv;
import dev.mfn.face.detect.Box;
import dev.mfn.face.detect.DetectedFace;
import dev.mfn.face.detect.FaceDetector;
import dev.mfn.face.detect.Landmarks;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.opencv.core.Core;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.Rect;
import org.opencv.core.Scalar;
import org.opencv.core.Size;
import org.opencv.dnn.Dnn;
import org.opencv.dnn.Net;
import org.opencv.imgproc.Imgproc;

/**
 * MTCNN (Zhang et al. 2016), the seed project's detector, from the original Caffe files: P-Net on
 * an image pyramid proposes boxes, R-Net filters and refines them, O-Net scores them again and
 * gives five landmarks. Follows the reference implementation step by step (thresholds 0.6/0.7/0.7,
 * pyramid factor 0.709, NMS 0.5/0.7/0.7-min).
 *
 * <p>The nets were trained in MATLAB, whose arrays are column-major: they expect the image
 * transposed (width and height swapped), RGB, scaled as (x - 127.5) * 0.0078125. P-Net's maps
 * therefore come back transposed too.
 */
public final class MtcnnDetector implements FaceDetector {
  private static final double[] THRESHOLDS = {0.6, 0.7, 0.7};
  private static final double FACTOR = 0.709;

  private final Net pnet;
  private final Net rnet;
  private final Net onet;
  private final double minFaceSize;

  public MtcnnDetector(Path folder, double minFaceSize) {
    OpenCv.load();
    this.pnet = load(folder, "det1");
    this.rnet = load(folder, "det2");
    this.onet = load(folder, "det3");
    this.minFaceSize = minFaceSize;
  }

  private static Net load(Path folder, String name) {
    Path proto = folder.resolve(name + ".prototxt");
    Path model = folder.resolve(name + ".caffemodel");
    if (!Files.isRegularFile(proto) || !Files.isRegularFile(model)) {
      throw new IllegalArgumentException("MTCNN file missing: " + proto + " / " + model);
    }
    return OpenCv.build(() -> Dnn.readNetFromCaffe(proto.toString(), model.toString()));
  }

  @Override
  public String name() {
    return "mtcnn";
  }

  @Override
  public List<DetectedFace> detect(Mat bgr) {
    int w = bgr.cols();
    int h = bgr.rows();
    List<Candidate> boxes = proposals(bgr);
    if (boxes.isEmpty()) {
      return List.of();
    }
    boxes = refine(bgr, boxes, rnet, 24, THRESHOLDS[1], false);
    if (boxes.isEmpty()) {
      return List.of();
    }
    boxes = refine(bgr, boxes, onet, 48, THRESHOLDS[2], true);
    List<DetectedFace> faces = new ArrayList<>();
    for (Candidate c : boxes) {
      double[] xy = new double[10];
      for (int i = 0; i < 5; i++) {
        xy[2 * i] = c.points[i];
        xy[2 * i + 1] = c.points[5 + i];
      }
      double x1 = Math.max(0, c.x1);
      double y1 = Math.max(0, c.y1);
      faces.add(
          new DetectedFace(
              new Box(x1, y1, Math.min(w, c.x2) - x1, Math.min(h, c.y2) - y1),
              c.score,
              new Landmarks(xy),
              name(),
              0));
    }
    return faces;
  }

  /** Stage 1: P-Net over the pyramid. */
  private List<Candidate> proposals(Mat bgr) {
    int w = bgr.cols();
    int h = bgr.rows();
    double m = 12.0 / minFaceSize;
    double minl = Math.min(w, h) * m;
    List<Candidate> all = new ArrayList<>();
    for (double scale = m; minl >= 12; scale *= FACTOR, minl *= FACTOR) {
      int hs = (int) Math.ceil(h * scale);
      int ws = (int) Math.ceil(w * scale);
      Mat resized = new Mat();
      Imgproc.resize(bgr, resized, new Size(ws, hs), 0, 0, Imgproc.INTER_LINEAR);
      pnet.setInput(transposedBlob(resized));
      resized.release();
      List<Mat> out = new ArrayList<>();
      pnet.forward(out, List.of("prob1", "conv4-2"));
      List<Candidate> found = pnetBoxes(out.get(0), out.get(1), scale, THRESHOLDS[0]);
      out.forEach(Mat::release);
      all.addAll(MtcnnNms.apply(found, 0.5, false));
    }
    List<Candidate> boxes = MtcnnNms.apply(all, 0.7, false);
    for (Candidate c : boxes) {
      c.regress();
      c.square();
      c.truncate();
    }
    return boxes;
  }

  /** Reads P-Net's transposed maps: index (a, b) is image cell x = a, y = b. */
  private static List<Candidate> pnetBoxes(Mat prob, Mat reg, double scale, double threshold) {
    int a = prob.size(2);
    int b = prob.size(3);
    float[] p = new float[(int) prob.total()];
    float[] r = new float[(int) reg.total()];
    prob.reshape(1, 1).get(0, 0, p);
    reg.reshape(1, 1).get(0, 0, r);
    int plane = a * b;
    List<Candidate> boxes = new ArrayList<>();
    for (int i = 0; i < a; i++) {
      for (int j = 0; j < b; j++) {
        int at = i * b + j;
        float score = p[plane + at]; // channel 1 = face
        if (score < threshold) {
          continue;
        }
        Candidate c =
            new Candidate(
                (long) ((2 * i + 1) / scale),
                (long) ((2 * j + 1) / scale),
                (long) ((2 * i + 12) / scale),
                (long) ((2 * j + 12) / scale),
                score);
        for (int k = 0; k < 4; k++) {
          c.reg[k] = r[k * plane + at];
        }
        boxes.add(c);
      }
    }
    return boxes;
  }

  /** Stages 2 and 3: crop each box (zero-padded outside the image), score and regress it. */
  private List<Candidate> refine(
      Mat bgr, List<Candidate> boxes, Net net, int size, double threshold, boolean landmarks) {
    List<Mat> crops = new ArrayList<>();
    for (Candidate c : boxes) {
      crops.add(crop(bgr, c, size));
    }
    Mat blob =
        Dnn.blobFromImages(crops, 0.0078125, new Size(size, size), new Scalar(127.5, 127.5, 127.5), true, false);
    crops.forEach(Mat::release);
    net.setInput(blob);
    List<Mat> out = new ArrayList<>();
    List<String> names =
        landmarks ? List.of("prob1", "conv6-2", "conv6-3") : List.of("prob1", "conv5-2");
    net.forward(out, names);
    blob.release();
    int n = boxes.size();
    float[] prob = flat(out.get(0));
    float[] reg = flat(out.get(1));
    float[] pts = landmarks ? flat(out.get(2)) : null;
    out.forEach(Mat::release);
    List<Candidate> passed = new ArrayList<>();
    for (int k = 0; k < n; k++) {
      double score = prob[2 * k + 1];
      if (score <= threshold) {
        continue;
      }
      Candidate c = boxes.get(k);
      c.score = score;
      for (int q = 0; q < 4; q++) {
        c.reg[q] = reg[4 * k + q];
      }
      if (landmarks) {
        double bw = c.width();
        double bh = c.height();
        c.points = new double[10];
        for (int i = 0; i < 5; i++) {
          c.points[i] = bw * pts[10 * k + i] + c.x1 - 1;
          c.points[5 + i] = bh * pts[10 * k + 5 + i] + c.y1 - 1;
        }
      }
      passed.add(c);
    }
    if (!landmarks) {
      List<Candidate> kept = MtcnnNms.apply(passed, 0.7, false);
      for (Candidate c : kept) {
        c.regress();
        c.square();
        c.truncate();
      }
      return kept;
    }
    for (Candidate c : passed) {
      c.regress();
    }
    return MtcnnNms.apply(passed, 0.7, true);
  }

  /** The box's pixels (zero outside the image), resized and transposed for the nets. */
  private static Mat crop(Mat bgr, Candidate c, int size) {
    int bw = (int) (c.x2 - c.x1 + 1);
    int bh = (int) (c.y2 - c.y1 + 1);
    Mat tmp = new Mat(Math.max(1, bh), Math.max(1, bw), CvType.CV_8UC3, new Scalar(0, 0, 0));
    int sx = (int) Math.max(0, c.x1);
    int sy = (int) Math.max(0, c.y1);
    int ex = (int) Math.min(bgr.cols() - 1, c.x2);
    int ey = (int) Math.min(bgr.rows() - 1, c.y2);
    if (ex >= sx && ey >= sy) {
      Rect src = new Rect(sx, sy, ex - sx + 1, ey - sy + 1);
      Rect dst = new Rect((int) (sx - c.x1), (int) (sy - c.y1), src.width, src.height);
      Mat from = bgr.submat(src);
      Mat to = tmp.submat(dst);
      from.copyTo(to);
      from.release();
      to.release();
    }
    Mat resized = new Mat();
    Imgproc.resize(tmp, resized, new Size(size, size), 0, 0, Imgproc.INTER_LINEAR);
    tmp.release();
    Mat transposed = new Mat();
    Core.transpose(resized, transposed);
    resized.release();
    return transposed;
  }

  private static Mat transposedBlob(Mat image) {
    Mat t = new Mat();
    Core.transpose(image, t);
    Mat blob =
        Dnn.blobFromImage(t, 0.0078125, new Size(t.cols(), t.rows()), new Scalar(127.5, 127.5, 127.5), true, false);
    t.release();
    return blob;
  }

  private static float[] flat(Mat m) {
    float[] f = new float[(int) m.total()];
    m.reshape(1, 1).get(0, 0, f);
    return f;
  }

  @Override
  public void close() {
    // OpenCV's Nets are freed by their finalizers
  }
}
