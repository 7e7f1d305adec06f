package dev.mfn.face.augment;

import dev.mfn.face.OpenCv;
import java.util.SplittableRandom;
import org.opencv.core.Core;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.Size;
import org.opencv.imgproc.Imgproc;

/**
 * Deterministic augmentations of an aligned crop: the same crop and seed always give the same
 * pixels (Java's SplittableRandom, not OpenCV's global RNG, which threads would share), so a
 * re-run of the ingest job writes identical shards.
 */
public final class FaceAugmenter {
  private final int openingKernel;
  private final double noiseSigma;
  private final double saltPepperFraction;

  /** The defaults: 3x3 opening, Gaussian sigma 8 grey levels, 2% of pixels salt or pepper. */
  public FaceAugmenter() {
    this(3, 8.0, 0.02);
  }

  public FaceAugmenter(int openingKernel, double noiseSigma, double saltPepperFraction) {
    OpenCv.load();
    this.openingKernel = openingKernel;
    this.noiseSigma = noiseSigma;
    this.saltPepperFraction = saltPepperFraction;
  }

  /** A new Mat with the augmentation applied; the input is left untouched. */
  public Mat apply(Mat crop, Augmentation kind, long seed) {
    Mat out = new Mat();
    switch (kind) {
      case NONE -> crop.copyTo(out);
      case FLIP -> Core.flip(crop, out, 1);
      case OPENING -> {
        Mat kernel =
            Imgproc.getStructuringElement(Imgproc.MORPH_RECT, new Size(openingKernel, openingKernel));
        Imgproc.morphologyEx(crop, out, Imgproc.MORPH_OPEN, kernel);
        kernel.release();
      }
      case GAUSSIAN_NOISE -> gaussian(crop, out, new SplittableRandom(seed));
      case SALT_AND_PEPPER -> saltAndPepper(crop, out, new SplittableRandom(seed));
    }
    return out;
  }

  private void gaussian(Mat crop, Mat out, SplittableRandom random) {
    byte[] pixels = bytes(crop);
    java.util.Random gauss = new java.util.Random(random.nextLong());
    for (int i = 0; i < pixels.length; i++) {
      double v = (pixels[i] & 0xFF) + gauss.nextGaussian() * noiseSigma;
      pixels[i] = (byte) Math.max(0, Math.min(255, Math.round(v)));
    }
    write(crop, out, pixels);
  }

  private void saltAndPepper(Mat crop, Mat out, SplittableRandom random) {
    byte[] pixels = bytes(crop);
    int channels = crop.channels();
    int count = crop.rows() * crop.cols();
    for (int p = 0; p < count; p++) {
      if (random.nextDouble() < saltPepperFraction) {
        byte value = random.nextBoolean() ? (byte) 255 : 0;
        for (int c = 0; c < channels; c++) {
          pixels[p * channels + c] = value;
        }
      }
    }
    write(crop, out, pixels);
  }

  private static byte[] bytes(Mat crop) {
    if (crop.depth() != CvType.CV_8U) {
      throw new IllegalArgumentException("8-bit crops only, got " + crop);
    }
    Mat continuous = crop.isContinuous() ? crop : crop.clone();
    byte[] pixels = new byte[(int) (continuous.total() * continuous.channels())];
    continuous.get(0, 0, pixels);
    return pixels;
  }

  private static void write(Mat like, Mat out, byte[] pixels) {
    out.create(like.rows(), like.cols(), like.type());
    out.put(0, 0, pixels);
  }
}
