package dev.mfn.flink.embed;

import dev.mfn.model.EmbeddingModels;
import dev.mfn.records.ModelEvent;
import dev.mfn.records.ModelEventKind;
import dev.mfn.records.kafka.AvroSerde;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.StatefulSinkWriter;
import org.apache.flink.api.connector.sink2.SupportsWriterState;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.metrics.Counter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The model follower's second half (parallelism 1): for each new model version announced, runs an
 * {@link IndexMigration} on a background thread (a long re-embedding must not hold up checkpoints)
 * and then serves the new index. A migration not finished at a checkpoint is writer state, so a
 * restarted job runs it again. At first start it serves the configured model's index if no
 * version is served yet, so searches have an index from the beginning.
 */
final class IndexMigrationSink implements Sink<ModelEvent>, SupportsWriterState<ModelEvent, ModelEvent> {
  private static final Logger LOG = LoggerFactory.getLogger(IndexMigrationSink.class);
  private final EmbedConfig config;

  IndexMigrationSink(EmbedConfig config) {
    this.config = config;
  }

  @Override
  public SinkWriter<ModelEvent> createWriter(WriterInitContext context) throws IOException {
    return restoreWriter(context, List.of());
  }

  @Override
  public StatefulSinkWriter<ModelEvent, ModelEvent> restoreWriter(WriterInitContext context, Collection<ModelEvent> pending)
      throws IOException {
    if (config.index().servedVersion().isEmpty()) {
      try (var first = config.index().open(EmbeddingModels.version(Path.of(config.model())))) {
        first.serve();
      }
    }
    Writer writer = new Writer(config, context.metricGroup().counter("migrationsDone"), context.metricGroup().counter("migrationAttemptsFailed"));
    pending.forEach(writer::submit);
    return writer;
  }

  @Override
  public SimpleVersionedSerializer<ModelEvent> getWriterStateSerializer() {
    return new SimpleVersionedSerializer<>() {
      private final AvroSerde<ModelEvent> serde = new AvroSerde<>(ModelEvent.class);

      @Override
      public int getVersion() {
        return 1;
      }

      @Override
      public byte[] serialize(ModelEvent event) {
        return serde.encode(event);
      }

      @Override
      public ModelEvent deserialize(int version, byte[] bytes) {
        return serde.decode(bytes);
      }
    };
  }

  private static final class Writer implements StatefulSinkWriter<ModelEvent, ModelEvent> {
    private final EmbedConfig config;
    private final Counter done;
    private final Counter failed;
    private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "index-migration");
      t.setDaemon(true);
      return t;
    });
    private final List<ModelEvent> pending = new ArrayList<>();
    private volatile boolean closing;
    /** Checkpoint barriers this writer has seen (its snapshots), counted. */
    private final java.util.concurrent.atomic.AtomicLong snapshots = new java.util.concurrent.atomic.AtomicLong();

    Writer(EmbedConfig config, Counter done, Counter failed) {
      this.config = config;
      this.done = done;
      this.failed = failed;
    }

    @Override
    public void write(ModelEvent event, Context context) {
      if (event.getKind() != ModelEventKind.RETIRED) {
        submit(event);
      }
    }

    void submit(ModelEvent event) {
      synchronized (pending) {
        pending.add(event);
      }
      worker.submit(() -> migrate(event));
    }

    private void migrate(ModelEvent event) {
      // Old-model documents can be on their way until a checkpoint that followed the event has
      // completed: its barrier passed every embed task after that task switched, and every sink
      // flushed before acknowledging it. With one checkpoint at a time (the default), this
      // writer's second snapshot after the event means the first one completed.
      long seen = snapshots.get();
      IndexMigration migration = new IndexMigration(config.index(), config.batchSize(), () -> snapshots.get() >= seen + 2);
      long backoff = 5_000;
      for (int attempt = 1; !closing; attempt++) {
        try {
          String from = config.index().servedVersion().orElse(EmbeddingModels.version(Path.of(config.model())));
          if (!from.equals(event.getModelVersion())) { // else: already served (a replayed event)
            IndexMigration.Result result = migration.migrate(from, Path.of(URI.create(event.getLocation())), () -> closing);
            if (result.served()) {
              done.inc();
            }
          }
          break;
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        } catch (Exception e) {
          // keep trying: until it succeeds, searches stay on the old index and nothing is lost
          failed.inc();
          LOG.warn("migration to model {} failed (attempt {}), next try in {} s", event.getModelVersion(), attempt, backoff / 1000, e);
          try {
            Thread.sleep(backoff);
          } catch (InterruptedException stop) {
            return;
          }
          backoff = Math.min(backoff * 2, 300_000);
        }
      }
      if (!closing) {
        synchronized (pending) {
          pending.remove(event);
        }
      }
    }

    @Override
    public List<ModelEvent> snapshotState(long checkpointId) {
      snapshots.incrementAndGet();
      synchronized (pending) {
        return new ArrayList<>(pending);
      }
    }

    @Override
    public void flush(boolean endOfInput) {}

    @Override
    public void close() throws Exception {
      closing = true; // the migration stops between batches; no interrupt in the middle of Lucene I/O
      worker.shutdown();
      worker.awaitTermination(60, java.util.concurrent.TimeUnit.SECONDS);
    }
  }
}
