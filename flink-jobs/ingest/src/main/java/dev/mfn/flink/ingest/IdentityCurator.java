package dev.mfn.flink.ingest;

import dev.mfn.face.OpenCv;
import dev.mfn.face.policy.IdentityPolicy;
import dev.mfn.records.FaceSample;
import dev.mfn.records.Split;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Per identity (keyed by subject): counts its usable photos and keeps a uniform random sample of at
 * most the cap (a reservoir, in keyed state). When the identity is complete it applies the seed's
 * policy and emits the samples of its tier, plus its decision for the manifest.
 *
 * <p>Complete means: bounded mode, the end of the input (an event-time timer at the end of time,
 * which the final watermark fires); unbounded mode, no new photo for {@code idleMillis}.
 */
public final class IdentityCurator extends KeyedProcessFunction<String, CroppedFace, FaceSample> {
  public static final OutputTag<ManifestEntry> DECISIONS =
      new OutputTag<>("decisions", Types.POJO(ManifestEntry.class));

  private final IngestConfig config;
  private transient ValueState<Long> count;
  private transient ListState<CroppedFace> reservoir;
  private transient ValueState<Long> idleTimer;
  private transient SampleMaker maker;
  private transient IdentityPolicy policy;
  private transient java.util.Map<String, Counter> samplesPerTier;

  public IdentityCurator(IngestConfig config) {
    this.config = config;
  }

  @Override
  public void open(OpenContext context) {
    OpenCv.load();
    count = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Types.LONG));
    reservoir =
        getRuntimeContext().getListState(new ListStateDescriptor<>("reservoir", Types.POJO(CroppedFace.class)));
    idleTimer = getRuntimeContext().getState(new ValueStateDescriptor<>("idle-timer", Types.LONG));
    maker = new SampleMaker(config.validationFraction());
    policy = config.policy();
    samplesPerTier = new java.util.HashMap<>();
  }

  @Override
  public void processElement(CroppedFace face, Context ctx, Collector<FaceSample> out) throws Exception {
    long n = count.value() == null ? 1 : count.value() + 1;
    count.update(n);
    int slot = IdentityReservoir.slotFor(face.subject, n, policy.cap());
    if (slot >= 0) {
      if (n <= policy.cap()) {
        reservoir.add(face);
      } else {
        List<CroppedFace> kept = new ArrayList<>();
        reservoir.get().forEach(kept::add);
        kept.set(slot, face);
        reservoir.update(kept);
      }
    }
    if (config.bounded()) {
      if (n == 1) {
        ctx.timerService().registerEventTimeTimer(Long.MAX_VALUE);
      }
    } else {
      Long previous = idleTimer.value();
      if (previous != null) {
        ctx.timerService().deleteProcessingTimeTimer(previous);
      }
      long at = ctx.timerService().currentProcessingTime() + config.idleMillis();
      ctx.timerService().registerProcessingTimeTimer(at);
      idleTimer.update(at);
    }
  }

  @Override
  public void onTimer(long timestamp, OnTimerContext ctx, Collector<FaceSample> out) throws Exception {
    Long n = count.value();
    if (n == null) {
      return;
    }
    IdentityPolicy.Decision decision = policy.decide((int) Math.min(Integer.MAX_VALUE, n));
    List<CroppedFace> kept = new ArrayList<>();
    reservoir.get().forEach(kept::add);
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
          out.collect(sample);
        }
      }
      samplesPerTier
          .computeIfAbsent(decision.tier().name(), t -> getRuntimeContext().getMetricGroup().addGroup("samplesOut").counter(t))
          .inc(train + validation);
    }
    ctx.output(
        DECISIONS,
        ManifestEntry.decision(
            ctx.getCurrentKey(), n, decision.photosKept(), decision.tier().name(), train, validation));
    count.clear();
    reservoir.clear();
    idleTimer.clear();
  }
}
