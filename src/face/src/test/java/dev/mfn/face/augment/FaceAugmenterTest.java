package dev.mfn.face.augment;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mfn.face.OpenCv;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.opencv.core.Core;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.Scalar;

class FaceAugmenterTest {
  private static Mat crop;

  @BeforeAll
  static void makeCrop() {
    OpenCv.load();
    crop = new Mat(112, 112, CvType.CV_8UC3);
    Core.randu(crop, 0, 256);
  }

  @Test
  void sameSeedSamePixelsOtherSeedOtherPixels() {
    FaceAugmenter augmenter = new FaceAugmenter();
    for (Augmentation kind : new Augmentation[] {Augmentation.GAUSSIAN_NOISE, Augmentation.SALT_AND_PEPPER}) {
      Mat a = augmenter.apply(crop, kind, 42);
      Mat b = augmenter.apply(crop, kind, 42);
      Mat c = augmenter.apply(crop, kind, 43);
      assertThat(differentValues(a, b)).as(kind + " same seed").isZero();
      assertThat(differentValues(a, c)).as(kind + " other seed").isPositive();
      assertThat(differentValues(a, crop)).as(kind + " changes the crop").isPositive();
    }
  }

  @Test
  void saltAndPepperHitsAboutTheConfiguredFraction() {
    Mat out = new FaceAugmenter(3, 8, 0.05).apply(crop, Augmentation.SALT_AND_PEPPER, 7);
    int changed = 0;
    for (int y = 0; y < 112; y++) {
      for (int x = 0; x < 112; x++) {
        double[] p = out.get(y, x);
        if ((p[0] == 0 && p[1] == 0 && p[2] == 0) || (p[0] == 255 && p[1] == 255 && p[2] == 255)) {
          changed++;
        }
      }
    }
    assertThat(changed / (112.0 * 112)).isBetween(0.035, 0.065);
  }

  @Test
  void openingRemovesSmallBrightSpecksAndFlipMirrors() {
    Mat dark = new Mat(112, 112, CvType.CV_8UC3, new Scalar(10, 10, 10));
    dark.put(50, 50, 255, 255, 255); // a one-pixel speck
    Mat opened = new FaceAugmenter().apply(dark, Augmentation.OPENING, 0);
    assertThat(opened.get(50, 50)[0]).isEqualTo(10);
    Mat flipped = new FaceAugmenter().apply(dark, Augmentation.FLIP, 0);
    assertThat(flipped.get(50, 111 - 50)[0]).isEqualTo(255);
    assertThat(new FaceAugmenter().apply(crop, Augmentation.NONE, 0).dataAddr()).isNotEqualTo(crop.dataAddr());
  }

  private static int differentValues(Mat a, Mat b) {
    Mat diff = new Mat();
    Core.absdiff(a, b, diff);
    return Core.countNonZero(diff.reshape(1));
  }
}
