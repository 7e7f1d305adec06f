package dev.mfn.flink.embed;

import dev.mfn.records.ModelEvent;
import dev.mfn.records.ModelEventKind;
import dev.mfn.records.RawImage;
import dev.mfn.search.index.FaceDocument;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.metrics.Counter;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.operators.BoundedMultiInput;
import org.apache.flink.streaming.api.operators.TwoInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

/**
 * The embed operator with a second input, the model announcements (broadcast to every task): on a
 * new version it embeds the photos still buffered with the old model, opens the new one, and from
 * then on writes documents of the new version (so they land in the new version's index). The model
 * in use is operator state, so a restart resumes with the model it had switched to.
 */
public final class ModelFollowingEmbedOperator extends EmbedOperator
    implements TwoInputStreamOperator<RawImage, ModelEvent, FaceDocument>, BoundedMultiInput {
  private transient ListState<String> modelState;
  private transient Path restored;
  private transient Counter switches;
  private transient Counter refused;

  public ModelFollowingEmbedOperator(EmbedConfig config) {
    super(config);
  }

  @Override
  public void initializeState(StateInitializationContext context) throws Exception {
    super.initializeState(context);
    // union state: every task sees every task's entry; they agree, since the events are broadcast
    // and checkpoint barriers are aligned across both inputs
    modelState = context.getOperatorStateStore().getUnionListState(new ListStateDescriptor<>("model", String.class));
    for (String model : modelState.get()) {
      restored = Path.of(model);
    }
  }

  @Override
  public void open() throws Exception {
    super.open();
    switches = getRuntimeContext().getMetricGroup().counter("modelSwitches");
    refused = getRuntimeContext().getMetricGroup().counter("modelEventsRefused");
  }

  @Override
  protected Path startingModel() {
    return restored != null ? restored : super.startingModel();
  }

  @Override
  public void snapshotState(StateSnapshotContext context) throws Exception {
    super.snapshotState(context);
    modelState.update(List.of(model().toString()));
  }

  @Override
  public void processElement1(StreamRecord<RawImage> element) throws Exception {
    processElement(element);
  }

  @Override
  public void processElement2(StreamRecord<ModelEvent> element) {
    ModelEvent event = element.getValue();
    if (event.getKind() == ModelEventKind.RETIRED || event.getModelVersion().equals(modelVersion())) {
      return;
    }
    try {
      useModel(Path.of(URI.create(event.getLocation())));
      switches.inc();
      LOG.info("embedding with model {} from now on", modelVersion());
    } catch (Exception e) {
      // a model that cannot be opened here must not stop enrolment: keep the current one
      refused.inc();
      LOG.warn("model event for {} refused, still embedding with {}: {}", event.getModelVersion(), modelVersion(), e.toString());
    }
  }

  @Override
  public void endInput(int inputId) throws Exception {
    if (inputId == 1) {
      endInput();
    }
  }
}
