package dev.mfn.training.loader;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mfn.config.MfnSettings;
import dev.mfn.face.crop.FaceCrop;
import dev.mfn.face.crop.FaceCropper;
import dev.mfn.face.decode.ImageDecoder;
import dev.mfn.face.detect.DetectorConfig;
import dev.mfn.face.detect.FaceChooser;
import dev.mfn.records.CropFormat;
import dev.mfn.testkit.DetectorFiles;
import dev.mfn.testkit.SharedData;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.opencv.core.MatOfByte;
import org.opencv.imgcodecs.Imgcodecs;

/**
 * The outside-photo fill on real crops: CFP's tight photos, aligned by the real face core, leave
 * black where the crop reaches past the photo; the fill finds that black (checked against the
 * region the similarity transform says lies outside the photo, not against pixel colours), paints
 * it, and leaves every pixel of the photo itself as it was. An LFW crop, wholly inside its photo,
 * passes through untouched.
 */
class OutsideFillTest {
  private static final int SIZE = CropDecoder.SIZE;
  private static FaceCropper cropper;

  @BeforeAll
  static void faceCore() throws Exception {
    MfnSettings settings = MfnSettings.load();
    DetectorConfig config =
        new DetectorConfig(
            DetectorFiles.blazefaceDir(), settings.getPath("detector.yunet.model"),
            settings.getPath("detector.mtcnn.dir"), 0.5);
    cropper = new FaceCropper(new ImageDecoder(50_000_000, 100_000_000), config.open("blazeface"), new FaceChooser(0.5, 20));
  }

  @AfterAll
  static void close() {
    cropper.close();
  }

  /** The crop's BGR bytes and which of its pixels lie outside the photo. */
  private record Aligned(byte[] pixels, boolean[] outside) {}

  private static Aligned align(Path photo) throws Exception {
    FaceCrop crop = cropper.cropChosen(Files.readAllBytes(photo));
    try {
      byte[] pixels = new byte[SIZE * SIZE * 3];
      crop.aligned().crop().get(0, 0, pixels);
      return new Aligned(pixels, crop.outsidePhoto());
    } finally {
      crop.release();
    }
  }

  /** Within one pixel (8-neighbourhood) of a pixel outside the photo: the seam the fill widens into. */
  private static boolean nearOutside(boolean[] outside, int x, int y) {
    for (int dy = -1; dy <= 1; dy++) {
      for (int dx = -1; dx <= 1; dx++) {
        int nx = x + dx;
        int ny = y + dy;
        if (nx >= 0 && ny >= 0 && nx < SIZE && ny < SIZE && outside[ny * SIZE + nx]) {
          return true;
        }
      }
    }
    return false;
  }

  /** Inside the photo, or within one pixel of a pixel inside it (the rim of the outside region). */
  private static boolean nearInside(boolean[] outside, int x, int y) {
    for (int dy = -1; dy <= 1; dy++) {
      for (int dx = -1; dx <= 1; dx++) {
        int nx = x + dx;
        int ny = y + dy;
        if (nx >= 0 && ny >= 0 && nx < SIZE && ny < SIZE && !outside[ny * SIZE + nx]) {
          return true;
        }
      }
    }
    return false;
  }

  @Test
  void theBlackOutsideATightPhotoIsFoundAndPaintedAndThePhotoKept() throws Exception {
    Path cfp = SharedData.cfpImages();
    int photosReachingOutside = 0;
    for (String name : new String[] {"001/frontal/01.jpg", "005/frontal/03.jpg", "100/frontal/02.jpg", "042/frontal/05.jpg"}) {
      Aligned a = align(cfp.resolve(name));
      int outsideCount = 0;
      for (boolean o : a.outside()) {
        outsideCount += o ? 1 : 0;
      }
      if (outsideCount < 200) {
        continue; // this photo is not tight enough to tell anything
      }
      photosReachingOutside++;
      // the black found from the edge is the region outside the photo, and nothing far from it:
      // all of that region but its rim (the rim is blended with the photo's edge by bilinear
      // sampling, so not exactly black; the fill's one-pixel widening takes it)
      byte[] black = OutsideFill.blackFromEdge(a.pixels());
      int deep = 0;
      int deepFound = 0;
      for (int y = 0; y < SIZE; y++) {
        for (int x = 0; x < SIZE; x++) {
          int p = y * SIZE + x;
          if (black[p] == 1) {
            assertThat(nearOutside(a.outside(), x, y)).as("%s: black found at (%d, %d), inside the photo", name, x, y).isTrue();
          }
          if (!nearInside(a.outside(), x, y)) {
            deep++;
            deepFound += black[p];
          }
        }
      }
      assertThat(deepFound).as("%s: outside pixels (rim aside) found black, of %d", name, deep).isGreaterThanOrEqualTo((int) (0.99 * deep));
      int foundOutside = deepFound;

      byte[] filled = a.pixels().clone();
      int painted = OutsideFill.fill(filled);
      assertThat(painted).as(name).isGreaterThanOrEqualTo(foundOutside);
      int stillBlack = 0;
      for (int y = 0; y < SIZE; y++) {
        for (int x = 0; x < SIZE; x++) {
          int p = y * SIZE + x;
          boolean isBlack = filled[3 * p] == 0 && filled[3 * p + 1] == 0 && filled[3 * p + 2] == 0;
          stillBlack += a.outside()[p] && isBlack ? 1 : 0;
          if (!nearOutside(a.outside(), x, y)) {
            for (int c = 0; c < 3; c++) {
              assertThat(filled[3 * p + c]).as("%s: photo pixel (%d, %d) changed", name, x, y).isEqualTo(a.pixels()[3 * p + c]);
            }
          }
        }
      }
      assertThat(stillBlack).as("%s: outside pixels still pure black after the fill", name).isLessThan(outsideCount / 100 + 1);
    }
    assertThat(photosReachingOutside).as("CFP crops reaching outside their photo").isGreaterThanOrEqualTo(3);
  }

  @Test
  void aCropWhollyInsideItsPhotoIsLeftAsItIs() throws Exception {
    Aligned a = align(SharedData.require("data/lfw/images/Nathan_Lane/Nathan_Lane_0002.jpg"));
    for (boolean o : a.outside()) {
      assertThat(o).isFalse();
    }
    byte[] copy = a.pixels().clone();
    assertThat(OutsideFill.fill(copy)).isZero();
    assertThat(copy).isEqualTo(a.pixels());
  }

  @Test
  void theDecoderPaintsOnlyWhenAskedAndBeforeTheJitter() throws Exception {
    Aligned a = align(SharedData.cfpImages().resolve("100/frontal/02.jpg"));
    MatOfByte png = new MatOfByte();
    org.opencv.core.Mat mat = new org.opencv.core.Mat(SIZE, SIZE, org.opencv.core.CvType.CV_8UC3);
    mat.put(0, 0, a.pixels());
    Imgcodecs.imencode(".png", mat, png);
    mat.release();
    ByteBuffer bytes = ByteBuffer.wrap(png.toArray());
    float[] plain = new float[3 * SIZE * SIZE];
    float[] filled = new float[3 * SIZE * SIZE];
    new CropDecoder().decode(CropFormat.PNG, bytes, false, CropJitter.NONE, new Random(1), plain, 0);
    new CropDecoder().decode(CropFormat.PNG, bytes, false, CropJitter.NONE.withFillOutside(true), new Random(1), filled, 0);
    float black = (0 - CropDecoder.MEAN) * CropDecoder.SCALE;
    int blackPlain = 0;
    int blackFilled = 0;
    for (int i = 0; i < SIZE * SIZE; i++) {
      blackPlain += plain[i] == black && plain[i + SIZE * SIZE] == black && plain[i + 2 * SIZE * SIZE] == black ? 1 : 0;
      blackFilled += filled[i] == black && filled[i + SIZE * SIZE] == black && filled[i + 2 * SIZE * SIZE] == black ? 1 : 0;
    }
    assertThat(blackPlain).as("black pixels without the fill").isGreaterThan(500);
    assertThat(blackFilled).as("black pixels with the fill").isLessThan(blackPlain / 20);
    // with the jitter on, the fill comes first: the jitter's reflected border would otherwise copy
    // the black inwards. The black stays a flat grey after the photometric change (the same change
    // on all three channels), which the inpainted colours are not.
    int flatJittered = flatPixels(decode(bytes, CropJitter.STANDARD));
    int flatFilledJittered = flatPixels(decode(bytes, CropJitter.STANDARD.withFillOutside(true)));
    assertThat(flatJittered).as("flat pixels, jitter without the fill").isGreaterThan(500);
    assertThat(flatFilledJittered).as("flat pixels, fill then jitter").isLessThan(flatJittered / 5);
  }

  private static float[] decode(ByteBuffer bytes, CropJitter jitter) {
    float[] out = new float[3 * SIZE * SIZE];
    assertThat(new CropDecoder().decode(CropFormat.PNG, bytes, false, jitter, new Random(1), out, 0)).isTrue();
    return out;
  }

  /** Pixels whose three channels are exactly equal. */
  private static int flatPixels(float[] planes) {
    int n = 0;
    for (int i = 0; i < SIZE * SIZE; i++) {
      n += planes[i] == planes[i + SIZE * SIZE] && planes[i] == planes[i + 2 * SIZE * SIZE] ? 1 : 0;
    }
    return n;
  }
}
