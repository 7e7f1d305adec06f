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
 * end of input (Flink calls {@code flush} before the checkpoint completes), and as soon as the
 * oldest buffered face has waited {@code visibleMillis} (setting {@code index.visible.millis}): a
 * written face is searchable (Lucene commits, Elasticsearch refreshes), so this bounds how long a
 * published photo takes to become findable, independently of the checkpoint interval (bench/run
 * fresh measures it; each write is a Lucene commit or a bulk request, hence not every face alone). Together with the
 * deterministic document ids this is effectively exactly-once: a replay after a failure rewrites
 * the same ids. Each model version goes to its own index.
 *
 * <p>Erasure is enforced here last: before each write the sink reads the tombstones up to now and
 * drops documents of erased subjects (and of photos published before their subject's deletion), and after it removes every subject erased since its previous
 * write from the indexes it writes (a document embedded while `mfn delete` ran cannot survive it).
 */
public final class VectorIndexSink implements Sink<FaceDocument> {
  private static final int MAX_BUFFERED = 256;
  private final IndexTarget target;
  private final String bootstrap;
  private final String erasures;
  private final long visibleMillis;

  public VectorIndexSink(IndexTarget target) {
    this(target, null, null, 0);
  }

  /**
   * A sink that honours the tombstones on {@code erasures} (null: none) and writes a face at most
   * {@code visibleMillis} after it arrived (0: only on checkpoints and every 256 faces).
   */
  public VectorIndexSink(IndexTarget target, String bootstrap, String erasures, long visibleMillis) {
    this.target = target;
    this.bootstrap = bootstrap;
    this.erasures = erasures;
    this.visibleMillis = visibleMillis;
  }

  @Override
  public SinkWriter<FaceDocument> createWriter(WriterInitContext context) {
    Histogram latency = context.metricGroup().histogram("indexWriteMillis", new DescriptiveStatisticsHistogram(1000));
    return new Writer(target, latency, erasures == null ? Erasures.NONE : Erasures.open(bootstrap, erasures),
        context.metricGroup().counter("erasedDocumentsDropped"), context.getProcessingTimeService(), visibleMillis);
  }

  private static final class Writer implements SinkWriter<FaceDocument> {
    private final IndexTarget target;
    private final Histogram latency;
    private final Map<String, VectorIndex> byVersion = new HashMap<>();
    private final List<FaceDocument> buffer = new ArrayList<>();
    /** Indexes written without a refresh since the last checkpoint (Elasticsearch; Lucene commits). */
    private final java.util.Set<VectorIndex> unrefreshed = new java.util.LinkedHashSet<>();
    private final Erasures erasures;
    private final org.apache.flink.metrics.Counter dropped;
    /** How many erasures this writer has applied (a cursor into the tombstones' activations). */
    private int applied;
    /** Whether every version has had every standing erasure applied since this writer started. */
    private boolean swept;
    private final org.apache.flink.api.common.operators.ProcessingTimeService time;
    private final long visibleMillis;
    /** When the oldest buffered face arrived (processing time), valid while the buffer is not empty. */
    private long oldestAt;

    Writer(IndexTarget target, Histogram latency, Erasures erasures, org.apache.flink.metrics.Counter dropped,
        org.apache.flink.api.common.operators.ProcessingTimeService time, long visibleMillis) {
      this.target = target;
      this.latency = latency;
      this.erasures = erasures;
      this.dropped = dropped;
      this.time = time;
      this.visibleMillis = visibleMillis;
    }

    @Override
    public void write(FaceDocument document, Context context) throws IOException {
      if (buffer.isEmpty() && visibleMillis > 0 && time != null) {
        oldestAt = time.getCurrentProcessingTime();
        // the timer runs in the task's mailbox thread, never beside write() or a checkpoint
        time.registerTimer(oldestAt + visibleMillis, now -> writeIfDue(now));
      }
      buffer.add(document);
      if (buffer.size() >= MAX_BUFFERED || due(time == null ? 0 : time.getCurrentProcessingTime())) {
        writeBuffer();
      }
    }

    private boolean due(long now) {
      return visibleMillis > 0 && !buffer.isEmpty() && now - oldestAt >= visibleMillis;
    }

    /** A timer set when the buffer got its first face: written if that face is still waiting. */
    private void writeIfDue(long now) throws IOException {
      if (due(now)) {
        writeBuffer();
      }
    }

    /**
     * Flink's flush: at every checkpoint barrier and at the end of input. What was written is made
     * searchable before the checkpoint completes (a refresh of the indexes written since the last
     * one): the model migration takes a completed checkpoint to mean that every old-model face is
     * in the old index for its copy pass to see, and a bounded run ends with every face findable.
     */
    @Override
    public void flush(boolean endOfInput) throws IOException {
      writeBuffer();
      for (VectorIndex index : unrefreshed) {
        index.refresh();
      }
      unrefreshed.clear();
    }

    /** Writes what is buffered (searchable by the index's next refresh, without waiting for it). */
    private void writeBuffer() throws IOException {
      if (buffer.isEmpty()) {
        applyErasures(); // also when idle: a deletion must not wait for the next enrolment
        return;
      }
      long start = System.nanoTime();
      erasures.catchUp(java.time.Duration.ofSeconds(30));
      Map<String, List<FaceDocument>> groups = new java.util.LinkedHashMap<>();
      for (FaceDocument d : buffer) {
        if (d.publishedAt() > 0 ? erasures.erased(d.subject(), d.publishedAt()) : erasures.erased(d.subject())) {
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
        index.upsertEventually(group.getValue());
        unrefreshed.add(index);
      }
      buffer.clear();
      applyErasures();
      latency.update((System.nanoTime() - start) / 1_000_000);
    }

    /**
     * Removes the subjects erased since the last call from every version of the index (not only
     * those this writer writes: an old version held by this job is out of reach of `mfn delete`).
     * The first call after a start applies every standing erasure, in one query per version.
     */
    private void applyErasures() throws IOException {
      List<String> since = erasures.erasedSince(applied);
      if (since.isEmpty() && swept) {
        return;
      }
      List<String> subjects = (swept ? since : erasures.active()).stream().filter(erasures::erased).distinct().toList();
      if (!subjects.isEmpty()) {
        for (String version : target.versions()) {
          VectorIndex open = byVersion.get(version);
          if (open != null) {
            open.deleteSubjects(subjects);
          } else {
            try (VectorIndex other = target.open(version)) {
              other.deleteSubjects(subjects);
            }
          }
        }
      }
      applied += since.size();
      swept = true;
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
