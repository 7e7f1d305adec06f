package dev.mfn.search.serve;

import dev.mfn.face.FaceRejected;
import dev.mfn.search.FaceSearch;
import dev.mfn.search.index.FaceDocument;
import dev.mfn.search.index.SearchHit;
import dev.mfn.search.index.SubjectPage;
import dev.mfn.search.index.SubjectSummary;
import dev.mfn.search.index.VectorIndex;
import dev.mfn.search.verify.FaceVerifier;
import dev.mfn.search.verify.Verdict;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * What the REST endpoints do, without HTTP: search, verify, delete, crops, the subjects and their
 * faces, health.
 *
 * <p>Requests run concurrently. The native model and detector are not thread-safe, so a served
 * version holds a pool of {@link Worker}s (each its own detector and model instance); a request
 * borrows one, and waits at most {@code borrowTimeout} for one before it is refused as
 * {@link Busy} (HTTP 503 with Retry-After). The index is shared (Lucene searchers and the
 * Elasticsearch client are thread-safe). {@link #health} takes no lock and borrows no worker, so a
 * queue of large uploads never delays the liveness probe.
 *
 * <p>What is served is one {@link Served} bundle: a model version's workers together with that
 * version's index. {@link #switchTo} replaces the whole bundle between requests (a
 * {@link ServingFollower} does it when the served version changes): it waits until the requests on
 * the old bundle are done, so every answer comes from one version's model over the same version's
 * index, and no request fails across a switch.
 */
public final class SearchService {
  private volatile Active active;
  /** How far the embed job's clock may lag the service's when a refusal is dated. */
  private static final long CLOCK_SLACK_MILLIS = 30_000;
  /** Requests hold the read side; a switch takes the write side (fair: a switch is not starved). */
  private final ReentrantReadWriteLock switchLock = new ReentrantReadWriteLock(true);
  private final Deletion deletion;
  private final Tombstone tombstone;
  private final Duration borrowTimeout;
  private final AtomicLong switches = new AtomicLong();
  private final AtomicLong searches = new AtomicLong();
  private final AtomicLong busy = new AtomicLong();

  /** One model instance, able to answer one request at a time. */
  public record Worker(FaceSearch search, FaceVerifier verifier) {}

  /** All workers of a served version are busy for longer than the service waits: try again later. */
  public static final class Busy extends Exception {
    Busy(String message) {
      super(message, null, false, false);
    }
  }

  /** The served bundle and its idle workers. */
  private record Active(Served served, BlockingQueue<Worker> idle) {
    static Active of(Served served) {
      return new Active(served, new ArrayBlockingQueue<>(served.workers().size(), false, served.workers()));
    }
  }

  /** One model version as served: its model's workers over its own index. */
  public record Served(
      String version,
      List<Worker> workers,
      VectorIndex index,
      double searchThreshold,
      String searchThresholdSource,
      double verifyThreshold,
      AutoCloseable resources) {
    public Served {
      if (workers.isEmpty()) {
        throw new IllegalArgumentException("a served version needs at least one worker");
      }
      workers = List.copyOf(workers);
    }

    /** A version with a single worker. */
    public Served(String version, FaceSearch search, FaceVerifier verifier, VectorIndex index, double searchThreshold,
        String searchThresholdSource, double verifyThreshold, AutoCloseable resources) {
      this(version, List.of(new Worker(search, verifier)), index, searchThreshold, searchThresholdSource,
          verifyThreshold, resources);
    }

    /** Closes the models and the index of this version (when the bundle owns them). */
    public void close() throws Exception {
      if (resources != null) {
        resources.close();
      }
    }
  }

  /**
   * Removes a subject from every version of the index, through handles of its own: it runs outside
   * the service's lock (an Elasticsearch expunge can take half a minute, and searches go on).
   */
  @FunctionalInterface
  public interface Deletion {
    /** Removes the subject from every version; returns how many faces went. */
    long deleteSubject(String subject) throws IOException;
  }

  /** Records a deletion where the pipeline honours it (the tombstone topic), before anything is removed. */
  @FunctionalInterface
  public interface Tombstone {
    void record(String subject) throws Exception;
  }

  public SearchService(FaceSearch search, FaceVerifier verifier, VectorIndex index, String modelVersion, double threshold) {
    this(new Served(modelVersion, search, verifier, index, threshold, "given", threshold, null), index::deleteSubject, subject -> {});
  }

  public SearchService(Served first, Deletion deletion, Tombstone tombstone) {
    this(first, deletion, tombstone, Duration.ofSeconds(10));
  }

  /** @param borrowTimeout how long a request waits for a free worker before it is refused as busy */
  public SearchService(Served first, Deletion deletion, Tombstone tombstone, Duration borrowTimeout) {
    this.active = Active.of(first);
    this.deletion = deletion;
    this.tombstone = tombstone;
    this.borrowTimeout = borrowTimeout;
  }

  /**
   * Serves {@code next} from the next request on and returns the bundle served until now, once no
   * request uses it any more: the caller closes it.
   */
  public Served switchTo(Served next) {
    switchLock.writeLock().lock();
    try {
      Served previous = active.served();
      active = Active.of(next);
      switches.incrementAndGet();
      return previous;
    } finally {
      switchLock.writeLock().unlock();
    }
  }

  public String version() {
    return active.served().version();
  }

  public Map<String, Object> search(byte[] photo, int k) throws IOException, FaceRejected, Busy {
    searches.incrementAndGet();
    return withWorker((served, worker) -> {
      List<Map<String, Object>> faces = new ArrayList<>();
      for (FaceSearch.FaceMatches f : worker.search().search(photo, k)) {
        Map<String, Object> face = new LinkedHashMap<>();
        face.put("box", f.box());
        face.put("unknown", f.unknown());
        face.put("subject", f.bestSubject());
        List<Map<String, Object>> matches = new ArrayList<>();
        for (SearchHit h : f.hits()) {
          matches.add(Map.of("id", h.id(), "subject", h.subject() == null ? "" : h.subject(),
              "image_id", h.imageId(), "similarity", h.similarity()));
        }
        face.put("matches", matches);
        faces.add(face);
      }
      return Map.of("model", served.version(), "threshold", served.searchThreshold(),
          "threshold_source", served.searchThresholdSource(), "faces", faces);
    });
  }

  public Map<String, Object> verify(byte[] a, byte[] b) throws IOException, FaceRejected, Busy {
    return withWorker((served, worker) -> {
      Path dir = Files.createTempDirectory("verify");
      try {
        Path fa = Files.write(dir.resolve("a"), a);
        Path fb = Files.write(dir.resolve("b"), b);
        Verdict v = worker.verifier().verify(fa, fb);
        return Map.of("same_person", v.samePerson(), "similarity", v.similarity(), "threshold", v.threshold(),
            "threshold_source", "the model's 1:1 best-accuracy threshold", "model", served.version());
      } finally {
        try (var files = Files.list(dir)) {
          for (Path p : files.toList()) {
            Files.deleteIfExists(p);
          }
        }
        Files.deleteIfExists(dir);
      }
    });
  }

  /**
   * Records the subject's tombstone (so no replay or migration brings it back), then removes it
   * from every version of the index. No worker is needed: searches go on meanwhile.
   */
  public long delete(String subject) throws Exception {
    tombstone.record(subject);
    return deletion.deleteSubject(subject);
  }

  public byte[] crop(String id) throws IOException, Busy {
    lockForRequest();
    try {
      return active.served().index().crop(id);
    } finally {
      switchLock.readLock().unlock();
    }
  }

  /**
   * A page of the served version's subjects (GET /subjects): name, face count and one face's id
   * each, sorted by name; no worker is needed, the read lock keeps the version for the call.
   */
  public Map<String, Object> subjects(String filter, int offset, int limit) throws IOException, Busy {
    lockForRequest();
    try {
      Served served = active.served();
      SubjectPage page = served.index().subjects(filter, offset, limit);
      List<Map<String, Object>> subjects = new ArrayList<>();
      for (SubjectSummary s : page.subjects()) {
        Map<String, Object> subject = new LinkedHashMap<>();
        subject.put("subject", s.subject());
        subject.put("faces", s.faces());
        subject.put("face_id", s.faceId());
        subjects.add(subject);
      }
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("subjects", subjects);
      body.put("total", page.total());
      body.put("offset", offset);
      body.put("limit", limit);
      body.put("model", served.version());
      return body;
    } finally {
      switchLock.readLock().unlock();
    }
  }

  /** Up to {@code limit} faces of one subject in the served version's index (GET /subjects/{s}/faces). */
  public Map<String, Object> facesOf(String subject, int limit) throws IOException, Busy {
    lockForRequest();
    try {
      Served served = active.served();
      List<Map<String, Object>> faces = new ArrayList<>();
      for (FaceDocument d : served.index().facesOf(subject, limit)) {
        Map<String, Object> face = new LinkedHashMap<>();
        face.put("id", d.id());
        face.put("image_id", d.imageId());
        face.put("face_index", d.faceIndex());
        face.put("box", d.box());
        // which photo the face came from, as the index recorded it: null for faces indexed before it
        // kept these (or enrolled without a source), so a client shows nothing rather than a guess
        face.put("source", d.source());
        face.put("published_at", d.publishedAt() > 0 ? java.time.Instant.ofEpochMilli(d.publishedAt()).toString() : null);
        faces.add(face);
      }
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("subject", subject);
      body.put("faces", faces);
      body.put("model", served.version());
      return body;
    } finally {
      switchLock.readLock().unlock();
    }
  }

  /**
   * Where one enrolled photo stands (GET /enroll/{id}): {@code searchable} once the served
   * version's index holds a face of it (with {@code faces}, how many), {@code dead_letter} when the
   * embed job refused it ({@code reason}, {@code message}), else {@code waiting}. The index is asked
   * first: a photo that is searchable is so whatever else was heard of it.
   */
  /**
   * @param since when the photo was sent (ms since the epoch; 0: any time): a dead letter older
   *     than that, less 30 s for the job's clock, belongs to an earlier sending of the same photo
   */
  public Map<String, Object> enrolmentState(String subject, String imageId, Enrolment enrolment, long since)
      throws IOException, Busy {
    long faces;
    String model;
    lockForRequest();
    try {
      Served served = active.served();
      model = served.version();
      // a count of the image's faces under the subject: exact however many faces the subject has
      faces = served.index().countImage(subject, imageId);
    } finally {
      switchLock.readLock().unlock();
    }
    var refused = faces > 0 ? java.util.Optional.<Enrolment.DeadLetterNote>empty()
        : enrolment.deadLetter(imageId).filter(note -> note.atMillis() >= since - CLOCK_SLACK_MILLIS);
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("image_id", imageId);
    body.put("state", faces > 0 ? "searchable" : refused.isPresent() ? "dead_letter" : "waiting");
    body.put("reason", refused.map(Enrolment.DeadLetterNote::reason).orElse(null));
    body.put("message", refused.map(Enrolment.DeadLetterNote::message).orElse(null));
    body.put("faces", faces);
    body.put("model", model);
    return body;
  }

  /**
   * The service's state, without a lock or a worker: it answers while every worker is busy. The
   * index is asked on a thread of its own, and health waits at most half a second for it: an
   * index that hangs (a partitioned network, a paused node) makes health "degraded", never slow,
   * so the liveness probe never restarts a healthy process.
   */
  public Map<String, Object> health() {
    Active now = active;
    IndexState index = probe();
    Map<String, Object> health = new LinkedHashMap<>();
    // the process is alive either way (liveness); /ready says whether it can answer searches
    health.put("status", index.ok() ? "ok" : "degraded");
    health.put("model", now.served().version());
    health.put("faces", index.faces());
    if (!index.ok()) {
      health.put("index_error", index.error());
    }
    health.put("threshold", now.served().searchThreshold());
    health.put("workers", now.served().workers().size());
    health.put("workers_idle", now.idle().size());
    health.put("model_switches", switches.get());
    health.put("searches", searches.get());
    health.put("busy_refusals", busy.get());
    return health;
  }

  /** Whether searches can be answered now: the index answered just now (readiness, not liveness). */
  public boolean ready() {
    return probe().ok();
  }

  /** What the last look at the index found: its face count, or why it did not answer. */
  private record IndexState(boolean ok, long faces, String error) {}

  private final java.util.concurrent.ExecutorService prober = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "index-probe");
    t.setDaemon(true);
    return t;
  });
  private java.util.concurrent.Future<IndexState> pending;
  private long pendingSince;
  private volatile IndexState lastState = new IndexState(true, -1, null);

  /** A fresh look at the index if one finishes within 500 ms; else the index counts as not answering. */
  private IndexState probe() {
    java.util.concurrent.Future<IndexState> look;
    synchronized (prober) {
      if (pending == null || pending.isDone()) {
        pending = prober.submit(this::lookAtIndex);
        pendingSince = System.nanoTime();
      }
      look = pending;
    }
    try {
      lastState = look.get(500, TimeUnit.MILLISECONDS);
      return lastState;
    } catch (java.util.concurrent.TimeoutException slow) {
      long seconds = (System.nanoTime() - pendingSince) / 1_000_000_000L;
      return new IndexState(false, lastState.faces(), "the face index has not answered for " + seconds + " s");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new IndexState(false, lastState.faces(), "interrupted");
    } catch (java.util.concurrent.ExecutionException e) {
      return new IndexState(false, lastState.faces(), "the face index does not answer");
    }
  }

  private IndexState lookAtIndex() {
    for (int attempt = 0; attempt < 2; attempt++) {
      try {
        return new IndexState(true, active.served().index().count(), null);
      } catch (RuntimeException | IOException e) {
        if (attempt == 1) { // once more: an index closed by a switch this instant is read from the new one
          return new IndexState(false, lastState.faces(), "the face index does not answer (" + e.getClass().getSimpleName() + ")");
        }
      }
    }
    throw new IllegalStateException("unreachable");
  }

  /** The read side of the switch lock, waited for at most as long as for a worker. */
  private void lockForRequest() throws Busy {
    try {
      if (!switchLock.readLock().tryLock(borrowTimeout.toMillis(), TimeUnit.MILLISECONDS)) {
        busy.incrementAndGet();
        throw new Busy("a model switch is in progress");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Busy("interrupted");
    }
  }

  @FunctionalInterface
  private interface WorkerCall<T> {
    T run(Served served, Worker worker) throws IOException, FaceRejected;
  }

  private <T> T withWorker(WorkerCall<T> call) throws IOException, FaceRejected, Busy {
    lockForRequest();
    try {
      Active now = active;
      Worker worker;
      try {
        worker = now.idle().poll(borrowTimeout.toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new Busy("interrupted while waiting for a worker");
      }
      if (worker == null) {
        busy.incrementAndGet();
        throw new Busy("all " + now.served().workers().size() + " workers busy for " + borrowTimeout.toMillis() + " ms");
      }
      try {
        return call.run(now.served(), worker);
      } finally {
        now.idle().add(worker);
      }
    } finally {
      switchLock.readLock().unlock();
    }
  }
}
