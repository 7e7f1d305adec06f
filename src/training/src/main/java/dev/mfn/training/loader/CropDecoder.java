package dev.mfn.training.loader;

import dev.mfn.records.CropFormat;
import java.nio.ByteBuffer;
import java.util.Random;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.imgcodecs.Imgcodecs;

/** Decodes a shard's crop bytes into normalised planar floats, optionally mirrored and jittered. */
final class CropDecoder {
  static final int SIZE = 112;
  static final int PLANE = SIZE * SIZE;
  static final float MEAN = 127.5f;
  static final float SCALE = 1f / 128f;

  private final byte[] pixels = new byte[PLANE * 3];

  /**
   * Writes the crop at {@code out[offset .. offset + 3*112*112)} (B, G, R planes).
   *
   * @return false when the bytes are not a 112x112 colour crop (the loader counts and skips it)
   */
  boolean decode(CropFormat format, ByteBuffer bytes, boolean mirror, float[] out, int offset) {
    return decode(format, bytes, mirror, CropJitter.NONE, null, out, offset);
  }

  /** As above, with {@code jitter} drawn from {@code rng} (unused when the jitter is off). */
  boolean decode(
      CropFormat format, ByteBuffer bytes, boolean mirror, CropJitter jitter, Random rng, float[] out, int offset) {
    byte[] raw = new byte[bytes.remaining()];
    bytes.duplicate().get(raw);
    if (format == CropFormat.RAW_BGR) {
      if (raw.length != pixels.length) {
        return false;
      }
      System.arraycopy(raw, 0, pixels, 0, raw.length);
    } else {
      MatOfByte encoded = new MatOfByte(raw);
      Mat image = Imgcodecs.imdecode(encoded, Imgcodecs.IMREAD_COLOR);
      encoded.release();
      try {
        if (image.empty() || image.rows() != SIZE || image.cols() != SIZE || image.type() != CvType.CV_8UC3) {
          return false;
        }
        image.get(0, 0, pixels);
      } finally {
        image.release();
      }
    }
    if (jitter.fillOutside()) {
      OutsideFill.fill(pixels);
    }
    if (jitter.isOn()) {
      CropJitter.Photometric change = jitter.apply(pixels, rng);
      writeJittered(mirror, change, out, offset);
      return true;
    }
    for (int y = 0; y < SIZE; y++) {
      for (int x = 0; x < SIZE; x++) {
        int src = 3 * (y * SIZE + (mirror ? SIZE - 1 - x : x));
        int dst = offset + y * SIZE + x;
        out[dst] = ((pixels[src] & 0xFF) - MEAN) * SCALE;
        out[dst + PLANE] = ((pixels[src + 1] & 0xFF) - MEAN) * SCALE;
        out[dst + 2 * PLANE] = ((pixels[src + 2] & 0xFF) - MEAN) * SCALE;
      }
    }
    return true;
  }

  private void writeJittered(boolean mirror, CropJitter.Photometric change, float[] out, int offset) {
    float c = change.contrast();
    float shift = MEAN + change.brightness();
    for (int y = 0; y < SIZE; y++) {
      for (int x = 0; x < SIZE; x++) {
        int src = 3 * (y * SIZE + (mirror ? SIZE - 1 - x : x));
        int dst = offset + y * SIZE + x;
        for (int ch = 0; ch < 3; ch++) {
          float p = Math.min(255f, Math.max(0f, c * ((pixels[src + ch] & 0xFF) - MEAN) + shift));
          out[dst + ch * PLANE] = (p - MEAN) * SCALE;
        }
      }
    }
  }
}
