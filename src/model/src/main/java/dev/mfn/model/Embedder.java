package dev.mfn.model;

import java.util.List;
import org.opencv.core.Mat;

/**
 * Turns aligned 112x112 BGR face crops into L2-normalised embeddings. Holds a native model: open
 * once per thread or task, reuse, close. Not thread-safe.
 */
public interface Embedder extends AutoCloseable {
  /** One L2-normalised vector per crop, in order. */
  float[][] embed(List<Mat> crops);

  int dimension();

  /** A short description (model file and engine) for reports. */
  String describe();

  @Override
  void close();

  /** Scales a vector to unit length in place and returns it (a zero vector stays zero). */
  static float[] normalize(float[] v) {
    double sum = 0;
    for (float x : v) {
      sum += x * x;
    }
    double norm = Math.sqrt(sum);
    if (norm > 0) {
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) (v[i] / norm);
      }
    }
    return v;
  }
}
