package dev.mfn.flink.embed;

import dev.mfn.evaluate.ModelGate;
import dev.mfn.evaluate.PairSets;
import dev.mfn.face.crop.FaceCropper;
import dev.mfn.face.decode.ImageDecoder;
import dev.mfn.face.detect.FaceChooser;
import dev.mfn.model.Embedder;
import dev.mfn.model.EmbeddingModels;
import dev.mfn.model.store.ModelConfig;
import dev.mfn.records.DeadLetter;
import dev.mfn.records.ModelEvent;
import dev.mfn.records.ModelEventKind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.metrics.Counter;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.async.ResultFuture;
import org.apache.flink.streaming.api.functions.async.RichAsyncFunction;
import org.apache.flink.types.Either;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The model gate inside the embed job (parallelism 1, before the events reach the embed tasks and
 * the migrator): an announced model that would switch what serves must pass the canary of
 * {@link ModelGate} against the model serving now, on the deployment's pairs (--gate-pairs, else the
 * pairs its training evaluated). A refused one becomes a dead letter (reason MODEL_REFUSED, with the
 * verdict) and never reaches the followers; everything else passes through unchanged (the followers
 * apply the ordering and checksum rules themselves). Runs asynchronously: a canary of a minute does
 * not hold up checkpoints or the photos.
 */
final class ModelGateFunction extends RichAsyncFunction<ModelEvent, Either<DeadLetter, ModelEvent>>
    implements CheckpointedFunction {
  private static final Logger LOG = LoggerFactory.getLogger(ModelGateFunction.class);
  private final EmbedConfig config;
  /** What the followers serve, as far as the gate knows (replaced whole, read by snapshots). */
  private transient volatile ModelTimeline timeline;
  /** Set by whoever answers the event in flight first: the canary or the timeout. */
  private transient java.util.concurrent.atomic.AtomicBoolean answered;
  private transient ListState<String> state;
  private transient ExecutorService worker;
  private transient Counter refused;
  private transient Counter passed;

  ModelGateFunction(EmbedConfig config) {
    this.config = config;
  }

  @Override
  public void initializeState(FunctionInitializationContext context) throws Exception {
    state = context.getOperatorStateStore().getListState(new ListStateDescriptor<>("gate-timeline", String.class));
    timeline = null;
    for (String json : state.get()) {
      timeline = ModelTimeline.fromJson(json);
    }
    if (timeline == null) {
      timeline = ModelTimeline.startingPoint(config);
    }
  }

  @Override
  public void snapshotState(FunctionSnapshotContext context) throws Exception {
    state.update(List.of(timeline.toJson()));
  }

  @Override
  public void open(OpenContext context) {
    worker = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "model-gate");
      t.setDaemon(true);
      return t;
    });
    refused = getRuntimeContext().getMetricGroup().counter("modelsRefusedByGate");
    passed = getRuntimeContext().getMetricGroup().counter("modelsPassedGate");
  }

  @Override
  public void asyncInvoke(ModelEvent event, ResultFuture<Either<DeadLetter, ModelEvent>> result) {
    // capacity 1: the next event waits for this one, so the timeline is only touched here in order
    java.util.concurrent.atomic.AtomicBoolean mine = new java.util.concurrent.atomic.AtomicBoolean();
    answered = mine;
    worker.submit(() -> {
      try {
        Decision d = decide(event);
        if (mine.compareAndSet(false, true)) {
          if (d.next() != null) {
            timeline = d.next();
          }
          result.complete(List.of(d.out()));
        }
      } catch (Throwable t) {
        if (mine.compareAndSet(false, true)) {
          result.completeExceptionally(t);
        }
      }
    });
  }

  /** The gate's answer and the timeline to keep if it stands (null: keep the current one). */
  private record Decision(Either<DeadLetter, ModelEvent> out, ModelTimeline next) {}

  private Decision decide(ModelEvent event) throws Exception {
    ModelTimeline next = ModelTimeline.fromJson(timeline.toJson());
    ModelTimeline.Model before = next.current();
    ModelTimeline.Outcome outcome = next.apply(event, ModelTimeline::checksum);
    boolean newModel = outcome == ModelTimeline.Outcome.SWITCHED && event.getKind() != ModelEventKind.RETIRED;
    if (!newModel) {
      // no canary needed: the followers apply (or ignore) it by the same rule
      return new Decision(Either.Right(event), next);
    }
    ModelGate.Verdict verdict;
    if (event.getForced()) {
      // forced past the canary, not past opening: a model no task can open would stop the job
      verdict = opens(next.current());
      if (verdict.passed()) {
        passed.inc();
        LOG.warn("model {} forced by an operator: the gate lets it through without the canary", event.getModelVersion());
        return new Decision(Either.Right(event), next);
      }
    } else {
      verdict = check(next.current(), before);
    }
    if (!verdict.passed()) {
      refused.inc();
      LOG.warn("model {} refused by the gate, still serving {}: {}", event.getModelVersion(), before.version(), verdict.reason());
      record(event, verdict.reason());
      return new Decision(Either.Left(DeadLetter.newBuilder()
          .setStage("model-gate").setReason("MODEL_REFUSED")
          .setMessage(event.getModelVersion() + " (sequence " + event.getSequence() + "): " + verdict.reason())
          .setOriginalTopic(config.modelEvents()).setOriginalUri(event.getLocation())
          .setJob("embed").setTimestamp(Instant.now()).build()), null);
    }
    passed.inc();
    LOG.info("model {} passed the gate: {}", event.getModelVersion(), verdict.reason());
    return new Decision(Either.Right(event), next);
  }

  private static ModelGate.Verdict opens(ModelTimeline.Model candidate) {
    try (Embedder model = EmbeddingModels.open(candidate.path())) {
      return new ModelGate.Verdict(true, "opens (" + model.describe() + ")", Double.NaN, null, 0);
    } catch (Exception e) {
      return new ModelGate.Verdict(false, "the model cannot be opened: " + e.getMessage(), Double.NaN, null, 0);
    }
  }

  /**
   * Puts the refusal on the models topic as a RETIRED event, so whoever reads the topic (mfn models
   * list, the next training's gate, the growth trigger) knows the version does not serve. A restored
   * job that refuses the same event again writes a second one: harmless, it retires a version that
   * does not serve.
   */
  private void record(ModelEvent event, String reason) {
    try {
      new ModelEventsTopic(config.bootstrap(), config.modelEvents()).append(sequence -> ModelEvent.newBuilder()
          .setKind(ModelEventKind.RETIRED).setModelVersion(event.getModelVersion()).setLocation(event.getLocation())
          .setChecksum(event.getChecksum()).setSequence(sequence).setTimestamp(Instant.now())
          .setReason("refused by the embed job's gate: " + reason).build());
    } catch (RuntimeException e) {
      LOG.warn("could not record the refusal of {} on {}: {}", event.getModelVersion(), config.modelEvents(), e.toString());
    }
  }

  private ModelGate.Verdict check(ModelTimeline.Model candidate, ModelTimeline.Model serving) {
    Path pairs = pairs(candidate);
    if (pairs == null) {
      return new ModelGate.Verdict(false, "no pair set to check it on: start the job with --gate-pairs DIR "
          + "(its training's evaluation pairs are not recorded or not here)", Double.NaN, null, 0);
    }
    try (FaceCropper cropper = new FaceCropper(new ImageDecoder(config.maxBytes(), config.maxPixels()),
            config.detectorConfig().open(config.detector()), new FaceChooser(config.minScore(), config.minFaceSize()));
        Embedder next = EmbeddingModels.open(candidate.path());
        Embedder now = EmbeddingModels.open(serving.path())) {
      return new ModelGate(cropper, new ModelGate.Options(PairSets.lfw(pairs), pairs.toString(), config.gate().tolerance(),
          config.batchSize())).check(next, now);
    } catch (Exception e) {
      return new ModelGate.Verdict(false, "could not run the canary: " + e, Double.NaN, null, 0);
    }
  }

  private Path pairs(ModelTimeline.Model candidate) {
    if (config.gate().pairs() != null) {
      return Path.of(config.gate().pairs());
    }
    try {
      String recorded = Files.isDirectory(candidate.path()) ? ModelConfig.read(candidate.path()).evalPairs() : null;
      return recorded != null && Files.isRegularFile(Path.of(recorded, "pairs.txt")) ? Path.of(recorded) : null;
    } catch (Exception e) {
      return null;
    }
  }

  @Override
  public void timeout(ModelEvent event, ResultFuture<Either<DeadLetter, ModelEvent>> result) {
    if (answered == null || !answered.compareAndSet(false, true)) {
      return; // the canary answered just now
    }
    refused.inc();
    Thread recorder = new Thread(() -> record(event, "the canary did not finish in time"), "model-gate-record");
    recorder.setDaemon(true);
    recorder.start();
    result.complete(List.of(Either.Left(DeadLetter.newBuilder()
        .setStage("model-gate").setReason("MODEL_REFUSED")
        .setMessage(event.getModelVersion() + ": the canary did not finish in time")
        .setOriginalTopic(config.modelEvents()).setJob("embed").setTimestamp(Instant.now()).build())));
  }

  @Override
  public void close() {
    if (worker != null) {
      worker.shutdownNow();
    }
  }
}
