package dev.mfn.flink.ingest;

import dev.mfn.records.FaceSample;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Gives each subject a class index, 0, 1, 2... in the order identities complete, and stamps it on
 * its samples. One instance (all samples share one key), its map in checkpointed state: once
 * given, a label never changes, across failures and restarts; the manifest records the map.
 */
public final class LabelAssigner extends KeyedProcessFunction<Integer, FaceSample, FaceSample> {
  public static final OutputTag<ManifestEntry> LABELS =
      new OutputTag<>("labels", Types.POJO(ManifestEntry.class));

  private transient MapState<String, Integer> labels;
  private transient ValueState<Integer> next;

  @Override
  public void open(OpenContext context) {
    labels = getRuntimeContext().getMapState(new MapStateDescriptor<>("labels", Types.STRING, Types.INT));
    next = getRuntimeContext().getState(new ValueStateDescriptor<>("next", Types.INT));
  }

  @Override
  public void processElement(FaceSample sample, Context ctx, Collector<FaceSample> out) throws Exception {
    Integer label = labels.get(sample.getSubject());
    if (label == null) {
      label = next.value() == null ? 0 : next.value();
      labels.put(sample.getSubject(), label);
      next.update(label + 1);
      ctx.output(LABELS, ManifestEntry.label(sample.getSubject(), label));
    }
    sample.setLabel(label);
    out.collect(sample);
  }
}
