package dev.mfn.bench;

import co.elastic.clients.elasticsearch.ElasticsearchClient;
import dev.mfn.bench.FreshnessProbes.EsProbe;
import dev.mfn.bench.FreshnessProbes.LuceneProbe;
import dev.mfn.bench.FreshnessProbes.Pending;
import dev.mfn.bench.FreshnessProbes.Photo;
import dev.mfn.bench.FreshnessProbes.Poller;
import dev.mfn.bench.FreshnessProbes.Probe;
import dev.mfn.bench.FreshnessProbes.Sent;
import dev.mfn.config.MfnSettings;
import dev.mfn.face.crop.FaceCropper;
import dev.mfn.face.decode.ImageDecoder;
import dev.mfn.face.detect.FaceChooser;
import dev.mfn.flink.embed.EmbedConfig;
import dev.mfn.flink.embed.EmbedJob;
import dev.mfn.flink.embed.IndexTarget;
import dev.mfn.model.Embedder;
import dev.mfn.model.EmbeddingModels;
import dev.mfn.publish.KafkaAccess;
import dev.mfn.search.index.ElasticsearchVectorIndex;
import dev.mfn.search.index.LuceneVectorIndex;
import dev.mfn.services.LocalServices;
import dev.mfn.services.elasticsearch.ElasticsearchServer;
import dev.mfn.services.kafka.KafkaBroker;
import dev.mfn.services.process.Ports;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.producer.Producer;

/**
 * Photo-to-searchable freshness of a running, unbounded embed job: LFW photos published one by one
 * at a steady rate (5, 20, 50 photos/s by default), each timed from just before its Kafka
 * {@code send} until a search sees it: its document is found by id, then confirmed among the top 10
 * of a kNN search with its own embedding (the time of that confirmation is the freshness).
 *
 * <p><b>What decides when a face becomes searchable</b> (read from the code, same path for both
 * backends up to the sink):
 *
 * <ol>
 *   <li>the producer ({@code KafkaAccess.producer}, as `mfn publish`) lingers up to 20 ms;
 *   <li>{@code EmbedOperator} buffers photos until {@code EmbedConfig.batchSize} photos, or
 *       {@code batchMillis} after the first buffered one (a processing-time timer), or a checkpoint
 *       barrier ({@code prepareSnapshotPreBarrier}), then embeds the batch;
 *   <li>{@code VectorIndexSink.Writer} only buffers; it writes in {@code flush}, which Flink's
 *       {@code SinkWriterOperator.prepareSnapshotPreBarrier} calls when a checkpoint barrier reaches
 *       the sink, or itself once 256 faces are buffered ({@code MAX_BUFFERED}), or at the end of a
 *       bounded input, and when the oldest buffered face has waited {@code index.visible.millis}
 *       (a processing-time timer; 0 turns it off, and then below 256 faces per checkpoint interval
 *       a face waits for the next barrier, 0 to {@code checkpointMillis}). The write
 *       happens when the barrier passes the sink: visibility does not wait for the checkpoint to
 *       complete nor for the Kafka offsets to be committed;
 *   <li>Lucene: {@code LuceneVectorIndex.upsert} is one {@code updateDocument} per face, then
 *       {@code IndexWriter.commit()} (fsync) and a refresh of the writer's own searcher. The search
 *       service opens the folder read-only ({@code IndexOptions.openForServing} ->
 *       {@code LuceneVectorIndex.readOnly}): a {@code SearcherManager} on the directory, i.e. on
 *       commits, not near-real-time on the job's writer, reopened ({@code maybeRefreshBlocking})
 *       before every search, crop and count. So a face is searchable by the first search after the
 *       commit of the sink write that carries it; no refresh interval is involved;
 *   <li>Elasticsearch: the sink's {@code ElasticsearchVectorIndex.upsertEventually} is one
 *       {@code _bulk} without a refresh (until 2026-11-30 it was {@code refresh=wait_for}, which
 *       held the sink's task up to a refresh interval per write: see RESULTS). The index is created ({@code createIfMissing}) without a refresh_interval, so
 *       Elasticsearch's default applies: a refresh every 1 s; a search-idle shard (no search for
 *       index.search.idle.after, 30 s) skips scheduled refreshes until the next search (the
 *       bench's polling, like a serving system's traffic, keeps the shard from going idle). So a
 *       face is searchable within about one refresh interval after the sink's bulk.
 * </ol>
 *
 * <p>So freshness is about batch wait + embedding + the wait for the next checkpoint barrier (+ the
 * commit on Lucene, + up to one refresh interval on Elasticsearch), as long as the job keeps up.
 * The bench runs the job without a tombstones topic (as the other benches); `mfn enroll` adds one,
 * and then operator and sink read it up to date before each batch / write ({@code Erasures.catchUp}).
 *
 * <p>Method: every photo's query embedding is computed before the run (the same detector settings
 * and model as the job; {@code FaceEmbedStage} with the chosen face, which yields the document the
 * job will write, id included), and photos without a face are left out. Per backend: a fresh topic,
 * the job started once (parallelism 1, one partition) and warmed up (W photos sent, all found),
 * then each rate with distinct photos (the same photo sequence on each backend, whose indexes are
 * separate). A poller thread every P ms: Lucene: {@code count()} on the read-only view (it reopens
 * the last commit as the service does; a new commit with new faces changes it), and only then
 * {@code crop(id)} (a term query on the id) per pending photo; Elasticsearch: one terms search on
 * image_id over the pending photos, with the index's normal refresh, never a forced one (a GET by id
 * would be real-time and see documents no search sees yet). A photo seen is then confirmed by a kNN
 * search (k = 10) through the same {@code VectorIndex} class the service searches. After a rate's
 * last send the bench waits for every photo (at most max(120 s, 4 checkpoints)); a photo still
 * missing then counts as not found, and its backlog stays in the job for the next rate.
 *
 * <p>Usage: {@code bench/run fresh [--backend lucene|es|both] [--rates 5,20,50] [--seconds 30 |
 * --photos-per-rate N] [--checkpoint-ms 5000] [--batch 32] [--batch-timeout-ms 200] [--model M]
 * [--warmup 10] [--poll-ms 10] [--bootstrap HOST:PORT] [--es URL]}. Without --bootstrap / --es it
 * starts its own broker / Elasticsearch node (as the load bench) and stops them at the end; with
 * --es the model version's index must not exist yet (it is deleted at the end). Progress goes to
 * stderr; the settings and a markdown table for bench/RESULTS.md go to stdout.
 */
public final class FreshnessBench {
  /** {@code VectorIndexSink.MAX_BUFFERED} (private there): the sink writes early past this many faces. */
  private static final int SINK_MAX_BUFFERED = 256;
  private static final Duration WARMUP_TIMEOUT = Duration.ofMinutes(10);

  private record Options(List<String> backends, List<Integer> rates, int seconds, int photosPerRate, long checkpointMs,
      int batch, long batchTimeoutMs, Path model, int warmup, long pollMs, String bootstrap, String esUrl) {
    static Options parse(String[] args, MfnSettings settings) {
      String backend = "both";
      List<Integer> rates = List.of(5, 20, 50);
      int seconds = 30, perRate = 0, batch = settings.getInt("embed.batch.size"), warmup = 10;
      long checkpointMs = 5_000, batchTimeoutMs = 200, pollMs = 10; // 5 s and 200 ms: what `mfn enroll` runs with
      Path model = settings.getPath("model.default");
      String bootstrap = null, esUrl = null;
      for (int i = 0; i < args.length; i++) {
        switch (args[i]) {
          case "--backend", "--backends" -> backend = args[++i];
          case "--rates" -> rates = Arrays.stream(args[++i].split(",")).map(String::trim).map(Integer::valueOf).toList();
          case "--seconds" -> seconds = Integer.parseInt(args[++i]);
          case "--photos-per-rate" -> perRate = Integer.parseInt(args[++i]);
          case "--checkpoint-ms" -> checkpointMs = Long.parseLong(args[++i]);
          case "--batch" -> batch = Integer.parseInt(args[++i]);
          case "--batch-timeout-ms", "--batch-ms" -> batchTimeoutMs = Long.parseLong(args[++i]);
          case "--model" -> model = Path.of(args[++i]);
          case "--warmup" -> warmup = Integer.parseInt(args[++i]);
          case "--poll-ms" -> pollMs = Long.parseLong(args[++i]);
          case "--bootstrap" -> bootstrap = args[++i];
          case "--es" -> esUrl = args[++i];
          default -> throw new IllegalArgumentException("unknown option " + args[i]);
        }
      }
      List<String> backends = switch (backend) {
        case "both" -> List.of("lucene", "es");
        case "lucene" -> List.of("lucene");
        case "es", "elasticsearch" -> List.of("es");
        default -> throw new IllegalArgumentException("unknown backend " + backend + " (lucene, es, both)");
      };
      if (rates.isEmpty() || rates.stream().anyMatch(r -> r < 1) || seconds < 1 || perRate < 0 || batch < 1
          || checkpointMs < 10 || batchTimeoutMs < 1 || warmup < 1 || pollMs < 1) {
        throw new IllegalArgumentException("rates, --seconds, --batch, --batch-timeout-ms, --warmup and --poll-ms are at least 1,"
            + " --checkpoint-ms at least 10");
      }
      return new Options(backends, rates, seconds, perRate, checkpointMs, batch, batchTimeoutMs,
          model.toAbsolutePath().normalize(), warmup, pollMs, bootstrap, esUrl);
    }

    int photos(int rate) {
      return photosPerRate > 0 ? photosPerRate : rate * seconds;
    }

    int total() {
      return warmup + rates.stream().mapToInt(this::photos).sum();
    }
  }

  private record Row(String backend, int rate, int sent, int found, double p50Ms, double p99Ms, double maxMs,
      double effectiveRate, String note) {}

  private final Options options;
  private final MfnSettings settings;
  private final String[] args;
  private final String runId = Long.toString(System.currentTimeMillis(), 36);
  private final List<Row> rows = new ArrayList<>();
  private final List<String> notes = new ArrayList<>();
  private String modelVersion;
  private Path work;
  private Path esData;
  private KafkaBroker broker;
  private ElasticsearchServer esNode;

  private FreshnessBench(Options options, MfnSettings settings, String[] args) {
    this.options = options;
    this.settings = settings;
    this.args = args;
  }

  public static void main(String[] args) {
    int code = 1;
    try {
      MfnSettings settings = MfnSettings.load();
      new FreshnessBench(Options.parse(args, settings), settings, args).run();
      code = 0;
    } catch (Exception e) {
      e.printStackTrace();
    }
    System.exit(code); // Flink, Kafka and HTTP client threads must not keep the JVM alive
  }

  private void run() throws Exception {
    work = Files.createTempDirectory(Files.createDirectories(settings.home().resolve("tmp")), "fresh-bench-");
    try {
      String bootstrap = kafka();
      // the face settings every job of the run gets: the precompute detects with the same ones
      EmbedConfig faces = jobConfig(bootstrap, "precompute", IndexTarget.lucene(work.resolve("lucene")), "unused");
      String version;
      List<Photo> photos;
      try (FaceCropper cropper = new FaceCropper(new ImageDecoder(faces.maxBytes(), faces.maxPixels()),
              faces.detectorConfig().open(faces.detector()), new FaceChooser(faces.minScore(), faces.minFaceSize()));
          Embedder embedder = EmbeddingModels.open(options.model())) {
        version = EmbeddingModels.version(embedder, options.model()); // as EmbedOperator names its index
        modelVersion = version;
        Path lfw = settings.repo().resolve("../shared/data/lfw/images").normalize();
        photos = FreshnessProbes.precompute(lfw, cropper, embedder, version, options.batch(), options.total());
      }
      for (String backend : options.backends()) {
        runBackend(backend, bootstrap, version, photos);
      }
    } finally {
      cleanUp();
      if (!rows.isEmpty()) {
        printTable(); // also what was measured before a failure
      }
    }
  }

  // --- one backend ---

  private void runBackend(String backend, String bootstrap, String version, List<Photo> photos) throws Exception {
    boolean lucene = backend.equals("lucene");
    String topic = "fresh-bench-" + runId + "-" + backend;
    KafkaAccess.prepare(bootstrap, topic, 1, 10_000);
    KafkaAccess.prepare(bootstrap, topic + "-dlq", 1, 10_000);
    ElasticsearchClient client = null;
    String esIndex = null;
    Probe probe = null;
    JobClient job = null;
    try {
      IndexTarget target;
      String label;
      if (lucene) {
        Path root = work.resolve("lucene");
        target = IndexTarget.lucene(root);
        probe = new LuceneProbe(LuceneVectorIndex.readOnly(root, version)); // as `mfn serve` opens it
        label = "Lucene (embedded)";
      } else {
        String url = elasticsearchUrl();
        client = new ElasticsearchVectorIndex.Connection(url, null, null, null, null).client();
        String name = ElasticsearchVectorIndex.indexName(version);
        if (client.indices().exists(e -> e.index(name)).value()) {
          throw new IllegalStateException("Elasticsearch at " + url + " already has the index " + name
              + ": photos already in it would be found at once; the bench needs a cluster without it");
        }
        esIndex = name;
        probe = new EsProbe(client, new ElasticsearchVectorIndex(client, version)); // creates it as the job would
        target = IndexTarget.elasticsearch(url, null, null);
        label = options.esUrl() != null ? "Elasticsearch at " + url
            : "Elasticsearch " + MfnSettings.pinnedVersion("elasticsearch.version");
        notes.add(String.format(Locale.ROOT, "%s: each sink write is one _bulk without refresh "
                + "(ElasticsearchVectorIndex.upsertEventually); the index's index.refresh_interval %s, index.search.idle.after %s",
            label, FreshnessProbes.esSetting(url, name, "index.refresh_interval"),
            FreshnessProbes.esSetting(url, name, "index.search.idle.after")));
      }
      EmbedConfig config = jobConfig(bootstrap, backend, target, topic);
      notes.add(String.format(Locale.ROOT, "%s: embed job parallelism %d, batch %d photos (EmbedConfig.batchSize), batch timeout"
              + " %d ms (batchMillis), checkpoint every %d ms (checkpointMillis); the index sink writes at each checkpoint"
              + " barrier, whenever %d faces are buffered and when the oldest has waited %d ms (index.visible.millis)%s",
          label, config.parallelism(), config.batchSize(),
          config.batchMillis(), config.checkpointMillis(), SINK_MAX_BUFFERED,
          dev.mfn.config.MfnSettings.load().getLong("index.visible.millis"),
          lucene ? "; Lucene: a commit per sink write (LuceneVectorIndex.upsert), the read-only view reopens the last"
              + " commit before each search (LuceneVectorIndex.readOnly)" : ""));
      StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(EmbedJob.flinkConfiguration(config));
      EmbedJob.fromConfig(config).build(env);
      progress("%s: starting the embed job on %s", label, topic);
      job = env.executeAsync("fresh bench embed " + backend);
      measure(label, job, topic, bootstrap, probe, photos);
    } finally {
      FreshnessProbes.stopJob(job, backend);
      if (probe != null) {
        probe.close();
      }
      if (client != null) {
        if (esIndex != null && options.esUrl() != null) {
          String name = esIndex; // someone else's cluster: leave it as it was
          client.indices().delete(d -> d.index(name));
        }
        client.close();
      }
    }
  }

  /** Warm-up, then one phase per rate, each with the next photos of the sequence. */
  private void measure(String label, JobClient job, String topic, String bootstrap, Probe probe, List<Photo> photos)
      throws Exception {
    Pending pending = new Pending();
    BooleanSupplier ended = () -> job.getJobExecutionResult().isDone();
    try (Producer<String, byte[]> producer = KafkaAccess.producer(bootstrap, FreshnessProbes.INLINE_LIMIT + 64 * 1024);
        Poller poller = new Poller(probe, pending, options.pollMs())) {
      long t0 = System.nanoTime();
      List<Sent> warm = send(producer, topic, photos.subList(0, options.warmup()), options.rates().get(0), pending);
      if (!pending.awaitEmpty(System.nanoTime() + WARMUP_TIMEOUT.toNanos(), ended)) {
        throw new IllegalStateException(label + ": warm-up photos not searchable (" + pending.size() + " of " + warm.size()
            + " missing after " + WARMUP_TIMEOUT.toMinutes() + " min); the job: " + FreshnessProbes.failure(job));
      }
      progress("%s: warm (%d photos searchable, %.1f s after the job's submission)", label, warm.size(), seconds(t0));
      long drain = Math.max(TimeUnit.SECONDS.toNanos(120), TimeUnit.MILLISECONDS.toNanos(4 * options.checkpointMs()));
      int next = options.warmup();
      for (int rate : options.rates()) {
        List<Photo> these = photos.subList(next, next + options.photos(rate));
        next += these.size();
        progress("%s: %d photos at %d/s", label, these.size(), rate);
        List<Sent> sent = send(producer, topic, these, rate, pending);
        boolean all = pending.awaitEmpty(System.nanoTime() + drain, ended);
        if (ended.getAsBoolean()) {
          throw new IllegalStateException(label + ": the embed job ended: " + FreshnessProbes.failure(job));
        }
        if (!all) {
          progress("%s: %d of %d photos at %d/s not searchable %d s after the last send: not found", label,
              pending.size(), these.size(), rate, TimeUnit.NANOSECONDS.toSeconds(drain));
          pending.clear();
        }
        rows.add(row(label, rate, sent, poller.errors.get()));
      }
    }
  }

  /** Sends at {@code rate} photos/s, paced on System.nanoTime (no drift: each send has its own due time). */
  private static List<Sent> send(Producer<String, byte[]> producer, String topic, List<Photo> photos, int rate,
      Pending pending) {
    long period = Math.round(1e9 / rate);
    long start = System.nanoTime();
    List<Sent> sent = new ArrayList<>(photos.size());
    for (int i = 0; i < photos.size(); i++) {
      long due = start + i * period;
      for (long wait = due - System.nanoTime(); wait > 0; wait = due - System.nanoTime()) {
        LockSupport.parkNanos(wait);
      }
      Photo p = photos.get(i);
      Sent s = new Sent(p, System.nanoTime()); // the clock starts just before the send
      pending.add(s);
      producer.send(FreshnessProbes.toRecord(topic, p), (meta, error) -> {
        if (error != null) {
          s.failed = true;
          pending.remove(s);
        }
      });
      sent.add(s);
    }
    producer.flush(); // failures are known before the drain
    return sent;
  }

  private static Row row(String backend, int rate, List<Sent> sent, int pollErrors) {
    long[] nanos = sent.stream().filter(s -> s.foundNanos != 0).mapToLong(s -> s.foundNanos - s.sentNanos).sorted().toArray();
    long failed = sent.stream().filter(s -> s.failed).count();
    long missed = sent.stream().filter(s -> s.foundNanos == 0 && s.seenNotInTopK).count();
    double span = sent.size() < 2 ? Double.NaN : (sent.get(sent.size() - 1).sentNanos - sent.get(0).sentNanos) / 1e9;
    List<String> note = new ArrayList<>();
    if (failed > 0) {
      note.add(failed + " sends failed");
    }
    if (missed > 0) {
      note.add(missed + " seen by id but not in the kNN top " + FreshnessProbes.TOP_K);
    }
    if (pollErrors > 0) {
      note.add(pollErrors + " poll errors so far (stderr)");
    }
    return new Row(backend, rate, sent.size(), nanos.length, pct(nanos, 50), pct(nanos, 99), pct(nanos, 100),
        (sent.size() - 1) / span, String.join("; ", note));
  }

  /** As LoadBench and `mfn enroll` build it, unbounded, one task, with this run's batch and checkpoint settings. */
  private EmbedConfig jobConfig(String bootstrap, String backend, IndexTarget target, String topic) throws IOException {
    String detector = settings.get("detector");
    Path blazeface = detector.equals("blazeface") ? new LocalServices(settings).detector().fetch() : null;
    return new EmbedConfig(bootstrap, topic, topic + "-dlq", null, "fresh-bench-" + runId + "-" + backend, false, 1,
        options.model().toString(), target, false, options.batch(), options.batchTimeoutMs(), options.checkpointMs(),
        work.resolve("checkpoints-" + backend).toAbsolutePath().toString(), detector,
        blazeface == null ? null : blazeface.toString(), settings.getPath("detector.yunet.model").toString(),
        settings.getPath("detector.mtcnn.dir").toString(), settings.getDouble("detector.min.score"),
        settings.getDouble("detector.min.face.size"), settings.getLong("decode.max.bytes"), settings.getLong("decode.max.pixels"));
  }

  // --- services and the job ---

  /** --bootstrap, or a broker of our own (as the load bench), stopped at the end. */
  private String kafka() throws IOException {
    if (options.bootstrap() != null) {
      return options.bootstrap();
    }
    broker = new KafkaBroker(work.resolve("kafka"), Ports.free(), Ports.free());
    progress("starting a Kafka broker in %s", broker.dataDir());
    broker.start(false);
    return broker.bootstrapServers();
  }

  /** --es, or a local node of the pinned version (as the load bench), started on first use. */
  private String elasticsearchUrl() throws IOException {
    if (options.esUrl() != null) {
      return options.esUrl();
    }
    if (esNode == null) {
      // its own folder straight under build/tmp: started as root, the node runs as the service user
      esData = Files.createTempDirectory(Files.createDirectories(settings.home().resolve("tmp")), "fresh-bench-es-");
      esNode = new ElasticsearchServer(MfnSettings.pinnedVersion("elasticsearch.version"), settings.home().resolve("elasticsearch"),
          esData, Ports.free(), settings.get("elasticsearch.user"), "2g");
      progress("starting Elasticsearch %s (2 GB heap)", MfnSettings.pinnedVersion("elasticsearch.version"));
      esNode.start();
    }
    return esNode.url();
  }

  private void cleanUp() {
    try {
      if (broker != null) {
        broker.stop();
      }
    } catch (IOException e) {
      progress("stopping the Kafka broker failed: %s", e);
    }
    try {
      if (esNode != null) {
        esNode.stop();
      }
    } catch (IOException e) {
      progress("stopping Elasticsearch failed: %s", e);
    }
    BenchCleanup.deleteTree(esData);
    BenchCleanup.deleteTree(work);
  }

  // --- results ---

  private void printTable() {
    StringBuilder md = new StringBuilder(String.format(Locale.ROOT,
        "%n## Freshness: photo sent to searchable (%s)%n%n    bench/run fresh %s%n%n", java.time.LocalDate.now(),
        String.join(" ", args)));
    md.append(String.format(Locale.ROOT, "`FreshnessBench`: %d cores, Java %s, model %s; one topic partition; %d warm-up photos;"
            + " %s per rate; poll every %d ms; found = a search sees the document by id and a kNN search (k=%d) with the"
            + " photo's own embedding returns it.%n%n", Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.version"), modelVersion, options.warmup(),
        options.photosPerRate() > 0 ? options.photosPerRate() + " photos" : options.seconds() + " s", options.pollMs(),
        FreshnessProbes.TOP_K));
    notes.forEach(n -> md.append("- ").append(n).append('\n'));
    md.append("\n| backend | rate (photos/s) | sent | found | p50 | p99 | max | effective send rate | note |\n");
    md.append("|---|---|---|---|---|---|---|---|---|\n");
    for (Row r : rows) {
      md.append(String.format(Locale.ROOT, "| %s | %d | %d | %d | %.0f ms | %.0f ms | %.0f ms | %.1f/s | %s |%n", r.backend(),
          r.rate(), r.sent(), r.found(), r.p50Ms(), r.p99Ms(), r.maxMs(), r.effectiveRate(), r.note()));
    }
    System.out.print(md);
    System.out.flush();
  }

  /** Nearest-rank percentile of sorted nanoseconds, in ms; NaN when empty. */
  private static double pct(long[] sortedNanos, int p) {
    if (sortedNanos.length == 0) {
      return Double.NaN;
    }
    int rank = (int) Math.ceil(p / 100.0 * sortedNanos.length) - 1;
    return sortedNanos[Math.min(sortedNanos.length - 1, Math.max(0, rank))] / 1e6;
  }

  private static double seconds(long startNanos) {
    return (System.nanoTime() - startNanos) / 1e9;
  }

  static void progress(String format, Object... values) {
    System.err.println(String.format(Locale.ROOT, format, values));
  }
}
