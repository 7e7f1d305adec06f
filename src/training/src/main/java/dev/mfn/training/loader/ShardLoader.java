package dev.mfn.training.loader;

import dev.mfn.face.OpenCv;
import dev.mfn.records.CropFormat;
import dev.mfn.records.FaceSample;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Random;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.avro.file.DataFileReader;
import org.apache.avro.specific.SpecificDatumReader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Streams batches out of shard files, one epoch at a time, so the network never waits on disk or
 * PNG decoding:
 *
 * <ul>
 *   <li>the shard order is reshuffled every epoch and samples pass a shuffle buffer; since the
 *       ingest job puts every sample in a random shard, each shard is already a uniform sample, so
 *       the order is close to a uniform permutation (the seed's TFRecords were read in name order);
 *   <li>one reader thread reads Avro records; decoding, mirroring, jitter and normalisation of whole
 *       batches run on {@code workers} background threads, a few batches ahead;
 *   <li>everything random derives from (seed, epoch, batch), so an epoch is the same batches in
 *       the same order when a run is resumed.
 * </ul>
 *
 * A record that cannot be decoded is skipped and counted ({@link #skipped()}), never fatal.
 */
public final class ShardLoader implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ShardLoader.class);
  private static final int SAMPLE_FLOATS = 3 * CropDecoder.PLANE;

  /**
   * @param shuffle reshuffle shard order and samples (training) or keep file order (validation)
   * @param mirror flip each crop horizontally with probability 1/2
   * @param dropLast drop the last, smaller batch of an epoch (training)
   * @param jitter random shift, scale, rotation, brightness and contrast of each crop, drawn anew
   *     every epoch ({@link CropJitter#NONE}: the crops as written)
   */
  public record Options(
      int batchSize, int shuffleBuffer, int workers, boolean shuffle, boolean mirror,
      boolean dropLast, long seed, CropJitter jitter) {
    public Options {
      jitter = jitter == null ? CropJitter.NONE : jitter;
    }

    public static Options training(int batchSize, int workers, long seed) {
      return new Options(batchSize, Math.max(4096, batchSize * 16), workers, true, true, true, seed, CropJitter.NONE);
    }

    public Options withBuffer(int samples) {
      return new Options(batchSize, samples, workers, shuffle, mirror, dropLast, seed, jitter);
    }

    public Options withJitter(CropJitter jitter) {
      return new Options(batchSize, shuffleBuffer, workers, shuffle, mirror, dropLast, seed, jitter);
    }

    public static Options evaluation(int batchSize, int workers) {
      return new Options(batchSize, 0, workers, false, false, false, 0, CropJitter.NONE);
    }
  }

  private record Raw(CropFormat format, ByteBuffer crop, int label) {}

  private final List<Path> files;
  private final Options options;
  private final ExecutorService decoders;
  private final ThreadLocal<CropDecoder> decoder = ThreadLocal.withInitial(CropDecoder::new);
  private final AtomicLong skipped = new AtomicLong();

  public ShardLoader(List<Path> files, Options options) {
    if (options.batchSize() < 1 || options.workers() < 1) {
      throw new IllegalArgumentException("batch size and workers must be >= 1");
    }
    OpenCv.load();
    this.files = List.copyOf(files);
    this.options = options;
    AtomicInteger n = new AtomicInteger();
    this.decoders =
        Executors.newFixedThreadPool(
            options.workers(),
            r -> {
              Thread t = new Thread(r, "shard-decoder-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
  }

  /** Records skipped so far because they could not be read or decoded. */
  public long skipped() {
    return skipped.get();
  }

  /** The batches of one epoch. Close it to stop early (e.g. at the end of a time budget). */
  public Epoch epoch(int epoch) {
    return new Epoch(epoch, 0);
  }

  /**
   * The batches of one epoch after its first {@code skip} (a run resumed from a checkpoint taken
   * mid-epoch): the same batches as {@link #epoch(int)} from there on. The skipped ones are read
   * (the shuffle depends on them) but not decoded.
   */
  public Epoch epoch(int epoch, int skip) {
    return new Epoch(epoch, skip);
  }

  @Override
  public void close() {
    decoders.shutdownNow();
  }

  private static long mix(long seed, long a, long b) {
    long h = seed * 0x9E3779B97F4A7C15L + a * 0xC2B2AE3D27D4EB4FL + b * 0x165667B19E3779F9L;
    h ^= h >>> 29;
    return h * 0xBF58476D1CE4E5B9L;
  }

  private Batch decode(List<Raw> samples, long batchSeed) {
    Random rng = new Random(batchSeed);
    float[] pixels = new float[samples.size() * SAMPLE_FLOATS];
    long[] labels = new long[samples.size()];
    int n = 0;
    CropDecoder d = decoder.get();
    for (Raw raw : samples) {
      boolean mirror = options.mirror() && rng.nextBoolean();
      if (d.decode(raw.format(), raw.crop(), mirror, options.jitter(), rng, pixels, n * SAMPLE_FLOATS)) {
        labels[n++] = raw.label();
      } else {
        skipped.incrementAndGet();
      }
    }
    if (n < samples.size()) {
      float[] trimmed = new float[n * SAMPLE_FLOATS];
      System.arraycopy(pixels, 0, trimmed, 0, trimmed.length);
      long[] l = new long[n];
      System.arraycopy(labels, 0, l, 0, n);
      return new Batch(trimmed, l, n);
    }
    return new Batch(pixels, labels, n);
  }

  /** One epoch's batches; the reader thread runs ahead by a few batches. */
  public final class Epoch implements Iterator<Batch>, AutoCloseable {
    private final Future<Batch> end = CompletableFuture.completedFuture(null);
    private final BlockingQueue<Future<Batch>> ready;
    private final Thread reader;
    private final int epoch;
    private final int skip;
    private volatile Throwable failure;
    private Batch next;
    private volatile boolean done;

    private Epoch(int epoch, int skip) {
      this.epoch = epoch;
      this.skip = skip;
      this.ready = new ArrayBlockingQueue<>(2 * options.workers() + 2);
      this.reader = new Thread(this::read, "shard-reader-epoch-" + epoch);
      reader.setDaemon(true);
      reader.start();
    }

    private void read() {
      Random rng = new Random(mix(options.seed(), epoch, -1));
      List<Path> order = new ArrayList<>(files);
      if (options.shuffle()) {
        Collections.shuffle(order, rng);
      }
      List<Raw> buffer = new ArrayList<>();
      List<Raw> chunk = new ArrayList<>(options.batchSize());
      int[] batchIndex = {0};
      try {
        for (Path file : order) {
          try (DataFileReader<FaceSample> in =
              new DataFileReader<>(file.toFile(), new SpecificDatumReader<>(FaceSample.class))) {
            while (in.hasNext()) {
              FaceSample s = in.next();
              Raw raw = new Raw(s.getCropFormat(), s.getCrop(), s.getLabel());
              if (options.shuffle()) {
                if (buffer.size() < options.shuffleBuffer()) {
                  buffer.add(raw);
                  continue;
                }
                int i = rng.nextInt(buffer.size());
                Raw out = buffer.get(i);
                buffer.set(i, raw);
                raw = out;
              }
              chunk = add(chunk, raw, batchIndex);
            }
          } catch (IOException | RuntimeException e) {
            if (done || Thread.currentThread().isInterrupted() || e instanceof java.nio.channels.ClosedByInterruptException) {
              return; // the epoch was closed early (time budget): not a damaged file
            }
            // a damaged shard file costs its remaining records, not the run
            skipped.incrementAndGet();
            LOG.warn("skipping the rest of shard file {}: {}", file, e.toString());
          }
        }
        Collections.shuffle(buffer, rng);
        for (Raw raw : buffer) {
          chunk = add(chunk, raw, batchIndex);
        }
        if (!chunk.isEmpty() && !options.dropLast()) {
          submit(chunk, batchIndex[0]++);
        }
        ready.put(end);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (Throwable t) {
        failure = t;
        ready.offer(end);
      }
    }

    private List<Raw> add(List<Raw> chunk, Raw raw, int[] batchIndex) throws InterruptedException {
      chunk.add(raw);
      if (chunk.size() == options.batchSize()) {
        submit(chunk, batchIndex[0]++);
        return new ArrayList<>(options.batchSize());
      }
      return chunk;
    }

    private void submit(List<Raw> chunk, int index) throws InterruptedException {
      if (index < skip) {
        return; // trained on before the checkpoint this run resumes from
      }
      long seed = mix(options.seed(), epoch, index);
      ready.put(decoders.submit(() -> decode(chunk, seed)));
    }

    @Override
    public boolean hasNext() {
      if (next != null) {
        return true;
      }
      if (done) {
        return false;
      }
      try {
        Batch b = ready.take().get();
        if (b == null) {
          done = true;
          if (failure != null) {
            throw new IllegalStateException("shard reader failed: " + failure, failure);
          }
          return false;
        }
        next = b;
        return true;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while loading batches", e);
      } catch (ExecutionException e) {
        throw new IllegalStateException("batch decoding failed: " + e.getCause(), e.getCause());
      }
    }

    @Override
    public Batch next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      Batch b = next;
      next = null;
      return b;
    }

    @Override
    public void close() {
      done = true;
      reader.interrupt();
      ready.forEach(f -> f.cancel(true));
      ready.clear();
    }
  }
}
