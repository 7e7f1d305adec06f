package dev.mfn.flink.embed;

import dev.mfn.records.ModelEvent;
import dev.mfn.records.RawImage;
import dev.mfn.search.index.FaceDocument;
import dev.mfn.flink.common.SplitDeadLetters;
import dev.mfn.model.EmbeddingModels;
import dev.mfn.records.DeadLetter;
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
 * The embed operator with a second input, the model announcements that passed the gate (broadcast
 * to every task). Every task applies them to the same {@link ModelTimeline}: a replayed, duplicate
 * or older event, or one whose checksum does not match the file, changes nothing (counted, and one
 * dead letter from task 0); a newer one switches the model: the photos still buffered are embedded
 * with the old model, the new one is opened, and from then on documents are of the new version
 * (they land in its index); RETIRED of the serving version goes back to the previous one. A model
 * that cannot be opened fails the task (the job restarts with back-off) rather than writing the old
 * version on forever. The timeline is operator state, so a restart resumes with the model it had.
 */
public final class ModelFollowingEmbedOperator extends EmbedOperator
    implements TwoInputStreamOperator<RawImage, ModelEvent, FaceDocument>, BoundedMultiInput {
  private transient ListState<String> timelineState;
  private transient ModelTimeline timeline;
  private transient Counter switches;
  private transient java.util.Map<ModelTimeline.Outcome, Counter> ignored;

  public ModelFollowingEmbedOperator(EmbedConfig config) {
    super(config);
  }

  @Override
  public void initializeState(StateInitializationContext context) throws Exception {
    super.initializeState(context);
    // union state: every task sees every task's entry; they agree, since the events are broadcast
    // and checkpoint barriers are aligned across both inputs
    timelineState = context.getOperatorStateStore().getUnionListState(new ListStateDescriptor<>("model-timeline", String.class));
    for (String json : timelineState.get()) {
      timeline = ModelTimeline.fromJson(json);
    }
    if (timeline == null) {
      // a savepoint of the version before timelines kept the model path alone; without any state,
      // start where the index serves (as the gate and the migrator do)
      String legacy = null;
      for (String path : context.getOperatorStateStore().getUnionListState(new ListStateDescriptor<>("model", String.class)).get()) {
        legacy = path;
      }
      timeline = legacy != null
          ? new ModelTimeline(new ModelTimeline.Model(EmbeddingModels.version(Path.of(legacy)), legacy, 0))
          : ModelTimeline.startingPoint(config);
    }
  }

  @Override
  public void open() throws Exception {
    super.open();
    switches = getRuntimeContext().getMetricGroup().counter("modelSwitches");
    ignored = new java.util.EnumMap<>(ModelTimeline.Outcome.class);
  }

  @Override
  protected Path startingModel() {
    return timeline.current().path();
  }

  @Override
  public void snapshotState(StateSnapshotContext context) throws Exception {
    super.snapshotState(context);
    timelineState.update(List.of(timeline.toJson()));
  }

  @Override
  public void processElement1(StreamRecord<RawImage> element) throws Exception {
    processElement(element);
  }

  @Override
  public void processElement2(StreamRecord<ModelEvent> element) throws Exception {
    ModelEvent event = element.getValue();
    ModelTimeline.Outcome outcome = timeline.apply(event, ModelTimeline::checksum);
    switch (outcome) {
      case SWITCHED -> {
        // fails the task when the model cannot be opened: the job restarts (with back-off) and
        // tries again, instead of embedding with the old model while the index moves on
        useModel(timeline.current().path());
        switches.inc();
        LOG.info("embedding with model {} from now on (event {} of {})", modelVersion(), event.getSequence(), event.getKind());
      }
      case RECORDED -> LOG.info("model event {} {} of {} recorded; still embedding with {}", event.getSequence(),
          event.getKind(), event.getModelVersion(), modelVersion());
      default -> {
        ignored.computeIfAbsent(outcome, o -> getRuntimeContext().getMetricGroup().addGroup("modelEventsIgnored").counter(o.name())).inc();
        LOG.warn("model event {} {} of {} ignored ({}); still embedding with {}", event.getSequence(), event.getKind(),
            event.getModelVersion(), outcome, modelVersion());
        if (getRuntimeContext().getTaskInfo().getIndexOfThisSubtask() == 0) {
          output.collect(SplitDeadLetters.DEAD_LETTERS, new StreamRecord<>(DeadLetter.newBuilder()
              .setStage("embed").setReason("MODEL_EVENT_" + outcome.name())
              .setMessage(event.getKind() + " " + event.getModelVersion() + " (sequence " + event.getSequence()
                  + ", last applied " + timeline.lastSequence() + ")")
              .setOriginalTopic(config.modelEvents()).setOriginalUri(event.getLocation())
              .setJob("embed").setTimestamp(java.time.Instant.now()).build()));
        }
      }
    }
  }

  @Override
  public void endInput(int inputId) throws Exception {
    if (inputId == 1) {
      endInput();
    }
  }
}
