package dev.mfn.flink.ingest;

import org.apache.flink.api.common.functions.OpenContext;
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
  private final String bootstrap;
  private final String registryTopic;
  private transient LabelRegistry registry;

  public LabelAssigner(String bootstrap, String registryTopic) {
    this.bootstrap = bootstrap;
    this.registryTopic = registryTopic;
  }

  @Override
  public void open(OpenContext context) {
    registry = LabelRegistry.open(bootstrap, registryTopic);
  }

  @Override
  public void processElement(CutSample element, Context ctx, Collector<CutSample> out) {
    element.sample.setLabel(registry.labelOf(element.sample.getSubject()));
    out.collect(element);
  }

  @Override
  public void close() {
    if (registry != null) {
      registry.close();
    }
  }
}
