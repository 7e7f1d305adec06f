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
 * subject with its crops, one index per model version, the photo each face came from.
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
      // the photo's source names the person (a published path does): it must leave with the rest
      docs.add(new FaceDocument("disk-img-" + i, 0, subject, "v1", Embedder.normalize(v), new float[] {1, 2, 3, 4}, crop)
          .withSource(subject + "/photo-" + i + ".jpg").withPublishedAt(1_700_000_000_000L + i));
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

  /** A face of {@code subject} on image {@code image} (random unit vector, a 3-byte crop). */
  private static FaceDocument face(Random rng, String image, String subject) {
    float[] v = new float[128];
    for (int d = 0; d < v.length; d++) {
      v[d] = (float) rng.nextGaussian();
    }
    return new FaceDocument(image, 0, subject, "v1", Embedder.normalize(v), new float[] {10, 20, 30, 40}, new byte[] {1, 2, 3});
  }

  private static List<String> names(SubjectPage page) {
    return page.subjects().stream().map(SubjectSummary::subject).toList();
  }

  /**
   * What the console's Subjects tab reads: subjects sorted by name (byte order: upper case first)
   * with their live face counts and one face's id; faces without a name not listed; a
   * case-insensitive filter whose characters are literal (a dot is a dot, not "any character");
   * paging with the total; a person's faces without vectors or crops; and, after a deletion, the
   * person gone and every other count the same.
   */
  @Test
  void listsSubjectsWithTheirFacesPagedAndFiltered(@TempDir Path root) throws IOException {
    Random rng = new Random(17);
    String[] subjects = {"dave", "Alice_Smith", "bob_jones", "Carol_Alice", "Eve.Adams", "frank(1)"};
    int[] faces = {4, 3, 1, 2, 1, 2};
    List<FaceDocument> docs = new ArrayList<>();
    for (int s = 0; s < subjects.length; s++) {
      for (int f = 0; f < faces[s]; f++) {
        docs.add(face(rng, "img-" + s + "-" + f, subjects[s]));
      }
    }
    docs.add(face(rng, "nameless-1", ""));
    docs.add(face(rng, "nameless-2", null));
    try (VectorIndex index = open(root, "subjects")) {
      index.upsert(docs);
      index.upsert(docs.subList(0, 5)); // a replay: no face counts twice

      SubjectPage all = index.subjects(null, 0, 100);
      assertThat(names(all)).containsExactly("Alice_Smith", "Carol_Alice", "Eve.Adams", "bob_jones", "dave", "frank(1)");
      assertThat(all.total()).isEqualTo(6);
      assertThat(all.subjects().stream().mapToLong(SubjectSummary::faces).toArray()).containsExactly(3, 2, 1, 1, 4, 2);
      for (SubjectSummary s : all.subjects()) {
        assertThat(docs.stream().filter(d -> s.subject().equals(d.subject())).map(FaceDocument::id))
            .as("a face of " + s.subject()).contains(s.faceId());
        assertThat(index.crop(s.faceId())).containsExactly(1, 2, 3);
      }
      assertThat(index.subjects("  ", 0, 100)).isEqualTo(all); // a blank filter filters nothing

      // paging: the total is that of every page together
      SubjectPage second = index.subjects(null, 2, 2);
      assertThat(names(second)).containsExactly("Eve.Adams", "bob_jones");
      assertThat(second.total()).isEqualTo(6);
      assertThat(names(index.subjects(null, 5, 10))).containsExactly("frank(1)");
      SubjectPage past = index.subjects(null, 6, 10);
      assertThat(past.subjects()).isEmpty();
      assertThat(past.total()).isEqualTo(6);

      // the filter: a substring in any letter case, its characters literal
      SubjectPage alice = index.subjects("aLiCe", 0, 10);
      assertThat(names(alice)).containsExactly("Alice_Smith", "Carol_Alice");
      assertThat(alice.total()).isEqualTo(2);
      assertThat(names(index.subjects("alice", 1, 10))).containsExactly("Carol_Alice");
      assertThat(names(index.subjects(".", 0, 10))).containsExactly("Eve.Adams");
      assertThat(names(index.subjects("(1)", 0, 10))).containsExactly("frank(1)");
      assertThat(names(index.subjects("_", 0, 10))).containsExactly("Alice_Smith", "Carol_Alice", "bob_jones");
      SubjectPage nobody = index.subjects("zz", 0, 10);
      assertThat(nobody.subjects()).isEmpty();
      assertThat(nobody.total()).isZero();

      // a person's faces: ids, images, boxes; no vector, no crop
      List<FaceDocument> dave = index.facesOf("dave", 10);
      assertThat(dave).extracting(FaceDocument::imageId).containsExactly("img-0-0", "img-0-1", "img-0-2", "img-0-3");
      assertThat(dave).allSatisfy(d -> {
        assertThat(d.subject()).isEqualTo("dave");
        assertThat(d.vector()).isNull();
        assertThat(d.cropPng()).isNull();
        assertThat(d.box()).containsExactly(10, 20, 30, 40);
      });
      assertThat(dave.get(0).id()).isEqualTo(docs.get(0).id());
      assertThat(index.facesOf("dave", 2)).hasSize(2);
      assertThat(index.facesOf("Dave", 10)).isEmpty(); // names are exact here
      assertThat(index.facesOf("nobody", 10)).isEmpty();

      // after a deletion: gone from the list, the total and its own faces; the others unchanged
      assertThat(index.deleteSubject("Alice_Smith")).isEqualTo(3);
      SubjectPage after = index.subjects(null, 0, 100);
      assertThat(names(after)).containsExactly("Carol_Alice", "Eve.Adams", "bob_jones", "dave", "frank(1)");
      assertThat(after.total()).isEqualTo(5);
      assertThat(after.subjects().stream().mapToLong(SubjectSummary::faces).toArray()).containsExactly(2, 1, 1, 4, 2);
      assertThat(names(index.subjects("alice", 0, 10))).containsExactly("Carol_Alice");
      assertThat(index.subjects("alice", 0, 10).total()).isEqualTo(1);
      assertThat(index.facesOf("Alice_Smith", 10)).isEmpty();
    }
  }

  /**
   * What the console shows under each face of a subject: the photo it came from (its source, any
   * characters) and when that was published, from facesOf and from forEachStored (what a re-index
   * copies into the new version); a face written without them (indexed before the index kept them,
   * or by a caller that does not know them) reads null and 0, not an empty name or the epoch; and a
   * replay that knows them fills them in.
   */
  @Test
  void keepsThePhotoEachFaceCameFrom(@TempDir Path root) throws IOException {
    Random rng = new Random(29);
    long published = java.time.Instant.parse("2025-03-14T09:26:53.589Z").toEpochMilli();
    String source = "gil/été 2024/IMG 0001 (李).jpg";
    FaceDocument known = face(rng, "gil-img-0", "gil").withSource(source).withPublishedAt(published);
    FaceDocument sourceOnly = face(rng, "gil-img-1", "gil").withSource("sent by a caller: gil.png");
    FaceDocument unknown = face(rng, "gil-img-2", "gil");
    try (VectorIndex index = open(root, "sources")) {
      index.upsert(List.of(known, sourceOnly, unknown));

      List<FaceDocument> faces = index.facesOf("gil", 10);
      assertThat(faces).extracting(FaceDocument::imageId).containsExactly("gil-img-0", "gil-img-1", "gil-img-2");
      assertThat(faces).extracting(FaceDocument::source).containsExactly(source, "sent by a caller: gil.png", null);
      assertThat(faces).extracting(FaceDocument::publishedAt).containsExactly(published, 0L, 0L);

      List<FaceDocument> stored = new ArrayList<>();
      index.forEachStored(stored::add);
      stored.sort(Comparator.comparing(FaceDocument::imageId));
      assertThat(stored).extracting(FaceDocument::source).containsExactly(source, "sent by a caller: gil.png", null);
      assertThat(stored).extracting(FaceDocument::publishedAt).containsExactly(published, 0L, 0L);

      index.upsert(List.of(unknown.withSource("gil/later.jpg").withPublishedAt(published + 1)));
      FaceDocument replayed = index.facesOf("gil", 10).get(2);
      assertThat(replayed.source()).isEqualTo("gil/later.jpg");
      assertThat(replayed.publishedAt()).isEqualTo(published + 1);
      assertThat(index.count()).isEqualTo(3);
    }
  }

  /**
   * What GET /enroll/{id} asks: how many faces of one image a subject has, exactly, however many
   * faces the subject has in all (more than any page of facesOf); 0 for an image not there, for the
   * same image id under another subject, and after the subject's deletion.
   */
  @Test
  void countsTheFacesOfOneImageOfASubject(@TempDir Path root) throws IOException {
    Random rng = new Random(23);
    List<FaceDocument> docs = new ArrayList<>();
    for (int image = 0; image < 30; image++) {
      for (int f = 0; f < 1 + image % 3; f++) { // 1, 2 or 3 faces per image
        FaceDocument one = face(rng, "ann-img-" + image, "ann");
        docs.add(new FaceDocument(one.imageId(), f, one.subject(), one.modelVersion(), one.vector(), one.box(), one.cropPng()));
      }
    }
    docs.add(face(rng, "ben-img-0", "ben"));
    try (VectorIndex index = open(root, "images")) {
      index.upsert(docs);
      index.upsert(docs.subList(0, 10)); // a replay: no face counts twice

      assertThat(index.countImage("ann", "ann-img-0")).isEqualTo(1);
      assertThat(index.countImage("ann", "ann-img-1")).isEqualTo(2);
      assertThat(index.countImage("ann", "ann-img-29")).isEqualTo(3); // beyond a small page of facesOf
      assertThat(index.countImage("ann", "ann-img-30")).isZero(); // no such image
      assertThat(index.countImage("ben", "ann-img-1")).isZero(); // the image is ann's, not ben's
      assertThat(index.countImage("ann", "ben-img-0")).isZero();
      assertThat(index.countImage("nobody", "ann-img-1")).isZero();
      assertThat(index.countImage("ben", "ben-img-0")).isEqualTo(1);

      assertThat(index.deleteSubject("ann")).isEqualTo(60);
      assertThat(index.countImage("ann", "ann-img-1")).isZero();
      assertThat(index.countImage("ann", "ann-img-29")).isZero();
      assertThat(index.countImage("ben", "ben-img-0")).isEqualTo(1);
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
