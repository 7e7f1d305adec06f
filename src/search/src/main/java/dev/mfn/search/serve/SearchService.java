package dev.mfn.search.serve;

import dev.mfn.face.FaceRejected;
import dev.mfn.search.FaceSearch;
import dev.mfn.search.index.SearchHit;
import dev.mfn.search.index.VectorIndex;
import dev.mfn.search.verify.FaceVerifier;
import dev.mfn.search.verify.Verdict;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the REST endpoints do, without HTTP: search, verify, delete, crops, health. One model
 * instance serves all requests, so calls are serialised (the native model is not thread-safe;
 * several service replicas scale it out).
 *
 * <p>What is served is one {@link Served} bundle: a model version's model together with that
 * version's index. {@link #switchTo} replaces the whole bundle between two calls (a
 * {@link ServingFollower} does it when the served version changes), so every answer comes from
 * one version's model over the same version's index, and no call fails across a switch.
 */
public final class SearchService {
  private Served served;
  private final Deletion deletion;
  private final Tombstone tombstone;
  private long switches;
  private long searches;

  /** One model version as served: its model's search and verifier over its own index. */
  public record Served(
      String version,
      FaceSearch search,
      FaceVerifier verifier,
      VectorIndex index,
      double searchThreshold,
      String searchThresholdSource,
      double verifyThreshold,
      AutoCloseable resources) {
    /** Closes the model and the index of this version (when the bundle owns them). */
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
    this.served = first;
    this.deletion = deletion;
    this.tombstone = tombstone;
  }

  /**
   * Serves {@code next} from the next call on and returns the bundle served until now, which no
   * call uses any more (calls hold this service's lock): the caller closes it.
   */
  public synchronized Served switchTo(Served next) {
    Served previous = served;
    served = next;
    switches++;
    return previous;
  }

  public synchronized String version() {
    return served.version();
  }

  public synchronized Map<String, Object> search(byte[] photo, int k) throws IOException, FaceRejected {
    searches++;
    List<Map<String, Object>> faces = new ArrayList<>();
    for (FaceSearch.FaceMatches f : served.search().search(photo, k)) {
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
  }

  public synchronized Map<String, Object> verify(byte[] a, byte[] b) throws IOException, FaceRejected {
    Path dir = Files.createTempDirectory("verify");
    try {
      Path fa = Files.write(dir.resolve("a"), a);
      Path fb = Files.write(dir.resolve("b"), b);
      Verdict v = served.verifier().verify(fa, fb);
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
  }

  /**
   * Records the subject's tombstone (so no replay or migration brings it back), then removes it
   * from every version of the index. Not under the service's lock: searches go on meanwhile.
   */
  public long delete(String subject) throws Exception {
    tombstone.record(subject);
    return deletion.deleteSubject(subject);
  }

  public synchronized byte[] crop(String id) throws IOException {
    return served.index().crop(id);
  }

  public synchronized Map<String, Object> health() throws IOException {
    return Map.of("status", "ok", "model", served.version(), "faces", served.index().count(),
        "threshold", served.searchThreshold(), "model_switches", switches, "searches", searches);
  }
}
