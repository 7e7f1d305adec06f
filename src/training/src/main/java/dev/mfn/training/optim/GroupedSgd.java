package dev.mfn.training.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.util.Pair;
import ai.djl.util.PairList;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * SGD with momentum where the weight decay depends on the parameter's group: the MobileFaceNet
 * paper decays the body by 4e-5 and the last layers by 4e-4. DJL's own Sgd has one decay for all
 * and keeps its momentum under random parameter ids; this one keeps the momentum by parameter
 * name, so a checkpoint can save it and a resumed run continues with the same velocity.
 *
 * <p>The learning rate is set by the trainer before each step from its schedule.
 */
public final class GroupedSgd extends Optimizer {
  private final float momentum;
  private final float bodyDecay;
  private final float headDecay;
  private final Map<String, String> nameById = new HashMap<>();
  private final Set<String> headIds = ConcurrentHashMap.newKeySet();
  private final Map<String, NDArray> velocityByName = new ConcurrentHashMap<>();
  private volatile float learningRate;

  private GroupedSgd(Builder builder, float momentum, float bodyDecay, float headDecay) {
    super(builder);
    this.momentum = momentum;
    this.bodyDecay = bodyDecay;
    this.headDecay = headDecay;
  }

  /**
   * @param parameters every parameter of the trained block, by its hierarchical name
   * @param headPrefix names starting with it belong to the head (the larger decay)
   */
  public static GroupedSgd create(
      PairList<String, Parameter> parameters, String headPrefix, float momentum, float bodyDecay,
      float headDecay) {
    GroupedSgd sgd = new GroupedSgd(new Builder(), momentum, bodyDecay, headDecay);
    for (Pair<String, Parameter> p : parameters) {
      sgd.nameById.put(p.getValue().getId(), p.getKey());
      if (p.getKey().startsWith(headPrefix)) {
        sgd.headIds.add(p.getValue().getId());
      }
    }
    return sgd;
  }

  public void setLearningRate(float learningRate) {
    this.learningRate = learningRate;
  }

  @Override
  public void update(String parameterId, NDArray weight, NDArray grad) {
    String name = nameById.getOrDefault(parameterId, parameterId);
    NDArray velocity =
        velocityByName.computeIfAbsent(
            name,
            k -> {
              NDArray v = weight.zerosLike();
              v.detach(); // lives as long as the optimizer, not the step's manager
              return v;
            });
    float decay = headIds.contains(parameterId) ? headDecay : bodyDecay;
    weight
        .getNDArrayInternal()
        .sgdUpdate(
            new NDList(weight, grad, velocity), new NDList(weight), learningRate, decay,
            rescaleGrad, clipGrad, momentum, true);
  }

  /** Writes the momentum buffers, by parameter name (no file before the first step). */
  public void save(Path file) throws IOException {
    Files.deleteIfExists(file);
    if (velocityByName.isEmpty()) {
      return; // e.g. right after the switch to ArcFace: nothing to carry over yet
    }
    NDList list = new NDList();
    velocityByName.forEach(
        (name, v) -> {
          v.setName(name);
          list.add(v);
        });
    Path partial = file.resolveSibling(file.getFileName() + ".partial");
    Files.write(partial, list.encode());
    Files.move(partial, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  /** Restores momentum buffers written by {@link #save}. */
  public void load(Path file, NDManager manager) throws IOException {
    if (!Files.exists(file)) {
      return;
    }
    NDList list = NDList.decode(manager, Files.readAllBytes(file));
    for (NDArray v : list) {
      v.detach();
      NDArray old = velocityByName.put(v.getName(), v);
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
