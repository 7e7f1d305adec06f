package dev.mfn.bench;

import dev.mfn.flink.ingest.CutSample;
import dev.mfn.flink.ingest.LabelAssigner;
import dev.mfn.records.Augmentation;
import dev.mfn.records.CropFormat;
import dev.mfn.records.FaceSample;
import dev.mfn.records.Split;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.List;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;

/**
 * The one task that labels every sample ({@link LabelAssigner}, parallelism 1) on its own: samples
 * of crop size (20 KB) from 2 generating tasks, through the real registry on the broker, into a
 * discarding sink. Its rate against what 8 ingest tasks can produce says whether it is a bottleneck.
 */
final class LabelThroughput {
  private LabelThroughput() {}

  /** Samples per second through the label task (generation and network included). */
  static double measure(String bootstrap, String registry, int samples, int subjects) throws Exception {
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(new Configuration());
    env.setParallelism(2);
    byte[] crop = new byte[20_000];
    new java.util.Random(1).nextBytes(crop);
    env.fromSequence(0, samples - 1)
        .map(i -> new CutSample("", sample("s" + (i % subjects), "img-" + i, crop)))
        .returns(Types.POJO(CutSample.class))
        .transform("labels", Types.POJO(CutSample.class), new LabelAssigner(bootstrap, registry)).setParallelism(1)
        .sinkTo(new DiscardingSink<>()).setParallelism(1);
    long t0 = System.nanoTime();
    env.execute("bench label throughput");
    return samples / ((System.nanoTime() - t0) / 1e9);
  }

  private static FaceSample sample(String subject, String imageId, byte[] crop) {
    return FaceSample.newBuilder().setId(imageId + "/none").setImageId(imageId).setSubject(subject).setLabel(-1)
        .setSplit(Split.TRAIN).setAugmentation(Augmentation.NONE).setCropFormat(CropFormat.PNG)
        .setCrop(ByteBuffer.wrap(crop)).setLandmarks(List.of(38f, 52f, 74f, 52f, 56f, 72f, 42f, 92f, 70f, 92f))
        .setDetector("synthetic").setDetectionScore(0.9f).setAlignmentResidual(0.01f).setTimestamp(Instant.now()).build();
  }
}
