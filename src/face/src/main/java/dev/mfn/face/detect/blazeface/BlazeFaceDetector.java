package dev.mfn.face.detect.blazeface;

import dev.mfn.face.OpenCv;
import dev.mfn.face.detect.DetectedFace;
import dev.mfn.face.detect.FaceDetector;
import dev.mfn.face.detect.WeightedNms;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.opencv.core.Mat;
import org.opencv.core.Rect;

/**
 * MediaPipe BlazeFace, the default detector: small, fast, Apache-2.0 weights from npm.
 *
 * <ol>
 *   <li>The whole photo, letterboxed, goes through the full-range model, which finds faces a few
 *       metres away.
 *   <li>The short-range model finds close-ups that fill the frame (as in CFP), which the
 *       full-range model misses. For this pass the photo gets a black margin, since that model
 *       expects some context around a face. It runs on every photo: {@link Passes#GATED} (only
 *       where the full-range pass found no confident face or a large one) was measured and costs
 *       accuracy (see {@link Options}).
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

  /**
   * GATED: the short-range pass runs when no full-range face scores at least this. The full-range
   * model sees a close-up only in part, if at all, and then with a low score; a confident face is
   * one it saw whole. Measured with {@code bench/run passes}.
   */
  static final double CONFIDENT_SCORE = 0.75;

  /**
   * GATED: the short-range pass also runs when the largest full-range face's longer side is at
   * least this fraction of the photo's longer side. Such a close-up is where the short-range model
   * is the better one: its detection would be chosen or would move the landmarks WeightedNms
   * averages. Smaller faces are in the full-range model's own range, where its landmarks alone
   * align as well (checked with {@code bench/run passes} and {@code mfn eval --blazeface-passes}).
   * The photo's longer side, because the short-range model sees the photo scaled by it.
   */
  static final double CLOSE_UP_FRACTION = 0.5;

  /** Which networks run on a photo. */
  public enum Passes {
    /** The full-range model on the photo and its tiles only (for measurements). */
    FULL_ONLY,
    /** The short-range model on the photo with its margin only, no tiles (for measurements). */
    SHORT_ONLY,
    /** Both models on every photo: the default (see {@link Options#DEFAULT} for why). */
    ALWAYS_BOTH,
    /** The full-range model always, the short-range one only where it finds what the other missed. */
    GATED;

    /** From a command-line word: both, gated, full or short. */
    public static Passes parse(String word) {
      return switch (word) {
        case "both" -> ALWAYS_BOTH;
        case "gated" -> GATED;
        case "full" -> FULL_ONLY;
        case "short" -> SHORT_ONLY;
        default -> throw new IllegalArgumentException(
            "unknown BlazeFace passes '" + word + "' (choose both, gated, full or short)");
      };
    }
  }

  /**
   * How the passes run; change one with the {@code with...} methods. {@link #DEFAULT} runs both
   * models on every photo. GATED was measured (bench/RESULTS.md, "Detection cost") and not kept:
   * with the reference embedder it scores LFW 99.23% against 99.48% (CFP-FP 92.29% both ways) for
   * 20% less detection time on LFW and none on CFP. The short-range model is the cheap one (2.9 ms
   * of 10.5 ms a photo) and finds the same faces as the full-range one on LFW-sized portraits; the
   * weighted NMS averages the two detections' landmarks, and that average aligns better than
   * either alone, so the second pass matters on nearly every portrait, not only on close-ups.
   *
   * @param passes which networks run
   * @param confidentScore GATED: the short-range pass runs when no full-range face scores this much
   * @param closeUpFraction GATED: ... or when the largest full-range face's longer side is at least
   *     this fraction of the photo's longer side
   */
  public record Options(Passes passes, double confidentScore, double closeUpFraction) {
    public static final Options DEFAULT = new Options(Passes.ALWAYS_BOTH, CONFIDENT_SCORE, CLOSE_UP_FRACTION);

    public Options {
      Objects.requireNonNull(passes, "passes");
      if (!(confidentScore >= 0 && confidentScore <= 1)) {
        throw new IllegalArgumentException("confidentScore must be in [0, 1], got " + confidentScore);
      }
      if (!(closeUpFraction > 0)) {
        throw new IllegalArgumentException("closeUpFraction must be positive, got " + closeUpFraction);
      }
    }

    public Options withPasses(Passes passes) {
      return new Options(passes, confidentScore, closeUpFraction);
    }

    public Options withConfidentScore(double confidentScore) {
      return new Options(passes, confidentScore, closeUpFraction);
    }

    public Options withCloseUpFraction(double closeUpFraction) {
      return new Options(passes, confidentScore, closeUpFraction);
    }

    /** GATED's rule, on the full-range faces of the whole photo (tiles are not searched yet). */
    boolean closeUpPassNeeded(List<DetectedFace> fullRange, int width, int height) {
      double bestScore = 0;
      double largest = 0;
      for (DetectedFace f : fullRange) {
        bestScore = Math.max(bestScore, f.score());
        largest = Math.max(largest, Math.max(f.box().width(), f.box().height()));
      }
      return bestScore < confidentScore || largest >= closeUpFraction * Math.max(width, height);
    }
  }

  /** Photos detected so far and how many of them ran the short-range pass (for measurements). */
  public record Counts(long photos, long closeUpPasses) {}

  private final BlazeFaceModel whole;
  private final BlazeFaceModel closeUp;
  private final Options options;
  private long photos;
  private long closeUpPasses;

  /** The default, gated detector. */
  public BlazeFaceDetector(Path folder, double minScore) {
    this(folder, minScore, Options.DEFAULT);
  }

  public BlazeFaceDetector(Path folder, double minScore, Options options) {
    OpenCv.load();
    for (BlazeFaceModel.Range r : BlazeFaceModel.Range.values()) {
      if (!Files.isRegularFile(folder.resolve(r.file))) {
        throw new IllegalArgumentException("BlazeFace file missing: " + folder.resolve(r.file));
      }
    }
    this.whole = new BlazeFaceModel(folder, BlazeFaceModel.Range.FULL, minScore);
    this.closeUp = new BlazeFaceModel(folder, BlazeFaceModel.Range.SHORT, minScore);
    this.options = Objects.requireNonNull(options, "options");
  }

  @Override
  public String name() {
    return "blazeface";
  }

  public Options options() {
    return options;
  }

  public Counts counts() {
    return new Counts(photos, closeUpPasses);
  }

  @Override
  public List<DetectedFace> detect(Mat bgr) {
    Rect photo = new Rect(0, 0, bgr.cols(), bgr.rows());
    boolean fullRange = options.passes() != Passes.SHORT_ONLY;
    List<DetectedFace> all = new ArrayList<>();
    if (fullRange) {
      all.addAll(whole.detect(bgr, photo));
    }
    boolean shortRange =
        switch (options.passes()) {
          case FULL_ONLY -> false;
          case SHORT_ONLY, ALWAYS_BOTH -> true;
          case GATED -> options.closeUpPassNeeded(all, bgr.cols(), bgr.rows());
        };
    photos++;
    if (shortRange) {
      closeUpPasses++;
      all.addAll(closeUp.detect(bgr, withMargin(photo, CLOSE_UP_MARGIN)));
    }
    if (fullRange) {
      for (Rect tile : tiles(bgr.cols(), bgr.rows())) {
        all.addAll(whole.detect(bgr, tile));
      }
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
