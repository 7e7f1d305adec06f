package dev.mfn.flink.embed;

import dev.mfn.model.EmbeddingModels;
import dev.mfn.records.ModelEvent;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.metrics.Counter;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

/**
 * The model follower's second half (parallelism 1): keeps the served index on the version the
 * {@link ModelTimeline} says should serve. It applies the same gated events as the embed tasks;
 * on a switch it re-embeds, on a background thread (a long re-embedding must not hold up
 * checkpoints), the faces of the served index and of the version the tasks switched away from
 * into the new version's index, and serves it (with its model's location, for the search
 * services) once it holds them all.
 *
 * <p>The commit point comes from Flink itself: the first checkpoint this operator snapshots after
 * applying the switch is the one whose barrier followed the event into every embed task (events
 * are broadcast from one task, and the embed tasks' inputs are aligned: a broadcast input makes
 * Flink align them even with unaligned checkpoints), and whose barrier reached the index sinks
 * after every document those tasks embedded with the old model (that edge is aligned too, see
 * {@link EmbedJob}); the sinks flush before they acknowledge it. Only when that checkpoint, or a
 * later one, has <em>completed</em> ({@link #notifyCheckpointComplete}) can no old-model document
 * still arrive. An aborted checkpoint simply does not count.
 *
 * <p>The timeline is operator state; a restored job converges again from what it says and what
 * the index serves (it never follows a stale pending event backwards).
 */
final class IndexMigrator extends AbstractStreamOperator<Void> implements OneInputStreamOperator<ModelEvent, Void> {
  private final EmbedConfig config;
  private transient ListState<String> timelineState;
  private transient ModelTimeline timeline;
  /** The work the background thread converges to; replaced whole on each switch. */
  private transient volatile Goal goal;
  /** A switch applied but not yet followed by a snapshot: its goal's settle checkpoint is unknown. */
  private transient Goal awaitingSnapshot;
  private transient AtomicLong lastCompleted;
  private transient Thread worker;
  private transient volatile boolean closing;
  private transient Counter done;
  private transient Counter failed;
  private transient Erasures erasures;
  private transient java.util.concurrent.atomic.AtomicBoolean awaitingCommit;
  /** The goal the worker reached last (its version serves). */
  private transient volatile Goal reached;

  /**
   * One migration to do: serve {@code to}, from the served index and {@code previous}; settled once
   * checkpoint {@code settleAfter} (set at the next snapshot, -1: already) has completed.
   */
  private static final class Goal {
    final ModelTimeline.Model to;
    final ModelTimeline.Model previous;
    volatile long settleAfter;

    Goal(ModelTimeline.Model to, ModelTimeline.Model previous, long settleAfter) {
      this.to = to;
      this.previous = previous;
      this.settleAfter = settleAfter;
    }
  }

  IndexMigrator(EmbedConfig config) {
    this.config = config;
  }

  @Override
  public void initializeState(StateInitializationContext context) throws Exception {
    super.initializeState(context);
    timelineState = context.getOperatorStateStore().getListState(new ListStateDescriptor<>("migrator-timeline", String.class));
    for (String json : timelineState.get()) {
      timeline = ModelTimeline.fromJson(json);
    }
    if (timeline == null) {
      timeline = ModelTimeline.startingPoint(config);
    }
    lastCompleted = new AtomicLong(-1);
    awaitingCommit = new java.util.concurrent.atomic.AtomicBoolean();
    // after a restore (or at a first start) nothing old can be in flight: what the restored tasks
    // embed is of the timeline's model; a pass still catches what reached an old index before
    goal = new Goal(timeline.current(), timeline.previous(), -1);
  }

  @Override
  public void open() throws Exception {
    super.open();
    done = getRuntimeContext().getMetricGroup().counter("migrationsDone");
    failed = getRuntimeContext().getMetricGroup().counter("migrationAttemptsFailed");
    erasures = Erasures.forJob(config);
    if (config.index().servedVersion().isEmpty()) {
      // at the very first start, searches get the starting model's index at once
      try (var first = config.index().open(timeline.current().version())) {
        first.serve(timeline.current().location());
      }
    }
    worker = new Thread(this::converge, "index-migrator");
    worker.setDaemon(true);
    worker.start();
  }

  @Override
  public void processElement(StreamRecord<ModelEvent> element) {
    ModelTimeline.Outcome outcome = timeline.apply(element.getValue(), ModelTimeline::checksum);
    if (outcome == ModelTimeline.Outcome.SWITCHED) {
      Goal next = new Goal(timeline.current(), timeline.previous(), Long.MAX_VALUE);
      awaitingSnapshot = next;
      goal = next;
      LOG.info("model {} should serve from now on: migrating once a checkpoint after the switch completes", next.to.version());
    }
  }

  @Override
  public void snapshotState(StateSnapshotContext context) throws Exception {
    super.snapshotState(context);
    timelineState.update(List.of(timeline.toJson()));
    if (awaitingSnapshot != null) {
      awaitingSnapshot.settleAfter = context.getCheckpointId();
      awaitingSnapshot = null;
    }
  }

  @Override
  public void notifyCheckpointComplete(long checkpointId) throws Exception {
    super.notifyCheckpointComplete(checkpointId);
    lastCompleted.accumulateAndGet(checkpointId, Math::max);
  }

  /** The background loop: one migration per goal, retried with back-off until it serves. */
  private void converge() {
    long backoff = 5_000;
    while (!closing) {
      Goal g = goal;
      if (g == reached) {
        sleep(200);
        continue;
      }
      try {
        if (migrate(g)) {
          reached = g;
          backoff = 5_000;
        }
      } catch (InterruptedException e) {
        return;
      } catch (Exception e) {
        // keep trying: until it succeeds, searches stay on the served index and nothing is lost
        failed.inc();
        LOG.warn("migration to model {} failed, next try in {} s", g.to.version(), backoff / 1000, e);
        sleep(backoff);
        backoff = Math.min(backoff * 2, 300_000);
      }
    }
  }

  /** True when {@code g} is reached (its version serves); false when it was replaced meanwhile. */
  private boolean migrate(Goal g) throws Exception {
    Optional<String> served = config.index().servedVersion();
    List<String> from = new ArrayList<>();
    served.filter(v -> !v.equals(g.to.version())).ifPresent(from::add);
    if (g.previous != null && !g.previous.version().isEmpty() && !g.previous.version().equals(g.to.version())
        && !from.contains(g.previous.version())) {
      from.add(g.previous.version());
    }
    if (from.isEmpty()) {
      return true; // serves already, and nothing else was written meanwhile
    }
    erasures.catchUp(java.time.Duration.ofSeconds(30)); // no erased subject is copied forward
    IndexMigration migration = new IndexMigration(config.index(), config.batchSize(),
        () -> lastCompleted.get() >= g.settleAfter, erasures, awaitingCommit);
    IndexMigration.Result result = migration.migrate(from, g.to, () -> closing || goal != g);
    if (result.served()) {
      done.inc();
    }
    return result.served();
  }

  /** A migration has made its pass and waits for a checkpoint after the switch to complete. */
  boolean awaitingCommit() {
    return awaitingCommit.get();
  }

  /** The worker has reached the current goal: the version the timeline names is served. */
  boolean converged() {
    return reached != null && reached == goal;
  }

  private void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      closing = true;
    }
  }

  @Override
  public void close() throws Exception {
    closing = true; // the migration stops between batches; no interrupt in the middle of Lucene I/O
    if (worker != null) {
      worker.join(60_000);
    }
    if (erasures != null) {
      erasures.close();
    }
    super.close();
  }
}
