package dev.mfn.training;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.mfn.model.net.FaceClassifier;
import dev.mfn.model.net.ParameterFiles;
import dev.mfn.training.optim.GroupedSgd;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * A run's checkpoint folder: body and head parameters, the optimiser's momentum and the {@link
 * TrainingState}. Written into a fresh folder and renamed over the old one, so a crash during the
 * write leaves the previous checkpoint intact.
 */
public final class Checkpoint {
  static final String FOLDER = "checkpoint";
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private Checkpoint() {}

  public static void save(Path run, TrainingState state, FaceClassifier net, GroupedSgd sgd)
      throws IOException {
    Path next = run.resolve(FOLDER + ".next");
    deleteTree(next);
    Files.createDirectories(next);
    ParameterFiles.save(net.body(), next.resolve("body.params"));
    ParameterFiles.save(net.head(), next.resolve("head.params"));
    sgd.save(next.resolve("momentum.ndlist"));
    JSON.writeValue(next.resolve("state.json").toFile(), state);
    Path current = run.resolve(FOLDER);
    Path old = run.resolve(FOLDER + ".old");
    deleteTree(old);
    if (Files.exists(current)) {
      Files.move(current, old, StandardCopyOption.ATOMIC_MOVE);
    }
    Files.move(next, current, StandardCopyOption.ATOMIC_MOVE);
    deleteTree(old);
  }

  /** The saved state, if the run has a checkpoint. */
  public static Optional<TrainingState> state(Path run) throws IOException {
    Path file = run.resolve(FOLDER).resolve("state.json");
    if (!Files.isRegularFile(file)) {
      return Optional.empty();
    }
    return Optional.of(JSON.readValue(file.toFile(), TrainingState.class));
  }

  /** Loads parameters into a net built for the checkpoint's phase (before a trainer exists). */
  public static void restoreParameters(Path run, FaceClassifier net, NDManager manager)
      throws IOException {
    Path dir = run.resolve(FOLDER);
    ParameterFiles.load(net.body(), manager, dir.resolve("body.params"));
    ParameterFiles.load(net.head(), manager, dir.resolve("head.params"));
  }

  public static void restoreMomentum(Path run, GroupedSgd sgd, NDManager manager)
      throws IOException {
    sgd.load(run.resolve(FOLDER).resolve("momentum.ndlist"), manager);
  }

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
