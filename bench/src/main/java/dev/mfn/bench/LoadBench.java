package dev.mfn.bench;

import co.elastic.clients.elasticsearch.ElasticsearchClient;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mfn.cli.Mfn;
import dev.mfn.config.MfnSettings;
import dev.mfn.face.FaceRejected;
import dev.mfn.face.crop.FaceCropper;
import dev.mfn.face.decode.ImageDecoder;
import dev.mfn.face.detect.DetectorConfig;
import dev.mfn.face.detect.FaceChooser;
import dev.mfn.flink.embed.EmbedConfig;
import dev.mfn.flink.embed.EmbedJob;
import dev.mfn.flink.embed.IndexTarget;
import dev.mfn.model.Embedder;
import dev.mfn.model.EmbeddingModels;
import dev.mfn.model.PhotoEmbedder;
import dev.mfn.publish.ImagePublisher;
import dev.mfn.publish.KafkaAccess;
import dev.mfn.publish.PhotoFile;
import dev.mfn.publish.PublishSummary;
import dev.mfn.publish.RawImageFactory;
import dev.mfn.search.FaceSearch;
import dev.mfn.search.enroll.FaceEmbedStage;
import dev.mfn.search.index.ElasticsearchVectorIndex;
import dev.mfn.search.index.FaceDocument;
import dev.mfn.search.index.LuceneVectorIndex;
import dev.mfn.search.index.VectorIndex;
import dev.mfn.search.serve.ApiKey;
import dev.mfn.services.LocalServices;
import dev.mfn.services.elasticsearch.ElasticsearchServer;
import dev.mfn.services.kafka.KafkaBroker;
import dev.mfn.services.process.Ports;
import dev.mfn.testkit.Await;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.producer.Producer;

/**
 * The REST service under load: {@code POST /search?k=5} with real LFW photos from 1, 8 and 32
 * concurrent clients, for S seconds each, over an index of N faces, on the embedded Lucene index
 * and on Elasticsearch; requests/s, latency p50/p99 (every answer, as a client sees it, errors
 * included), errors by status (0 expected) and 429 / 503 separately. Optionally the same with 8
 * clients while the Flink embed job writes into the index being searched.
 *
 * <p>The index: the first photo of each of P LFW people (with two or more photos) embedded for real
 * with the reference model, padded to N faces with seeded random unit vectors under made-up subjects
 * (about five faces each). The padding makes the HNSW graph and the segments as large as a real
 * gallery of N; random 128-d unit vectors are nearly orthogonal to real faces, so they seldom
 * outrank the right person: "top-1 right" checks that the service searched, it is not an accuracy
 * figure. Queries: the second photo of each enrolled person (those in which a face is found).
 *
 * <p>Per backend, in this order: build the index; the bare library on it (FaceSearch in-process on
 * the same model, index and queries, one thread, S/3 seconds), which every stage is compared with;
 * `mfn serve` in this JVM on a free loopback port ({@code --no-follow}, the reference model,
 * threshold 0.3, {@code --rate 0}, W workers); a warm-up; one step per client count; with
 * {@code --with-embed}, the 8-client step again while an embed job (local broker, bounded, the same
 * model) enrolls photos of other LFW people into the same index. On Lucene the service reads the
 * index read-only (as `mfn serve` always does) and the job holds the folder's one writer, so both
 * run in this JVM; the bench closes its own writer before either starts. The "during embed" line
 * counts only the requests asked while the job was running (from its first face in the index to
 * its end, within the step): the job may end before the step does.
 *
 * <p>Elasticsearch: a local node of the pinned version (2 GB heap, loopback) started by the bench
 * and stopped at the end, or {@code --es URL} (then the model version's index must not exist yet:
 * the bench writes N synthetic faces into it, and deletes it at the end). Bulk loads of 5,000
 * without a refresh, one refresh at the end, no force-merge (as the search bench). Lucene: writes of
 * 5,000 with a commit each; closing the writer waits for its merges.
 *
 * <p>Clients and service share the machine's cores: on a small machine the clients' own work
 * (multipart bodies, JSON) is part of what is measured. Progress goes to stderr; result lines and, at
 * the end, a markdown table for bench/RESULTS.md go to stdout.
 *
 * <p>Usage: {@code bench/run load [--faces 100000] [--seconds 60] [--clients 1,8,32]
 * [--backends lucene,es] [--workers 2] [--people 200] [--with-embed] [--embed-photos 300]
 * [--warmup 10] [--es URL]}
 */
public final class LoadBench {
  private static final int K = 5;
  private static final double THRESHOLD = 0.3;
  private static final long SEED = 42;
  /** Documents per write: a Lucene commit or an Elasticsearch bulk request each (as SearchBench). */
  private static final int WRITE_BATCH = 5_000;
  /** Faces per made-up subject of the padding. */
  private static final int FACES_PER_SYNTHETIC_SUBJECT = 5;
  private static final int EMBED_CLIENTS = 8;
  private static final String BOUNDARY = "mfn-load-bench-boundary";
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The command line. */
  private record Options(int faces, int seconds, List<Integer> clients, List<String> backends, int workers,
      boolean withEmbed, int people, int embedPhotos, int warmup, String esUrl) {
    static Options parse(String[] args) {
      int faces = 100_000;
      int seconds = 60;
      List<Integer> clients = List.of(1, 8, 32);
      List<String> backends = List.of("lucene", "es");
      int workers = 2;
      boolean withEmbed = false;
      int people = 200;
      int embedPhotos = 300;
      int warmup = 10;
      String esUrl = null;
      for (int i = 0; i < args.length; i++) {
        switch (args[i]) {
          case "--faces" -> faces = Integer.parseInt(args[++i]);
          case "--seconds" -> seconds = Integer.parseInt(args[++i]);
          case "--clients" -> clients = Arrays.stream(args[++i].split(",")).map(String::trim).map(Integer::valueOf).toList();
          case "--backends", "--backend" -> backends = Arrays.stream(args[++i].split(",")).map(String::trim)
              .map(b -> b.equals("elasticsearch") ? "es" : b).toList();
          case "--workers" -> workers = Integer.parseInt(args[++i]);
          case "--with-embed" -> withEmbed = true;
          case "--people" -> people = Integer.parseInt(args[++i]);
          case "--embed-photos" -> embedPhotos = Integer.parseInt(args[++i]);
          case "--warmup" -> warmup = Integer.parseInt(args[++i]);
          case "--es" -> esUrl = args[++i];
          default -> throw new IllegalArgumentException("unknown option " + args[i]);
        }
      }
      for (String b : backends) {
        if (!b.equals("lucene") && !b.equals("es")) {
          throw new IllegalArgumentException("unknown backend " + b + " (lucene, es)");
        }
      }
      if (seconds < 1 || workers < 1 || people < 1 || clients.stream().anyMatch(c -> c < 1)) {
        throw new IllegalArgumentException("--seconds, --workers, --people and every --clients count are at least 1");
      }
      return new Options(faces, seconds, clients, backends, workers, withEmbed, people, embedPhotos, warmup, esUrl);
    }
  }

  /** A query photo, the person it shows, and its multipart body, made once so the clients only send. */
  private record Query(String subject, byte[] photo, byte[] body) {}

  /** One answer: when it was asked (System.nanoTime), how long it took, its status (-1: no answer). */
  private record Answer(long askedNanos, long micros, int status, boolean right, String error) {}

  /** One timed run of clients: its answers and when it began and ended (System.nanoTime). */
  private record Step(long startNanos, long endNanos, List<Answer> answers) {}

  /** A result line (and a row of the final table). */
  private record Line(String backend, String step, int clients, long requests, double perSecond, double p50Ms,
      double p99Ms, long errors, String errorsByStatus, long tooMany, long busy, double top1, String note) {}

  /** The face core the bench itself uses: enrolment, the query check and the bare library. */
  private record Core(FaceEmbedStage chosen, FaceEmbedStage all, String version, int dimension) {}

  private final Options options;
  private final MfnSettings settings;
  private final String[] args;
  private final Path lfw;
  private final Path reference;
  private final String key = randomKey();
  private final String runId = Long.toString(System.currentTimeMillis(), 36);
  private final List<Line> lines = new ArrayList<>();
  private final List<String> notes = new ArrayList<>();
  private Path work;
  private Path esData;
  private ElasticsearchServer esNode;
  private KafkaBroker broker;
  private String embedTopic;

  private LoadBench(Options options, MfnSettings settings, String[] args) {
    this.options = options;
    this.settings = settings;
    this.args = args;
    this.lfw = settings.repo().resolve("../shared/data/lfw/images").normalize();
    this.reference = settings.repo().resolve("../shared/models/reference/MobileFaceNet_paddlex.onnx").toAbsolutePath().normalize();
  }

  public static void main(String[] args) {
    int code = 1;
    try {
      new LoadBench(Options.parse(args), MfnSettings.load(), args).run();
      code = 0;
    } catch (Exception | AssertionError e) { // Await reports a timeout as an AssertionError
      e.printStackTrace();
    }
    // service, Flink and HTTP client threads that outlive their owners must not keep the JVM (and
    // so the bench) running after the results are out
    System.exit(code);
  }

  private void run() throws Exception {
    work = Files.createTempDirectory(Files.createDirectories(settings.home().resolve("tmp")), "load-bench-");
    progress("load bench: %s; work folder %s", String.join(" ", args), work);
    try (FaceCropper cropper = openCropper(); Embedder embedder = EmbeddingModels.open(reference)) {
      String version = EmbeddingModels.version(embedder, reference);
      PhotoEmbedder photos = new PhotoEmbedder(cropper, embedder, true, false, settings.getInt("embed.batch.size"));
      // the service indexes the chosen face at enrolment and searches every face of a query: the same here
      Core core = new Core(new FaceEmbedStage(cropper, photos, version, FaceEmbedStage.Faces.CHOSEN),
          new FaceEmbedStage(cropper, photos, version, FaceEmbedStage.Faces.ALL), version, embedder.dimension());
      List<Path> persons = persons(options.people());
      List<FaceDocument> enrolled = enroll(core, persons);
      List<Query> queries = queries(core, persons, enrolled);
      if (queries.isEmpty()) {
        throw new IllegalStateException("no query photo with a face among " + persons.size() + " people");
      }
      if (options.withEmbed()) {
        startBrokerAndPublish(persons);
      }
      for (String backend : options.backends()) {
        runBackend(backend, core, enrolled, queries);
      }
    } finally {
      cleanUp();
    }
    printTable();
  }

  // --- the face core and the photos ---

  /** A detector and cropper as `mfn serve` opens them (the same settings), for the bare library. */
  private FaceCropper openCropper() throws IOException {
    double minScore = settings.getDouble("detector.min.score");
    String detector = settings.get("detector");
    var files = new LocalServices(settings).detector();
    DetectorConfig detectors = new DetectorConfig(detector.equals("blazeface") ? files.fetch() : files.cacheDir(),
        settings.getPath("detector.yunet.model"), settings.getPath("detector.mtcnn.dir"), minScore);
    return new FaceCropper(new ImageDecoder(settings.getLong("decode.max.bytes"), settings.getLong("decode.max.pixels")),
        detectors.open(detector), new FaceChooser(minScore, settings.getDouble("detector.min.face.size")));
  }

  /** The first {@code count} LFW people (name order) with two or more photos. */
  private List<Path> persons(int count) throws IOException {
    try (Stream<Path> all = Files.list(lfw)) {
      List<Path> persons = all.sorted().filter(p -> photos(p).size() >= 2).limit(count).toList();
      progress("%d LFW people with two or more photos (asked for %d)", persons.size(), count);
      return persons;
    }
  }

  /** Each person's first photo, embedded for real (the chosen face), in batches of 32 photos. */
  private List<FaceDocument> enroll(Core core, List<Path> persons) throws IOException {
    long t0 = System.nanoTime();
    List<FaceDocument> documents = new ArrayList<>();
    List<FaceEmbedStage.Photo> batch = new ArrayList<>();
    for (Path person : persons) {
      String name = person.getFileName().toString();
      batch.add(new FaceEmbedStage.Photo(name + "/0", name, Files.readAllBytes(photos(person).get(0))));
      if (batch.size() == 32) {
        documents.addAll(core.chosen().embed(batch).documents());
        batch.clear();
      }
    }
    documents.addAll(core.chosen().embed(batch).documents());
    progress("enrolled %d of %d people's first photos with %s in %.1f s", documents.size(), persons.size(), core.version(),
        seconds(t0));
    return documents;
  }

  /**
   * The enrolled people's second photos in which the service will find a face: a photo without one
   * is a 422 by design, which would read as an error of the service under load.
   */
  private List<Query> queries(Core core, List<Path> persons, List<FaceDocument> enrolled) throws IOException {
    Set<String> subjects = enrolled.stream().map(FaceDocument::subject).collect(Collectors.toSet());
    List<Query> queries = new ArrayList<>();
    int dropped = 0;
    for (Path person : persons) {
      String name = person.getFileName().toString();
      if (!subjects.contains(name)) {
        continue;
      }
      byte[] photo = Files.readAllBytes(photos(person).get(1));
      if (core.all().embed(List.of(new FaceEmbedStage.Photo("query", null, photo))).documents().isEmpty()) {
        dropped++;
        continue;
      }
      queries.add(new Query(name, photo, multipart(photo)));
    }
    progress("%d query photos (second photos; %d without a face left out)", queries.size(), dropped);
    return queries;
  }

  // --- one backend ---

  private void runBackend(String backend, Core core, List<FaceDocument> enrolled, List<Query> queries) throws Exception {
    boolean lucene = backend.equals("lucene");
    Path root = work.resolve("lucene");
    String label = lucene ? "Lucene (embedded)"
        : options.esUrl() != null ? "Elasticsearch at " + options.esUrl()
        : "Elasticsearch " + MfnSettings.pinnedVersion("elasticsearch.version");
    ElasticsearchClient client = null;
    String esUrl = null;
    String esIndex = null;
    VectorIndex reader = null;
    Service service = null;
    try {
      long t0 = System.nanoTime();
      if (lucene) {
        // our writer is closed before the service and the embed job open the folder: one writer per folder
        try (LuceneVectorIndex writer = new LuceneVectorIndex(root, core.version())) {
          fill(writer, enrolled, core);
        }
        reader = LuceneVectorIndex.readOnly(root, core.version());
      } else {
        esUrl = elasticsearchUrl();
        client = new ElasticsearchVectorIndex.Connection(esUrl, null, null, null, null).client();
        String name = ElasticsearchVectorIndex.indexName(core.version());
        if (client.indices().exists(e -> e.index(name)).value()) {
          throw new IllegalStateException("Elasticsearch at " + esUrl + " already has the index " + name + ": the bench writes "
              + options.faces() + " synthetic faces into the index of the model version it serves, so it needs a cluster without one");
        }
        ElasticsearchVectorIndex index = new ElasticsearchVectorIndex(client, core.version());
        esIndex = name;
        reader = index;
        fill(index, enrolled, core);
      }
      long count = reader.count();
      notes.add(String.format(Locale.ROOT, "%s: %,d faces (%d enrolled from LFW, the rest synthetic) written in %.1f s",
          label, count, enrolled.size(), seconds(t0)));
      progress("%s", notes.get(notes.size() - 1));

      report(bare(label, new FaceSearch(core.all(), reader, THRESHOLD), queries));

      // Lucene: an empty --es, so that an index.es.url setting cannot turn the service to Elasticsearch
      service = new Service(settings, serveArguments(lucene ? List.of("--index", root.toString(), "--es", "")
          : List.of("--es", esUrl)));
      service.awaitHealthy(Duration.ofMinutes(3));
      if (options.warmup() > 0) {
        progress("%s: warm-up, %d clients for %d s (not counted)", label, options.workers(), options.warmup());
        load(service.base, queries, options.workers(), options.warmup());
      }
      for (int clients : options.clients()) {
        progress("%s: %d clients for %d s", label, clients, options.seconds());
        Step step = load(service.base, queries, clients, options.seconds());
        report(line(label, "POST /search", clients, step.answers(), seconds(step.startNanos(), step.endNanos()), ""));
      }
      if (options.withEmbed()) {
        IndexTarget target = lucene ? IndexTarget.lucene(root) : IndexTarget.elasticsearch(esUrl, null, null);
        Line during = duringEmbed(label, backend, target, reader, service.base, queries);
        if (during != null) {
          report(during);
        }
      }
    } finally {
      if (service != null) {
        service.close();
      }
      if (reader != null) {
        reader.close();
      }
      if (client != null) {
        if (esIndex != null && options.esUrl() != null) {
          // someone else's cluster: leave it as it was (a node we started goes with its folder)
          String name = esIndex;
          client.indices().delete(d -> d.index(name));
        }
        client.close();
      }
    }
  }

  /** The enrolled faces, then seeded random unit vectors up to --faces, in writes of WRITE_BATCH. */
  private void fill(VectorIndex index, List<FaceDocument> enrolled, Core core) throws IOException {
    write(index, enrolled);
    Random rng = new Random(SEED); // the same padding on every backend and every run
    int synthetic = Math.max(0, options.faces() - enrolled.size());
    int subjects = Math.max(1, synthetic / FACES_PER_SYNTHETIC_SUBJECT);
    List<FaceDocument> batch = new ArrayList<>(WRITE_BATCH);
    for (int i = 0; i < synthetic; i++) {
      batch.add(new FaceDocument("synthetic-" + i, 0, "synthetic-" + rng.nextInt(subjects), core.version(),
          unitVector(rng, enrolled.get(0).vector().length), null, null));
      if (batch.size() == WRITE_BATCH) {
        write(index, batch);
        batch = new ArrayList<>(WRITE_BATCH);
        if ((i + 1) % 20_000 == 0) {
          progress("  %,d of %,d synthetic faces written", i + 1, synthetic);
        }
      }
    }
    write(index, batch);
    if (index instanceof ElasticsearchVectorIndex es) {
      es.refresh();
    }
  }

  /** Elasticsearch: bulk loads without a refresh per request (one at the end); Lucene: upserts. */
  private static void write(VectorIndex index, List<FaceDocument> documents) throws IOException {
    if (documents.isEmpty()) {
      return;
    }
    if (index instanceof ElasticsearchVectorIndex es) {
      es.load(documents);
    } else {
      index.upsert(documents);
    }
  }

  /** A point uniformly on the unit sphere: normalised Gaussian components. */
  private static float[] unitVector(Random rng, int dimension) {
    float[] v = new float[dimension];
    for (int d = 0; d < dimension; d++) {
      v[d] = (float) rng.nextGaussian();
    }
    return Embedder.normalize(v);
  }

  /** The local node, started on first use, or --es. */
  private String elasticsearchUrl() throws IOException {
    if (options.esUrl() != null) {
      return options.esUrl();
    }
    if (esNode == null) {
      // its own temp folder straight under build/tmp, not inside the bench's owner-only work folder:
      // started as root, the node runs as the service user, who must reach its data folder
      esData = Files.createTempDirectory(Files.createDirectories(settings.home().resolve("tmp")), "load-bench-es-");
      esNode = new ElasticsearchServer(MfnSettings.pinnedVersion("elasticsearch.version"), settings.home().resolve("elasticsearch"),
          esData, Ports.free(), settings.get("elasticsearch.user"), "2g");
      progress("starting Elasticsearch %s (2 GB heap) in %s", MfnSettings.pinnedVersion("elasticsearch.version"), esData);
      esNode.start();
      progress("Elasticsearch at %s", esNode.url());
    }
    return esNode.url();
  }

  // --- the bare library ---

  /** FaceSearch in this thread on the same index, model and queries, for a third of a step. */
  private Line bare(String label, FaceSearch search, List<Query> queries) {
    int seconds = Math.max(1, options.seconds() / 3);
    progress("%s: bare FaceSearch in-process, 1 thread, %d s", label, seconds);
    for (int i = 0; i < Math.min(10, queries.size()); i++) {
      ask(search, queries.get(i)); // warm-up, not counted
    }
    List<Answer> answers = new ArrayList<>();
    long start = System.nanoTime();
    long end = start + TimeUnit.SECONDS.toNanos(seconds);
    for (int i = 0; System.nanoTime() < end; i++) {
      answers.add(ask(search, queries.get(i % queries.size())));
    }
    return line(label, "bare FaceSearch (in-process)", 1, answers, seconds(start), "");
  }

  private static Answer ask(FaceSearch search, Query q) {
    long asked = System.nanoTime();
    try {
      List<FaceSearch.FaceMatches> matches = search.search(q.photo(), K);
      long micros = (System.nanoTime() - asked) / 1_000;
      boolean right = matches.stream().anyMatch(m -> !m.hits().isEmpty() && q.subject().equals(m.hits().get(0).subject()));
      return new Answer(asked, micros, 200, right, null);
    } catch (FaceRejected e) {
      // the status the service gives the same refusal
      return new Answer(asked, (System.nanoTime() - asked) / 1_000, 422, false, e.getMessage());
    } catch (IOException | RuntimeException e) {
      return new Answer(asked, (System.nanoTime() - asked) / 1_000, 500, false, e.toString());
    }
  }

  // --- the service ---

  private List<String> serveArguments(List<String> index) {
    List<String> arguments = new ArrayList<>(List.of("serve"));
    arguments.addAll(index);
    long bound = options.warmup() + (long) options.clients().size() * (options.seconds() + 30)
        + (options.withEmbed() ? options.seconds() + 900 : 0) + 300;
    arguments.addAll(List.of("--no-follow", "--model", reference.toString(), "--threshold", String.valueOf(THRESHOLD),
        "--rate", "0", "--workers", String.valueOf(options.workers()), "--api-key-file", keyFile().toString(),
        // a safety net only: the bench stops the service itself when its steps are done
        "--for-seconds", String.valueOf(bound)));
    return arguments;
  }

  private Path keyFile() {
    try {
      Path file = work.resolve("api-key");
      return Files.exists(file) ? file : Files.writeString(file, key + "\n");
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * `mfn serve` in a thread of this JVM. It runs until --for-seconds; the bench stops it sooner by
   * interrupting its thread, which ends its wait: it closes its server and models and reports the
   * interrupt as its exit (one "serve: InterruptedException" line on stderr).
   */
  private static final class Service implements AutoCloseable {
    final String base;
    private final Thread thread;
    private final AtomicInteger exit = new AtomicInteger(Integer.MIN_VALUE);

    Service(MfnSettings settings, List<String> arguments) {
      int port = Ports.free();
      List<String> withPort = new ArrayList<>(arguments);
      withPort.addAll(List.of("--port", String.valueOf(port)));
      this.base = "http://127.0.0.1:" + port;
      // its own lines go to stderr with the progress: stdout carries only results
      PrintWriter log = new PrintWriter(System.err, true);
      this.thread = new Thread(() -> exit.set(Mfn.run(settings, log, log, withPort.toArray(String[]::new))), "mfn-serve-" + port);
      thread.setDaemon(true);
      progress("mfn %s", String.join(" ", withPort));
      thread.start();
    }

    void awaitHealthy(Duration timeout) {
      HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2)).build();
      Await.until("the service at " + base, timeout, () -> {
        if (!thread.isAlive()) {
          throw new IllegalStateException("mfn serve ended with exit code " + exit.get() + " before it answered /health");
        }
        try {
          return http.send(HttpRequest.newBuilder(URI.create(base + "/health")).timeout(Duration.ofSeconds(5)).build(),
              HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
        } catch (IOException e) {
          return false;
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false;
        }
      });
      progress("service up at %s", base);
    }

    @Override
    public void close() throws InterruptedException {
      progress("stopping the service at %s", base);
      thread.interrupt();
      thread.join(TimeUnit.SECONDS.toMillis(60));
    }
  }

  // --- load over HTTP ---

  /**
   * {@code clients} threads, each with its own HTTP client (its own connection), asking in turn
   * through the queries for {@code seconds}; a request in flight at the end is waited for.
   * (testkit's SearchLoad asks for k=1; this bench asks for k=5, what a person searching asks.)
   */
  private Step load(String base, List<Query> queries, int clients, int seconds) throws InterruptedException {
    List<Answer> answers = Collections.synchronizedList(new ArrayList<>());
    long start = System.nanoTime();
    long end = start + TimeUnit.SECONDS.toNanos(seconds);
    ExecutorService pool = Executors.newFixedThreadPool(clients);
    for (int c = 0; c < clients; c++) {
      int client = c;
      pool.submit(() -> askInTurn(base, queries, client, clients, end, answers));
    }
    pool.shutdown();
    if (!pool.awaitTermination(seconds + 120L, TimeUnit.SECONDS)) {
      pool.shutdownNow(); // each request times out after 60 s: this is a hung client
    }
    long done = System.nanoTime();
    synchronized (answers) {
      return new Step(start, done, new ArrayList<>(answers));
    }
  }

  private void askInTurn(String base, List<Query> queries, int client, int clients, long end, List<Answer> answers) {
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    URI uri = URI.create(base + "/search?k=" + K);
    for (int i = client; System.nanoTime() < end; i += clients) {
      Query q = queries.get(i % queries.size());
      HttpRequest request = HttpRequest.newBuilder(uri)
          .header("Content-Type", "multipart/form-data; boundary=" + BOUNDARY)
          .header(ApiKey.HEADER, key)
          .timeout(Duration.ofSeconds(60))
          .POST(HttpRequest.BodyPublishers.ofByteArray(q.body())).build();
      long asked = System.nanoTime();
      try {
        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
        long micros = (System.nanoTime() - asked) / 1_000; // before the bench reads the answer
        int status = response.statusCode();
        answers.add(status == 200 ? new Answer(asked, micros, 200, topMatchIs(response.body(), q.subject()), null)
            : new Answer(asked, micros, status, false, abbreviate(response.body())));
      } catch (IOException e) {
        answers.add(new Answer(asked, (System.nanoTime() - asked) / 1_000, -1, false, e.toString()));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /** True when the best match of some face of the answer is the query's person (threshold aside). */
  private static boolean topMatchIs(String body, String subject) {
    try {
      for (JsonNode face : JSON.readTree(body).path("faces")) {
        if (subject.equals(face.path("matches").path(0).path("subject").asText(null))) {
          return true;
        }
      }
    } catch (IOException e) {
      return false;
    }
    return false;
  }

  private static byte[] multipart(byte[] photo) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(("--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"q.jpg\"\r\n"
        + "Content-Type: application/octet-stream\r\n\r\n").getBytes(StandardCharsets.UTF_8));
    out.write(photo);
    out.write(("\r\n--" + BOUNDARY + "--\r\n").getBytes(StandardCharsets.UTF_8));
    return out.toByteArray();
  }

  // --- the embed job beside the load ---

  /** A local broker, and photos of people who are not enrolled on one topic that every backend's job reads. */
  private void startBrokerAndPublish(List<Path> persons) throws Exception {
    broker = new KafkaBroker(work.resolve("kafka"), Ports.free(), Ports.free());
    progress("starting a Kafka broker in %s", broker.dataDir());
    broker.start(false);
    String bootstrap = broker.bootstrapServers();
    embedTopic = "load-bench-embed-" + runId;
    KafkaAccess.prepare(bootstrap, embedTopic, 1, 10_000);
    KafkaAccess.prepare(bootstrap, embedTopic + "-dlq", 1, 10_000);
    Set<String> chosen = new HashSet<>();
    persons.forEach(p -> chosen.add(p.getFileName().toString()));
    List<PhotoFile> others = ImagePublisher.scan(lfw).stream()
        .filter(p -> p.subject() != null && !chosen.contains(p.subject()))
        .sorted(Comparator.comparing(p -> p.path().toString()))
        .limit(options.embedPhotos()).toList();
    try (Producer<String, byte[]> producer = KafkaAccess.producer(bootstrap, 8L << 20)) {
      PublishSummary published = new ImagePublisher(producer, new RawImageFactory(8L << 20, null), 64L << 20)
          .publish(others, embedTopic, f -> {});
      progress("published %d photos of people who are not enrolled to %s at %s", published.sent(), embedTopic, bootstrap);
    }
  }

  /**
   * The 8-client step while the embed job writes: the job starts, the step begins once its first
   * face is in the index (so the job's start-up is not counted as "writing"), and the line counts the
   * requests asked until the job ended or the step did. A job still running is cancelled.
   */
  private Line duringEmbed(String label, String backend, IndexTarget target, VectorIndex reader, String base,
      List<Query> queries) throws Exception {
    EmbedConfig config = embedConfig(backend, target);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(EmbedJob.flinkConfiguration(config));
    EmbedJob.fromConfig(config).build(env);
    long before = reader.count();
    progress("%s: starting the embed job (%s, group %s)", label, embedTopic, config.groupId());
    JobClient job = env.executeAsync("load bench embed " + backend);
    CompletableFuture<JobExecutionResult> result = job.getJobExecutionResult();
    CompletableFuture<Long> ended = result.handle((r, e) -> System.nanoTime());
    try {
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
      while (reader.count() <= before && !ended.isDone() && System.nanoTime() < deadline) {
        Thread.sleep(250);
      }
      long atStart = reader.count();
      if (atStart <= before) {
        String why = ended.isDone() ? "the job ended without writing a face: " + BenchCleanup.failure(result) : "no face written in 5 minutes";
        notes.add(label + ": no line during embed: " + why);
        progress("%s", notes.get(notes.size() - 1));
        return null;
      }
      progress("%s: the job writes (%d faces so far); %d clients for %d s", label, atStart - before, EMBED_CLIENTS, options.seconds());
      Step step = load(base, queries, EMBED_CLIENTS, options.seconds());
      long atEnd = reader.count();
      boolean finished = ended.isDone();
      long windowEnd = finished ? Math.min(step.endNanos(), ended.getNow(step.endNanos())) : step.endNanos();
      if (windowEnd <= step.startNanos()) {
        notes.add(label + ": no line during embed: the job ended (" + BenchCleanup.failure(result) + ") before the step began; "
            + "more photos (--embed-photos) keep it writing longer");
        progress("%s", notes.get(notes.size() - 1));
        return null;
      }
      List<Answer> inWindow = step.answers().stream()
          .filter(a -> a.askedNanos() >= step.startNanos() && a.askedNanos() < windowEnd).toList();
      String note = String.format(Locale.ROOT, "the job wrote %d faces in the step%s", atEnd - atStart,
          finished ? String.format(Locale.ROOT, " and ended at %.0f s of %d (%s); requests after its end not counted",
              seconds(step.startNanos(), windowEnd), options.seconds(), BenchCleanup.failure(result))
              : "; still writing at the end (cancelled)");
      return line(label, "POST /search during embed", EMBED_CLIENTS, inWindow, seconds(step.startNanos(), windowEnd), note);
    } finally {
      if (!ended.isDone()) {
        progress("%s: cancelling the embed job", label);
        try {
          job.cancel().get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
          progress("%s: cancelling the embed job failed: %s", label, e);
        }
      }
      try {
        // its index sink closes (on Lucene: releases the folder's writer) before the next backend
        ended.get(120, TimeUnit.SECONDS);
      } catch (Exception e) {
        progress("%s: the embed job did not end within 120 s: %s", label, e);
      }
    }
  }

  /** As `mfn enroll` builds it, bounded, one task, into {@code target}, with the bench's model and settings. */
  private EmbedConfig embedConfig(String backend, IndexTarget target) throws IOException {
    String detector = settings.get("detector");
    Path blazeface = detector.equals("blazeface") ? new LocalServices(settings).detector().fetch() : null;
    return new EmbedConfig(broker.bootstrapServers(), embedTopic, embedTopic + "-dlq", null,
        "load-bench-" + runId + "-" + backend, true, 1, reference.toString(), target, false,
        settings.getInt("embed.batch.size"), 200, 5_000, work.resolve("checkpoints-" + backend).toAbsolutePath().toString(),
        detector, blazeface == null ? null : blazeface.toString(),
        settings.getPath("detector.yunet.model").toString(), settings.getPath("detector.mtcnn.dir").toString(),
        settings.getDouble("detector.min.score"), settings.getDouble("detector.min.face.size"),
        settings.getLong("decode.max.bytes"), settings.getLong("decode.max.pixels"));
  }

  // --- results ---

  /**
   * Requests/s over the given seconds; p50/p99 of every answer (errors included: what a client
   * waits); errors by status; top-1 right among the 200 answers.
   */
  private static Line line(String backend, String step, int clients, List<Answer> answers, double seconds, String note) {
    List<Long> micros = answers.stream().map(Answer::micros).toList();
    Map<Integer, Long> errors = new TreeMap<>();
    Map<Integer, String> examples = new LinkedHashMap<>();
    long ok = 0;
    long right = 0;
    for (Answer a : answers) {
      if (a.status() == 200) {
        ok++;
        right += a.right() ? 1 : 0;
      } else {
        errors.merge(a.status(), 1L, Long::sum);
        examples.putIfAbsent(a.status(), a.error());
      }
    }
    examples.forEach((status, error) -> progress("  %s, %d clients: first %s answer: %s", backend, clients,
        status < 0 ? "failed" : String.valueOf(status), error));
    String byStatus = errors.entrySet().stream()
        .map(e -> (e.getKey() < 0 ? "no answer" : e.getKey().toString()) + ": " + e.getValue())
        .collect(Collectors.joining(", "));
    long errorCount = errors.values().stream().mapToLong(Long::longValue).sum();
    return new Line(backend, step, clients, answers.size(), answers.size() / Math.max(seconds, 1e-9),
        pct(micros, 50) / 1000, pct(micros, 99) / 1000, errorCount, byStatus, errors.getOrDefault(429, 0L),
        errors.getOrDefault(503, 0L), ok == 0 ? Double.NaN : 100.0 * right / ok, note);
  }

  private void report(Line l) {
    lines.add(l);
    System.out.printf(Locale.ROOT, "%-22s %-30s %2d clients: %,7d requests %7.1f req/s  p50 %7.1f ms  p99 %7.1f ms  errors %d%s"
            + " (429: %d, 503: %d)  top-1 right %.1f%%%s%n",
        l.backend(), l.step(), l.clients(), l.requests(), l.perSecond(), l.p50Ms(), l.p99Ms(), l.errors(),
        l.errorsByStatus().isEmpty() ? "" : " [" + l.errorsByStatus() + "]", l.tooMany(), l.busy(), l.top1(),
        l.note().isEmpty() ? "" : "; " + l.note());
    System.out.flush();
  }

  /** The machine, the date, the command and the table, to paste into bench/RESULTS.md. */
  private void printTable() {
    StringBuilder md = new StringBuilder();
    md.append(String.format(Locale.ROOT, "%n## Load: POST /search with %s clients on %s (%s)%n%n",
        options.clients().stream().map(String::valueOf).collect(Collectors.joining(", ")),
        String.join(" and ", options.backends()), java.time.LocalDate.now()));
    md.append("    bench/run load ").append(String.join(" ", args)).append("\n\n");
    md.append(String.format(Locale.ROOT, "`LoadBench`: %d cores, Java %s (%s), %s %s; %,d faces per index, %d s per step, "
            + "`mfn serve` in the bench's JVM on loopback with %d workers, `--rate 0`, threshold %.2f, k=%d.%n%n",
        Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"), System.getProperty("java.vendor"),
        System.getProperty("os.name"), System.getProperty("os.arch"), options.faces(), options.seconds(),
        options.workers(), THRESHOLD, K));
    for (String note : notes) {
      md.append("- ").append(note).append('\n');
    }
    md.append("\n| backend | step | clients | requests | req/s | p50 | p99 | errors | 429 / 503 | top-1 right | note |\n");
    md.append("|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (Line l : lines) {
      md.append(String.format(Locale.ROOT, "| %s | %s | %d | %,d | %.1f | %.1f ms | %.1f ms | %d%s | %d / %d | %.1f%% | %s |%n",
          l.backend(), l.step(), l.clients(), l.requests(), l.perSecond(), l.p50Ms(), l.p99Ms(), l.errors(),
          l.errorsByStatus().isEmpty() ? "" : " (" + l.errorsByStatus() + ")", l.tooMany(), l.busy(), l.top1(), l.note()));
    }
    System.out.print(md);
    System.out.flush();
  }

  // --- clean-up and helpers ---

  /** Stops what the bench started and deletes its folders; a failure here is reported, not thrown. */
  private void cleanUp() {
    if (broker != null) {
      try {
        broker.stop();
      } catch (IOException e) {
        progress("stopping the Kafka broker failed: %s", e);
      }
    }
    if (esNode != null) {
      try {
        progress("stopping Elasticsearch");
        esNode.stop();
      } catch (IOException e) {
        progress("stopping Elasticsearch failed: %s", e);
      }
    }
    BenchCleanup.deleteTree(esData);
    BenchCleanup.deleteTree(work);
  }

  private static List<Path> photos(Path person) {
    try (Stream<Path> files = Files.list(person)) {
      return files.sorted().toList();
    } catch (IOException e) {
      return List.of();
    }
  }

  private static double pct(List<Long> values, int p) {
    if (values.isEmpty()) {
      return Double.NaN;
    }
    long[] sorted = values.stream().mapToLong(Long::longValue).sorted().toArray();
    return sorted[Math.min(sorted.length - 1, Math.max(0, (int) Math.ceil(p / 100.0 * sorted.length) - 1))];
  }

  /** A key with every scope for this run only (the service needs one of at least 16 characters). */
  private static String randomKey() {
    byte[] bytes = new byte[16];
    new SecureRandom().nextBytes(bytes);
    return HexFormat.of().formatHex(bytes);
  }

  private static String abbreviate(String text) {
    return text == null || text.length() <= 200 ? text : text.substring(0, 200) + "...";
  }

  private static double seconds(long startNanos) {
    return seconds(startNanos, System.nanoTime());
  }

  private static double seconds(long startNanos, long endNanos) {
    return (endNanos - startNanos) / 1e9;
  }

  private static void progress(String format, Object... values) {
    System.err.println(String.format(Locale.ROOT, format, values));
  }
}
