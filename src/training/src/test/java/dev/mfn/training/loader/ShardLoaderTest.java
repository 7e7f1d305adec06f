package dev.mfn.training.loader;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mfn.records.Augmentation;
import dev.mfn.records.CropFormat;
import dev.mfn.records.FaceSample;
import dev.mfn.records.Split;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.file.DataFileWriter;
import org.apache.avro.specific.SpecificDatumWriter;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The loader on synthetic crops whose pixels encode their own index (raw BGR), so every batch can
 * be traced back to the samples in it: each sample once per epoch, a new order every epoch, the
 * same order for the same epoch, mirrored pixels, the normalisation, and bad records skipped.
 */
class ShardLoaderTest {
  private static final int PER_SHARD = 50;
  private static final int SHARDS = 4;
  @TempDir static Path dir;
  static List<Path> files = new ArrayList<>();

  @BeforeAll
  static void writeShards() throws IOException {
    int id = 0;
    for (int s = 0; s < SHARDS; s++) {
      Path file = dir.resolve("train/shard-00" + s + "/part-0.avro");
      Files.createDirectories(file.getParent());
      try (DataFileWriter<FaceSample> w = new DataFileWriter<>(new SpecificDatumWriter<>(FaceSample.class))) {
        w.create(FaceSample.getClassSchema(), file.toFile());
        for (int i = 0; i < PER_SHARD; i++, id++) {
          w.append(sample(id, crop(id)));
        }
        w.append(sample(-1, new byte[] {1, 2, 3})); // not a crop: skipped and counted
      }
      files.add(file);
    }
  }

  /** Raw BGR 112x112: first pixel's blue = id % 256, green = id / 256; the rest a left-right ramp. */
  private static byte[] crop(int id) {
    byte[] b = new byte[112 * 112 * 3];
    for (int y = 0; y < 112; y++) {
      for (int x = 0; x < 112; x++) {
        int p = 3 * (y * 112 + x);
        b[p] = (byte) (2 * x);
        b[p + 1] = (byte) (2 * x);
        b[p + 2] = (byte) (2 * x);
      }
    }
    b[0] = (byte) (id % 256);
    b[1] = (byte) (id / 256);
    b[3 * 111] = b[0]; // the same marker at the right end, so it survives mirroring
    b[3 * 111 + 1] = b[1];
    return b;
  }

  private static FaceSample sample(int id, byte[] crop) {
    return FaceSample.newBuilder()
        .setId("s" + id).setImageId("i" + id).setSubject("p" + Math.max(0, id) % 7)
        .setLabel(Math.max(0, id) % 7).setSplit(Split.TRAIN).setAugmentation(Augmentation.NONE)
        .setCropFormat(CropFormat.RAW_BGR).setCrop(ByteBuffer.wrap(crop))
        .setTimestamp(java.time.Instant.EPOCH).build();
  }

  private static List<Integer> order(ShardLoader loader, int epoch, Map<Integer, Boolean> mirrored) {
    return order(loader, epoch, 0, mirrored, new ArrayList<>());
  }

  private static List<Integer> order(
      ShardLoader loader, int epoch, int skip, Map<Integer, Boolean> mirrored, List<Integer> batchSizes) {
    List<Integer> ids = new ArrayList<>();
    try (ShardLoader.Epoch e = loader.epoch(epoch, skip)) {
      while (e.hasNext()) {
        Batch b = e.next();
        batchSizes.add(b.size());
        int plane = 112 * 112;
        for (int n = 0; n < b.size(); n++) {
          int base = n * 3 * plane;
          int blue = Math.round(b.pixels()[base] * 128f + 127.5f);
          int green = Math.round(b.pixels()[base + plane] * 128f + 127.5f);
          int id = blue + 256 * green;
          ids.add(id);
          assertThat(b.labels()[n]).isEqualTo(id % 7);
          // ramp 2x at x=1 means not mirrored; mirrored, x=1 holds the value of x=110
          int second = Math.round(b.pixels()[base + 1] * 128f + 127.5f);
          mirrored.put(id, second != 2);
        }
      }
    }
    return ids;
  }

  @Test
  void everySampleOncePerEpochInANewButRepeatableOrder() {
    try (ShardLoader loader = new ShardLoader(files, ShardLoader.Options.training(16, 2, 7).withBuffer(64))) {
      Map<Integer, Boolean> mirrored = new HashMap<>();
      List<Integer> first = order(loader, 1, mirrored);
      List<Integer> again = order(loader, 1, new HashMap<>());
      List<Integer> second = order(loader, 2, new HashMap<>());
      // 204 records (4 bad) make 12 full batches of 16 and a dropped remainder; a bad record that
      // fell into a full batch leaves that batch one short
      assertThat(first.size()).isBetween(12 * 16 - SHARDS, 12 * 16);
      assertThat(first).doesNotHaveDuplicates().allMatch(id -> id >= 0 && id < SHARDS * PER_SHARD);
      assertThat(first).isEqualTo(again);
      assertThat(second).doesNotHaveDuplicates().isNotEqualTo(first);
      // the order is not the file order: few neighbours in a batch come from the same shard
      long sameShardNeighbours = 0;
      for (int i = 1; i < first.size(); i++) {
        if (first.get(i) / PER_SHARD == first.get(i - 1) / PER_SHARD) {
          sameShardNeighbours++;
        }
      }
      assertThat(sameShardNeighbours).isLessThan(first.size() / 2);
      long flipped = mirrored.values().stream().filter(b -> b).count();
      assertThat(flipped).isBetween(first.size() / 4L, 3L * first.size() / 4);
      // bad records are counted when their batch is decoded (not in the dropped remainder)
      assertThat(loader.skipped()).isBetween(1L, 3L * SHARDS);
    }
  }

  /**
   * A run resumed mid-epoch asks for the epoch after its first k batches: it must get exactly the
   * batches the uninterrupted epoch gave from there, same samples, same mirroring, even where bad
   * records made a batch short (each shard here holds one).
   */
  @Test
  void anEpochResumedAfterKBatchesIsTheTailOfTheWholeEpoch() {
    try (ShardLoader loader = new ShardLoader(files, ShardLoader.Options.training(16, 2, 7).withBuffer(64))) {
      Map<Integer, Boolean> mirroredWhole = new HashMap<>();
      List<Integer> batchSizes = new ArrayList<>();
      List<Integer> whole = order(loader, 3, 0, mirroredWhole, batchSizes);
      assertThat(batchSizes).as("some batch is short of a bad record").anyMatch(n -> n < 16);
      for (int k : new int[] {1, 5, batchSizes.size() - 1, batchSizes.size()}) {
        Map<Integer, Boolean> mirroredTail = new HashMap<>();
        List<Integer> tail = order(loader, 3, k, mirroredTail, new ArrayList<>());
        int before = batchSizes.subList(0, k).stream().mapToInt(Integer::intValue).sum();
        assertThat(tail).as("after %d batches", k).isEqualTo(whole.subList(before, whole.size()));
        tail.forEach(id -> assertThat(mirroredTail.get(id)).isEqualTo(mirroredWhole.get(id)));
      }
    }
  }

  @Test
  void evaluationKeepsFileOrderEverySampleAndNoMirror() {
    try (ShardLoader loader = new ShardLoader(files, ShardLoader.Options.evaluation(16, 2))) {
      Map<Integer, Boolean> mirrored = new HashMap<>();
      List<Integer> ids = order(loader, 0, mirrored);
      List<Integer> expected = new ArrayList<>();
      for (int i = 0; i < SHARDS * PER_SHARD; i++) {
        expected.add(i);
      }
      assertThat(ids).isEqualTo(expected);
      assertThat(mirrored.values()).containsOnly(false);
      assertThat(loader.skipped()).isEqualTo(SHARDS); // the one bad record of each shard
    }
  }

  /**
   * The jitter changes the pixels of a training epoch, never which samples it holds or their order,
   * and it is the same crops whatever the number of decoding threads (its draws follow the batch's
   * seed, not the thread). Without it, the tests above read each crop's marker pixels exactly: a
   * jitter applied when off would break them.
   */
  @Test
  void theJitterChangesPixelsNotSamplesAndIsTheSameWithAnyNumberOfThreads() {
    List<Batch> plain = batches(ShardLoader.Options.training(16, 2, 7).withBuffer(64));
    List<Batch> twoThreads = batches(ShardLoader.Options.training(16, 2, 7).withBuffer(64).withJitter(CropJitter.STANDARD));
    List<Batch> oneThread = batches(ShardLoader.Options.training(16, 1, 7).withBuffer(64).withJitter(CropJitter.STANDARD));
    assertThat(twoThreads).hasSameSizeAs(plain).hasSameSizeAs(oneThread);
    for (int i = 0; i < plain.size(); i++) {
      assertThat(twoThreads.get(i).labels()).containsExactly(plain.get(i).labels());
      // Arrays.equals: AssertJ's containsExactly diffs 600k floats in quadratic time
      assertThat(java.util.Arrays.equals(twoThreads.get(i).pixels(), plain.get(i).pixels())).as("batch %d jittered", i).isFalse();
      assertThat(java.util.Arrays.equals(oneThread.get(i).pixels(), twoThreads.get(i).pixels()))
          .as("batch %d the same with 1 and 2 threads", i).isTrue();
    }
  }

  private static List<Batch> batches(ShardLoader.Options options) {
    List<Batch> out = new ArrayList<>();
    try (ShardLoader loader = new ShardLoader(files, options); ShardLoader.Epoch e = loader.epoch(1)) {
      e.forEachRemaining(out::add);
    }
    return out;
  }
}
