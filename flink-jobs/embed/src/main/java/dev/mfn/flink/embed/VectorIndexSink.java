package dev.mfn.flink.embed;

import dev.mfn.search.index.FaceDocument;
import dev.mfn.search.index.VectorIndex;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;

/**
 * Writes face documents to the vector index: buffered, and written on every checkpoint and at the
 * end of input (Flink calls {@code flush} before the checkpoint completes). Together with the
 * deterministic document ids this is effectively exactly-once: a replay after a failure rewrites
 * the same ids. Each model version goes to its own index.
 *
 * <p>Erasure is enforced here last: before each write the sink reads the tombstones up to now and
 * drops documents of erased subjects, and after it removes every subject erased since its previous
 * write from the indexes it writes (a document embedded while `mfn delete` ran cannot survive it).
 */
public final class VectorIndexSink implements Sink<FaceDocument> {
  private static final int MAX_BUFFERED = 256;
  private final IndexTarget target;
  private final String bootstrap;
  private final String erasures;

  public VectorIndexSink(IndexTarget target) {
    this(target, null, null);
  }

  /** A sink that honours the tombstones on {@code erasures} (null: none). */
  public VectorIndexSink(IndexTarget target, String bootstrap, String erasures) {
    this.target = target;
    this.bootstrap = bootstrap;
    this.erasures = erasures;
  }

  @Override
  public SinkWriter<FaceDocument> createWriter(WriterInitContext context) {
    Histogram latency = context.metricGroup().histogram("indexWriteMillis", new DescriptiveStatisticsHistogram(1000));
    return new Writer(target, latency, erasures == null ? Erasures.NONE : Erasures.open(bootstrap, erasures),
        context.metricGroup().counter("erasedDocumentsDropped"));
  }

  private static final class Writer implements SinkWriter<FaceDocument> {
    private final IndexTarget target;
    private final Histogram latency;
    private final Map<String, VectorIndex> byVersion = new HashMap<>();
    private final List<FaceDocument> buffer = new ArrayList<>();
    private final Erasures erasures;
    private final org.apache.flink.metrics.Counter dropped;
    /** Per index version: how many erasures were applied to it (a cursor into the tombstones). */
    private final Map<String, Integer> applied = new HashMap<>();

    Writer(IndexTarget target, Histogram latency, Erasures erasures, org.apache.flink.metrics.Counter dropped) {
      this.target = target;
      this.latency = latency;
      this.erasures = erasures;
      this.dropped = dropped;
    }

    @Override
    public void write(FaceDocument document, Context context) throws IOException {
      buffer.add(document);
      if (buffer.size() >= MAX_BUFFERED) {
        flush(false);
      }
    }

    @Override
    public void flush(boolean endOfInput) throws IOException {
      if (buffer.isEmpty()) {
        applyErasures(); // also when idle: a deletion must not wait for the next enrolment
        return;
      }
      long start = System.nanoTime();
      erasures.catchUp(java.time.Duration.ofSeconds(30));
      Map<String, List<FaceDocument>> groups = new java.util.LinkedHashMap<>();
      for (FaceDocument d : buffer) {
        if (erasures.erased(d.subject())) {
          dropped.inc();
          continue;
        }
        groups.computeIfAbsent(d.modelVersion(), v -> new ArrayList<>()).add(d);
      }
      for (var group : groups.entrySet()) {
        VectorIndex index = byVersion.get(group.getKey());
        if (index == null) {
          index = target.open(group.getKey());
          byVersion.put(group.getKey(), index);
        }
        index.upsert(group.getValue());
      }
      buffer.clear();
      applyErasures();
      latency.update((System.nanoTime() - start) / 1_000_000);
    }

    /** Removes every subject erased since the last call from each index this writer writes. */
    private void applyErasures() throws IOException {
      for (var open : byVersion.entrySet()) {
        int from = applied.getOrDefault(open.getKey(), 0);
        List<String> erased = erasures.erasedSince(from);
        for (String subject : erased) {
          if (erasures.erased(subject)) { // not if re-enrolment cleared it since
            open.getValue().deleteSubject(subject); // a no-op where the index holds nothing of them
          }
        }
        applied.put(open.getKey(), from + erased.size());
      }
    }

    @Override
    public void close() throws IOException {
      for (VectorIndex index : byVersion.values()) {
        index.close();
      }
      erasures.close();
    }
  }
}
