package dev.mfn.face.decode;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mfn.face.FaceRejected;
import dev.mfn.testkit.HostileCorpus;
import dev.mfn.testkit.SharedData;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The header parser is what a hostile file attacks first: 30,000 mutated copies of real JPEG, PNG,
 * WebP and BMP files (bytes flipped, segments cut, lengths overwritten) must each give a header
 * or a {@link FaceRejected}, never another exception, and quickly. The same mutations through the
 * whole decoder must never throw anything else either.
 */
class ImageHeaderFuzzTest {
  @Test
  void mutatedHeadersGiveAHeaderOrAReasonNeverAnException() {
    List<byte[]> seeds = seeds();
    Random random = new Random(20261129);
    List<String> crashes = new ArrayList<>();
    long start = System.nanoTime();
    int parsed = 0;
    int refused = 0;
    for (int i = 0; i < 30_000; i++) {
      byte[] mutant = HostileCorpus.mutate(seeds.get(i % seeds.size()), random);
      try {
        ImageHeader.read(mutant);
        parsed++;
      } catch (FaceRejected e) {
        refused++;
      } catch (Throwable t) {
        crashes.add(i + ": " + t);
      }
    }
    double micros = (System.nanoTime() - start) / 1e3 / 30_000;
    System.out.printf("30000 mutants: %d headers, %d refusals, %.1f us each%n", parsed, refused, micros);
    assertThat(crashes).isEmpty();
    assertThat(parsed).isPositive();
    assertThat(refused).isPositive();
  }

  @Test
  void mutatedPhotosThroughTheWholeDecoderGiveAnImageOrAReason() {
    List<byte[]> seeds = seeds();
    Random random = new Random(7);
    ImageDecoder decoder = new ImageDecoder();
    List<String> crashes = new ArrayList<>();
    for (int i = 0; i < 1_500; i++) {
      byte[] mutant = HostileCorpus.mutate(seeds.get(i % seeds.size()), random);
      try {
        org.opencv.core.Mat image = decoder.decode(mutant);
        // the pixel limit is checked on the header's size: what was decoded must not be larger
        long decoded = (long) image.cols() * image.rows();
        long declared = ImageHeader.read(mutant).pixels();
        image.release();
        if (decoded > declared) {
          crashes.add(i + ": decoded " + decoded + " pixels, the header said " + declared);
        }
      } catch (FaceRejected e) {
        // a reason: fine
      } catch (Throwable t) {
        crashes.add(i + ": " + t);
      }
    }
    assertThat(crashes).isEmpty();
  }

  private static List<byte[]> seeds() {
    List<byte[]> seeds = new ArrayList<>();
    for (HostileCorpus.Kind k : HostileCorpus.build(
        SharedData.require("data/lfw/images/Aaron_Eckhart/Aaron_Eckhart_0001.jpg"), WebpEncoder::encode)) {
      if (k.faceExpected() && k.bytes().length < 2_000_000) {
        seeds.add(k.bytes());
      }
    }
    return seeds;
  }

}
