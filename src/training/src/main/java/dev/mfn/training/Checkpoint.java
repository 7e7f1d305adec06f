package dev.mfn.training;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.mfn.model.net.FaceClassifier;
import dev.mfn.model.net.ParameterFiles;
import dev.mfn.model.store.DurableFiles;
import dev.mfn.training.optim.GroupedSgd;
import dev.mfn.training.optim.WeightAverage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * A run's checkpoints: {@code checkpoints/step-NNNNNNNNN/} folders (body and head parameters, the
 * optimiser's momentum for every device copy, the weight average when the run keeps one, the
 * {@link TrainingState}, and {@code run.json}: the
 * options and the shard set's fingerprint), and {@code checkpoints/LATEST}, a pointer to the
 * newest complete one.
 *
 * <p>Saving is one atomic step: the new folder is written under a temporary name, every file and
 * the folder are synced to disk, the folder is renamed into place, then {@code LATEST} is replaced
 * by a rename. A crash at any point leaves {@code LATEST} on the previous checkpoint or the new
 * one, both complete. The newest {@code keep} checkpoints stay on disk.
 */
public final class Checkpoint {
  static final String FOLDER = "checkpoints";
  static final String POINTER = "LATEST";
  private static final String PREFIX = "step-";
  static final String AVERAGE = "average.ndlist";
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Checkpoint.class);
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private Checkpoint() {}

  /** What a run is: the options that decide its arithmetic and the data it reads. */
  public record RunIdentity(
      @JsonProperty("options") Map<String, String> options, @JsonProperty("shards") String shards) {

    /** The identity of a run with these options over this shard set. */
    public static RunIdentity of(TrainingOptions options, dev.mfn.training.loader.ShardSet shards) throws IOException {
      return new RunIdentity(options.identity(), shards.fingerprint());
    }

    /**
     * Why a run made with {@code this} identity cannot be continued as {@code wanted}, in one line
     * (empty when it can).
     */
    public Optional<String> mismatch(RunIdentity wanted) {
      List<String> differ = new ArrayList<>();
      for (Map.Entry<String, String> e : options.entrySet()) {
        String now = wanted.options().get(e.getKey());
        if (!e.getValue().equals(now)) {
          differ.add(TrainingOptions.flagOf(e.getKey()) + " " + e.getValue() + " (now " + (now == null ? "unset" : now) + ")");
        }
      }
      for (String key : wanted.options().keySet()) {
        if (!options.containsKey(key)) {
          differ.add(TrainingOptions.flagOf(key) + " unset (now " + wanted.options().get(key) + ")");
        }
      }
      if (!shards.equals(wanted.shards())) {
        differ.add("shards " + shards.substring(0, 12) + " (now " + wanted.shards().substring(0, 12)
            + ": other or changed shard files)");
      }
      return differ.isEmpty() ? Optional.empty() : Optional.of(String.join(", ", differ));
    }
  }

  /** A complete checkpoint on disk. */
  public record Saved(Path folder, TrainingState state, RunIdentity identity) {}

  public static void save(
      Path run, TrainingState state, RunIdentity identity, FaceClassifier net, GroupedSgd sgd,
      WeightAverage average, int keep) throws IOException {
    Path all = run.resolve(FOLDER);
    Files.createDirectories(all);
    // step, then epoch: the checkpoint at an epoch's end sorts after one taken at the same step
    // just before the epoch was closed (validation, phase switch)
    String name = String.format("%s%09d-epoch%05d", PREFIX, state.step(), state.epoch());
    Path partial = all.resolve("." + name + ".partial");
    deleteTree(partial);
    Files.createDirectories(partial);
    ParameterFiles.save(net.body(), partial.resolve("body.params"));
    ParameterFiles.save(net.head(), partial.resolve("head.params"));
    DurableFiles.syncFile(partial.resolve("body.params"));
    DurableFiles.syncFile(partial.resolve("head.params"));
    sgd.save(partial.resolve("momentum.ndlist"));
    if (average != null) {
      average.save(partial.resolve(AVERAGE));
    }
    DurableFiles.write(partial.resolve("state.json"), JSON.writeValueAsBytes(state));
    DurableFiles.write(partial.resolve("run.json"), JSON.writeValueAsBytes(identity));
    DurableFiles.syncFolder(partial);
    Path target = all.resolve(name);
    deleteTree(target); // only a leftover of a crashed run can have this name
    Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE);
    DurableFiles.syncFolder(all);
    // the commit point: LATEST names the new checkpoint, atomically
    DurableFiles.write(all.resolve(POINTER), (name + "\n").getBytes(StandardCharsets.UTF_8));
    try {
      prune(all, keep);
    } catch (IOException e) {
      // the checkpoint is committed; a folder that could not be removed costs disk, not the run
      LOG.warn("could not remove old checkpoints in {}: {}", all, e.toString());
    }
  }

  /** Keeps the newest {@code keep} checkpoints (and always the one LATEST names); drops leftovers. */
  private static void prune(Path all, int keep) throws IOException {
    String latest = pointer(all).orElse("");
    List<Path> steps;
    try (Stream<Path> children = Files.list(all)) {
      steps = children.filter(p -> p.getFileName().toString().startsWith(PREFIX))
          .sorted(Comparator.comparing((Path p) -> p.getFileName().toString()).reversed())
          .toList();
    }
    for (int i = keep; i < steps.size(); i++) {
      if (!steps.get(i).getFileName().toString().equals(latest)) {
        deleteTree(steps.get(i));
      }
    }
    try (Stream<Path> children = Files.list(all)) {
      for (Path p : children.filter(p -> p.getFileName().toString().endsWith(".partial")).toList()) {
        deleteTree(p);
      }
    }
  }

  private static Optional<String> pointer(Path all) throws IOException {
    Path file = all.resolve(POINTER);
    if (!Files.isRegularFile(file)) {
      return Optional.empty();
    }
    return Optional.of(Files.readString(file, StandardCharsets.UTF_8).trim());
  }

  /** The newest complete checkpoint of a run, if it has one. */
  public static Optional<Saved> latest(Path run) throws IOException {
    Path all = run.resolve(FOLDER);
    Optional<String> name = pointer(all);
    if (name.isEmpty()) {
      return Optional.empty();
    }
    Path folder = all.resolve(name.get());
    if (!Files.isRegularFile(folder.resolve("state.json"))) {
      throw new IOException("checkpoint pointer " + all.resolve(POINTER) + " names " + name.get()
          + ", which is not a complete checkpoint");
    }
    return Optional.of(new Saved(folder,
        JSON.readValue(folder.resolve("state.json").toFile(), TrainingState.class),
        JSON.readValue(folder.resolve("run.json").toFile(), RunIdentity.class)));
  }

  /** The saved state, if the run has a checkpoint. */
  public static Optional<TrainingState> state(Path run) throws IOException {
    return latest(run).map(Saved::state);
  }

  /** True when the run has a complete checkpoint to resume from. */
  public static boolean exists(Path run) throws IOException {
    return pointer(run.resolve(FOLDER)).isPresent();
  }

  /** Loads parameters into a net built for the checkpoint's phase (before a trainer exists). */
  public static void restoreParameters(Saved saved, FaceClassifier net, NDManager manager) throws IOException {
    ParameterFiles.load(net.body(), manager, saved.folder().resolve("body.params"));
    ParameterFiles.load(net.head(), manager, saved.folder().resolve("head.params"));
  }

  /** Whether the checkpoint holds a weight average. */
  public static boolean hasAverage(Saved saved) {
    return Files.isRegularFile(saved.folder().resolve(AVERAGE));
  }

  /** The run's weight average as it was at the checkpoint. */
  public static WeightAverage restoreAverage(Saved saved, ai.djl.nn.Block body, double decay, NDManager manager)
      throws IOException {
    Path file = saved.folder().resolve(AVERAGE);
    if (!Files.isRegularFile(file)) {
      throw new IOException("checkpoint " + saved.folder() + " has no weight average (" + AVERAGE + ")");
    }
    return WeightAverage.load(file, body, decay, manager);
  }

  public static void restoreMomentum(Saved saved, GroupedSgd sgd, NDManager manager) throws IOException {
    sgd.load(saved.folder().resolve("momentum.ndlist"), manager);
  }

  /** Removes every checkpoint of a finished run. */
  public static void delete(Path run) throws IOException {
    deleteTree(run.resolve(FOLDER));
  }

  static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> all = Files.walk(dir)) {
      for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
