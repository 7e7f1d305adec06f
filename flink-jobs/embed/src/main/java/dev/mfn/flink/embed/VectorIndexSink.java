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
 */
public final class VectorIndexSink implements Sink<FaceDocument> {
  private static final int MAX_BUFFERED = 256;
  private final IndexTarget target;

  public VectorIndexSink(IndexTarget target) {
    this.target = target;
  }

  @Override
  public SinkWriter<FaceDocument> createWriter(WriterInitContext context) {
    Histogram latency = context.metricGroup().histogram("indexWriteMillis", new DescriptiveStatisticsHistogram(1000));
    return new Writer(target, latency);
  }

  private static final class Writer implements SinkWriter<FaceDocument> {
    private final IndexTarget target;
    private final Histogram latency;
    private final Map<String, VectorIndex> byVersion = new HashMap<>();
    private final List<FaceDocument> buffer = new ArrayList<>();

    Writer(IndexTarget target, Histogram latency) {
      this.target = target;
      this.latency = latency;
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
        return;
      }
      long start = System.nanoTime();
      Map<String, List<FaceDocument>> groups = new HashMap<>();
      for (FaceDocument d : buffer) {
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
      latency.update((System.nanoTime() - start) / 1_000_000);
    }

    @Override
    public void close() throws IOException {
      for (VectorIndex index : byVersion.values()) {
        index.close();
      }
    }
  }
}
