package dev.mfn.search.index;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mfn.model.Embedder;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What every backend must do, on 2,000 seeded random unit vectors in 128-d (20 subjects): exact
 * self-retrieval, recall@10 against exhaustive search, replay without duplicates, deletion of a
 * subject with its crops, one index per model version.
 */
abstract class VectorIndexContract {
  /** Opens the backend's index for a model version (fresh for each test). */
  abstract VectorIndex open(Path root, String version) throws IOException;

  /** The version searches use now (the alias, or the SERVING file), as the backend reports it. */
  abstract java.util.Optional<String> served(Path root) throws IOException;
  private static final int N = 2000;

  /** Where the backend keeps its files (segments, translog) for the versions under {@code root}. */
  abstract Path onDisk(Path root);

  /** How a crop's bytes are written inside the backend's files (raw, or base64 in a JSON source). */
  abstract byte[] storedForm(byte[] crop);

  /**
   * Erasure on disk, not through the API: 20 subjects with 10 faces each (random, incompressible
   * 4 KB crops) in one segment; one subject is deleted, 5% of the segment's documents, under the 10%
   * both Lucene and Elasticsearch leave alone by default. Before the deletion its crop bytes and id
   * are in the files (the check can see them); after it, no file under the index holds them.
   */
  @Test
  void aDeletedSubjectLeavesNoByteOnDisk(@TempDir Path root) throws IOException {
    Random rng = new Random(11);
    List<FaceDocument> docs = new ArrayList<>();
    String gone = "erase-me-" + Long.toHexString(rng.nextLong()) + Long.toHexString(rng.nextLong());
    for (int i = 0; i < 200; i++) {
      float[] v = new float[128];
      for (int d = 0; d < v.length; d++) {
        v[d] = (float) rng.nextGaussian();
      }
      byte[] crop = new byte[4096];
      rng.nextBytes(crop);
      String subject = i % 20 == 7 ? gone : "keep-" + (i % 20);
      docs.add(new FaceDocument("disk-img-" + i, 0, subject, "v1", Embedder.normalize(v), new float[] {1, 2, 3, 4}, crop));
    }
    List<byte[]> needles = new ArrayList<>();
    for (FaceDocument d : docs) {
      if (d.subject().equals(gone)) {
        needles.add(dev.mfn.testkit.BytesOnDisk.middle(storedForm(d.cropPng()), 64));
      }
    }
    byte[] id = gone.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    try (VectorIndex index = open(root, "disk")) {
      index.upsert(docs);
      for (byte[] needle : needles) {
        assertThat(dev.mfn.testkit.BytesOnDisk.filesHolding(onDisk(root), needle)).as("a crop on disk before").isNotEmpty();
      }
      assertThat(dev.mfn.testkit.BytesOnDisk.filesHolding(onDisk(root), id)).as("the subject's id on disk before").isNotEmpty();

      assertThat(index.deleteSubject(gone)).isEqualTo(10);
      for (byte[] needle : needles) {
        assertThat(dev.mfn.testkit.BytesOnDisk.filesHolding(onDisk(root), needle)).as("a crop on disk after").isEmpty();
      }
      assertThat(dev.mfn.testkit.BytesOnDisk.filesHolding(onDisk(root), id)).as("the subject's id on disk after").isEmpty();
      assertThat(index.count()).isEqualTo(190);
    }
  }

  private static List<FaceDocument> documents(String model) {
    Random rng = new Random(5);
    List<FaceDocument> docs = new ArrayList<>();
    for (int i = 0; i < N; i++) {
      float[] v = new float[128];
      for (int d = 0; d < v.length; d++) {
        v[d] = (float) rng.nextGaussian();
      }
      docs.add(new FaceDocument("img-" + i, 0, "person-" + (i % 20), model, Embedder.normalize(v),
          new float[] {1, 2, 30, 40}, new byte[] {(byte) i, 7, 7}));
    }
    return docs;
  }

  @Test
  void findsNeighboursReplaysWithoutDuplicatesAndDeletesSubjects(@TempDir Path root) throws IOException {
    List<FaceDocument> docs = documents("v1");
    try (VectorIndex index = open(root, "v1")) {
      index.upsert(docs);
      assertThat(index.count()).isEqualTo(N);
      index.upsert(docs.subList(0, 500)); // a replay of part of the topic
      assertThat(index.count()).isEqualTo(N);

      List<SearchHit> self = index.search(docs.get(42).vector(), 3);
      assertThat(self.get(0).id()).isEqualTo(docs.get(42).id());
      assertThat(self.get(0).similarity()).isCloseTo(1f, org.assertj.core.data.Offset.offset(1e-4f));
      assertThat(self.get(0).subject()).isEqualTo("person-2");

      double recall = 0;
      Random rng = new Random(9);
      for (int q = 0; q < 50; q++) {
        float[] query = docs.get(rng.nextInt(N)).vector().clone();
        query[0] += 0.3f; // near a stored face, not on it
        Embedder.normalize(query);
        Set<String> exact = new HashSet<>();
        docs.stream()
            .sorted(Comparator.comparingDouble((FaceDocument d) -> -dot(d.vector(), query)))
            .limit(10)
            .forEach(d -> exact.add(d.id()));
        recall += index.search(query, 10).stream().filter(h -> exact.contains(h.id())).count() / 10.0;
      }
      assertThat(recall / 50).isGreaterThanOrEqualTo(0.95);

      assertThat(index.crop(docs.get(3).id())).containsExactly(3, 7, 7);
      java.util.List<FaceDocument> stored = new ArrayList<>();
      index.forEachStored(stored::add);
      assertThat(stored).hasSize(N);
      assertThat(stored).allSatisfy(d -> assertThat(d.cropPng()).hasSize(3));
      assertThat(stored.stream().filter(d -> d.imageId().equals("img-7")).findFirst().orElseThrow().box())
          .containsExactly(1, 2, 30, 40);
      assertThat(index.deleteSubject("person-3")).isEqualTo(N / 20);
      assertThat(index.count()).isEqualTo(N - N / 20);
      assertThat(index.crop(docs.get(3).id())).isNull();
      assertThat(index.search(docs.get(3).vector(), 50)).noneMatch(h -> h.subject().equals("person-3"));
    }
    // reopened: the same content
    try (VectorIndex index = open(root, "v1")) {
      assertThat(index.count()).isEqualTo(N - N / 20);
    }
  }

  @Test
  void eachModelVersionHasItsOwnIndex(@TempDir Path root) throws IOException {
    try (VectorIndex v1 = open(root, "v1");
        VectorIndex v2 = open(root, "v2")) {
      v1.upsert(documents("v1").subList(0, 10));
      v2.upsert(documents("v2").subList(0, 4));
      assertThat(IntStream.of((int) v1.count(), (int) v2.count())).containsExactly(10, 4);
    }
  }

  @Test
  void servesOneVersionAtATime(@TempDir Path root) throws IOException {
    try (VectorIndex a = open(root, "A1");
        VectorIndex b = open(root, "b2")) {
      assertThat(served(root)).isEmpty();
      a.serve();
      assertThat(served(root)).hasValueSatisfying(v -> assertThat(v).endsWith("A1")); // exact case kept
      b.serve();
      assertThat(served(root)).hasValueSatisfying(v -> assertThat(v).endsWith("b2"));
    }
  }

  private static double dot(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }
}
