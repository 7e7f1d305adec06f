package dev.mfn.face.detect.blazeface;

import java.util.ArrayList;
import java.util.List;

/**
 * BlazeFace's SSD anchors, as MediaPipe's SsdAnchorsCalculator makes them with fixed anchor size:
 * centres of a grid per stride, several anchors per cell, width and height 1. Consecutive layers
 * with the same stride share one grid (their anchors are interleaved per cell).
 *
 * <ul>
 *   <li>short range (128x128): strides 8,16,16,16, 2 anchors per layer -> 16x16x2 + 8x8x6 = 896
 *   <li>full range (192x192): stride 4, 1 anchor -> 48x48 = 2304
 * </ul>
 */
public final class BlazeFaceAnchors {
  private BlazeFaceAnchors() {}

  /** Anchor centres as {x0, y0, x1, y1, ...}, normalised to [0, 1]. */
  public static float[] generate(int inputSize, int[] strides, int anchorsPerLayer) {
    List<float[]> centres = new ArrayList<>();
    int layer = 0;
    while (layer < strides.length) {
      int stride = strides[layer];
      int anchorsPerCell = 0;
      while (layer < strides.length && strides[layer] == stride) {
        anchorsPerCell += anchorsPerLayer;
        layer++;
      }
      int grid = (int) Math.ceil((double) inputSize / stride);
      for (int y = 0; y < grid; y++) {
        for (int x = 0; x < grid; x++) {
          for (int a = 0; a < anchorsPerCell; a++) {
            centres.add(new float[] {(x + 0.5f) / grid, (y + 0.5f) / grid});
          }
        }
      }
    }
    float[] out = new float[centres.size() * 2];
    for (int i = 0; i < centres.size(); i++) {
      out[2 * i] = centres.get(i)[0];
      out[2 * i + 1] = centres.get(i)[1];
    }
    return out;
  }
}
