package dev.mfn.search.index;

import java.io.IOException;
import java.util.List;

/**
 * A k-nearest-neighbour index of face embeddings for one model version. Two backends share it:
 * embedded Lucene (one machine, the default) and Elasticsearch (a cluster).
 */
public interface VectorIndex extends AutoCloseable {
  /** Adds or replaces documents by {@link FaceDocument#id()}; visible to search on return. */
  void upsert(List<FaceDocument> documents) throws IOException;

  /**
   * {@link #upsert} for a streaming writer (the embed job's sink), which must not stop to wait for
   * each write to become visible: searchable by the index's next refresh (Elasticsearch: its
   * refresh interval, 1 s by default; Lucene: on return, a commit). A deletion still sees them
   * (it refreshes first).
   */
  default void upsertEventually(List<FaceDocument> documents) throws IOException {
    upsert(documents);
  }

  /** Makes every write so far searchable now (Elasticsearch: a refresh; Lucene: already so). */
  default void refresh() throws IOException {}

  /**
   * How many graph candidates an approximate search explores at least (Lucene's k of
   * KnnFloatVectorQuery per segment, Elasticsearch's num_candidates per shard), for any k; 10 x k
   * when that is more. Measured at 1M faces (bench/RESULTS.md, "1M faces"): with 100, Lucene's
   * recall@10 was 0.957; 160 gave 0.9825, 200 gave 0.989 (Elasticsearch 0.993 / 0.9975 / 0.998).
   */
  int MIN_CANDIDATES = 200;

  /** The k most similar faces (cosine similarity of unit vectors), best first. */
  default List<SearchHit> search(float[] query, int k) throws IOException {
    return search(query, k, Math.max(MIN_CANDIDATES, 10 * k));
  }

  /** {@link #search(float[], int)} exploring {@code candidates} (>= k): more buys recall for time. */
  List<SearchHit> search(float[] query, int k, int candidates) throws IOException;

  /** Removes every face of the subject, vectors and crops; returns how many were removed. */
  long deleteSubject(String subject) throws IOException;

  /**
   * Removes every face of these subjects in one go (one query, one merge): what the index sink
   * does with the tombstones it has not applied yet. Returns how many faces went.
   */
  default long deleteSubjects(java.util.Collection<String> subjects) throws IOException {
    long removed = 0;
    for (String subject : subjects) {
      removed += deleteSubject(subject);
    }
    return removed;
  }

  /**
   * Merges every deleted document out of the files now, also those of an earlier deletion whose
   * merge could not run then (an Elasticsearch retention lease that held them too long).
   */
  default void expungeDeletes() throws IOException {}

  /** The aligned crop stored with a document, or null when there is no such document. */
  byte[] crop(String id) throws IOException;

  long count() throws IOException;

  /**
   * The enrolled subjects, sorted by name (byte order of their UTF-8, as the index keeps them),
   * each with how many faces it holds now and the id of one of them: what the console's Subjects
   * tab pages through. Faces enrolled without a subject (the empty subject) are not listed; deleted
   * faces do not count, and a subject with none left is not listed.
   *
   * @param filter a case-insensitive substring the name must contain; null or blank: every subject
   * @param offset how many matching subjects to skip (0 or more)
   * @param limit the most subjects to return (1 or more)
   * @return the page and the number of matching subjects in all (Lucene: exact; Elasticsearch: a
   *     cardinality aggregation, exact up to about 3,000 subjects and approximate above, and the
   *     pages reach the first 10,000 subjects only)
   */
  SubjectPage subjects(String filter, int offset, int limit) throws IOException;

  /**
   * Up to {@code limit} faces of one subject, with image id, face index, model version, box, and
   * the source and publication time of their photo (null and 0 when not recorded), but no vector
   * and no crop (both null): the crop is {@link #crop}'s, by {@link FaceDocument#id()}.
   * The faces returned are sorted by image id, then face index. When the subject has more than
   * {@code limit} faces, which of them are returned is the backend's choice (Lucene: the first in
   * index order; Elasticsearch: the first by image id and face index), so this is no way to find
   * a given image's faces: that is {@link #countImage}. Empty when the subject has no face here.
   */
  List<FaceDocument> facesOf(String subject, int limit) throws IOException;

  /**
   * How many faces of one image the index holds under this subject now (live documents only;
   * Elasticsearch: as of its last refresh): 0 when the image is not indexed, was indexed under
   * another subject, or was deleted. Exact however many faces the subject has.
   */
  long countImage(String subject, String imageId) throws IOException;

  /**
   * Makes this version the one searches use (Elasticsearch: moves the {@code faces} alias;
   * Lucene: records the version in the root's SERVING file), in one atomic step, with the location
   * of its model so that a running search service switches to both together.
   */
  void serve(String modelLocation) throws IOException;

  /** {@link #serve(String)} without a model location (a search service then needs its --model). */
  default void serve() throws IOException {
    serve(null);
  }

  /**
   * Every stored face with its subject, box, crop, and its photo's source and publication time (the
   * vector is not needed and may be absent): what a re-index for a new model reads instead of the
   * original photos, and copies into the new version.
   */
  void forEachStored(java.util.function.Consumer<FaceDocument> action) throws IOException;

  @Override
  void close() throws IOException;
}
