package dev.mfn.face.decode;

import dev.mfn.face.OpenCv;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import javax.imageio.ImageIO;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.imgcodecs.Imgcodecs;

/** Encodes an image as WebP with OpenCV: the JDK has no WebP writer (used to build test corpora). */
public final class WebpEncoder {
  private WebpEncoder() {}

  public static byte[] encode(BufferedImage image) {
    OpenCv.load();
    ByteArrayOutputStream png = new ByteArrayOutputStream();
    try {
      ImageIO.write(image, "png", png);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    MatOfByte in = new MatOfByte(png.toByteArray());
    Mat decoded = Imgcodecs.imdecode(in, Imgcodecs.IMREAD_COLOR);
    MatOfByte out = new MatOfByte();
    try {
      if (!Imgcodecs.imencode(".webp", decoded, out)) {
        throw new IllegalStateException("OpenCV cannot encode WebP");
      }
      return out.toArray();
    } finally {
      in.release();
      decoded.release();
      out.release();
    }
  }
}
