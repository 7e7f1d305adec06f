package dev.mfn.retrain;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mfn.records.RetrainRequest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Asks for a new model when the training data has grown: the newest shard set against the data
 * the serving model was trained on (its model card), by new identities or new samples past the
 * configured amounts, at most once per cool-down, and not twice for the same shard set. What it
 * decided last is kept in a small file, so a restarted controller does not ask again at once.
 */
public final class ShardGrowthTrigger {
  private static final Logger LOG = LoggerFactory.getLogger(ShardGrowthTrigger.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** A shard set's size: identities (classes) and training samples. */
  public record DataSize(@JsonProperty("identities") long identities, @JsonProperty("samples") long samples) {}

  /** When to ask: either amount of growth, and the least time between two requests. */
  public record Thresholds(long newIdentities, long newSamples, Duration coolDown) {}

  private record State(@JsonProperty("requested_at") String requestedAt, @JsonProperty("size") DataSize size,
      @JsonProperty("shards") String shards) {}

  private final Callable<Optional<DataSize>> current;
  private final Callable<Optional<DataSize>> served;
  private final Callable<String> shards;
  private final Thresholds thresholds;
  private final Path stateFile;
  private final Consumer<RetrainRequest> emit;
  private final Clock clock;

  /**
   * @param current the newest shard set's size (empty: none yet)
   * @param served the serving model's training data (empty: nothing serves, or it is not known)
   * @param shards where the newest shard set is (the request names it)
   */
  public ShardGrowthTrigger(Callable<Optional<DataSize>> current, Callable<Optional<DataSize>> served, Callable<String> shards,
      Thresholds thresholds, Path stateFile, Consumer<RetrainRequest> emit, Clock clock) {
    this.current = current;
    this.served = served;
    this.shards = shards;
    this.thresholds = thresholds;
    this.stateFile = stateFile;
    this.emit = emit;
    this.clock = clock;
  }

  /** One look: the request it sent, if the data grew enough and the cool-down allows. */
  public Optional<RetrainRequest> check() throws Exception {
    Optional<DataSize> now = current.call();
    if (now.isEmpty()) {
      return Optional.empty();
    }
    DataSize base = served.call().orElse(new DataSize(0, 0));
    long newIdentities = now.get().identities() - base.identities();
    long newSamples = now.get().samples() - base.samples();
    if (newIdentities < thresholds.newIdentities() && newSamples < thresholds.newSamples()) {
      return Optional.empty();
    }
    String where = shards.call();
    Optional<State> last = state();
    Instant at = clock.instant();
    if (last.isPresent()) {
      if (where.equals(last.get().shards()) && now.get().equals(last.get().size())) {
        return Optional.empty(); // asked for exactly this data already
      }
      if (Duration.between(Instant.parse(last.get().requestedAt()), at).compareTo(thresholds.coolDown()) < 0) {
        return Optional.empty();
      }
    }
    RetrainRequest request = RetrainRequest.newBuilder()
        .setRequestId("grown-" + UUID.randomUUID().toString().substring(0, 8))
        .setRequestedBy("trigger:shard-growth")
        .setReason(String.format("the shard set grew by %d identities and %d samples since the serving model's data "
            + "(%d identities, %d samples)", newIdentities, newSamples, base.identities(), base.samples()))
        .setShardsUri(where)
        .setParameters(Map.of())
        .setTimestamp(at)
        .build();
    emit.accept(request);
    Files.createDirectories(stateFile.toAbsolutePath().getParent());
    JSON.writeValue(stateFile.toFile(), new State(at.toString(), now.get(), where));
    LOG.info("asked for a new model: {}", request.getReason());
    return Optional.of(request);
  }

  private Optional<State> state() {
    try {
      return Files.isRegularFile(stateFile) ? Optional.of(JSON.readValue(stateFile.toFile(), State.class)) : Optional.empty();
    } catch (IOException e) {
      LOG.warn("unreadable trigger state {} ignored: {}", stateFile, e.toString());
      return Optional.empty();
    }
  }
}
