package dev.mfn.face.decode;

import dev.mfn.face.FaceRejected;
import dev.mfn.face.RejectReason;

/**
 * What the first and last bytes of an encoded image say, read without decoding any pixels: the
 * format, the dimensions, the EXIF orientation and whether the data is complete. This is what lets
 * the decoder refuse a 50,000 x 50,000 PNG before it allocates 7.5 GB.
 */
public record ImageHeader(ImageFormat format, int width, int height, int orientation, boolean complete) {

  /** EXIF orientation 1: stored as displayed. */
  public static final int UPRIGHT = 1;

  public long pixels() {
    return (long) width * height;
  }

  public static ImageHeader read(byte[] b) throws FaceRejected {
    if (b.length == 0) {
      throw new FaceRejected(RejectReason.EMPTY_INPUT, "0 bytes");
    }
    try {
      if (u8(b, 0) == 0xFF && u8(b, 1) == 0xD8 && u8(b, 2) == 0xFF) {
        return jpeg(b);
      }
      if (b.length >= 8 && u8(b, 0) == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G') {
        return png(b);
      }
      if (b.length >= 26 && b[0] == 'B' && b[1] == 'M') {
        return bmp(b);
      }
      if (b.length >= 16 && ascii(b, 0, "RIFF") && ascii(b, 8, "WEBP")) {
        return webp(b);
      }
      if (b.length >= 4 && ascii(b, 0, "GIF8")) {
        return new ImageHeader(ImageFormat.GIF, 0, 0, UPRIGHT, true);
      }
      if (b.length >= 4 && (ascii(b, 0, "II*\0") || ascii(b, 0, "MM\0*"))) {
        return new ImageHeader(ImageFormat.TIFF, 0, 0, UPRIGHT, true);
      }
    } catch (IndexOutOfBoundsException e) {
      throw new FaceRejected(RejectReason.CORRUPT_HEADER, "header ends early");
    } catch (RuntimeException e) {
      // whatever a hostile header makes of our arithmetic, it is a bad header, not a crash
      throw new FaceRejected(RejectReason.CORRUPT_HEADER, "unreadable header (" + e.getClass().getSimpleName() + ")");
    }
    throw new FaceRejected(RejectReason.NOT_AN_IMAGE, "unknown signature");
  }

  private static ImageHeader jpeg(byte[] b) throws FaceRejected {
    int orientation = UPRIGHT;
    int pos = 2;
    while (pos + 4 <= b.length) {
      if (u8(b, pos) != 0xFF) {
        throw new FaceRejected(RejectReason.CORRUPT_HEADER, "JPEG marker expected at " + pos);
      }
      int marker = u8(b, pos + 1);
      if (marker == 0xFF) { // fill byte
        pos++;
        continue;
      }
      if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {
        pos += 2;
        continue;
      }
      int length = u16be(b, pos + 2);
      if (marker == 0xE1 && length > 8 && ascii(b, pos + 4, "Exif\0\0")) {
        orientation = exifOrientation(b, pos + 10, pos + 2 + length);
      }
      boolean startOfFrame =
          marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
      if (startOfFrame) {
        int height = u16be(b, pos + 5);
        int width = u16be(b, pos + 7);
        return new ImageHeader(ImageFormat.JPEG, width, height, orientation, jpegComplete(b));
      }
      if (marker == 0xDA) {
        break; // start of scan before any frame header
      }
      pos += 2 + length;
    }
    throw new FaceRejected(RejectReason.CORRUPT_HEADER, "JPEG without a frame header");
  }

  /** A complete JPEG ends with the EOI marker (allowing a little padding after it). */
  private static boolean jpegComplete(byte[] b) {
    for (int i = b.length - 2; i >= Math.max(2, b.length - 1024); i--) {
      if (u8(b, i) == 0xFF && u8(b, i + 1) == 0xD9) {
        return true;
      }
    }
    return false;
  }

  /**
   * Reads tag 0x0112 from the TIFF structure inside an APP1 Exif segment; broken EXIF (offsets
   * out of the segment) means upright: the pixels are still a photo.
   */
  private static int exifOrientation(byte[] b, int tiff, int end) {
    try {
      return exifOrientationOrFail(b, tiff, end);
    } catch (RuntimeException broken) {
      return UPRIGHT;
    }
  }

  private static int exifOrientationOrFail(byte[] b, int tiff, int end) {
    if (tiff + 8 > end || end > b.length) {
      return UPRIGHT;
    }
    boolean little = b[tiff] == 'I';
    long offset = u32(b, tiff + 4, little) & 0xFFFFFFFFL;
    if (offset > end - tiff) {
      return UPRIGHT;
    }
    int ifd = tiff + (int) offset;
    if (ifd + 2 > end) {
      return UPRIGHT;
    }
    int entries = u16(b, ifd, little);
    for (int i = 0; i < entries; i++) {
      int entry = ifd + 2 + 12 * i;
      if (entry + 12 > end) {
        break;
      }
      if (u16(b, entry, little) == 0x0112) {
        int value = u16(b, entry + 8, little);
        return value >= 1 && value <= 8 ? value : UPRIGHT;
      }
    }
    return UPRIGHT;
  }

  private static ImageHeader png(byte[] b) throws FaceRejected {
    if (b.length < 24 || !ascii(b, 12, "IHDR")) {
      throw new FaceRejected(RejectReason.CORRUPT_HEADER, "PNG without IHDR");
    }
    int width = (int) u32be(b, 16);
    int height = (int) u32be(b, 20);
    boolean complete = false;
    for (int i = b.length - 4; i >= Math.max(8, b.length - 64); i--) {
      if (ascii(b, i, "IEND")) {
        complete = true;
        break;
      }
    }
    return new ImageHeader(ImageFormat.PNG, width, height, UPRIGHT, complete);
  }

  private static ImageHeader bmp(byte[] b) {
    long declaredSize = u32(b, 2, true) & 0xFFFFFFFFL;
    int width = u32(b, 18, true);
    int height = Math.abs(u32(b, 22, true));
    return new ImageHeader(ImageFormat.BMP, width, height, UPRIGHT, declaredSize <= b.length);
  }

  private static ImageHeader webp(byte[] b) throws FaceRejected {
    long riffSize = u32(b, 4, true) & 0xFFFFFFFFL;
    boolean complete = riffSize + 8 <= b.length;
    int width;
    int height;
    if (ascii(b, 12, "VP8 ")) {
      width = u16(b, 26, true) & 0x3FFF;
      height = u16(b, 28, true) & 0x3FFF;
    } else if (ascii(b, 12, "VP8L")) {
      int bits = u32(b, 21, true);
      width = (bits & 0x3FFF) + 1;
      height = ((bits >>> 14) & 0x3FFF) + 1;
    } else if (ascii(b, 12, "VP8X")) {
      width = (u8(b, 24) | u8(b, 25) << 8 | u8(b, 26) << 16) + 1;
      height = (u8(b, 27) | u8(b, 28) << 8 | u8(b, 29) << 16) + 1;
    } else {
      throw new FaceRejected(RejectReason.CORRUPT_HEADER, "WebP without a VP8 chunk");
    }
    return new ImageHeader(ImageFormat.WEBP, width, height, UPRIGHT, complete);
  }

  private static int u8(byte[] b, int i) {
    return b[i] & 0xFF;
  }

  private static int u16be(byte[] b, int i) {
    return u8(b, i) << 8 | u8(b, i + 1);
  }

  private static long u32be(byte[] b, int i) {
    return (long) u16be(b, i) << 16 | u16be(b, i + 2);
  }

  private static int u16(byte[] b, int i, boolean little) {
    return little ? u8(b, i) | u8(b, i + 1) << 8 : u16be(b, i);
  }

  private static int u32(byte[] b, int i, boolean little) {
    return little
        ? u8(b, i) | u8(b, i + 1) << 8 | u8(b, i + 2) << 16 | u8(b, i + 3) << 24
        : (int) u32be(b, i);
  }

  private static boolean ascii(byte[] b, int offset, String s) {
    if (offset + s.length() > b.length) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      if (b[offset + i] != (byte) s.charAt(i)) {
        return false;
      }
    }
    return true;
  }
}
