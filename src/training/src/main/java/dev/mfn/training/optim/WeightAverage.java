package dev.mfn.training.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import dev.mfn.model.store.DurableFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An exponential moving average of the embedding network's weights (EMA): after every optimiser
 * step, {@code average = d * average + (1 - d) * weight} for every parameter of the body, BatchNorm's running statistics included. The
 * average, not the last step's weights, becomes the trained model: it smooths the noise of the
 * last steps of SGD. The classifier is not averaged: it is not part of the model that serves.
 *
 * <p>The decay warms up as {@code d_t = min(d, (1 + t) / (10 + t))} at step t (TensorFlow's
 * ExponentialMovingAverage with num_updates), so that a short run is not an average of mostly the
 * random initial weights (at d = 0.999, 640 steps would leave 53% of the weight on them). d itself
 * is reached at step (10d - 1) / (1 - d): 8,990 for 0.999, 890 for 0.99; a shorter run averages
 * with the ramp's value at its end ({@link #decayAt(double, long)}, on the model card).
 *
 * <p>The average lives in arrays of its own, detached from autograd; {@link #save} and {@link
 * #load} carry it through a checkpoint (a resumed run must continue the same average).
 */
public final class WeightAverage {
  private final double decay;
  private final Map<String, NDArray> average = new LinkedHashMap<>();

  private WeightAverage(double decay) {
    this.decay = decay;
  }

  /** Starts an average at the body's current weights. */
  public static WeightAverage start(Block body, double decay, NDManager manager) {
    if (!(decay > 0 && decay < 1)) {
      throw new IllegalArgumentException("an average's decay must be in (0, 1), not " + decay);
    }
    WeightAverage a = new WeightAverage(decay);
    for (Pair<String, Parameter> p : body.getParameters()) {
      try (NDArray detached = p.getValue().getArray().stopGradient()) {
        NDArray copy = detached.duplicate();
        copy.attach(manager);
        a.average.put(p.getKey(), copy);
      }
    }
    return a;
  }

  /** The decay used after step {@code step} (1-based): the warm-up, then {@code decay}. */
  public double decayAt(long step) {
    return decayAt(decay, step);
  }

  /** The decay a run with {@code decay} uses after step {@code step}: min(d, (1 + t) / (10 + t)). */
  public static double decayAt(double decay, long step) {
    return Math.min(decay, (1.0 + step) / (10.0 + step));
  }

  /** Folds the body's weights after optimiser step {@code step} (1-based) into the average. */
  public void update(Block body, long step) {
    float d = (float) decayAt(step);
    for (Pair<String, Parameter> p : body.getParameters()) {
      NDArray avg = average.get(p.getKey());
      try (NDArray weight = p.getValue().getArray().stopGradient();
          NDArray delta = weight.sub(avg)) {
        // avg += (1 - d) * (weight - avg): the same as d * avg + (1 - d) * weight, in place
        avg.addi(delta.muli(1 - d));
      }
    }
  }

  /** Writes the average into the body's parameters, in place (what was trained is replaced). */
  public void copyInto(Block body) {
    for (Pair<String, Parameter> p : body.getParameters()) {
      // once, at the end: through a Java array, as the ArcFace centres are set from the softmax
      // weights, which keeps every reference to the parameter's array valid
      p.getValue().getArray().set(average.get(p.getKey()).toFloatArray());
    }
  }

  /** The averaged arrays, named as the body's parameters. */
  public NDList arrays() {
    NDList list = new NDList();
    for (Map.Entry<String, NDArray> e : average.entrySet()) {
      e.getValue().setName(e.getKey());
      list.add(e.getValue());
    }
    return list;
  }

  /** Writes the average to a file, synced. */
  public void save(Path file) throws IOException {
    DurableFiles.write(file, arrays().encode());
  }

  /**
   * The average written by {@link #save}, for the body it was made for: a file that lacks one of
   * the body's parameters, or has another shape, is refused.
   */
  public static WeightAverage load(Path file, Block body, double decay, NDManager manager) throws IOException {
    WeightAverage a = new WeightAverage(decay);
    Map<String, NDArray> saved = new LinkedHashMap<>();
    NDList decoded = NDList.decode(manager, Files.readAllBytes(file));
    for (NDArray array : decoded) {
      saved.put(array.getName(), array);
    }
    try {
      for (Pair<String, Parameter> p : body.getParameters()) {
        NDArray s = saved.get(p.getKey());
        NDArray weight = p.getValue().getArray();
        if (s == null || !s.getShape().equals(weight.getShape())) {
          throw new IOException(file + " holds no average of " + p.getKey() + " " + weight.getShape());
        }
        // decoded arrays wrap the file's buffer, and torch's to() on the same device aliases it:
        // a copy with storage of its own (as GroupedSgd's restored velocities)
        NDArray copy = s.getDevice().equals(weight.getDevice()) ? s.duplicate() : s.toDevice(weight.getDevice(), true);
        copy.attach(manager);
        a.average.put(p.getKey(), copy);
      }
    } finally {
      decoded.close(); // the copies own their storage
    }
    return a;
  }
}
