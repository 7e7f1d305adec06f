package dev.mfn.flink.ingest;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.util.OutputTag;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Stamps each sample with its subject's class label from the {@link LabelRegistry} (a new subject
 * is registered first, then labelled). It holds no Flink state: the registry is the state, so a
 * restore, a rescale or a restart without state all see the same labels. One task (parallelism 1)
 * so that new labels are handed out by one writer; it does a map lookup per sample, far from the
 * job's bottleneck (see bench/RESULTS.md).
 */
public final class LabelAssigner extends ProcessFunction<CutSample, CutSample> {
  /** The label of each subject in each cut, once, for the cut's manifest. */
  public static final OutputTag<ManifestEntry> LABELS = new OutputTag<>("labels", Types.POJO(ManifestEntry.class));
  private static final int CUTS_REMEMBERED = 4;

  private final String bootstrap;
  private final String registryTopic;
  private transient LabelRegistry registry;
  /** Subjects already reported per recent cut (a repeat after a restart is harmless). */
  private transient Map<String, Set<String>> reported;

  public LabelAssigner(String bootstrap, String registryTopic) {
    this.bootstrap = bootstrap;
    this.registryTopic = registryTopic;
  }

  @Override
  public void open(OpenContext context) {
    registry = LabelRegistry.open(bootstrap, registryTopic);
    reported = new LinkedHashMap<>() {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, Set<String>> eldest) {
        return size() > CUTS_REMEMBERED;
      }
    };
  }

  @Override
  public void processElement(CutSample element, Context ctx, Collector<CutSample> out) {
    String subject = element.sample.getSubject();
    int label = registry.labelOf(subject);
    element.sample.setLabel(label);
    if (reported.computeIfAbsent(element.cut, c -> new HashSet<>()).add(subject)) {
      ctx.output(LABELS, ManifestEntry.label(element.cut, subject, label));
    }
    out.collect(element);
  }

  @Override
  public void close() {
    if (registry != null) {
      registry.close();
    }
  }
}
