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
 * rejected once already and may be hostile: it goes through the same bounded decoder as every
 * upload (header checked for size and pixel count before a pixel is decoded).
 */
final class Thumbnails {
  private static final ImageDecoder DECODER = new ImageDecoder(ImageDecoder.DEFAULT_MAX_BYTES, ImageDecoder.DEFAULT_MAX_PIXELS);

  private Thumbnails() {}

  static Optional<byte[]> png(byte[] photo, int maxSide) {
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
