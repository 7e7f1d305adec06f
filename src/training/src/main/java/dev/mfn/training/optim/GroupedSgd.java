package dev.mfn.training.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.util.Pair;
import ai.djl.util.PairList;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;

/**
 * SGD with momentum where the weight decay depends on the parameter ({@link DecayGroups}).
 *
 * <p>Momentum is kept per parameter <em>and device copy</em>. With several devices DJL's parameter
 * server reduces the gradients and then calls {@link #update} once per device copy of a parameter,
 * with the same parameter id: a velocity keyed by the parameter alone would be applied to every
 * copy in turn (a cross-device error, or the momentum compounded once per device). It is keyed by
 * the parameter's name (stable across runs, unlike DJL's random ids) and the copy's device, so a
 * checkpoint saves every copy's velocity and a resumed run continues with the same ones.
 *
 * <p>The learning rate is set by the trainer before each step from its schedule.
 */
public final class GroupedSgd extends Optimizer {
  private final float momentum;
  private final Map<String, String> nameById = new HashMap<>();
  private final Map<String, Float> decayById = new HashMap<>();
  private final Function<NDArray, String> replicaOf;
  private final Map<String, NDArray> velocities = new ConcurrentHashMap<>();
  /** Velocities read from a checkpoint, by key, until each copy takes its own. */
  private final Map<String, NDArray> restored = new ConcurrentHashMap<>();
  private volatile float learningRate;
  /** The factor the next step's gradients of {@link #scaled} parameters are multiplied by (clipping). */
  private volatile float gradientScale = 1f;
  private volatile java.util.Set<String> scaled = java.util.Set.of();

  private GroupedSgd(float momentum, Function<NDArray, String> replicaOf) {
    super(new Builder());
    this.momentum = momentum;
    this.replicaOf = replicaOf;
  }

  /**
   * @param parameters every parameter of the trained block, by its hierarchical name
   * @param decayOfName the weight decay of a parameter, by name
   */
  public static GroupedSgd create(
      PairList<String, Parameter> parameters, ToDoubleFunction<String> decayOfName, float momentum) {
    return create(parameters, decayOfName, momentum, a -> a.getDevice().toString());
  }

  /**
   * As {@link #create(PairList, ToDoubleFunction, float)} with the device copy a weight array
   * belongs to given by {@code replicaOf} (tests name copies that live on one CPU).
   */
  public static GroupedSgd create(
      PairList<String, Parameter> parameters, ToDoubleFunction<String> decayOfName, float momentum,
      Function<NDArray, String> replicaOf) {
    GroupedSgd sgd = new GroupedSgd(momentum, replicaOf);
    for (Pair<String, Parameter> p : parameters) {
      sgd.nameById.put(p.getValue().getId(), p.getKey());
      sgd.decayById.put(p.getValue().getId(), (float) decayOfName.applyAsDouble(p.getKey()));
    }
    return sgd;
  }

  public void setLearningRate(float learningRate) {
    this.learningRate = learningRate;
  }

  /**
   * Multiplies the gradients of the given parameters (by id) by {@code factor} in the steps that
   * follow, until set again: gradient-norm clipping, whose factor the trainer computes over all of
   * them before the step. The weight decay is added after the scaling, as torch's SGD adds it after
   * {@code clip_grad_norm_}.
   */
  public void setGradientScale(float factor, java.util.Set<String> parameterIds) {
    if (!(factor > 0 && factor <= 1)) {
      throw new IllegalArgumentException("a gradient scale in (0, 1], got " + factor);
    }
    this.scaled = parameterIds;
    this.gradientScale = factor;
  }

  /** The key of one device copy's velocity: parameter name @ device. */
  static String key(String name, String replica) {
    return name + "@" + replica;
  }

  @Override
  public void update(String parameterId, NDArray weight, NDArray grad) {
    String name = nameById.get(parameterId);
    if (name == null) {
      throw new IllegalStateException("parameter " + parameterId + " was not given to the optimizer");
    }
    String key = key(name, replicaOf.apply(weight));
    NDArray current = velocities.get(key);
    NDArray velocity = velocityFor(name, current, weight);
    if (velocity != current) {
      velocities.put(key, velocity);
    }
    // the gradient is only read: DJL's parameter server hands the same one to every device copy
    float factor = gradientScale;
    NDArray g = factor != 1f && scaled.contains(parameterId) ? grad.mul(factor) : grad;
    try {
      weight
          .getNDArrayInternal()
          .sgdUpdate(
              new NDList(weight, g, velocity), new NDList(weight), learningRate,
              decayById.get(parameterId), rescaleGrad, clipGrad, momentum, true);
    } finally {
      if (g != grad) {
        g.close();
      }
    }
  }

  /**
   * The velocity to use for a weight: the live one, else the one restored for this copy (moved to
   * the weight's device on first use), else one restored for another copy of the same parameter
   * (the copies of a data-parallel run hold the same velocity: they see the same reduced gradient;
   * this lets a run resume on another number of devices), else zeros. Restored velocities are kept
   * apart from live ones: a copy must never start from a velocity already stepped this run.
   */
  private NDArray velocityFor(String name, NDArray current, NDArray weight) {
    if (current != null) {
      return current;
    }
    String key = key(name, replicaOf.apply(weight));
    NDArray own = restored.remove(key);
    NDArray saved = own;
    if (saved == null) {
      String prefix = name + "@";
      saved = restored.entrySet().stream().filter(e -> e.getKey().startsWith(prefix))
          .map(Map.Entry::getValue).findFirst().orElse(null);
    }
    // always a copy with storage of its own: an array decoded from a checkpoint lives in a buffer
    // that is freed once its Java object is collected, and torch's to() on the same device aliases
    // that buffer instead of copying it (a use-after-free that crashed resumed runs at random)
    NDArray v;
    if (saved == null) {
      v = weight.zerosLike();
    } else if (saved.getDevice().equals(weight.getDevice())) {
      v = saved.duplicate();
    } else {
      v = saved.toDevice(weight.getDevice(), true);
    }
    if (own != null) {
      own.close();
    }
    v.detach(); // lives as long as the optimizer, not the step's manager
    return v;
  }

  /**
   * The velocities, by "name@device": the live ones, and those restored from a checkpoint for
   * parameters no step has touched yet (a checkpoint taken right after a resume keeps them).
   * Restored velocities of parameters that have live ones are dropped: they belong to device
   * copies this run does not have (resumed on fewer devices), and saving them again would hand a
   * stale velocity to such a copy after a later resume on more devices.
   */
  public NDList velocities() {
    java.util.Set<String> live = new java.util.HashSet<>();
    velocities.keySet().forEach(k -> live.add(k.substring(0, k.lastIndexOf('@'))));
    for (var it = restored.entrySet().iterator(); it.hasNext(); ) {
      var e = it.next();
      if (live.contains(e.getKey().substring(0, e.getKey().lastIndexOf('@')))) {
        it.remove();
        e.getValue().close();
      }
    }
    java.util.TreeMap<String, NDArray> all = new java.util.TreeMap<>(restored);
    all.putAll(velocities);
    NDList list = new NDList();
    all.forEach(
        (key, v) -> {
          v.setName(key);
          list.add(v);
        });
    return list;
  }

  /** Writes the velocities (possibly none, e.g. right after the switch to ArcFace) to a file. */
  public void save(Path file) throws IOException {
    dev.mfn.model.store.DurableFiles.write(file, velocities().encode());
  }

  /** Restores velocities written by {@link #save}; each moves to its weight's device on first use. */
  public void load(Path file, NDManager manager) throws IOException {
    NDList list = NDList.decode(manager, java.nio.file.Files.readAllBytes(file));
    for (NDArray v : list) {
      v.detach();
      NDArray old = restored.put(v.getName(), v);
      if (old != null) {
        old.close();
      }
    }
  }

  /** Builder required by DJL's Optimizer constructor; the settings live in {@link #create}. */
  private static final class Builder extends OptimizerBuilder<Builder> {
    @Override
    protected Builder self() {
      return this;
    }
  }
}
