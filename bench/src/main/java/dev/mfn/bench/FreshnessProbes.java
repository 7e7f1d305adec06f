package dev.mfn.bench;

import co.elastic.clients.elasticsearch.ElasticsearchClient;
import co.elastic.clients.elasticsearch._types.FieldValue;
import co.elastic.clients.elasticsearch.core.SearchResponse;
import co.elastic.clients.elasticsearch.core.search.Hit;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mfn.face.crop.FaceCropper;
import dev.mfn.model.Embedder;
import dev.mfn.model.PhotoEmbedder;
import dev.mfn.publish.ImagePublisher;
import dev.mfn.publish.ImageType;
import dev.mfn.publish.PhotoFile;
import dev.mfn.publish.RawImageFactory;
import dev.mfn.records.Subjects;
import dev.mfn.search.enroll.FaceEmbedStage;
import dev.mfn.search.index.ElasticsearchVectorIndex;
import dev.mfn.search.index.FaceDocument;
import dev.mfn.search.index.LuceneVectorIndex;
import dev.mfn.search.index.SearchHit;
import dev.mfn.search.index.VectorIndex;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.apache.flink.core.execution.JobClient;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * The parts of {@link FreshnessBench} around one photo: preparing it before the run (record and
 * query embedding), the photos in flight, how each backend is asked whether a search sees one (as
 * the search service would search it), and the poller thread that confirms each by kNN. Also the
 * job and cluster look-ups the bench prints.
 */
final class FreshnessProbes {
  /** A photo counts as searchable when a kNN search with its own embedding returns it among this many. */
  static final int TOP_K = 10;
  /** Largest record the bench builds inline (LFW photos are far smaller): never by reference. */
  static final long INLINE_LIMIT = 8L << 20;
  private static final ObjectMapper JSON = new ObjectMapper();

  private FreshnessProbes() {}

  /** A photo ready to send (its encoded RawImage) and what the index will hold for it. */
  record Photo(String subject, String contentType, byte[] value, String imageId, String documentId, float[] vector) {}

  /**
   * The first {@code needed} LFW photos (path order) in which the job's detector finds a face, each
   * built as the publisher builds it and embedded as the job will embed it: the document id and
   * vector the index will hold. Query embedding is thereby not part of any freshness.
   */
  static List<Photo> precompute(Path lfw, FaceCropper cropper, Embedder embedder, String version, int batch, int needed)
      throws IOException {
    long t0 = System.nanoTime();
    FaceEmbedStage stage = new FaceEmbedStage(cropper, new PhotoEmbedder(cropper, embedder, true, false, batch),
        version, FaceEmbedStage.Faces.CHOSEN);
    RawImageFactory factory = new RawImageFactory(INLINE_LIMIT, null);
    List<Photo> ready = new ArrayList<>();
    Map<String, Photo> chunk = new LinkedHashMap<>(); // by image id, vector and document id still unknown
    Map<String, byte[]> bytesById = new LinkedHashMap<>();
    int noFace = 0;
    for (PhotoFile f : ImagePublisher.scan(lfw).stream().sorted(Comparator.comparing(p -> p.path().toString())).toList()) {
      if (ready.size() >= needed) {
        break;
      }
      if (f.subject() == null || Subjects.problem(f.subject()) != null || !Files.isRegularFile(f.path())) {
        continue; // what the publisher would skip
      }
      byte[] bytes = Files.readAllBytes(f.path());
      Optional<String> type = ImageType.sniff(bytes);
      if (type.isEmpty()) {
        continue;
      }
      // built now, sent later: the record's timestamp only matters against erasures, which the job has none of
      RawImageFactory.Built built = factory.build(f, bytes, type.get(), Instant.now());
      if (!built.inline()) {
        continue; // by reference it would be a dead letter: the job is given no blob roots
      }
      String id = built.image().getId();
      chunk.put(id, new Photo(f.subject(), type.get(), built.value(), id, null, null));
      bytesById.put(id, bytes);
      if (chunk.size() == batch) {
        noFace += embed(stage, chunk, bytesById, ready);
      }
    }
    noFace += embed(stage, chunk, bytesById, ready);
    if (ready.size() < needed) {
      throw new IllegalStateException("LFW at " + lfw + " has " + ready.size() + " photos with a face; the run needs " + needed);
    }
    FreshnessBench.progress("precomputed %d photos with a face (%d without one left out) in %.1f s", needed, noFace,
        (System.nanoTime() - t0) / 1e9);
    return List.copyOf(ready.subList(0, needed));
  }

  /** Embeds the chunk as the job will; adds the photos with a face to {@code ready}; returns how many had none. */
  private static int embed(FaceEmbedStage stage, Map<String, Photo> chunk, Map<String, byte[]> bytes, List<Photo> ready) {
    List<FaceEmbedStage.Photo> in = chunk.values().stream()
        .map(p -> new FaceEmbedStage.Photo(p.imageId(), p.subject(), bytes.get(p.imageId()))).toList();
    FaceEmbedStage.Result result = stage.embed(in);
    for (FaceDocument d : result.documents()) {
      Photo p = chunk.get(d.imageId());
      ready.add(new Photo(p.subject(), p.contentType(), p.value(), p.imageId(), d.id(), d.vector()));
    }
    int rejected = result.rejected().size();
    chunk.clear();
    bytes.clear();
    return rejected;
  }

  /** The record ImagePublisher would send for the photo: keyed by subject, with its headers. */
  static ProducerRecord<String, byte[]> toRecord(String topic, Photo p) {
    RecordHeaders headers = new RecordHeaders();
    headers.add(ImagePublisher.HEADER_CONTENT_TYPE, p.contentType().getBytes(StandardCharsets.UTF_8));
    headers.add(ImagePublisher.HEADER_RECORD, "RawImage".getBytes(StandardCharsets.UTF_8));
    headers.add(ImagePublisher.HEADER_STORAGE, "inline".getBytes(StandardCharsets.UTF_8));
    return new ProducerRecord<>(topic, null, p.subject(), p.value(), headers);
  }

  /** One send: when it left (System.nanoTime, just before send) and when a search confirmed it (0: not yet). */
  static final class Sent {
    final Photo photo;
    final long sentNanos;
    volatile long foundNanos;
    volatile boolean failed;
    volatile boolean seenNotInTopK;

    Sent(Photo photo, long sentNanos) {
      this.photo = photo;
      this.sentNanos = sentNanos;
    }
  }

  /** How a search sees the index: which pending documents it holds now, and the kNN the service runs. */
  interface Probe extends AutoCloseable {
    /** False when nothing can have become visible since the last call (a cheap pre-check). */
    boolean changed() throws IOException;

    /** The document ids among {@code pending} that a search sees now. */
    Set<String> visible(List<Sent> pending) throws IOException;

    VectorIndex index();

    @Override
    void close() throws IOException;
  }

  /**
   * Lucene through the service's read-only view ({@link LuceneVectorIndex#readOnly}). count() reopens
   * the last commit (as every search does); faces only become visible with a commit, which here
   * always adds faces, so an unchanged count means no photo became visible and the per-photo id
   * look-ups are skipped.
   */
  static final class LuceneProbe implements Probe {
    private final LuceneVectorIndex index;
    private long lastCount = -1;

    LuceneProbe(LuceneVectorIndex index) {
      this.index = index;
    }

    @Override
    public boolean changed() throws IOException {
      long count = index.count();
      boolean changed = count != lastCount;
      lastCount = count;
      return changed;
    }

    @Override
    public Set<String> visible(List<Sent> pending) throws IOException {
      Set<String> seen = new HashSet<>();
      for (Sent s : pending) {
        if (index.crop(s.photo.documentId()) != null) { // a term query on the id; the job stores every crop
          seen.add(s.photo.documentId());
        }
      }
      return seen;
    }

    @Override
    public VectorIndex index() {
      return index;
    }

    @Override
    public void close() throws IOException {
      index.close();
    }
  }

  /**
   * Elasticsearch: a terms search on image_id, near-real-time as every search, with the index's
   * normal refresh; never a GET by id, which is real-time (it reads documents no search sees yet).
   */
  static final class EsProbe implements Probe {
    private final ElasticsearchClient client;
    private final ElasticsearchVectorIndex index;

    EsProbe(ElasticsearchClient client, ElasticsearchVectorIndex index) {
      this.client = client;
      this.index = index;
    }

    @Override
    public boolean changed() {
      return true; // the terms search is one request anyway
    }

    @Override
    public Set<String> visible(List<Sent> pending) throws IOException {
      Set<String> seen = new HashSet<>();
      for (int from = 0; from < pending.size(); from += 1000) {
        List<FieldValue> ids = pending.subList(from, Math.min(pending.size(), from + 1000)).stream()
            .map(p -> FieldValue.of(p.photo.imageId())).toList();
        SearchResponse<Void> page = client.search(s -> s.index(index.index()).size(ids.size())
            .query(q -> q.terms(t -> t.field("image_id").terms(v -> v.value(ids)))).source(src -> src.fetch(false)), Void.class);
        for (Hit<Void> h : page.hits().hits()) {
          seen.add(h.id());
        }
      }
      return seen;
    }

    @Override
    public VectorIndex index() {
      return index;
    }

    @Override
    public void close() throws IOException {
      index.close(); // the client is the bench's, closed by it
    }
  }

  /** The sends not confirmed yet, by document id; the poller and failed sends empty it. */
  static final class Pending {
    private final Map<String, Sent> byId = new ConcurrentHashMap<>();

    void add(Sent s) {
      byId.put(s.photo.documentId(), s);
    }

    List<Sent> snapshot() {
      return new ArrayList<>(byId.values());
    }

    boolean isEmpty() {
      return byId.isEmpty();
    }

    int size() {
      return byId.size();
    }

    synchronized void remove(Sent s) {
      byId.remove(s.photo.documentId());
      if (byId.isEmpty()) {
        notifyAll();
      }
    }

    synchronized void clear() {
      byId.clear();
    }

    /** Waits until empty (true), the deadline passes or the job ends (false); looks at the job once a second. */
    synchronized boolean awaitEmpty(long deadlineNanos, BooleanSupplier jobEnded) throws InterruptedException {
      while (!byId.isEmpty()) {
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0 || jobEnded.getAsBoolean()) {
          return false;
        }
        wait(Math.max(1, Math.min(1_000, TimeUnit.NANOSECONDS.toMillis(left))));
      }
      return true;
    }
  }

  /** Every P ms on its own thread: which pending photos a search sees, each confirmed by kNN. */
  static final class Poller implements AutoCloseable {
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "freshness-poller");
      t.setDaemon(true);
      return t;
    });
    private final Probe probe;
    private final Pending pending;
    final AtomicInteger errors = new AtomicInteger();

    Poller(Probe probe, Pending pending, long pollMillis) {
      this.probe = probe;
      this.pending = pending;
      // fixed delay, not rate: a slow poll (a commit, a kNN per new photo) is never queued up behind
      timer.scheduleWithFixedDelay(this::poll, 0, pollMillis, TimeUnit.MILLISECONDS);
    }

    private void poll() {
      try {
        // changed() before the snapshot: every photo in what it saw was added (before its send) by then
        if (pending.isEmpty() || !probe.changed()) {
          return;
        }
        List<Sent> now = pending.snapshot();
        Set<String> visible = probe.visible(now);
        for (Sent s : now) {
          if (!visible.contains(s.photo.documentId())) {
            continue;
          }
          List<SearchHit> hits = probe.index().search(s.photo.vector(), TOP_K);
          if (hits.stream().anyMatch(h -> h.id().equals(s.photo.documentId()))) {
            s.foundNanos = System.nanoTime(); // the confirmation is the moment it counts as searchable
            pending.remove(s);
          } else {
            s.seenNotInTopK = true;
          }
        }
      } catch (Exception e) { // thrown out of here, it would end the schedule for good
        if (errors.getAndIncrement() == 0) {
          FreshnessBench.progress("poll failed (reported once, counted in the table): %s", e);
        }
      }
    }

    @Override
    public void close() throws InterruptedException {
      timer.shutdownNow();
      timer.awaitTermination(30, TimeUnit.SECONDS);
    }
  }

  /** An index setting as the cluster applies it (its own value, else Elasticsearch's default). */
  static String esSetting(String url, String index, String key) {
    String base = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    try {
      HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
              URI.create(base + "/" + index + "/_settings?include_defaults=true&flat_settings=true"))
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
      JsonNode node = JSON.readTree(response.body()).path(index);
      JsonNode own = node.path("settings").path(key);
      return own.isMissingNode() ? node.path("defaults").path(key).asText("?") + " (default)" : own.asText();
    } catch (IOException | RuntimeException e) {
      return "unknown (" + e + ")";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "unknown";
    }
  }

  /** Cancels the job and waits for it: its sink closes (Lucene: releases the folder's writer). */
  static void stopJob(JobClient job, String backend) {
    if (job == null) {
      return;
    }
    try {
      if (!job.getJobExecutionResult().isDone()) {
        job.cancel().get(60, TimeUnit.SECONDS);
      }
      job.getJobExecutionResult().handle((r, e) -> null).get(120, TimeUnit.SECONDS);
    } catch (Exception e) {
      FreshnessBench.progress("%s: stopping the embed job: %s", backend, e);
    }
  }

  /** "running", "succeeded", or the job's failure in one line. */
  static String failure(JobClient job) {
    return BenchCleanup.failure(job.getJobExecutionResult());
  }
}
