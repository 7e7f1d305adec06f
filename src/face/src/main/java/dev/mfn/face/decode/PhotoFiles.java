package dev.mfn.face.decode;

import dev.mfn.face.FaceRejected;
import dev.mfn.face.RejectReason;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Reads a photo file named on a command line: a regular file only (a device such as /dev/zero
 * never ends, a FIFO blocks), at most {@code maxBytes} bytes, counted while reading. Every
 * refusal is a {@link FaceRejected} with its reason.
 */
public final class PhotoFiles {
  private PhotoFiles() {}

  public static byte[] read(Path file, long maxBytes) throws FaceRejected {
    BasicFileAttributes attributes;
    try {
      attributes = Files.readAttributes(file, BasicFileAttributes.class);
    } catch (NoSuchFileException e) {
      throw new FaceRejected(RejectReason.SOURCE_UNAVAILABLE, file + ": no such file");
    } catch (IOException e) {
      throw new FaceRejected(RejectReason.SOURCE_UNAVAILABLE, file + ": " + e.getMessage());
    }
    if (!attributes.isRegularFile()) {
      throw new FaceRejected(RejectReason.SOURCE_FORBIDDEN, file + ": not a regular file");
    }
    if (attributes.size() > maxBytes) {
      throw new FaceRejected(RejectReason.TOO_MANY_BYTES, attributes.size() + " bytes > limit " + maxBytes);
    }
    try (InputStream in = Files.newInputStream(file)) {
      byte[] bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBytes + 1));
      if (bytes.length > maxBytes) {
        throw new FaceRejected(RejectReason.TOO_MANY_BYTES, "more than " + maxBytes + " bytes in " + file);
      }
      return bytes;
    } catch (IOException e) {
      throw new FaceRejected(RejectReason.SOURCE_UNAVAILABLE, file + ": " + e.getMessage());
    }
  }
}
