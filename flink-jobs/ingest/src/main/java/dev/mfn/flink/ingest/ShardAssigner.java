package dev.mfn.flink.ingest;

import dev.mfn.records.FaceSample;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.streaming.api.functions.sink.filesystem.BucketAssigner;
import org.apache.flink.streaming.api.functions.sink.filesystem.bucketassigners.SimpleVersionedStringSerializer;

/**
 * Puts each sample in {@code [cuts/<cut>/]<split>/shard-NNN}: the shard is a hash of the sample id,
 * so samples spread uniformly over the shards and every shard is a uniform sample of the split (a
 * loader that shuffles shard order and keeps a buffer then yields a well-mixed order).
 */
public final class ShardAssigner implements BucketAssigner<CutSample, String> {
  private final int shards;

  public ShardAssigner(int shards) {
    this.shards = shards;
  }

  public static String bucket(FaceSample sample, int shards) {
    int shard = (int) Math.floorMod(SampleMaker.stableHash(sample.getId()), (long) shards);
    return sample.getSplit().name().toLowerCase() + "/shard-" + String.format("%03d", shard);
  }

  @Override
  public String getBucketId(CutSample element, Context context) {
    return CutSample.folder(element.cut) + bucket(element.sample, shards);
  }

  @Override
  public SimpleVersionedSerializer<String> getSerializer() {
    return SimpleVersionedStringSerializer.INSTANCE;
  }
}
