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
 */
public final class SearchService {
  private final FaceSearch search;
  private final FaceVerifier verifier;
  private final VectorIndex index;
  private final String modelVersion;
  private final double threshold;
  private final OtherVersions others;

  /** The index versions other than the served one, for deletions: a person leaves all of them. */
  @FunctionalInterface
  public interface OtherVersions {
    /** Removes the subject from every other version; returns how many faces went. */
    long deleteSubject(String subject) throws IOException;
  }

  public SearchService(FaceSearch search, FaceVerifier verifier, VectorIndex index, String modelVersion, double threshold) {
    this(search, verifier, index, modelVersion, threshold, subject -> 0);
  }

  public SearchService(FaceSearch search, FaceVerifier verifier, VectorIndex index, String modelVersion, double threshold,
      OtherVersions others) {
    this.search = search;
    this.verifier = verifier;
    this.index = index;
    this.modelVersion = modelVersion;
    this.threshold = threshold;
    this.others = others;
  }

  public synchronized Map<String, Object> search(byte[] photo, int k) throws IOException, FaceRejected {
    List<Map<String, Object>> faces = new ArrayList<>();
    for (FaceSearch.FaceMatches f : search.search(photo, k)) {
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
    return Map.of("model", modelVersion, "threshold", threshold, "faces", faces);
  }

  public synchronized Map<String, Object> verify(byte[] a, byte[] b) throws IOException, FaceRejected {
    Path dir = Files.createTempDirectory("verify");
    try {
      Path fa = Files.write(dir.resolve("a"), a);
      Path fb = Files.write(dir.resolve("b"), b);
      Verdict v = verifier.verify(fa, fb);
      return Map.of("same_person", v.samePerson(), "similarity", v.similarity(), "threshold", v.threshold(),
          "model", modelVersion);
    } finally {
      try (var files = Files.list(dir)) {
        for (Path p : files.toList()) {
          Files.deleteIfExists(p);
        }
      }
      Files.deleteIfExists(dir);
    }
  }

  /** Removes the subject from the served index and from every other version of it. */
  public synchronized long delete(String subject) throws IOException {
    return index.deleteSubject(subject) + others.deleteSubject(subject);
  }

  public synchronized byte[] crop(String id) throws IOException {
    return index.crop(id);
  }

  public synchronized Map<String, Object> health() throws IOException {
    return Map.of("status", "ok", "model", modelVersion, "faces", index.count(), "threshold", threshold);
  }
}
