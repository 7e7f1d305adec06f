package dev.mfn.flink.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mfn.face.OpenCv;
import dev.mfn.face.augment.Augmentation;
import dev.mfn.face.policy.IdentityPolicy;
import dev.mfn.records.FaceSample;
import dev.mfn.records.Split;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.opencv.core.Core;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.imgcodecs.Imgcodecs;

/**
 * The samples of a kept photo: a TRAIN photo gets every variant of its tier, a VALIDATION photo
 * only its crop (the validation set is real photos, one sample each), and both follow the split of
 * the image id.
 */
class SampleMakerTest {
  static {
    OpenCv.load();
  }

  @Test
  void aValidationPhotoGivesOnlyItsCropAndATrainPhotoEveryVariant() {
    double fraction = 0.3;
    SampleMaker maker = new SampleMaker(fraction);
    byte[] png = crop();
    for (IdentityPolicy.Tier tier : List.of(IdentityPolicy.Tier.KEEP, IdentityPolicy.Tier.OPENING, IdentityPolicy.Tier.FULL)) {
      List<Augmentation> variants = tier.variants();
      List<String> variantNames = variants.stream().map(Enum::name).toList();
      int validationPhotos = 0;
      int trainPhotos = 0;
      for (int i = 0; i < 50; i++) {
        String imageId = "photo-" + i;
        CroppedFace face = new CroppedFace(imageId, "s" + (i % 5), png, new float[10], "test", 0.9f, 0.01f);
        List<FaceSample> samples = maker.samples(face, variants, Instant.EPOCH);
        Split split = SampleMaker.split(imageId, fraction);
        assertThat(samples).as(tier + " " + imageId).extracting(FaceSample::getSplit).containsOnly(split);
        assertThat(samples).extracting(FaceSample::getImageId).containsOnly(imageId);
        if (split == Split.VALIDATION) {
          validationPhotos++;
          assertThat(samples).as(tier + " " + imageId).singleElement().satisfies(s -> {
            assertThat(s.getAugmentation()).isEqualTo(dev.mfn.records.Augmentation.NONE);
            assertThat(s.getId()).isEqualTo(imageId + "/none");
            assertThat(s.getCrop()).isEqualTo(ByteBuffer.wrap(png));
          });
        } else {
          trainPhotos++;
          assertThat(samples).as(tier + " " + imageId).extracting(s -> s.getAugmentation().name())
              .containsExactlyElementsOf(variantNames);
          assertThat(samples).extracting(FaceSample::getId).doesNotHaveDuplicates();
        }
      }
      // both splits occur, about 30% validation (15 of these 50 ids)
      assertThat(validationPhotos).as(tier + " validation photos").isBetween(5, 25);
      assertThat(trainPhotos).isEqualTo(50 - validationPhotos);
    }
  }

  @Test
  void theExpectedCountCountsOneSampleAValidationPhoto() {
    List<String> ids = java.util.stream.IntStream.range(0, 50).mapToObj(i -> "photo-" + i).toList();
    long validation = ids.stream().filter(id -> SampleMaker.split(id, 0.3) == Split.VALIDATION).count();
    assertThat(expectedSamples(ids, 4, 0.3)).isEqualTo(4 * (50 - validation) + validation);
    assertThat(expectedSamples(ids, 4, 0.0)).isEqualTo(200);
  }

  /**
   * The samples a tier of {@code variants} samples a photo writes for these photos: every variant
   * of a TRAIN photo, one sample of a VALIDATION photo.
   */
  static long expectedSamples(Collection<String> imageIds, int variants, double validationFraction) {
    return imageIds.stream()
        .mapToLong(id -> SampleMaker.split(id, validationFraction) == Split.VALIDATION ? 1 : variants)
        .sum();
  }

  /** A textured 112x112 crop, PNG-encoded, as the crop stage writes it. */
  private static byte[] crop() {
    Mat mat = new Mat(112, 112, CvType.CV_8UC3);
    Core.randu(mat, 0, 256);
    MatOfByte png = new MatOfByte();
    Imgcodecs.imencode(".png", mat, png);
    byte[] bytes = png.toArray();
    mat.release();
    png.release();
    return bytes;
  }
}
