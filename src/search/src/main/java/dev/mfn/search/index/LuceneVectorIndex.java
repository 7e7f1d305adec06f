package dev.mfn.search.index;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.IntField;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.SearcherManager;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.FSDirectory;

/**
 * The embedded backend: a Lucene index on local disk with the vectors in an HNSW graph (Lucene's
 * default codec: M=16, beam 100). One folder per model version. Ids are Lucene terms, so an
 * upsert is an {@code updateDocument} and a replay never duplicates.
 */
public final class LuceneVectorIndex implements VectorIndex {
  static final String ID = "id";
  static final String SUBJECT = "subject";
  static final String IMAGE = "image_id";
  static final String FACE = "face_index";
  static final String VECTOR = "vector";
  static final String BOX = "box";
  static final String CROP = "crop_png";
  static final String MODEL = "model_version";
  /**
   * Where the face's photo came from and when it was published: stored only (no term, no doc
   * values), since they are shown, never searched. Documents written before they existed lack
   * them: they read back as null and 0.
   */
  static final String SOURCE = "source";
  static final String PUBLISHED = "published_at";

  /** The file under the index root that names the served version (the embedded index's alias). */
  public static final String SERVING = "SERVING";

  /**
   * One search visits every segment of the index (a job's index grows by small commits, and merges
   * leave a dozen segments at 1M faces); these threads search them side by side (Lucene's
   * intra-query concurrency: the kNN query runs per segment on the searcher's executor), so a
   * query's latency is that of its largest segments rather than their sum. Shared by every index
   * of the process, daemon threads, one per core.
   */
  private static final java.util.concurrent.ExecutorService SEGMENT_POOL =
      java.util.concurrent.Executors.newFixedThreadPool(Runtime.getRuntime().availableProcessors(), r -> {
        Thread t = new Thread(r, "lucene-segment-search");
        t.setDaemon(true);
        return t;
      });

  private static final org.apache.lucene.search.SearcherFactory SEGMENTS_IN_PARALLEL =
      new org.apache.lucene.search.SearcherFactory() {
        @Override
        public IndexSearcher newSearcher(org.apache.lucene.index.IndexReader reader, org.apache.lucene.index.IndexReader previous) {
          return new IndexSearcher(reader, SEGMENT_POOL);
        }
      };

  private final Path folder;
  /** Null for a read-only view (the search service beside a job that holds the writer). */
  private final IndexWriter writer;
  private final org.apache.lucene.store.Directory directory;
  private SearcherManager searchers;

  /** Opens (or creates) the index of one model version under {@code root}. */
  public LuceneVectorIndex(Path root, String modelVersion) throws IOException {
    this.folder = root.resolve(modelVersion);
    Files.createDirectories(folder);
    this.directory = FSDirectory.open(folder);
    this.writer = new IndexWriter(directory, writerConfig());
    this.searchers = new SearcherManager(writer, SEGMENTS_IN_PARALLEL);
  }

  private LuceneVectorIndex(Path folder) throws IOException {
    this.folder = folder;
    Files.createDirectories(folder);
    this.directory = FSDirectory.open(folder);
    this.writer = null;
  }

  /**
   * A read-only view of one version's index: Lucene allows one writer per folder, and the embed job
   * holds it while it runs, so the search service reads the last commit and reopens when a newer one
   * appears (checked before each call). A deletion opens a writer for its duration.
   */
  public static LuceneVectorIndex readOnly(Path root, String modelVersion) throws IOException {
    return new LuceneVectorIndex(root.resolve(modelVersion));
  }

  /**
   * Deletions leave no trace: a forced merge of deletes rewrites every segment holding a deleted
   * document, not only those past Lucene's default 10% of deletions, so an erased person's vectors
   * and crops leave the files at once.
   */
  private static IndexWriterConfig writerConfig() {
    org.apache.lucene.index.TieredMergePolicy policy = new org.apache.lucene.index.TieredMergePolicy();
    policy.setForceMergeDeletesPctAllowed(0.0);
    return new IndexWriterConfig().setMergePolicy(policy);
  }

  /** The searchers of the last commit, or null while the folder holds no commit yet. */
  private synchronized SearcherManager searchers() throws IOException {
    if (writer == null) {
      if (searchers == null) {
        if (!DirectoryReader.indexExists(directory)) {
          return null;
        }
        searchers = new SearcherManager(directory, SEGMENTS_IN_PARALLEL);
      } else {
        searchers.maybeRefreshBlocking(); // a newer commit of the job's writer
      }
    }
    return searchers;
  }

  public Path folder() {
    return folder;
  }

  @Override
  public void upsert(List<FaceDocument> documents) throws IOException {
    requireWriter();
    for (FaceDocument d : documents) {
      Document doc = new Document();
      doc.add(new StringField(ID, d.id(), Field.Store.YES));
      doc.add(new StringField(SUBJECT, d.subject() == null ? "" : d.subject(), Field.Store.YES));
      doc.add(new StringField(IMAGE, d.imageId(), Field.Store.YES));
      doc.add(new StringField(MODEL, d.modelVersion(), Field.Store.YES));
      doc.add(new IntField(FACE, d.faceIndex(), Field.Store.YES));
      // embeddings are unit vectors: the dot product is the cosine similarity
      doc.add(new KnnFloatVectorField(VECTOR, d.vector(), VectorSimilarityFunction.DOT_PRODUCT));
      if (d.box() != null) {
        StringBuilder box = new StringBuilder();
        for (float v : d.box()) {
          box.append(box.isEmpty() ? "" : ",").append(v);
        }
        doc.add(new StoredField(BOX, box.toString()));
      }
      if (d.cropPng() != null) {
        doc.add(new StoredField(CROP, d.cropPng()));
      }
      if (d.source() != null) {
        doc.add(new StoredField(SOURCE, d.source()));
      }
      if (d.publishedAt() > 0) {
        doc.add(new StoredField(PUBLISHED, d.publishedAt()));
      }
      writer.updateDocument(new Term(ID, d.id()), doc);
    }
    writer.commit();
    searchers.maybeRefreshBlocking();
  }

  @Override
  public List<SearchHit> search(float[] query, int k, int candidates) throws IOException {
    SearcherManager searchers = searchers();
    if (searchers == null) {
      return List.of();
    }
    IndexSearcher searcher = searchers.acquire();
    try {
      // explore more candidates than asked for (like Elasticsearch's num_candidates): the HNSW
      // search is approximate, and a wider beam buys recall for little time
      TopDocs top = searcher.search(new KnnFloatVectorQuery(VECTOR, query, Math.max(k, candidates)), k);
      List<SearchHit> hits = new ArrayList<>();
      for (ScoreDoc sd : top.scoreDocs) {
        Document doc = searcher.storedFields().document(sd.doc);
        // Lucene scores DOT_PRODUCT as (1 + dot) / 2; turn it back into the cosine
        hits.add(new SearchHit(doc.get(ID), doc.get(SUBJECT), doc.get(IMAGE),
            doc.getField(FACE).numericValue().intValue(), 2 * sd.score - 1));
      }
      return hits;
    } finally {
      searchers.release(searcher);
    }
  }

  @Override
  public long deleteSubject(String subject) throws IOException {
    return deleteSubjects(List.of(subject));
  }

  @Override
  public long deleteSubjects(java.util.Collection<String> subjects) throws IOException {
    if (subjects.isEmpty()) {
      return 0;
    }
    org.apache.lucene.search.Query which = new org.apache.lucene.search.TermInSetQuery(SUBJECT,
        subjects.stream().map(org.apache.lucene.util.BytesRef::new).toList());
    if (writer == null) {
      if (searchers() == null) {
        return 0;
      }
      try (IndexWriter w = temporaryWriter()) {
        long removed = delete(w, which);
        searchers.maybeRefreshBlocking();
        return removed;
      }
    }
    long removed = delete(writer, which);
    searchers.maybeRefreshBlocking();
    return removed;
  }

  @Override
  public void expungeDeletes() throws IOException {
    if (writer == null) {
      if (searchers() == null) {
        return;
      }
      try (IndexWriter w = temporaryWriter()) {
        w.forceMergeDeletes(true);
        w.commit();
      }
      searchers.maybeRefreshBlocking();
      return;
    }
    writer.forceMergeDeletes(true);
    writer.commit();
    searchers.maybeRefreshBlocking();
  }

  /** A writer for one deletion by a read-only view; the embed job may hold the folder's lock. */
  private IndexWriter temporaryWriter() throws IOException {
    try {
      return new IndexWriter(directory, writerConfig());
    } catch (org.apache.lucene.store.LockObtainFailedException e) {
      throw new IOException("the index " + folder + " is being written by another process (the embed job?): "
          + "it applies the tombstone itself (mfn delete records one)", e);
    }
  }

  private static long delete(IndexWriter w, org.apache.lucene.search.Query which) throws IOException {
    try (DirectoryReader reader = DirectoryReader.open(w)) {
      if (new IndexSearcher(reader).count(which) == 0) {
        return 0; // nothing of the subjects here: no merge, no commit
      }
    }
    long before = w.getDocStats().numDocs;
    w.deleteDocuments(which);
    w.forceMergeDeletes(true); // the vectors and crops leave the files now, not at some merge
    w.commit();
    return before - w.getDocStats().numDocs;
  }

  private void requireWriter() throws IOException {
    if (writer == null) {
      throw new IOException("read-only view of " + folder);
    }
  }

  @Override
  public byte[] crop(String id) throws IOException {
    SearcherManager searchers = searchers();
    if (searchers == null) {
      return null;
    }
    IndexSearcher searcher = searchers.acquire();
    try {
      TopDocs top = searcher.search(new TermQuery(new Term(ID, id)), 1);
      if (top.scoreDocs.length == 0) {
        return null;
      }
      var ref = searcher.storedFields().document(top.scoreDocs[0].doc).getBinaryValue(CROP);
      return ref == null ? null : java.util.Arrays.copyOfRange(ref.bytes, ref.offset, ref.offset + ref.length);
    } finally {
      searchers.release(searcher);
    }
  }

  @Override
  public void forEachStored(java.util.function.Consumer<FaceDocument> action) throws IOException {
    SearcherManager searchers = searchers();
    if (searchers == null) {
      return;
    }
    IndexSearcher searcher = searchers.acquire();
    try {
      var reader = searcher.getIndexReader();
      var live = org.apache.lucene.index.MultiBits.getLiveDocs(reader);
      var fields = searcher.storedFields();
      for (int doc = 0; doc < reader.maxDoc(); doc++) {
        if (live != null && !live.get(doc)) {
          continue;
        }
        Document d = fields.document(doc);
        var crop = d.getBinaryValue(CROP);
        // with its publication time and source, so that a re-index keeps them
        action.accept(new FaceDocument(d.get(IMAGE), d.getField(FACE).numericValue().intValue(),
            d.get(SUBJECT), d.get(MODEL), null, parseBox(d.get(BOX)),
            crop == null ? null : java.util.Arrays.copyOfRange(crop.bytes, crop.offset, crop.offset + crop.length),
            publishedAt(d), d.get(SOURCE)));
      }
    } finally {
      searchers.release(searcher);
    }
  }

  /** The stored publication time; 0 (not known) for a document written without one. */
  private static long publishedAt(Document d) {
    var field = d.getField(PUBLISHED);
    return field == null ? 0 : field.numericValue().longValue();
  }

  private static float[] parseBox(String box) {
    if (box == null) {
      return null;
    }
    String[] parts = box.split(",");
    float[] values = new float[parts.length];
    for (int i = 0; i < parts.length; i++) {
      values[i] = Float.parseFloat(parts[i]);
    }
    return values;
  }

  @Override
  public long count() throws IOException {
    SearcherManager searchers = searchers();
    if (searchers == null) {
      return 0;
    }
    IndexSearcher searcher = searchers.acquire();
    try {
      return searcher.getIndexReader().numDocs();
    } finally {
      searchers.release(searcher);
    }
  }

  @Override
  public long countImage(String subject, String imageId) throws IOException {
    if (subject == null || imageId == null) {
      return 0;
    }
    SearcherManager searchers = searchers();
    if (searchers == null) {
      return 0;
    }
    IndexSearcher searcher = searchers.acquire();
    try {
      // count() sees live documents only: a deleted face no longer counts
      return searcher.count(new org.apache.lucene.search.BooleanQuery.Builder()
          .add(new TermQuery(new Term(SUBJECT, subject)), org.apache.lucene.search.BooleanClause.Occur.FILTER)
          .add(new TermQuery(new Term(IMAGE, imageId)), org.apache.lucene.search.BooleanClause.Occur.FILTER)
          .build());
    } finally {
      searchers.release(searcher);
    }
  }

  /**
   * Walks the terms of the subject field in order (every subject the segments know, deleted ones
   * too) and counts each one's live faces: a subject whose faces are all deleted (still in a
   * segment's terms until a merge) counts 0 and is skipped. One count per matching subject: the
   * total is exact, at the cost of a term lookup per subject (well under a second for 100,000).
   */
  @Override
  public SubjectPage subjects(String filter, int offset, int limit) throws IOException {
    SubjectPage.check(offset, limit);
    SearcherManager searchers = searchers();
    if (searchers == null) {
      return SubjectPage.empty();
    }
    String needle = SubjectPage.needle(filter);
    IndexSearcher searcher = searchers.acquire();
    try {
      var reader = searcher.getIndexReader();
      org.apache.lucene.index.Terms terms = org.apache.lucene.index.MultiTerms.getTerms(reader, SUBJECT);
      if (terms == null) {
        return SubjectPage.empty();
      }
      boolean deletions = reader.hasDeletions();
      org.apache.lucene.index.TermsEnum each = terms.iterator();
      List<SubjectSummary> page = new ArrayList<>();
      long total = 0;
      for (org.apache.lucene.util.BytesRef term = each.next(); term != null; term = each.next()) {
        if (term.length == 0) {
          continue; // faces enrolled without a name
        }
        String subject = term.utf8ToString();
        if (needle != null && !subject.toLowerCase(java.util.Locale.ROOT).contains(needle)) {
          continue;
        }
        TermQuery which = new TermQuery(new Term(SUBJECT, org.apache.lucene.util.BytesRef.deepCopyOf(term)));
        // without deletions the term's document frequency is the count; with them, only live ones count
        long faces = deletions ? searcher.count(which) : each.docFreq();
        if (faces == 0) {
          continue;
        }
        if (total >= offset && page.size() < limit) {
          TopDocs one = searcher.search(which, 1);
          String faceId = one.scoreDocs.length == 0 ? null : searcher.storedFields().document(one.scoreDocs[0].doc).get(ID);
          page.add(new SubjectSummary(subject, faces, faceId));
        }
        total++;
      }
      return new SubjectPage(page, total);
    } finally {
      searchers.release(searcher);
    }
  }

  @Override
  public List<FaceDocument> facesOf(String subject, int limit) throws IOException {
    if (limit < 1) {
      throw new IllegalArgumentException("limit is 1 or more, not " + limit);
    }
    SearcherManager searchers = searchers();
    if (searchers == null || subject == null || subject.isEmpty()) {
      return List.of();
    }
    IndexSearcher searcher = searchers.acquire();
    try {
      // the subject's faces in index order (all score alike); the first `limit` of them, then sorted
      TopDocs top = searcher.search(new TermQuery(new Term(SUBJECT, subject)), limit);
      List<FaceDocument> faces = new ArrayList<>();
      var fields = searcher.storedFields();
      for (ScoreDoc sd : top.scoreDocs) {
        Document d = fields.document(sd.doc);
        faces.add(new FaceDocument(d.get(IMAGE), d.getField(FACE).numericValue().intValue(), d.get(SUBJECT),
            d.get(MODEL), null, parseBox(d.get(BOX)), null, publishedAt(d), d.get(SOURCE)));
      }
      faces.sort(java.util.Comparator.comparing(FaceDocument::imageId).thenComparingInt(FaceDocument::faceIndex));
      return faces;
    } finally {
      searchers.release(searcher);
    }
  }

  @Override
  public void serve(String modelLocation) throws IOException {
    // line 1: the version; line 2: where its model is (the search service loads it from there)
    Path root = folder.getParent();
    Path next = Files.writeString(root.resolve(SERVING + ".next"),
        folder.getFileName() + "\n" + (modelLocation == null ? "" : modelLocation + "\n"));
    Files.move(next, root.resolve(SERVING), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }

  /** The version the root's SERVING file names, if any. */
  public static java.util.Optional<String> servedVersion(Path root) throws IOException {
    return served(root).map(ServedVersion::version);
  }

  /** The version the root's SERVING file names, with its model's location when recorded. */
  public static java.util.Optional<ServedVersion> served(Path root) throws IOException {
    Path file = root.resolve(SERVING);
    if (!Files.isRegularFile(file)) {
      return java.util.Optional.empty();
    }
    List<String> lines = Files.readAllLines(file).stream().map(String::strip).filter(l -> !l.isEmpty()).toList();
    return lines.isEmpty() ? java.util.Optional.empty()
        : java.util.Optional.of(new ServedVersion(lines.get(0), lines.size() > 1 ? lines.get(1) : null));
  }

  @Override
  public void close() throws IOException {
    if (searchers != null) {
      searchers.close();
    }
    if (writer != null) {
      writer.close();
    }
    directory.close();
  }

  /** True when the folder holds a Lucene index (for tests and tools). */
  static boolean exists(Path folder) throws IOException {
    return Files.isDirectory(folder) && DirectoryReader.indexExists(FSDirectory.open(folder));
  }
}
