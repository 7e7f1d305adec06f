package dev.mfn.search;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mfn.config.MfnSettings;
import dev.mfn.face.crop.FaceCropper;
import dev.mfn.face.decode.ImageDecoder;
import dev.mfn.face.detect.DetectorConfig;
import dev.mfn.face.detect.FaceChooser;
import dev.mfn.model.CropTensor;
import dev.mfn.model.OnnxEmbedder;
import dev.mfn.model.PhotoEmbedder;
import dev.mfn.search.enroll.FaceEmbedStage;
import dev.mfn.search.index.FaceDocument;
import dev.mfn.search.index.LuceneVectorIndex;
import dev.mfn.testkit.DetectorFiles;
import dev.mfn.testkit.SharedData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Enroll one photo of each of 40 LFW people (those with >= 2 photos) into the embedded index with
 * the reference model, search with another photo of each: rank-1 identification, then deletion.
 */
class FaceSearchTest {
  @Test
  void findsEnrolledPeopleAndForgetsDeletedOnes(@TempDir Path root) throws Exception {
    Path lfw = SharedData.require("data/lfw/images");
    Path model = SharedData.require("models/reference/MobileFaceNet_paddlex.onnx");
    List<Path> people;
    try (Stream<Path> all = Files.list(lfw)) {
      people = all.sorted().filter(p -> count(p) >= 2).limit(40).toList();
    }
    MfnSettings settings = MfnSettings.load();
    DetectorConfig detectors = new DetectorConfig(DetectorFiles.blazefaceDir(),
        settings.getPath("detector.yunet.model"), settings.getPath("detector.mtcnn.dir"), 0.5);
    try (FaceCropper cropper = new FaceCropper(new ImageDecoder(50_000_000, 100_000_000),
            detectors.open("blazeface"), new FaceChooser(0.5, 20));
        OnnxEmbedder embedder = new OnnxEmbedder(model, CropTensor.REFERENCE);
        LuceneVectorIndex index = new LuceneVectorIndex(root, "reference")) {
      PhotoEmbedder photos = new PhotoEmbedder(cropper, embedder, true, false, 32);
      FaceEmbedStage stage = new FaceEmbedStage(cropper, photos, "reference", FaceEmbedStage.Faces.CHOSEN);
      List<FaceEmbedStage.Photo> gallery = new ArrayList<>();
      for (Path person : people) {
        gallery.add(photo(person, 1));
      }
      FaceEmbedStage.Result enrolled = stage.embed(gallery);
      index.upsert(published(enrolled.documents()));
      assertThat(index.count()).isEqualTo(people.size() - enrolled.rejected().size());
      index.upsert(published(stage.embed(gallery).documents())); // enrolling again replaces, never duplicates
      assertThat(index.count()).isEqualTo(people.size() - enrolled.rejected().size());

      FaceSearch search = new FaceSearch(new FaceEmbedStage(cropper, photos, "reference", FaceEmbedStage.Faces.ALL), index, 0.3);
      int correct = 0;
      for (Path person : people) {
        List<FaceSearch.FaceMatches> faces = search.search(photo(person, 2).bytes(), 5);
        if (!faces.isEmpty() && person.getFileName().toString().equals(faces.get(0).bestSubject())) {
          correct++;
        }
      }
      assertThat(correct).as("rank-1 hits of %d", people.size()).isGreaterThanOrEqualTo((int) (0.9 * people.size()));

      // a new index version from the stored crops alone (here with the same model: the same answers)
      try (LuceneVectorIndex rebuilt = new LuceneVectorIndex(root, "rebuilt")) {
        var result = new dev.mfn.search.enroll.Reindexer(photos, "rebuilt", 16).run(index, rebuilt, n -> {});
        assertThat(result.written()).isEqualTo(index.count());
        // the photo each face came from survives: the new version's faces still say where they are from
        List<FaceDocument> copied = new ArrayList<>();
        rebuilt.forEachStored(copied::add);
        assertThat(copied).hasSize((int) index.count()).allSatisfy(d -> {
          assertThat(d.modelVersion()).isEqualTo("rebuilt");
          assertThat(d.source()).isEqualTo(gallery.stream().filter(p -> p.imageId().equals(d.imageId())).findFirst().orElseThrow().source());
          assertThat(d.publishedAt()).isEqualTo(PUBLISHED);
        });
        float[] probe = stage.embed(List.of(photo(people.get(1), 2))).documents().get(0).vector();
        assertThat(rebuilt.search(probe, 1).get(0).subject()).isEqualTo(index.search(probe, 1).get(0).subject());
        assertThat(rebuilt.search(probe, 1).get(0).similarity())
            .isCloseTo(index.search(probe, 1).get(0).similarity(), org.assertj.core.data.Offset.offset(1e-4f));
      }

      String gone = people.get(0).getFileName().toString();
      assertThat(index.deleteSubject(gone)).isEqualTo(1);
      List<FaceSearch.FaceMatches> after = search.search(photo(people.get(0), 2).bytes(), 5);
      assertThat(after.get(0).hits()).noneMatch(h -> h.subject().equals(gone));
    }
  }

  /** When the enrolled photos were published, as the embed job would add it. */
  private static final long PUBLISHED = java.time.Instant.parse("2025-03-14T09:26:53.589Z").toEpochMilli();

  private static List<FaceDocument> published(List<FaceDocument> documents) {
    return documents.stream().map(d -> d.withPublishedAt(PUBLISHED)).toList();
  }

  /**
   * The person's i-th photo (1-based) in name order (the shared LFW holds the pairs' photos only),
   * with its source as the publisher would name it (the path under the published folder).
   */
  private static FaceEmbedStage.Photo photo(Path person, int i) throws IOException {
    String name = person.getFileName().toString();
    Path file;
    try (Stream<Path> files = Files.list(person)) {
      file = files.sorted().skip(i - 1).findFirst().orElseThrow();
    }
    return new FaceEmbedStage.Photo(name + "/" + file.getFileName(), name, Files.readAllBytes(file), name + "/" + file.getFileName());
  }

  private static long count(Path person) {
    try (Stream<Path> files = Files.list(person)) {
      return files.count();
    } catch (IOException e) {
      return 0;
    }
  }
}
