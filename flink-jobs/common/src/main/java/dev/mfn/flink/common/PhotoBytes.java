package dev.mfn.flink.common;

import dev.mfn.face.FaceRejected;
import dev.mfn.face.RejectReason;
import dev.mfn.records.RawImage;
import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

/** The bytes of a RawImage: inline, or read from its external URI (file:// for now). */
public final class PhotoBytes {
  private PhotoBytes() {}

  public static byte[] of(RawImage image) throws FaceRejected {
    if (image.getData() != null) {
      ByteBuffer data = image.getData().duplicate();
      byte[] bytes = new byte[data.remaining()];
      data.get(bytes);
      return bytes;
    }
    if (image.getUri() == null) {
      throw new FaceRejected(RejectReason.EMPTY_INPUT, "record has neither data nor uri");
    }
    try {
      URI uri = URI.create(image.getUri());
      if (!"file".equals(uri.getScheme())) {
        throw new FaceRejected(RejectReason.SOURCE_UNAVAILABLE, "unsupported URI scheme: " + uri.getScheme());
      }
      return Files.readAllBytes(Path.of(uri));
    } catch (IOException | IllegalArgumentException e) {
      throw new FaceRejected(RejectReason.SOURCE_UNAVAILABLE, image.getUri() + ": " + e.getMessage());
    }
  }
}
