package dev.mfn.model;

import dev.mfn.model.store.ModelConfig;
import java.util.List;
import java.util.Optional;
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

  /** The runtime that runs it, for the first line of commands: "ONNX Runtime" or "PyTorch". */
  String runtime();

  /** The model-store version's config (threshold, id) when the model came from a store. */
  default Optional<ModelConfig> storeConfig() {
    return Optional.empty();
  }

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
