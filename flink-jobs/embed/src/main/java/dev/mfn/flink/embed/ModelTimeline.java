package dev.mfn.flink.embed;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mfn.model.store.ModelStore;
import dev.mfn.records.ModelEvent;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Which model version should serve, decided from the model events alone, the same way by every
 * follower (each embed task, the gate, the migrator, the CLI that announces the next one):
 *
 * <ul>
 *   <li>an event applies only if its sequence is above the last applied one: a replayed, duplicate
 *       or older event changes nothing (a restored job cannot move backwards);
 *   <li>PUBLISHED / PROMOTED switch to the version, if it carries the checksum of the file at its
 *       location (else it is refused: a half-copied or swapped model never serves);
 *   <li>RETIRED of the version serving goes back to the one before it (that is not retired); of the
 *       only version, it is refused; of another version, it is recorded.
 * </ul>
 *
 * Plain and serialisable to JSON, so an operator keeps it as state.
 */
public final class ModelTimeline {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** A model as the timeline knows it. */
  public record Model(@JsonProperty("version") String version, @JsonProperty("location") String location,
      @JsonProperty("sequence") long sequence) {
    public Path path() {
      return location.startsWith("file:") ? Path.of(URI.create(location)) : Path.of(location);
    }
  }

  /** What an event did. */
  public enum Outcome {
    /** The version to serve changed: {@link #current()} is the new one. */
    SWITCHED,
    /** Applied, but the serving version stays (e.g. a retired other version, a re-announcement). */
    RECORDED,
    /** Its sequence is not above the last applied one (a replay, a duplicate, an older event). */
    STALE,
    /** No checksum, or the file at its location does not match it. */
    CHECKSUM_MISMATCH,
    /** It would retire the only version there is. */
    ONLY_VERSION;

    public boolean applied() {
      return this == SWITCHED || this == RECORDED;
    }
  }

  /** Computes the SHA-256 of the model at a location (a seam for tests). */
  @FunctionalInterface
  public interface Checksums {
    String of(Path model) throws IOException;
  }

  private long lastSequence;
  /** Versions that served, oldest first; the last one serves now. */
  private final List<Model> history = new ArrayList<>();
  private final Set<String> retired = new LinkedHashSet<>();

  /** A timeline that starts with the job's configured model (sequence 0: any numbered event is newer). */
  public ModelTimeline(Model start) {
    history.add(start);
  }

  public Model current() {
    return history.get(history.size() - 1);
  }

  public long lastSequence() {
    return lastSequence;
  }

  public Outcome apply(ModelEvent event, Checksums checksums) {
    if (event.getSequence() <= lastSequence) {
      return Outcome.STALE;
    }
    String version = event.getModelVersion();
    switch (event.getKind()) {
      case RETIRED -> {
        lastSequence = event.getSequence();
        retired.add(version);
        if (!current().version().equals(version)) {
          return Outcome.RECORDED;
        }
        for (int i = history.size() - 2; i >= 0; i--) {
          Model previous = history.get(i);
          if (!retired.contains(previous.version()) && !previous.version().isEmpty()) {
            history.add(new Model(previous.version(), previous.location(), event.getSequence()));
            return Outcome.SWITCHED;
          }
        }
        retired.remove(version); // it keeps serving: nothing else to serve
        return Outcome.ONLY_VERSION;
      }
      default -> {
        Model model = new Model(version, event.getLocation(), event.getSequence());
        if (!matches(model, event.getChecksum(), checksums)) {
          return Outcome.CHECKSUM_MISMATCH;
        }
        lastSequence = event.getSequence();
        retired.remove(version);
        if (current().version().equals(version)) {
          return Outcome.RECORDED;
        }
        history.add(model);
        return Outcome.SWITCHED;
      }
    }
  }

  /**
   * Checksums that trust the event (for reading back a topic's history where the files may not be:
   * what the followers decided, they decided with the files).
   */
  public static final Checksums TRUSTED = null;

  /**
   * Where a job without state starts: the version the index serves, with its recorded model (a
   * restart without a savepoint must not move searches back to --model), else the job's --model.
   */
  static ModelTimeline startingPoint(EmbedConfig config) throws IOException {
    var served = config.index().served();
    if (served.isPresent() && served.get().modelLocation() != null) {
      return new ModelTimeline(new Model(served.get().version(), served.get().modelLocation(), 0));
    }
    return new ModelTimeline(new Model(dev.mfn.model.EmbeddingModels.version(Path.of(config.model())), config.model(), 0));
  }

  /** A timeline of a topic's history alone: nothing serves before its first applied event. */
  public static ModelTimeline empty() {
    return new ModelTimeline(new Model("", "", 0));
  }

  /** True when some announced model serves (false for {@link #empty()} before any event). */
  public boolean serving() {
    return !current().version().isEmpty();
  }

  private static boolean matches(Model model, String checksum, Checksums checksums) {
    if (checksum == null || checksum.isBlank()) {
      return false;
    }
    if (checksums == TRUSTED) {
      return true;
    }
    try {
      return checksum.equalsIgnoreCase(checksums.of(model.path()));
    } catch (IOException | RuntimeException e) {
      return false; // a location that cannot be read is no model to serve
    }
  }

  /** The real checksum: SHA-256 of the parameter file of a store version, or of a model file. */
  public static String checksum(Path model) throws IOException {
    return ModelStore.checksum(model);
  }

  /** The version before the current one in the history (what a switch came from), or null. */
  public Model previous() {
    return history.size() < 2 ? null : history.get(history.size() - 2);
  }

  private record Snapshot(@JsonProperty("last_sequence") long lastSequence, @JsonProperty("history") List<Model> history,
      @JsonProperty("retired") List<String> retired) {}

  public String toJson() {
    try {
      return JSON.writeValueAsString(new Snapshot(lastSequence, history, new ArrayList<>(retired)));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  public static ModelTimeline fromJson(String json) throws IOException {
    Snapshot s = JSON.readValue(json, Snapshot.class);
    ModelTimeline timeline = new ModelTimeline(s.history().get(0));
    timeline.history.addAll(s.history().subList(1, s.history().size()));
    timeline.retired.addAll(s.retired());
    timeline.lastSequence = s.lastSequence();
    return timeline;
  }
}
