package dev.mfn.face.crop;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mfn.face.FaceRejected;
import dev.mfn.face.decode.ImageDecoder;
import dev.mfn.face.decode.WebpEncoder;
import dev.mfn.face.detect.FaceChooser;
import dev.mfn.testkit.DetectorFiles;
import dev.mfn.testkit.HostileCorpus;
import dev.mfn.testkit.SharedData;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Every kind of the hostile corpus through the face core as the jobs and the service use it
 * (decode, detect, choose, align): a face where one is expected, otherwise a refusal with one of
 * the kind's reasons, and never another exception. Both ways in: the chosen face (training,
 * verification) and every face (search, enrolment).
 */
class HostileCorpusTest {
  @Test
  void everyKindEndsAsAFaceOrItsReason() throws Exception {
    List<HostileCorpus.Kind> corpus = HostileCorpus.build(
        SharedData.require("data/lfw/images/Aaron_Eckhart/Aaron_Eckhart_0001.jpg"), WebpEncoder::encode);
    assertThat(corpus).hasSizeGreaterThanOrEqualTo(45);
    List<String> wrong = new ArrayList<>();
    List<String> table = new ArrayList<>();
    try (FaceCropper cropper = new FaceCropper(new ImageDecoder(),
        new dev.mfn.face.detect.DetectorConfig(DetectorFiles.blazefaceDir(), null, null, 0.5).open("blazeface"),
        new FaceChooser(0.5, 20))) {
      for (HostileCorpus.Kind kind : corpus) {
        String chosen = outcome(() -> {
          cropper.cropChosen(kind.bytes()).release();
          return "face";
        });
        String all = outcome(() -> {
          List<FaceCrop> crops = cropper.cropAll(kind.bytes());
          crops.forEach(FaceCrop::release);
          return crops.isEmpty() ? "NO_FACE" : crops.size() + " face(s)";
        });
        table.add(kind.name() + "\t" + chosen + "\t" + all);
        if (!acceptable(kind, chosen)) {
          wrong.add(kind.name() + ": chosen face -> " + chosen + ", expected " + expected(kind));
        }
        if (!acceptable(kind, all.endsWith("face(s)") ? "face" : all)) {
          wrong.add(kind.name() + ": every face -> " + all + ", expected " + expected(kind));
        }
      }
    }
    System.out.println(String.join("\n", table));
    assertThat(wrong).as(String.join("\n", table)).isEmpty();
  }

  private static boolean acceptable(HostileCorpus.Kind kind, String outcome) {
    if (outcome.equals("face")) {
      return kind.faceExpected() || HostileCorpus.faceMayBeMissing(kind);
    }
    return kind.reasons().contains(outcome);
  }

  private static String expected(HostileCorpus.Kind kind) {
    return kind.faceExpected() ? "a face" : String.join(" or ", kind.reasons());
  }

  private interface Attempt {
    String run() throws FaceRejected;
  }

  /** "face", a reason code, or the name of any other exception (which is always wrong). */
  private static String outcome(Attempt attempt) {
    try {
      return attempt.run();
    } catch (FaceRejected e) {
      return e.reason().name();
    } catch (Throwable t) {
      return "CRASH " + t;
    }
  }
}
