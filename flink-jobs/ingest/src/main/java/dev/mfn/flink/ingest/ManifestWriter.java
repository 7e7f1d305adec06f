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
 * carry (never merged into an older
 * file). One task. Its state: the dead-letter totals and the decisions of cuts not written yet.
 *
 * <ul>
 *   <li>bounded mode: at the end of the input, into the output's root;
 *   <li>unbounded mode: a cut is whole when every curator task has sent its CUT_DONE mark; its
 *       manifest is written once a checkpoint after the one that holds the cut completes (that one
 *       commits the cut's shard files), so a manifest never names samples that are not on disk.
 * </ul>
 */
public final class ManifestWriter extends AbstractStreamOperator<Void>
    implements OneInputStreamOperator<ManifestEntry, Void>, BoundedOneInput {
  private final IngestConfig config;
  private transient ListState<ManifestEntry> stored;
  private transient Map<String, Long> deadLetters;
  /** Decisions and CUT_DONE marks by cut, until the cut's manifest is written. */
  private transient Map<String, List<ManifestEntry>> pending;
  /** Whole cuts -> the first checkpoint that holds all of them (-1: none taken yet). */
  private transient Map<String, Long> whole;

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
    whole = new TreeMap<>();
    for (ManifestEntry e : stored.get()) {
      add(e);
    }
  }

  @Override
  public void processElement(StreamRecord<ManifestEntry> record) {
    add(record.getValue());
  }

  private void add(ManifestEntry e) {
    switch (e.kind) {
      case DEAD_LETTER -> deadLetters.merge(e.reason, Math.max(1, e.n), Long::sum);
      case DECISION, CUT_DONE, LABEL -> {
        List<ManifestEntry> entries = pending.computeIfAbsent(e.cut, c -> new ArrayList<>());
        entries.add(e);
        if (isWhole(entries)) {
          whole.putIfAbsent(e.cut, -1L);
        }
      }
    }
  }

  /** Every curator task has finished the cut, and every kept identity's label has come. */
  private static boolean isWhole(List<ManifestEntry> entries) {
    Set<Integer> done = new HashSet<>();
    Set<String> kept = new HashSet<>();
    Set<String> labelled = new HashSet<>();
    int parallelism = Integer.MAX_VALUE;
    for (ManifestEntry e : entries) {
      switch (e.kind) {
        case CUT_DONE -> {
          done.add(e.subtask);
          parallelism = e.parallelism;
        }
        case DECISION -> {
          if (e.trainSamples + e.validationSamples > 0) {
            kept.add(e.subject);
          }
        }
        case LABEL -> labelled.add(e.subject);
        default -> { }
      }
    }
    return done.size() >= parallelism && labelled.containsAll(kept);
  }

  @Override
  public void snapshotState(StateSnapshotContext context) throws Exception {
    super.snapshotState(context);
    List<ManifestEntry> all = new ArrayList<>();
    deadLetters.forEach((reason, n) -> all.add(ManifestEntry.deadLetter(reason, n)));
    pending.values().forEach(all::addAll);
    stored.update(all);
    whole.replaceAll((cut, at) -> at < 0 ? context.getCheckpointId() : at);
  }

  @Override
  public void notifyCheckpointComplete(long checkpointId) throws Exception {
    super.notifyCheckpointComplete(checkpointId);
    // The checkpoint that holds the cut commits its shard files; once a later one completes too,
    // those files are on disk and the manifest may name them.
    for (String cut : new ArrayList<>(whole.keySet())) {
      long at = whole.get(cut);
      if (at >= 0 && checkpointId > at) {
        writeCut(cut);
        whole.remove(cut);
        pending.remove(cut);
      }
    }
  }

  /** Bounded mode: every identity has been decided; the one shard set is final. */
  @Override
  public void endInput() throws Exception {
    if (config.bounded()) {
      writeCut(CutSample.END_OF_INPUT);
    }
  }

  private void writeCut(String cut) throws Exception {
    List<ManifestEntry> decisions = new ArrayList<>();
    Map<String, Integer> labels = new HashMap<>();
    for (ManifestEntry e : pending.getOrDefault(cut, List.of())) {
      if (e.kind == ManifestEntry.Kind.DECISION) {
        decisions.add(e);
      } else if (e.kind == ManifestEntry.Kind.LABEL) {
        labels.put(e.subject, e.label);
      }
    }
    Path file = Path.of(config.outDir()).resolve(CutSample.folder(cut)).resolve("manifest.json");
    ManifestDocument.write(file, ManifestDocument.build(cut, decisions, new HashMap<>(deadLetters), labels, config));
  }
}
