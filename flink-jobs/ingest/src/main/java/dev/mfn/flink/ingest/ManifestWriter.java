package dev.mfn.flink.ingest;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

/**
 * Writes each shard set's manifest.json, whole, from its decisions and the labels its samples
 * carry (never merged into an older file). One task. Its state: the dead-letter totals and the
 * entries of cuts not written yet.
 *
 * <ul>
 *   <li>bounded mode: at the end of the input, into the output's root;
 *   <li>unbounded mode: a cut is whole when every curator task has sent its CUT_DONE mark and
 *       every kept identity's label has come; the dead-letter totals are taken at that moment. Its
 *       manifest is written once a checkpoint after the one that holds the cut completes (that
 *       one commits the cut's shard files), so a manifest never names samples that are not on disk.
 * </ul>
 */
public final class ManifestWriter extends AbstractStreamOperator<Void>
    implements OneInputStreamOperator<ManifestEntry, Void>, BoundedOneInput {
  private final IngestConfig config;
  private transient ListState<ManifestEntry> stored;
  private transient Map<String, Long> deadLetters;
  private transient Map<String, PendingCut> pending;

  /** A cut on its way to its manifest. */
  private static final class PendingCut {
    final List<ManifestEntry> decisions = new ArrayList<>();
    final Map<String, Integer> labels = new HashMap<>();
    final Set<Integer> done = new HashSet<>();
    final Set<String> kept = new HashSet<>();
    int parallelism = Integer.MAX_VALUE;
    /** Dead letters by reason when the cut became whole; null until then. */
    Map<String, Long> deadLetters;
    /** The first checkpoint that holds the whole cut (-1: none yet). */
    long checkpoint = -1;

    boolean whole() {
      return done.size() >= parallelism && labels.keySet().containsAll(kept);
    }
  }

  public ManifestWriter(IngestConfig config) {
    this.config = config;
  }

  @Override
  public void initializeState(StateInitializationContext context) throws Exception {
    super.initializeState(context);
    stored = context.getOperatorStateStore().getListState(
        new ListStateDescriptor<>("manifest-entries", Types.POJO(ManifestEntry.class)));
    deadLetters = new TreeMap<>();
    pending = new TreeMap<>();
    for (ManifestEntry e : stored.get()) {
      if (e.kind == ManifestEntry.Kind.DEAD_LETTER && e.cut != null) {
        // a whole cut's dead-letter totals, as they were when it became whole
        pending.computeIfAbsent(e.cut, c -> new PendingCut()).deadLetters = new TreeMap<>();
      }
    }
    for (ManifestEntry e : stored.get()) {
      if (e.kind == ManifestEntry.Kind.DEAD_LETTER && e.cut != null) {
        pending.get(e.cut).deadLetters.put(e.reason, e.n);
      } else if (e.kind == ManifestEntry.Kind.HELD) {
        // restored from a checkpoint that held the cut: its shard files are committed on restore
        pending.computeIfAbsent(e.cut, c -> new PendingCut()).checkpoint = e.n;
      } else {
        add(e);
      }
    }
  }

  @Override
  public void processElement(StreamRecord<ManifestEntry> record) {
    add(record.getValue());
  }

  private void add(ManifestEntry e) {
    if (e.kind == ManifestEntry.Kind.DEAD_LETTER) {
      deadLetters.merge(e.reason, Math.max(1, e.n), Long::sum);
      return;
    }
    PendingCut cut = pending.computeIfAbsent(e.cut, c -> new PendingCut());
    switch (e.kind) {
      case DECISION -> {
        cut.decisions.add(e);
        if (e.trainSamples + e.validationSamples > 0) {
          cut.kept.add(e.subject);
        }
      }
      case LABEL -> cut.labels.put(e.subject, e.label);
      case CUT_DONE -> {
        cut.done.add(e.subtask);
        cut.parallelism = e.parallelism;
      }
      default -> throw new IllegalStateException("unexpected " + e.kind);
    }
    if (cut.deadLetters == null && cut.whole()) {
      cut.deadLetters = new TreeMap<>(deadLetters);
    }
  }

  @Override
  public void snapshotState(StateSnapshotContext context) throws Exception {
    super.snapshotState(context);
    List<ManifestEntry> all = new ArrayList<>();
    deadLetters.forEach((reason, n) -> all.add(ManifestEntry.deadLetter(reason, n)));
    pending.forEach((name, cut) -> {
      all.addAll(cut.decisions);
      cut.labels.forEach((subject, label) -> all.add(ManifestEntry.label(name, subject, label)));
      int parallelism = cut.parallelism;
      cut.done.forEach(subtask -> all.add(ManifestEntry.cutDone(name, subtask, parallelism)));
      if (cut.deadLetters != null) {
        cut.deadLetters.forEach((reason, n) -> {
          ManifestEntry d = ManifestEntry.deadLetter(reason, n);
          d.cut = name;
          all.add(d);
        });
        if (cut.checkpoint < 0) {
          cut.checkpoint = context.getCheckpointId();
        }
        all.add(ManifestEntry.held(name, cut.checkpoint));
      }
    });
    stored.update(all);
  }

  @Override
  public void notifyCheckpointComplete(long checkpointId) throws Exception {
    super.notifyCheckpointComplete(checkpointId);
    // The checkpoint that holds the cut commits its shard files; once a later one completes too,
    // those files are on disk and the manifest may name them.
    for (String name : new ArrayList<>(pending.keySet())) {
      PendingCut cut = pending.get(name);
      if (cut.deadLetters != null && cut.checkpoint >= 0 && checkpointId > cut.checkpoint) {
        write(name, cut, cut.deadLetters);
        pending.remove(name);
      }
    }
  }

  /** Bounded mode: every identity has been decided; the one shard set is final. */
  @Override
  public void endInput() throws Exception {
    if (config.bounded()) {
      write(CutSample.END_OF_INPUT, pending.getOrDefault(CutSample.END_OF_INPUT, new PendingCut()), deadLetters);
    }
  }

  private void write(String name, PendingCut cut, Map<String, Long> dead) throws Exception {
    Path file = Path.of(config.outDir()).resolve(CutSample.folder(name)).resolve("manifest.json");
    ManifestDocument.write(file, ManifestDocument.build(name, cut.decisions, dead, cut.labels, config));
  }
}
