package dev.mfn.face.decode;

import dev.mfn.face.FaceRejected;
import dev.mfn.face.RejectReason;
import dev.mfn.face.OpenCv;
import org.opencv.core.Core;
import org.opencv.core.CvException;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.imgcodecs.Imgcodecs;

/**
 * Decodes photo bytes into a 3-channel BGR image, upright. Limits on bytes and pixels are checked
 * from the header before any pixel is decoded; truncated and non-image bytes are refused. Every
 * refusal is a {@link FaceRejected} with a reason code, never another exception.
 */
public final class ImageDecoder {
  /** Default limits: 64 MiB of bytes and 60 megapixels (a large phone photo is ~50 MP). */
  public static final long DEFAULT_MAX_BYTES = 64L << 20;

  public static final long DEFAULT_MAX_PIXELS = 60_000_000L;

  private final long maxBytes;
  private final long maxPixels;

  public ImageDecoder() {
    this(DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS);
  }

  public ImageDecoder(long maxBytes, long maxPixels) {
    OpenCv.load();
    this.maxBytes = maxBytes;
    this.maxPixels = maxPixels;
  }

  /** The most bytes a photo may have. */
  public long maxBytes() {
    return maxBytes;
  }

  /** The decoded image; the caller owns (and should release) the Mat. */
  public Mat decode(byte[] bytes) throws FaceRejected {
    if (bytes.length > maxBytes) {
      throw new FaceRejected(
          RejectReason.TOO_MANY_BYTES, bytes.length + " bytes > limit " + maxBytes);
    }
    ImageHeader header = ImageHeader.read(bytes);
    if (!header.format().decodable()) {
      throw new FaceRejected(RejectReason.UNSUPPORTED_FORMAT, header.format().mimeType());
    }
    if (header.width() <= 0 || header.height() <= 0) {
      throw new FaceRejected(
          RejectReason.CORRUPT_HEADER, "size " + header.width() + "x" + header.height());
    }
    if (header.pixels() > maxPixels) {
      throw new FaceRejected(
          RejectReason.TOO_MANY_PIXELS,
          header.width() + "x" + header.height() + " > limit of " + maxPixels + " pixels");
    }
    if (!header.complete()) {
      throw new FaceRejected(RejectReason.TRUNCATED, header.format().mimeType() + " ends early");
    }
    Mat image;
    MatOfByte buffer = new MatOfByte(bytes);
    try {
      // We apply EXIF orientation ourselves (below), from the header we already parsed.
      image = Imgcodecs.imdecode(buffer, Imgcodecs.IMREAD_COLOR | Imgcodecs.IMREAD_IGNORE_ORIENTATION);
    } catch (CvException e) {
      throw new FaceRejected(RejectReason.DECODE_FAILED, e.getMessage());
    } finally {
      buffer.release();
    }
    if (image.empty()) {
      image.release();
      throw new FaceRejected(RejectReason.DECODE_FAILED, header.format().mimeType());
    }
    return upright(image, header.orientation());
  }

  /** Applies an EXIF orientation (1-8) so the image is as a person sees it. */
  static Mat upright(Mat image, int orientation) {
    if (orientation == ImageHeader.UPRIGHT) {
      return image;
    }
    Mat out = new Mat();
    switch (orientation) {
      case 2 -> Core.flip(image, out, 1);
      case 3 -> Core.rotate(image, out, Core.ROTATE_180);
      case 4 -> Core.flip(image, out, 0);
      case 5 -> Core.transpose(image, out);
      case 6 -> Core.rotate(image, out, Core.ROTATE_90_CLOCKWISE);
      case 7 -> {
        Core.transpose(image, out);
        Core.rotate(out, out, Core.ROTATE_180);
      }
      case 8 -> Core.rotate(image, out, Core.ROTATE_90_COUNTERCLOCKWISE);
      default -> image.copyTo(out);
    }
    image.release();
    return out;
  }
}
