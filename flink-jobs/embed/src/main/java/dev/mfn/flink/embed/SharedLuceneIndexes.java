package dev.mfn.flink.embed;

import dev.mfn.search.index.FaceDocument;
import dev.mfn.search.index.LuceneVectorIndex;
import dev.mfn.search.index.SearchHit;
import dev.mfn.search.index.VectorIndex;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * One open {@link LuceneVectorIndex} per folder in this JVM, counted: Lucene allows one writer per
 * folder, and both the index sink and the migrator to a new model write to the same version. The
 * last {@code close} closes the index. (Lucene is the one-machine backend: all tasks share a JVM.)
 */
final class SharedLuceneIndexes {
  private static final Map<Path, Entry> OPEN = new HashMap<>();

  private SharedLuceneIndexes() {}

  static synchronized VectorIndex open(Path root, String version) throws IOException {
    Path folder = root.resolve(version).toAbsolutePath().normalize();
    Entry entry = OPEN.get(folder);
    if (entry == null) {
      entry = new Entry(folder, new LuceneVectorIndex(root, version));
      OPEN.put(folder, entry);
    }
    entry.users++;
    return new Handle(entry);
  }

  private static synchronized void release(Entry entry) throws IOException {
    if (--entry.users == 0) {
      OPEN.remove(entry.folder);
      entry.index.close();
    }
  }

  private static final class Entry {
    final Path folder;
    final LuceneVectorIndex index;
    int users;

    Entry(Path folder, LuceneVectorIndex index) {
      this.folder = folder;
      this.index = index;
    }
  }

  /** A user's view of a shared index; closing it releases this user only, once. */
  private static final class Handle implements VectorIndex {
    private final Entry entry;
    private boolean closed;

    Handle(Entry entry) {
      this.entry = entry;
    }

    @Override
    public void upsert(List<FaceDocument> documents) throws IOException {
      entry.index.upsert(documents);
    }

    @Override
    public List<SearchHit> search(float[] query, int k, int candidates) throws IOException {
      return entry.index.search(query, k, candidates);
    }

    @Override
    public long deleteSubject(String subject) throws IOException {
      return entry.index.deleteSubject(subject);
    }

    @Override
    public byte[] crop(String id) throws IOException {
      return entry.index.crop(id);
    }

    @Override
    public long count() throws IOException {
      return entry.index.count();
    }

    @Override
    public dev.mfn.search.index.SubjectPage subjects(String filter, int offset, int limit) throws IOException {
      return entry.index.subjects(filter, offset, limit);
    }

    @Override
    public List<FaceDocument> facesOf(String subject, int limit) throws IOException {
      return entry.index.facesOf(subject, limit);
    }

    @Override
    public long countImage(String subject, String imageId) throws IOException {
      return entry.index.countImage(subject, imageId);
    }

    @Override
    public void forEachStored(Consumer<FaceDocument> action) throws IOException {
      entry.index.forEachStored(action);
    }

    @Override
    public void serve(String modelLocation) throws IOException {
      entry.index.serve(modelLocation);
    }

    @Override
    public synchronized void close() throws IOException {
      if (!closed) {
        closed = true;
        release(entry);
      }
    }
  }
}
