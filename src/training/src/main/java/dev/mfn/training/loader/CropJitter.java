package dev.mfn.training.loader;

import java.util.Random;
import org.opencv.core.Core;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.Point;
import org.opencv.core.Size;
import org.opencv.imgproc.Imgproc;

/**
 * Random changes of a training crop drawn afresh for every sample of every epoch: a small
 * similarity transform (shift, scale, rotation: the aligner's landmarks are a few pixels off on real
 * photos anyway) and brightness/contrast. The ingest job's augmented copies are drawn once and then
 * seen every epoch, so a run of 20 epochs memorises them as it memorises the photos; these are
 * different each time. The draws come from the batch's seeded {@link Random}, so a resumed run sees
 * the same crops as an uninterrupted one.
 *
 * <p>Random erasing (Zhong et al., 2020; "cutout" with a random shape) greys out one rectangle of
 * half the crops, so the network cannot rest on one region (an eye, a hairline) that is enough to
 * tell 350 training people apart but not the people it meets later.
 *
 * @param maxShift largest shift, in pixels, along each axis
 * @param maxScale largest relative change of size (0.1: 90% to 110%)
 * @param maxRotation largest rotation, in degrees
 * @param maxBrightness largest brightness change, as a fraction of the pixel range (0.2: +-51)
 * @param maxContrast largest relative contrast change around mid-grey
 * @param maxErase largest share of the crop one erased rectangle covers (0: no erasing); with
 *     probability 1/2 a crop gets a mid-grey rectangle (then shifted, as the whole crop, by the
 *     brightness and contrast change) of {@link #MIN_ERASE} to this share of its area, of aspect
 *     ratio 0.3 to 3.3 (log-uniform; narrowed for shares above 0.3 so both sides fit), anywhere
 *     inside the crop
 * @param fillOutside paint over the black the aligner left where the crop reaches past its photo,
 *     before anything else ({@link OutsideFill}; not random: the same crop is painted the same way)
 * @param minLowRes the smallest side, as a share of the crop's, a crop is shrunk to before it is
 *     enlarged back (0: never): with probability 1/2 a crop loses its fine detail as a small face in a
 *     small photo has none ({@link #shrinkAndRestore}), the factor uniform in [minLowRes, 1]
 */
public record CropJitter(
    double maxShift, double maxScale, double maxRotation, double maxBrightness, double maxContrast,
    double maxErase, boolean fillOutside, double minLowRes) {

  /** The smallest share of the crop an erased rectangle covers (Zhong et al.'s lower bound). */
  public static final double MIN_ERASE = 0.02;

  /** Erasing's aspect ratios run from this to its inverse (Zhong et al.'s range). */
  private static final double MIN_ASPECT = 0.3;

  /** No change: the crops as the ingest job wrote them. */
  public static final CropJitter NONE = new CropJitter(0, 0, 0, 0, 0);

  /** The smallest {@link #minLowRes} a run takes: a side of 17 px, below what a detector keeps. */
  public static final double LOWEST_LOW_RES = 0.15;

  /**
   * A mild strength for aligned 112x112 crops, chosen here (not taken from a reference recipe:
   * arcface_torch, trained on millions of photos, only flips): a few pixels of shift (6 px, about
   * 5%), 10% of scale, 10 degrees, 20% of brightness and contrast. The committed model was trained
   * with it; other strengths are not measured.
   */
  public static final CropJitter STANDARD = new CropJitter(6, 0.1, 10, 0.2, 0.2);

  /** The similarity transform and photometric change alone, without erasing. */
  public CropJitter(double maxShift, double maxScale, double maxRotation, double maxBrightness, double maxContrast) {
    this(maxShift, maxScale, maxRotation, maxBrightness, maxContrast, 0, false, 0);
  }

  /** The similarity transform, the photometric change and erasing, without the outside fill. */
  public CropJitter(
      double maxShift, double maxScale, double maxRotation, double maxBrightness, double maxContrast, double maxErase) {
    this(maxShift, maxScale, maxRotation, maxBrightness, maxContrast, maxErase, false, 0);
  }

  public CropJitter {
    // written so that NaN fails every comparison; infinities fail the upper bounds
    if (!(maxShift >= 0 && maxShift < CropDecoder.SIZE / 2.0 && maxScale >= 0 && maxScale < 1
        && maxRotation >= 0 && maxRotation <= 180 && maxBrightness >= 0 && maxBrightness <= 1
        && maxContrast >= 0 && maxContrast < 1)) {
      throw new IllegalArgumentException("jitter ranges: shift in [0, 56) px, scale and contrast in [0, 1),"
          + " rotation in [0, 180] degrees, brightness in [0, 1]");
    }
    if (!(maxErase == 0 || (maxErase >= MIN_ERASE && maxErase <= 0.5))) {
      throw new IllegalArgumentException("erasing: 0 (off) or a share of the crop in [0.02, 0.5], e.g. 0.25");
    }
    if (!(minLowRes == 0 || (minLowRes >= LOWEST_LOW_RES && minLowRes < 1))) {
      throw new IllegalArgumentException("low resolution: 0 (off) or the smallest side as a share in [0.15, 1), e.g. 0.4");
    }
  }

  /** The largest {@link #scaled} factor: 3x STANDARD is already 18 px of shift and 30 degrees. */
  public static final double MAX_STRENGTH = 3;

  /** The smallest {@link #scaled} factor a run takes: below it the ranges are a pixel or two. */
  public static final double MIN_STRENGTH = 0.25;

  /**
   * These ranges (erasing aside) times {@code factor}: STANDARD.scaled(1.5) is shift +-9 px, scale
   * +-15%, rotation +-15 degrees, brightness and contrast +-30%.
   */
  public CropJitter scaled(double factor) {
    if (!(factor >= MIN_STRENGTH && factor <= MAX_STRENGTH)) {
      throw new IllegalArgumentException(
          "jitter strength must be in [" + MIN_STRENGTH + ", " + MAX_STRENGTH + "], e.g. 1.5");
    }
    return new CropJitter(maxShift * factor, maxScale * factor, maxRotation * factor, maxBrightness * factor,
        maxContrast * factor, maxErase, fillOutside, minLowRes);
  }

  /** These ranges with erasing of up to {@code maxErase} of the crop (0: none). */
  public CropJitter withErase(double maxErase) {
    return new CropJitter(maxShift, maxScale, maxRotation, maxBrightness, maxContrast, maxErase, fillOutside, minLowRes);
  }

  /** These ranges, with the outside-photo black of each crop painted over first (or not). */
  public CropJitter withFillOutside(boolean fill) {
    return new CropJitter(maxShift, maxScale, maxRotation, maxBrightness, maxContrast, maxErase, fill, minLowRes);
  }

  /** These ranges, with half the crops shrunk to a side of {@code minLowRes} to 1 and back (0: none). */
  public CropJitter withLowRes(double minLowRes) {
    return new CropJitter(maxShift, maxScale, maxRotation, maxBrightness, maxContrast, maxErase, fillOutside, minLowRes);
  }

  /** Whether any random change is drawn (the outside fill is not one: {@link #fillOutside}). */
  public boolean isOn() {
    return maxShift > 0 || maxScale > 0 || maxRotation > 0 || maxBrightness > 0 || maxContrast > 0 || maxErase > 0
        || minLowRes > 0;
  }

  /**
   * What a model card says of these ranges, e.g. "shift +-6 px, scale +-10%, rotation +-10 deg,
   * brightness +-20%, contrast +-20%, erasing 2-25% of the crop (p 0.5)"; ranges that are off are
   * left out ("none" when all are).
   */
  public String describe() {
    java.util.List<String> parts = new java.util.ArrayList<>();
    if (maxShift > 0) {
      parts.add("shift +-" + plain(maxShift) + " px");
    }
    if (maxScale > 0) {
      parts.add("scale +-" + plain(100 * maxScale) + "%");
    }
    if (maxRotation > 0) {
      parts.add("rotation +-" + plain(maxRotation) + " deg");
    }
    if (maxBrightness > 0) {
      parts.add("brightness +-" + plain(100 * maxBrightness) + "%");
    }
    if (maxContrast > 0) {
      parts.add("contrast +-" + plain(100 * maxContrast) + "%");
    }
    if (maxErase > 0) {
      parts.add("erasing " + plain(100 * MIN_ERASE) + "-" + plain(100 * maxErase) + "% of the crop (p 0.5)");
    }
    if (minLowRes > 0) {
      parts.add("low resolution " + plain(100 * minLowRes) + "-100% of the side (p 0.5)");
    }
    if (fillOutside) {
      parts.add("outside-photo black painted over");
    }
    return parts.isEmpty() ? "none" : String.join(", ", parts);
  }

  /** 6 as "6", 7.5 as "7.5", 15.000000000000002 as "15": at most one decimal, none when whole. */
  private static String plain(double value) {
    double rounded = Math.round(value * 10) / 10.0;
    return rounded == Math.rint(rounded) ? String.valueOf((long) rounded) : String.valueOf(rounded);
  }

  private boolean moves() {
    return maxShift > 0 || maxScale > 0 || maxRotation > 0;
  }

  /** A uniform draw in [-max, max]; always takes one value from {@code rng}, even for max 0. */
  private static double draw(Random rng, double max) {
    return (2 * rng.nextDouble() - 1) * max;
  }

  /**
   * Changes the 112x112 BGR crop in {@code pixels} in place and returns the photometric change for
   * the normalisation: {@code out = contrast * (p - 127.5) + 127.5 + brightness}, clamped to
   * [0, 255] by the caller. Always draws six values, whatever the ranges, two more for the low
   * resolution and five more for the erasing when each is on, so one crop's draws never shift the
   * next one's (and a run without them draws what it drew before they existed).
   */
  Photometric apply(byte[] pixels, Random rng) {
    double dx = draw(rng, maxShift);
    double dy = draw(rng, maxShift);
    double scale = 1 + draw(rng, maxScale);
    double angle = draw(rng, maxRotation);
    double brightness = draw(rng, maxBrightness) * 255;
    double contrast = 1 + draw(rng, maxContrast);
    if (moves()) {
      int size = CropDecoder.SIZE;
      Mat image = new Mat(size, size, CvType.CV_8UC3);
      Mat moved = new Mat();
      Mat m = Imgproc.getRotationMatrix2D(new Point((size - 1) / 2.0, (size - 1) / 2.0), angle, scale);
      try {
        image.put(0, 0, pixels);
        m.put(0, 2, m.get(0, 2)[0] + dx);
        m.put(1, 2, m.get(1, 2)[0] + dy);
        // reflecting the border keeps the edges face-like; a constant border would teach the
        // network that black corners mean "training"
        Imgproc.warpAffine(image, moved, m, new Size(size, size), Imgproc.INTER_LINEAR, Core.BORDER_REFLECT_101);
        moved.get(0, 0, pixels);
      } finally {
        image.release();
        moved.release();
        m.release();
      }
    }
    if (minLowRes > 0) {
      // drawn whether or not this crop is shrunk, so the count of draws is fixed
      boolean shrink = rng.nextDouble() < 0.5;
      double side = minLowRes + rng.nextDouble() * (1 - minLowRes);
      if (shrink) {
        shrinkAndRestore(pixels, side);
      }
    }
    if (maxErase > 0) {
      erase(pixels, rng);
    }
    return new Photometric((float) contrast, (float) brightness);
  }

  /**
   * Shrinks the 112x112 BGR crop in {@code pixels} to a side of {@code side} of its own (area
   * averaging, as a camera's sensor or a JPEG's scaler would) and enlarges it back (bilinear, as the
   * aligner enlarges a small face), in place. CFP's faces fill large photos and are shrunk by about
   * half into their crops, so they are sharp; LFW's 250x250 photos give crops of about the same
   * scale, and their centres have about a seventh of the fine detail (bench/run coverage's sharpness).
   */
  public static void shrinkAndRestore(byte[] pixels, double side) {
    int size = CropDecoder.SIZE;
    int small = (int) Math.max(1, Math.round(size * side));
    if (small >= size) {
      return;
    }
    Mat image = new Mat(size, size, CvType.CV_8UC3);
    Mat shrunk = new Mat();
    Mat restored = new Mat();
    try {
      image.put(0, 0, pixels);
      Imgproc.resize(image, shrunk, new Size(small, small), 0, 0, Imgproc.INTER_AREA);
      Imgproc.resize(shrunk, restored, new Size(size, size), 0, 0, Imgproc.INTER_LINEAR);
      restored.get(0, 0, pixels);
    } finally {
      image.release();
      shrunk.release();
      restored.release();
    }
  }

  /**
   * With probability 1/2, sets one random rectangle of the crop to mid-grey (the photometric change
   * then shifts it with the rest of the crop); draws five values.
   */
  private void erase(byte[] pixels, Random rng) {
    boolean on = rng.nextDouble() < 0.5;
    double share = MIN_ERASE + rng.nextDouble() * (maxErase - MIN_ERASE);
    // height/width = aspect; a side fits in the crop only for aspect in [share, 1 / share], so
    // shares above 0.3 narrow the range instead of clipping a side (which would shrink the area)
    double lowest = Math.max(MIN_ASPECT, share);
    double aspect = Math.exp(Math.log(lowest) + rng.nextDouble() * 2 * Math.log(1 / lowest));
    double u = rng.nextDouble();
    double v = rng.nextDouble();
    if (!on) {
      return;
    }
    int size = CropDecoder.SIZE;
    double area = share * size * size;
    int h = (int) Math.max(1, Math.min(size, Math.round(Math.sqrt(area * aspect))));
    int w = (int) Math.max(1, Math.min(size, Math.round(Math.sqrt(area / aspect))));
    int top = (int) (u * (size - h + 1));
    int left = (int) (v * (size - w + 1));
    // mid-grey: 0 after the normalisation when the photometric change is off, a flat grey patch
    // shifted with the crop's brightness and contrast when it is on; no colour or texture to learn
    byte grey = (byte) 128;
    for (int y = top; y < top + h; y++) {
      java.util.Arrays.fill(pixels, 3 * (y * size + left), 3 * (y * size + left + w), grey);
    }
  }

  /** A pixel's photometric change: {@code contrast * (p - 127.5) + 127.5 + brightness}. */
  record Photometric(float contrast, float brightness) {}
}
