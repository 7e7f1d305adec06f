package dev.mfn.flink.ingest;

import dev.mfn.face.OpenCv;
import dev.mfn.face.policy.IdentityPolicy;
import dev.mfn.records.FaceSample;
import dev.mfn.records.Split;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.co.KeyedBroadcastProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Per identity (keyed by subject), for as long as the identity exists: the count n of its usable
 * photos and a uniform random sample of at most the cap (a reservoir, MapState slot -> crop, so a
 * photo past the cap costs one put, not a rewrite of the list).
 *
 * <p>The policy is applied to an identity as it stands when a shard set is cut:
 * <ul>
 *   <li>bounded mode: once, at the end of the input (an event-time timer at the end of time, which
 *       the final watermark fires), into the output's root;
 *   <li>unbounded mode: at every cut (a record on the cuts topic, broadcast to every task), for
 *       every identity this task holds, into {@code cuts/<name>/}; the state is kept, so the tier
 *       is decided again at the next cut from the grown count. Arrival timing plays no part: the
 *       cap and the tiers hold per identity however its photos trickle in.
 * </ul>
 * Each cut ends with a CUT_DONE mark per task, from which the manifest writer knows it is whole.
 */
public final class IdentityCurator extends KeyedBroadcastProcessFunction<String, CroppedFace, String, CutSample> {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(IdentityCurator.class);
  public static final OutputTag<ManifestEntry> DECISIONS =
      new OutputTag<>("decisions", Types.POJO(ManifestEntry.class));
  /** Broadcast state: the cuts already made (name -> when), so a repeated name is not cut twice. */
  public static final MapStateDescriptor<String, Long> CUTS =
      new MapStateDescriptor<>("cuts", Types.STRING, Types.LONG);

  private static final ValueStateDescriptor<Long> COUNT = new ValueStateDescriptor<>("count", Types.LONG);

  private final IngestConfig config;
  private transient ValueState<Long> count;
  private transient MapState<Integer, CroppedFace> reservoir;
  private transient SampleMaker maker;
  private transient IdentityPolicy policy;
  private transient Map<String, Counter> samplesPerTier;

  public IdentityCurator(IngestConfig config) {
    this.config = config;
  }

  @Override
  public void open(OpenContext context) {
    OpenCv.load();
    count = getRuntimeContext().getState(COUNT);
    reservoir = getRuntimeContext().getMapState(
        new MapStateDescriptor<>("reservoir", Types.INT, Types.POJO(CroppedFace.class)));
    maker = new SampleMaker(config.validationFraction());
    policy = config.policy();
    samplesPerTier = new HashMap<>();
  }

  @Override
  public void processElement(CroppedFace face, ReadOnlyContext ctx, Collector<CutSample> out) throws Exception {
    long n = count.value() == null ? 1 : count.value() + 1;
    count.update(n);
    int slot = IdentityReservoir.slotFor(face.subject, n, policy.cap());
    if (slot >= 0) {
      reservoir.put(slot, face);
    }
    if (config.bounded() && n == 1) {
      ctx.timerService().registerEventTimeTimer(Long.MAX_VALUE);
    }
  }

  /** Bounded mode: the input has ended; the identity is final. */
  @Override
  public void onTimer(long timestamp, OnTimerContext ctx, Collector<CutSample> out) throws Exception {
    emit(CutSample.END_OF_INPUT, ctx.getCurrentKey(), out, e -> ctx.output(DECISIONS, e));
    count.clear();
    reservoir.clear();
  }

  /** Unbounded mode: a cut; every identity of this task as it stands now. */
  @Override
  public void processBroadcastElement(String cut, Context ctx, Collector<CutSample> out) throws Exception {
    if (!CutSample.validName(cut)) {
      LOG.warn("cut request {} ignored: a cut's name is a folder name (letters, digits, '.', '_', '-')", cut);
      return;
    }
    if (ctx.getBroadcastState(CUTS).contains(cut) || IngestJob.holdsShardSet(config.outDir() + "/" + CutSample.folder(cut))) {
      // this name was cut already (by this job, or before a restart without state): writing its
      // folder twice would duplicate samples
      LOG.warn("cut request {} ignored: that cut exists already", cut);
      return;
    }
    ctx.getBroadcastState(CUTS).put(cut, System.currentTimeMillis());
    ctx.applyToKeyedState(COUNT, (subject, n) -> emit(cut, subject, out, e -> ctx.output(DECISIONS, e)));
    ctx.output(DECISIONS, ManifestEntry.cutDone(cut,
        getRuntimeContext().getTaskInfo().getIndexOfThisSubtask(),
        getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks()));
  }

  /** The policy on the identity's current count and reservoir (the key context is the subject). */
  private void emit(String cut, String subject, Collector<CutSample> out,
      java.util.function.Consumer<ManifestEntry> decisions) throws Exception {
    Long n = count.value();
    if (n == null) {
      return;
    }
    IdentityPolicy.Decision decision = policy.decide((int) Math.min(Integer.MAX_VALUE, n));
    List<CroppedFace> kept = new ArrayList<>();
    reservoir.values().forEach(kept::add);
    kept.sort(Comparator.comparing(f -> f.imageId));
    long train = 0;
    long validation = 0;
    if (decision.tier() != IdentityPolicy.Tier.DROP) {
      Instant now = Instant.now();
      for (CroppedFace face : kept) {
        for (FaceSample sample : maker.samples(face, decision.tier().variants(), now)) {
          if (sample.getSplit() == Split.VALIDATION) {
            validation++;
          } else {
            train++;
          }
          out.collect(new CutSample(cut, sample));
        }
      }
      samplesPerTier
          .computeIfAbsent(decision.tier().name(), t -> getRuntimeContext().getMetricGroup().addGroup("samplesOut").counter(t))
          .inc(train + validation);
    }
    decisions.accept(ManifestEntry.decision(cut, subject, n, decision.photosKept(), decision.tier().name(), train, validation));
  }
}
