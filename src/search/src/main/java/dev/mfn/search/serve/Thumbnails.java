package dev.mfn.search.serve;

import dev.mfn.face.FaceRejected;
import dev.mfn.face.decode.ImageDecoder;
import java.util.Optional;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.core.Size;
import org.opencv.imgcodecs.Imgcodecs;
import org.opencv.imgproc.Imgproc;

/**
 * A small PNG of a photo for the console (a dead letter's photo), or nothing. The photo was
 * rejected once already and may be hostile: it goes through a bounded decoder (header checked for
 * size and pixel count before a pixel is decoded), with a lower pixel cap than uploads get
 * ({@value #MAX_PIXELS}: a preview is not worth more), and at most {@value #AT_ONCE} decode at a
 * time: a page of dead letters asks for many previews together, and each decode can take hundreds
 * of MB. A request that finds no free slot within {@value #WAIT_SECONDS} s gets no preview (the
 * page says so) rather than queueing.
 */
final class Thumbnails {
  /** The most pixels a photo may have to be previewed (a 40-megapixel photo decodes to 120 MB). */
  static final long MAX_PIXELS = 40_000_000L;
  /** The most decodes at once, in the whole process. */
  static final int AT_ONCE = 2;
  /** How long a preview waits for a free slot. */
  static final long WAIT_SECONDS = 2;
  private static final ImageDecoder DECODER = new ImageDecoder(ImageDecoder.DEFAULT_MAX_BYTES, MAX_PIXELS);
  private static final java.util.concurrent.Semaphore SLOTS = new java.util.concurrent.Semaphore(AT_ONCE, true);

  private Thumbnails() {}

  static Optional<byte[]> png(byte[] photo, int maxSide) {
    try {
      if (!SLOTS.tryAcquire(WAIT_SECONDS, java.util.concurrent.TimeUnit.SECONDS)) {
        return Optional.empty(); // every slot busy: no preview this time
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
    try {
      return decoded(photo, maxSide);
    } finally {
      SLOTS.release();
    }
  }

  private static Optional<byte[]> decoded(byte[] photo, int maxSide) {
    Mat image;
    try {
      image = DECODER.decode(photo);
    } catch (FaceRejected | RuntimeException e) {
      return Optional.empty(); // undecodable: the page says "no preview"
    }
    Mat small = new Mat();
    MatOfByte png = new MatOfByte();
    try {
      double scale = Math.min(1.0, (double) maxSide / Math.max(image.cols(), image.rows()));
      Imgproc.resize(image, small, new Size(Math.max(1, image.cols() * scale), Math.max(1, image.rows() * scale)), 0, 0, Imgproc.INTER_AREA);
      return Imgcodecs.imencode(".png", small, png) ? Optional.of(png.toArray()) : Optional.empty();
    } finally {
      image.release();
      small.release();
      png.release();
    }
  }
}
