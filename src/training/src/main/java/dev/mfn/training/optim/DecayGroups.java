package dev.mfn.training.optim;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.util.Pair;
import dev.mfn.model.net.FaceClassifier;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Weight decay per parameter, as the MobileFaceNet paper sets it (section 3.2): 4e-5 on the
 * network's weights, 4e-4 on every layer after the global operator, that is the linear GDConv,
 * the linear 1x1 convolution to 128 and the classifier. BatchNorm's scale and shift, PReLU slopes
 * and biases are not decayed (insightface's practice: decaying them only pulls the slopes to a
 * plain ReLU and the BatchNorm scale to zero, it does not regularise the function).
 */
public final class DecayGroups {
  /** Which decay a parameter gets. */
  public enum Group {
    /** Convolution weights before the global operator. */
    BODY,
    /** GDConv, the 1x1 to the embedding, the classifier. */
    LATE,
    /** BatchNorm gamma/beta, PReLU slopes, biases. */
    NONE
  }

  private final Map<String, Group> groupByName;

  private DecayGroups(Map<String, Group> groupByName) {
    this.groupByName = Map.copyOf(groupByName);
  }

  /**
   * The groups of a {@link FaceClassifier} over MobileFaceNet's body: the body's last two
   * convolutions (GDConv and the 1x1 to 128) and every head weight are {@link Group#LATE}.
   */
  public static DecayGroups of(FaceClassifier net) {
    List<String> late = new ArrayList<>();
    List<String> convolutions = new ArrayList<>();
    for (Pair<String, Block> child : net.body().getChildren()) {
      if (child.getValue() instanceof Conv2d) {
        convolutions.add(FaceClassifier.BODY + "_" + child.getKey() + "_");
      }
    }
    if (convolutions.size() < 2) {
      throw new IllegalArgumentException("the body has fewer than two top-level convolutions");
    }
    late.addAll(convolutions.subList(convolutions.size() - 2, convolutions.size()));
    late.add(FaceClassifier.HEAD + "_");
    Map<String, Group> groups = new HashMap<>();
    for (Pair<String, Parameter> p : net.getParameters()) {
      groups.put(p.getKey(), classify(p.getKey(), p.getValue(), late));
    }
    return new DecayGroups(groups);
  }

  private static Group classify(String name, Parameter parameter, List<String> late) {
    if (parameter.getType() != Parameter.Type.WEIGHT) {
      return Group.NONE; // gamma, beta, PReLU alpha (type OTHER), bias, running statistics
    }
    return late.stream().anyMatch(name::startsWith) ? Group.LATE : Group.BODY;
  }

  public Group of(String parameterName) {
    Group g = groupByName.get(parameterName);
    if (g == null) {
      throw new IllegalArgumentException("unknown parameter " + parameterName);
    }
    return g;
  }

  /** Parameter names in a group, for the model card and tests. */
  public List<String> names(Group group) {
    return groupByName.entrySet().stream().filter(e -> e.getValue() == group).map(Map.Entry::getKey).sorted().toList();
  }

  /** The decay of each group. */
  public record Rates(float body, float late) {
    public float of(Group g) {
      return switch (g) {
        case BODY -> body;
        case LATE -> late;
        case NONE -> 0f;
      };
    }
  }
}
