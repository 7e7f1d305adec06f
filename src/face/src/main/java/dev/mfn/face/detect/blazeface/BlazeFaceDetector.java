package dev.mfn.face.detect.blazeface;

import dev.mfn.face.OpenCv;
import dev.mfn.face.detect.DetectedFace;
import dev.mfn.face.detect.FaceDetector;
import dev.mfn.face.detect.WeightedNms;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.opencv.core.Mat;
import org.opencv.core.Rect;

/**
 * MediaPipe BlazeFace, the default detector: small, fast, Apache-2.0 weights from npm.
 *
 * <ol>
 *   <li>The whole photo, letterboxed, goes through both models: the full-range one finds faces a
 *       few metres away, the short-range one finds close-ups that fill the frame (as in CFP), which
 *       the full-range model misses. For the short-range pass the photo gets a black margin, since
 *       that model expects some context around a face.
 *   <li>Large photos are also cut into overlapping square tiles, so a face that is small in a big
 *       photo is still seen at a useful resolution.
 *   <li>Weighted non-maximum suppression merges the detections of all passes (averaging the
 *       landmarks of overlapping detections, which steadies them).
 * </ol>
 *
 * <p>A landmark refinement pass (each face re-detected on a crop twice its size) was measured and
 * removed: LFW 99.47% with it, 99.43% without; CFP-FP 91.73% with, 91.92% without (bench/RESULTS.md),
 * for a third network pass per face.
 */
public final class BlazeFaceDetector implements FaceDetector {
  /** Photos with a longer side above this are also searched tile by tile. */
  static final int TILE_ABOVE = 1024;

  /** Black margin around the photo for the short-range pass, as a fraction of its longer side. */
  static final double CLOSE_UP_MARGIN = 0.25;

  private final BlazeFaceModel whole;
  private final BlazeFaceModel closeUp;

  public BlazeFaceDetector(Path folder, double minScore) {
    OpenCv.load();
    for (BlazeFaceModel.Range r : BlazeFaceModel.Range.values()) {
      if (!Files.isRegularFile(folder.resolve(r.file))) {
        throw new IllegalArgumentException("BlazeFace file missing: " + folder.resolve(r.file));
      }
    }
    this.whole = new BlazeFaceModel(folder, BlazeFaceModel.Range.FULL, minScore);
    this.closeUp = new BlazeFaceModel(folder, BlazeFaceModel.Range.SHORT, minScore);
  }

  @Override
  public String name() {
    return "blazeface";
  }

  @Override
  public List<DetectedFace> detect(Mat bgr) {
    Rect photo = new Rect(0, 0, bgr.cols(), bgr.rows());
    List<DetectedFace> all = new ArrayList<>(whole.detect(bgr, photo));
    all.addAll(closeUp.detect(bgr, withMargin(photo, CLOSE_UP_MARGIN)));
    for (Rect tile : tiles(bgr.cols(), bgr.rows())) {
      all.addAll(whole.detect(bgr, tile));
    }
    return WeightedNms.apply(all, 0.3);
  }

  /** A region grown by {@code margin} of its longer side on every side (may leave the image). */
  static Rect withMargin(Rect r, double margin) {
    int m = (int) Math.round(margin * Math.max(r.width, r.height));
    return new Rect(r.x - m, r.y - m, r.width + 2 * m, r.height + 2 * m);
  }

  /** Overlapping square tiles (half a tile apart) covering a large photo; none for small ones. */
  static List<Rect> tiles(int width, int height) {
    List<Rect> tiles = new ArrayList<>();
    if (Math.max(width, height) <= TILE_ABOVE) {
      return tiles;
    }
    int side = Math.max(512, Math.min(width, height) / 2);
    int step = side / 2;
    for (int y = 0; y < height; y += step) {
      for (int x = 0; x < width; x += step) {
        int x0 = Math.min(x, Math.max(0, width - side));
        int y0 = Math.min(y, Math.max(0, height - side));
        tiles.add(new Rect(x0, y0, Math.min(side, width), Math.min(side, height)));
        if (x0 + side >= width) {
          break;
        }
      }
      if (Math.min(y, Math.max(0, height - side)) + side >= height) {
        break;
      }
    }
    return tiles;
  }

  @Override
  public void close() {
    whole.close();
    closeUp.close();
  }
}
