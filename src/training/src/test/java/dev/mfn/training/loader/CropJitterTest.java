package dev.mfn.training.loader;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mfn.face.OpenCv;
import dev.mfn.records.CropFormat;
import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The on-the-fly jitter on a crop with a bright 24x24 square at its centre on a dark ramp, so what
 * it did can be measured: the square's centre moves (by at most the shift: scale and rotation
 * about the centre do not move it), its mean brightness changes within the range, the picture stays
 * the same picture, and the same seed gives the same crop (a resumed run sees what the
 * uninterrupted one saw).
 */
class CropJitterTest {
  private static final int SIZE = CropDecoder.SIZE;
  private static final int PLANE = CropDecoder.PLANE;

  @BeforeAll
  static void opencv() {
    OpenCv.load();
  }

  private static ByteBuffer crop() {
    byte[] b = new byte[PLANE * 3];
    for (int y = 0; y < SIZE; y++) {
      for (int x = 0; x < SIZE; x++) {
        boolean square = Math.abs(x - 55.5) < 12 && Math.abs(y - 55.5) < 12;
        int v = square ? 230 : x / 2;
        for (int c = 0; c < 3; c++) {
          b[3 * (y * SIZE + x) + c] = (byte) v;
        }
      }
    }
    return ByteBuffer.wrap(b);
  }

  private static float[] decode(CropJitter jitter, long seed) {
    float[] out = new float[3 * PLANE];
    assertThat(new CropDecoder().decode(CropFormat.RAW_BGR, crop(), false, jitter, new Random(seed), out, 0)).isTrue();
    return out;
  }

  /** Centre of the pixels brighter than the ramp ever gets (> 200 before jitter), first plane. */
  private static double[] squareCentre(float[] pixels, float threshold) {
    double sx = 0, sy = 0, n = 0;
    for (int y = 0; y < SIZE; y++) {
      for (int x = 0; x < SIZE; x++) {
        if (pixels[y * SIZE + x] > threshold) {
          sx += x;
          sy += y;
          n++;
        }
      }
    }
    return new double[] {sx / n, sy / n, n};
  }

  private static double correlation(float[] a, float[] b) {
    double ma = 0, mb = 0;
    for (int i = 0; i < a.length; i++) {
      ma += a[i];
      mb += b[i];
    }
    ma /= a.length;
    mb /= b.length;
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < a.length; i++) {
      ab += (a[i] - ma) * (b[i] - mb);
      aa += (a[i] - ma) * (a[i] - ma);
      bb += (b[i] - mb) * (b[i] - mb);
    }
    return ab / Math.sqrt(aa * bb);
  }

  @Test
  void noneLeavesTheCropAsWritten() {
    float[] plain = new float[3 * PLANE];
    new CropDecoder().decode(CropFormat.RAW_BGR, crop(), false, plain, 0);
    assertThat(java.util.Arrays.equals(decode(CropJitter.NONE, 1), plain)).isTrue();
    assertThat(CropJitter.NONE.isOn()).isFalse();
    assertThat(CropJitter.STANDARD.isOn()).isTrue();
  }

  @Test
  void theSameSeedGivesTheSameCropAndOtherSeedsOthers() {
    assertThat(java.util.Arrays.equals(decode(CropJitter.STANDARD, 7), decode(CropJitter.STANDARD, 7))).isTrue();
    assertThat(java.util.Arrays.equals(decode(CropJitter.STANDARD, 7), decode(CropJitter.STANDARD, 8))).isFalse();
  }

  @Test
  void theSquareMovesWithinTheShiftAndTheBrightnessWithinItsRange() {
    float[] plain = decode(CropJitter.NONE, 0);
    double[] home = squareCentre(plain, (200 - 127.5f) / 128f);
    double plainMean = mean(plain);
    double largestMove = 0;
    for (long seed = 0; seed < 60; seed++) {
      // the square only: the background ramp stays far below mid-grey, any jitter of 20% included
      float[] j = decode(new CropJitter(6, 0.1, 10, 0, 0), seed);
      double[] c = squareCentre(j, 0.4f);
      double move = Math.hypot(c[0] - home[0], c[1] - home[1]);
      assertThat(move).as("seed %d", seed).isLessThanOrEqualTo(6 * Math.sqrt(2) + 0.5);
      largestMove = Math.max(largestMove, move);
      // scale 0.9-1.1 changes the square's area by at most 0.81-1.21 (rotation keeps it)
      assertThat(c[2] / home[2]).as("seed %d", seed).isBetween(0.75, 1.3);
      assertThat(correlation(j, plain)).as("still the same picture, seed %d", seed).isGreaterThan(0.5);

      float[] lit = decode(new CropJitter(0, 0, 0, 0.2, 0), seed);
      // brightness +-20% of 255 = +-51 levels = +-0.4 in normalised units (clamping only shrinks it)
      assertThat(Math.abs(mean(lit) - plainMean)).isLessThanOrEqualTo(0.4 + 1e-6);
      for (float v : decode(CropJitter.STANDARD, seed)) {
        assertThat(v).isBetween(-127.5f / 128f, 127.5f / 128f);
      }
    }
    assertThat(largestMove).as("the jitter really moves the face").isGreaterThan(3);
  }

  /**
   * Erasing alone: half the crops (of 400 seeds) get one solid mid-grey rectangle (no pixel of the
   * test crop is mid-grey otherwise) covering 2-25% of the crop, in every plane, and the rest of the
   * crop is untouched; the other half come out as written.
   */
  @Test
  void erasingGreysOutOneRectangleOfHalfTheCrops() {
    float[] plain = decode(CropJitter.NONE, 0);
    float grey = (128 - 127.5f) / 128f;
    CropJitter erase = CropJitter.NONE.withErase(0.25);
    assertThat(erase.isOn()).isTrue();
    int erased = 0;
    double smallest = 1;
    double largest = 0;
    int tall = 0, wide = 0, atTop = 0, atBottom = 0, atLeft = 0, atRight = 0;
    for (long seed = 0; seed < 400; seed++) {
      float[] e = decode(erase, seed);
      int top = SIZE, left = SIZE, bottom = -1, right = -1, n = 0;
      for (int y = 0; y < SIZE; y++) {
        for (int x = 0; x < SIZE; x++) {
          int i = y * SIZE + x;
          if (e[i] == grey) {
            n++;
            top = Math.min(top, y);
            bottom = Math.max(bottom, y);
            left = Math.min(left, x);
            right = Math.max(right, x);
            assertThat(e[i + PLANE]).isEqualTo(grey);
            assertThat(e[i + 2 * PLANE]).isEqualTo(grey);
          } else {
            for (int c = 0; c < 3; c++) {
              assertThat(e[i + c * PLANE]).as("seed %d: untouched outside the rectangle", seed).isEqualTo(plain[i + c * PLANE]);
            }
          }
        }
      }
      if (n == 0) {
        continue;
      }
      erased++;
      assertThat(n).as("seed %d: one solid rectangle", seed).isEqualTo((bottom - top + 1) * (right - left + 1));
      double share = n / (double) PLANE;
      // rounding of the sides moves the share a little around [0.02, 0.25]
      assertThat(share).as("seed %d", seed).isBetween(0.015, 0.27);
      smallest = Math.min(smallest, share);
      largest = Math.max(largest, share);
      int h = bottom - top + 1, w = right - left + 1;
      tall += h > 2 * w ? 1 : 0;
      wide += w > 2 * h ? 1 : 0;
      atTop += top < 5 ? 1 : 0;
      atBottom += bottom > SIZE - 6 ? 1 : 0;
      atLeft += left < 5 ? 1 : 0;
      atRight += right > SIZE - 6 ? 1 : 0;
    }
    assertThat(erased).as("about half of 400").isBetween(160, 240);
    // the aspect ratio (0.3-3.3) and the position vary: not one square in one place
    assertThat(java.util.List.of(tall, wide, atTop, atBottom, atLeft, atRight)).allMatch(n -> n >= 5);
    assertThat(smallest).as("the range is used").isLessThan(0.06);
    assertThat(largest).isGreaterThan(0.2);
  }

  /** A crop of one-pixel stripes across a ramp: all its fine detail is in the stripes. */
  private static ByteBuffer stripes() {
    byte[] b = new byte[PLANE * 3];
    for (int y = 0; y < SIZE; y++) {
      for (int x = 0; x < SIZE; x++) {
        int v = 40 + x + ((x + y) % 2 == 0 ? 60 : 0);
        for (int c = 0; c < 3; c++) {
          b[3 * (y * SIZE + x) + c] = (byte) v;
        }
      }
    }
    return ByteBuffer.wrap(b);
  }

  /** Mean absolute difference of horizontal neighbours in the first plane: the fine detail left. */
  private static double detail(float[] pixels) {
    return detail(pixels, SIZE);
  }

  /** {@link #detail(float[])} over the first {@code rows} rows. */
  private static double detail(float[] pixels, int rows) {
    double sum = 0;
    for (int y = 0; y < rows; y++) {
      for (int x = 1; x < SIZE; x++) {
        sum += Math.abs(pixels[y * SIZE + x] - pixels[y * SIZE + x - 1]);
      }
    }
    return sum / (rows * (SIZE - 1));
  }

  /**
   * The low resolution alone: about half the crops (of 400 seeds) come out as written, the rest
   * lose most of their one-pixel detail and keep their brightness (a shrink that did nothing, or
   * that was applied to every crop, or that darkened the crop, fails); the smallest side (0.4)
   * leaves less detail than a side of nearly 1.
   */
  @Test
  void lowResolutionBlursHalfTheCropsAndKeepsTheirBrightness() {
    float[] plain = new float[3 * PLANE];
    new CropDecoder().decode(CropFormat.RAW_BGR, stripes(), false, CropJitter.NONE, new Random(0), plain, 0);
    double sharp = detail(plain);
    CropJitter lowRes = CropJitter.NONE.withLowRes(0.4);
    assertThat(lowRes.isOn()).isTrue();
    int blurred = 0;
    for (long seed = 0; seed < 400; seed++) {
      float[] out = new float[3 * PLANE];
      new CropDecoder().decode(CropFormat.RAW_BGR, stripes(), false, lowRes, new Random(seed), out, 0);
      if (java.util.Arrays.equals(out, plain)) {
        continue;
      }
      blurred++;
      assertThat(detail(out)).as("seed %d: the stripes are mostly gone", seed).isLessThan(0.5 * sharp);
      assertThat(mean(out)).as("seed %d: same brightness", seed).isCloseTo(mean(plain), org.assertj.core.data.Offset.offset(0.02));
    }
    // the seeds are fixed, so the count is too: a bound of about two standard deviations (10)
    assertThat(blurred).as("about half of 400").isBetween(180, 220);
    // six photometric draws (ranges 0), then: shrink yes, side draw 0 (0.4) or nearly 1
    float[] smallest = new float[3 * PLANE];
    float[] largest = new float[3 * PLANE];
    new CropDecoder().decode(CropFormat.RAW_BGR, stripes(), false, lowRes, fixed(0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0, 0), smallest, 0);
    new CropDecoder().decode(CropFormat.RAW_BGR, stripes(), false, lowRes, fixed(0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0, 0.97), largest, 0);
    assertThat(detail(smallest)).isLessThan(detail(largest));
    // "no" leaves the crop as written
    float[] kept = new float[3 * PLANE];
    new CropDecoder().decode(CropFormat.RAW_BGR, stripes(), false, lowRes, fixed(0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.7, 0), kept, 0);
    assertThat(kept).isEqualTo(plain);
    // each plane stays its own: on smooth ramps (B left-right, G top-bottom, R flat) the shrink
    // changes a pixel by a level or two at most; a swapped plane or a wrong stride moves it by tens
    byte[] colour = colourCrop().array().clone();
    byte[] before = colour.clone();
    CropJitter.shrinkAndRestore(colour, 0.4);
    for (int i = 0; i < colour.length; i++) {
      int x = (i / 3) % SIZE;
      int y = (i / 3) / SIZE;
      if (x > 2 && y > 2 && x < SIZE - 3 && y < SIZE - 3) {
        assertThat(Math.abs((colour[i] & 0xFF) - (before[i] & 0xFF))).as("pixel %d, %d, plane %d", x, y, i % 3).isLessThanOrEqualTo(2);
      }
    }
  }

  /**
   * The shrink comes before the erasing: an erased rectangle stays solid mid-grey to its edge (the
   * lower half of the crop, the largest share's flattest draw), where a shrink after it would blend
   * its border rows with the crop above.
   */
  @Test
  void lowResolutionComesBeforeErasing() {
    float grey = (128 - 127.5f) / 128f;
    double top = 1 - 1e-9;
    float[] out = new float[3 * PLANE];
    // six photometric draws, shrink yes at side 0.4, erase yes at share 0.5, aspect draw 0, far corner
    Random rng = fixed(0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0, 0, 0, top, 0, top, top);
    new CropDecoder().decode(CropFormat.RAW_BGR, stripes(), false, CropJitter.NONE.withLowRes(0.4).withErase(0.5), rng, out, 0);
    for (int i = PLANE / 2; i < PLANE; i++) {
      assertThat(out[i]).as("the lower half is solid grey, row %d included", i / SIZE).isEqualTo(grey);
    }
    assertThat(detail(out, 50)).as("the upper half was shrunk").isLessThan(0.5 * detail(decodePlain(), 50));
  }

  private static float[] decodePlain() {
    float[] plain = new float[3 * PLANE];
    new CropDecoder().decode(CropFormat.RAW_BGR, stripes(), false, CropJitter.NONE, new Random(0), plain, 0);
    return plain;
  }

  /**
   * Low resolution draws two more values a crop, whether it shrinks this crop or not, before the
   * erasing's five; the card names it; out-of-range sides are refused.
   */
  @Test
  void lowResolutionDrawsTwoMoreValuesAndIsDescribed() {
    for (CropJitter j : new CropJitter[] {CropJitter.STANDARD.withLowRes(0.4), CropJitter.STANDARD.withLowRes(0.4).withErase(0.25)}) {
      assertDrawsPerCrop(j, j.maxErase() > 0 ? 13 : 8);
    }
    assertThat(CropJitter.STANDARD.withLowRes(0.4).describe())
        .isEqualTo("shift +-6 px, scale +-10%, rotation +-10 deg, brightness +-20%, contrast +-20%,"
            + " low resolution 40-100% of the side (p 0.5)");
    assertThat(CropJitter.STANDARD.withLowRes(0.4).scaled(2).minLowRes()).isEqualTo(0.4);
    for (double bad : new double[] {0.1, 1, -0.5, Double.NaN}) {
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> CropJitter.NONE.withLowRes(bad))
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  /** Over 20 seeds, {@code j.apply} takes exactly {@code draws} doubles from the crop's Random. */
  private static void assertDrawsPerCrop(CropJitter j, int draws) {
    for (long seed = 0; seed < 20; seed++) {
      Random used = new Random(seed);
      j.apply((byte[]) crop().array().clone(), used);
      Random fresh = new Random(seed);
      for (int k = 0; k < draws; k++) {
        fresh.nextDouble();
      }
      assertThat(used.nextLong()).as("seed %d", seed).isEqualTo(fresh.nextLong());
    }
  }

  /** A {@link Random} whose {@code nextDouble} returns the given values, in order. */
  private static Random fixed(double... values) {
    return new Random() {
      private int next = 0;

      @Override
      public double nextDouble() {
        return values[next++];
      }
    };
  }

  /**
   * The extreme draws of the largest share, 0.5: the flattest and the tallest rectangle, at the
   * far corner. Both cover half the crop and end at its edge (a side clipped to the crop would
   * cover less than the share asked for; an off-by-one in the position would leave the crop).
   */
  @Test
  void theLargestShareStaysInsideTheCropAndCoversWhatItSays() {
    double top = 1 - 1e-9;
    float grey = (128 - 127.5f) / 128f;
    // six photometric draws (ranges 0), erase: yes, the largest share, the lowest/highest aspect, far corner
    for (double aspectDraw : new double[] {0, top}) {
      float[] out = new float[3 * PLANE];
      Random rng = fixed(0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0, top, aspectDraw, top, top);
      new CropDecoder().decode(CropFormat.RAW_BGR, crop(), false, CropJitter.NONE.withErase(0.5), rng, out, 0);
      int n = 0, first = -1, last = -1;
      for (int i = 0; i < PLANE; i++) {
        if (out[i] == grey) {
          n++;
          first = first < 0 ? i : first;
          last = i;
        }
      }
      assertThat(n).as("aspect draw %s: half the crop", aspectDraw).isEqualTo(PLANE / 2);
      assertThat(last).as("ends in the bottom-right corner").isEqualTo(PLANE - 1);
      // flattest: the lower half (56 rows x 112); tallest: the right half (112 rows x 56)
      assertThat(first).isEqualTo(aspectDraw == 0 ? 56 * SIZE : SIZE / 2);
    }
  }

  /**
   * A run without erasing draws what it drew before erasing existed (six values a crop), so the
   * committed model's recipe still sees the same crops; with erasing, five more, whatever is drawn.
   */
  @Test
  void erasingDrawsFiveMoreValuesAndNothingElseChanges() {
    for (CropJitter j : new CropJitter[] {CropJitter.STANDARD, CropJitter.STANDARD.withErase(0.25)}) {
      assertDrawsPerCrop(j, j.maxErase() > 0 ? 11 : 6);
    }
    assertThat(CropJitter.STANDARD.describe())
        .isEqualTo("shift +-6 px, scale +-10%, rotation +-10 deg, brightness +-20%, contrast +-20%");
    assertThat(CropJitter.STANDARD.withErase(0.25).describe()).endsWith(", erasing 2-25% of the crop (p 0.5)");
    assertThat(CropJitter.NONE.withErase(0.25).describe()).isEqualTo("erasing 2-25% of the crop (p 0.5)");
    assertThat(CropJitter.NONE.describe()).isEqualTo("none");
    for (double bad : new double[] {0.01, 0.51, -0.1, Double.NaN}) {
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> CropJitter.NONE.withErase(bad))
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  private static double mean(float[] a) {
    double s = 0;
    for (float v : a) {
      s += v;
    }
    return s / a.length;
  }

  /** B a left-right ramp, G a top-bottom ramp, R constant: a swapped or mis-mirrored plane shows. */
  private static ByteBuffer colourCrop() {
    byte[] b = new byte[PLANE * 3];
    for (int y = 0; y < SIZE; y++) {
      for (int x = 0; x < SIZE; x++) {
        b[3 * (y * SIZE + x)] = (byte) (20 + 2 * x);
        b[3 * (y * SIZE + x) + 1] = (byte) (240 - 2 * y);
        b[3 * (y * SIZE + x) + 2] = (byte) 90;
      }
    }
    return ByteBuffer.wrap(b);
  }

  /**
   * Brightness and contrast alone (nothing moves), on a mirrored colour crop: every pixel of every
   * plane must be the same affine function c * (p - 127.5) + 127.5 + b of the same pixel of the
   * plainly decoded, mirrored crop, with |b| <= 51 levels and |c - 1| <= 0.2; and over many seeds
   * both really vary.
   */
  @Test
  void brightnessAndContrastAreOneAffineChangeOfEveryPlaneOfTheMirroredCrop() {
    float[] plain = new float[3 * PLANE];
    new CropDecoder().decode(CropFormat.RAW_BGR, colourCrop(), true, plain, 0);
    double minC = 2, maxC = 0, minB = 255, maxB = -255;
    for (long seed = 0; seed < 40; seed++) {
      float[] out = new float[3 * PLANE];
      new CropDecoder().decode(CropFormat.RAW_BGR, colourCrop(), true, new CropJitter(0, 0, 0, 0.2, 0.2), new Random(seed), out, 0);
      // least squares of out on plain over the pixels that are not clamped
      double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
      for (int i = 0; i < out.length; i++) {
        double x = plain[i] * 128 + 127.5, y = out[i] * 128 + 127.5;
        if (y > 1 && y < 254) {
          n++;
          sx += x;
          sy += y;
          sxx += x * x;
          sxy += x * y;
        }
      }
      double c = (n * sxy - sx * sy) / (n * sxx - sx * sx);
      double b = (sy - c * sx) / n - 127.5 * (1 - c);
      for (int i = 0; i < out.length; i++) {
        double expected = Math.min(255, Math.max(0, c * (plain[i] * 128 + 127.5 - 127.5) + 127.5 + b));
        assertThat(out[i] * 128 + 127.5).as("seed %d, value %d", seed, i).isCloseTo(expected, org.assertj.core.data.Offset.offset(0.05));
      }
      assertThat(c).isBetween(0.8 - 1e-6, 1.2 + 1e-6);
      assertThat(b).isBetween(-51 - 1e-3, 51 + 1e-3);
      minC = Math.min(minC, c);
      maxC = Math.max(maxC, c);
      minB = Math.min(minB, b);
      maxB = Math.max(maxB, b);
    }
    assertThat(maxC - minC).as("contrast varies").isGreaterThan(0.2);
    assertThat(maxB - minB).as("brightness varies").isGreaterThan(50);
  }

  @Test
  void rangesOutsideWhatACropCanTakeAreRefused() {
    for (double[] r : new double[][] {{Double.NaN, 0, 0, 0, 0}, {Double.POSITIVE_INFINITY, 0, 0, 0, 0}, {56, 0, 0, 0, 0},
        {0, 1, 0, 0, 0}, {0, 0, 181, 0, 0}, {0, 0, Double.POSITIVE_INFINITY, 0, 0}, {0, 0, 0, 1.5, 0},
        {0, 0, 0, Double.POSITIVE_INFINITY, 0}, {0, 0, 0, 0, 1}, {-1, 0, 0, 0, 0}}) {
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> new CropJitter(r[0], r[1], r[2], r[3], r[4]))
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void aStrengthScalesEveryRangeButErasing() {
    // a strength multiplies every range but erasing's, and the card says the ranges it trained with
    CropJitter strong = CropJitter.STANDARD.scaled(1.5);
    org.assertj.core.data.Offset<Double> exact = org.assertj.core.api.Assertions.within(1e-12);
    assertThat(strong.maxShift()).isCloseTo(9, exact);
    assertThat(strong.maxScale()).isCloseTo(0.15, exact);
    assertThat(strong.maxRotation()).isCloseTo(15, exact);
    assertThat(strong.maxBrightness()).isCloseTo(0.3, exact);
    assertThat(strong.maxContrast()).isCloseTo(0.3, exact);
    assertThat(CropJitter.STANDARD.withErase(0.25).scaled(2).maxErase()).isEqualTo(0.25);
    assertThat(CropJitter.STANDARD.scaled(1.5).describe())
        .isEqualTo("shift +-9 px, scale +-15%, rotation +-15 deg, brightness +-30%, contrast +-30%");
    assertThat(CropJitter.STANDARD.scaled(1.25).describe()).startsWith("shift +-7.5 px, scale +-12.5%");
    assertThat(CropJitter.STANDARD.withErase(0.125).describe()).endsWith("erasing 2-12.5% of the crop (p 0.5)");
    // every strength a run may ask for gives ranges the constructor takes
    assertThat(CropJitter.STANDARD.scaled(CropJitter.MAX_STRENGTH).maxShift()).isEqualTo(18);
    assertThat(CropJitter.STANDARD.scaled(CropJitter.MIN_STRENGTH).maxShift()).isEqualTo(1.5);
    for (double bad : new double[] {0, 0.2, -1, 3.5, Double.NaN}) {
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> CropJitter.STANDARD.scaled(bad))
          .isInstanceOf(IllegalArgumentException.class);
    }
  }
}
