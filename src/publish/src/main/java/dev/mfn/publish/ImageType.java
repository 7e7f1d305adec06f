package dev.mfn.publish;

import java.util.Optional;

/**
 * Recognises image formats from their first bytes (magic numbers), never from the file name: a
 * ".jpg" that holds text is not an image, and a PNG named ".jpg" is a PNG.
 */
public final class ImageType {
  private ImageType() {}

  /** The MIME type of the image in {@code head}, or empty when it is not an image we know. */
  public static Optional<String> sniff(byte[] head) {
    if (startsWith(head, 0xFF, 0xD8, 0xFF)) {
      return Optional.of("image/jpeg");
    }
    if (startsWith(head, 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A)) {
      return Optional.of("image/png");
    }
    if (startsWith(head, 'B', 'M') && head.length >= 14) {
      return Optional.of("image/bmp");
    }
    if (startsWith(head, 'R', 'I', 'F', 'F')
        && head.length >= 12
        && head[8] == 'W'
        && head[9] == 'E'
        && head[10] == 'B'
        && head[11] == 'P') {
      return Optional.of("image/webp");
    }
    if (startsWith(head, 'G', 'I', 'F', '8')) {
      return Optional.of("image/gif");
    }
    if (startsWith(head, 'I', 'I', 0x2A, 0x00) || startsWith(head, 'M', 'M', 0x00, 0x2A)) {
      return Optional.of("image/tiff");
    }
    return Optional.empty();
  }

  private static boolean startsWith(byte[] bytes, int... prefix) {
    if (bytes.length < prefix.length) {
      return false;
    }
    for (int i = 0; i < prefix.length; i++) {
      if ((bytes[i] & 0xFF) != prefix[i]) {
        return false;
      }
    }
    return true;
  }
}
