package dev.mfn.training.loader;

import java.util.ArrayDeque;
import org.opencv.core.Core;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.imgproc.Imgproc;
import org.opencv.photo.Photo;

/**
 * Paints over the black the aligner leaves where a crop reaches past its photo, with what surrounds
 * it (OpenCV's inpainting, Telea's method). The 112x112 template keeps room above the eyebrows and
 * beside the cheeks; a photo cropped tightly around the face has nothing there, and the aligner
 * fills it with black. CFP's photos are such: 27% of an aligned CFP crop is that black on average,
 * and the top 20 rows are wholly black in half of them, where LFW's 250x250 photos leave no crop
 * any black (bench/RESULTS.md, thirteenth part; {@code bench/run coverage}). A network trained on
 * such crops learns faces with black hair and black ears and is then shown real ones.
 *
 * <p>The black is found as the pixels of exactly (0, 0, 0) connected to the crop's edge (the
 * shards' PNG crops keep it exact), widened by one pixel for the seam that bilinear sampling
 * blends between the photo's edge and the black. A photo's own pure-black region touching the edge
 * would be filled too: {@code bench/run coverage} counts how often the black found reaches into the
 * photo (for CFP 001-350, RESULTS.md's thirteenth part).
 */
public final class OutsideFill {
  private static final int SIZE = CropDecoder.SIZE;

  /** Telea's neighbourhood, in pixels: large enough to carry texture, small enough to stay local. */
  private static final double RADIUS = 3;

  private OutsideFill() {}

  /**
   * Fills the outside-photo black of the 112x112 BGR crop in {@code pixels} in place.
   *
   * @return the number of pixels painted (0: the crop lies wholly inside its photo, unchanged)
   */
  public static int fill(byte[] pixels) {
    byte[] mask = blackFromEdge(pixels);
    int found = 0;
    for (byte m : mask) {
      found += m;
    }
    if (found == 0) {
      return 0;
    }
    Mat image = new Mat(SIZE, SIZE, CvType.CV_8UC3);
    Mat black = new Mat(SIZE, SIZE, CvType.CV_8UC1);
    Mat seam = new Mat();
    Mat kernel = Imgproc.getStructuringElement(Imgproc.MORPH_RECT, new org.opencv.core.Size(3, 3));
    Mat painted = new Mat();
    try {
      image.put(0, 0, pixels);
      black.put(0, 0, mask);
      Imgproc.dilate(black, seam, kernel);
      Photo.inpaint(image, seam, painted, RADIUS, Photo.INPAINT_TELEA);
      painted.get(0, 0, pixels);
      return Core.countNonZero(seam);
    } finally {
      image.release();
      black.release();
      seam.release();
      kernel.release();
      painted.release();
    }
  }

  /** 1 where a pixel is exactly black and joined to the crop's edge through black pixels. */
  public static byte[] blackFromEdge(byte[] pixels) {
    byte[] mask = new byte[SIZE * SIZE];
    ArrayDeque<Integer> queue = new ArrayDeque<>();
    for (int i = 0; i < SIZE; i++) {
      seed(pixels, mask, queue, i, 0);
      seed(pixels, mask, queue, i, SIZE - 1);
      seed(pixels, mask, queue, 0, i);
      seed(pixels, mask, queue, SIZE - 1, i);
    }
    while (!queue.isEmpty()) {
      int p = queue.poll();
      int x = p % SIZE;
      int y = p / SIZE;
      if (x > 0) {
        seed(pixels, mask, queue, x - 1, y);
      }
      if (x < SIZE - 1) {
        seed(pixels, mask, queue, x + 1, y);
      }
      if (y > 0) {
        seed(pixels, mask, queue, x, y - 1);
      }
      if (y < SIZE - 1) {
        seed(pixels, mask, queue, x, y + 1);
      }
    }
    return mask;
  }

  private static void seed(byte[] pixels, byte[] mask, ArrayDeque<Integer> queue, int x, int y) {
    int p = y * SIZE + x;
    if (mask[p] == 0 && pixels[3 * p] == 0 && pixels[3 * p + 1] == 0 && pixels[3 * p + 2] == 0) {
      mask[p] = 1;
      queue.add(p);
    }
  }
}
