package dev.mfn.flink.ingest;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.util.OutputTag;

/**
 * Stamps each sample with its subject's class label from the {@link LabelRegistry}. It holds no
 * Flink state: the registry is the state, so a restore, a rescale or a restart without state all
 * see the same labels. One task (parallelism 1), the registry's one writer.
 *
 * <p>A sample of a known subject passes at once. A new subject's label is staged, and its samples
 * wait here until the staged labels are committed together: when {@value #BATCH} samples wait,
 * before every checkpoint barrier, and at the end of the input. So a cut of thousands of new
 * people costs a few registry transactions, not one round trip each, and nothing waits in state.
 */
public final class LabelAssigner extends AbstractStreamOperator<CutSample>
    implements OneInputStreamOperator<CutSample, CutSample>, BoundedOneInput {
  /** The label of each subject in each cut, once, for the cut's manifest. */
  public static final OutputTag<ManifestEntry> LABELS = new OutputTag<>("labels", Types.POJO(ManifestEntry.class));
  static final int BATCH = 2_000;
  private static final int CUTS_REMEMBERED = 4;

  private final String bootstrap;
  private final String registryTopic;
  private transient LabelRegistry registry;
  private transient List<CutSample> waiting;
  /** Subjects already reported per recent cut (a repeat after a restart is harmless). */
  private transient Map<String, Set<String>> reported;

  public LabelAssigner(String bootstrap, String registryTopic) {
    this.bootstrap = bootstrap;
    this.registryTopic = registryTopic;
  }

  @Override
  public void open() throws Exception {
    super.open();
    registry = LabelRegistry.open(bootstrap, registryTopic);
    waiting = new ArrayList<>();
    reported = new LinkedHashMap<>() {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, Set<String>> eldest) {
        return size() > CUTS_REMEMBERED;
      }
    };
  }

  @Override
  public void processElement(StreamRecord<CutSample> record) {
    CutSample element = record.getValue();
    Integer label = registry.committed(element.sample.getSubject());
    if (label != null) {
      emit(element, label);
      return;
    }
    registry.stage(element.sample.getSubject());
    waiting.add(element);
    if (waiting.size() >= BATCH) {
      flush();
    }
  }

  @Override
  public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
    super.prepareSnapshotPreBarrier(checkpointId);
    flush();
  }

  @Override
  public void endInput() {
    flush();
  }

  /** Commits the staged labels, then lets their samples go. */
  private void flush() {
    if (waiting.isEmpty()) {
      return;
    }
    registry.commit();
    for (CutSample element : waiting) {
      emit(element, registry.committed(element.sample.getSubject()));
    }
    waiting.clear();
  }

  private void emit(CutSample element, int label) {
    String subject = element.sample.getSubject();
    element.sample.setLabel(label);
    if (reported.computeIfAbsent(element.cut, c -> new HashSet<>()).add(subject)) {
      output.collect(LABELS, new StreamRecord<>(ManifestEntry.label(element.cut, subject, label)));
    }
    output.collect(new StreamRecord<>(element));
  }

  @Override
  public void close() throws Exception {
    if (registry != null) {
      registry.close();
    }
    super.close();
  }
}
