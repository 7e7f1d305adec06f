package dev.mfn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mfn.testkit.SharedData;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `mfn verify` on real LFW photos with the reference model and with the committed default model. */
class VerifyCommandTest {
  private static final Path LFW = SharedData.root().resolve("data/lfw/images");

  private static String photo(String name, int i) {
    return LFW.resolve(name).resolve(String.format("%s_%04d.jpg", name, i)).toString();
  }

  @Test
  void samePersonAndDifferentPeopleWithTheReferenceModel() {
    Path model = SharedData.require("models/reference/MobileFaceNet_paddlex.onnx");
    MfnCliTest.Run same = MfnCliTest.mfn("verify", photo("Abdullah_Gul", 1), photo("Abdullah_Gul", 6),
        "--model", model.toString(), "--threshold", "0.3");
    assertThat(same.exit()).as(same.err()).isZero();
    assertThat(same.out()).startsWith("same person: similarity ").contains(">= threshold 0.300");
    MfnCliTest.Run different = MfnCliTest.mfn("verify", photo("Abdullah_Gul", 1), photo("Aaron_Eckhart", 1),
        "--model", model.toString(), "--threshold", "0.3");
    assertThat(different.exit()).as(different.err()).isZero();
    assertThat(different.out()).startsWith("different people: similarity ").contains("< threshold 0.300");
  }

  @Test
  void jsonIsOneDocumentWithTheSameFacts() throws Exception {
    Path model = SharedData.require("models/reference/MobileFaceNet_paddlex.onnx");
    MfnCliTest.Run same = MfnCliTest.mfn("verify", photo("Abdullah_Gul", 1), photo("Abdullah_Gul", 6),
        "--model", model.toString(), "--threshold", "0.3", "--json");
    assertThat(same.exit()).as(same.err()).isZero();
    JsonNode doc = JsonOutputTest.single(same.out());
    assertThat(doc.get("ok").asBoolean()).isTrue();
    assertThat(doc.get("same_person").asBoolean()).isTrue();
    assertThat(doc.get("threshold").asDouble()).isEqualTo(0.3);
    assertThat(doc.get("similarity").isNumber()).isTrue();
    assertThat(doc.get("similarity").asDouble()).isGreaterThanOrEqualTo(0.3);
    assertThat(doc.get("model").asText()).isEqualTo("MobileFaceNet_paddlex.onnx");
  }

  @Test
  void theDefaultModelBringsItsOwnThreshold() throws Exception {
    MfnCliTest.Run run = MfnCliTest.mfn("verify", photo("Abdullah_Gul", 1), photo("Abdullah_Gul", 6));
    assertThat(run.exit()).as(run.err()).isZero();
    Path committed = Path.of(System.getProperty("mfn.repo", "../..")).resolve("models/default").toAbsolutePath().normalize();
    dev.mfn.model.store.ModelConfig config = dev.mfn.model.store.ModelConfig.read(committed);
    // the committed model's id and its own calibrated threshold, as the line prints them (3 decimals)
    assertThat(run.out()).containsPattern("^(same person|different people): similarity -?[0-9.]+ [<>]=? threshold "
        + java.util.regex.Pattern.quote(String.format(java.util.Locale.ROOT, "%.3f", config.threshold()))
        + " \\(model " + java.util.regex.Pattern.quote(config.id()) + " on ONNX Runtime\\)");
  }

  @Test
  void aModelWithoutThresholdOrAPhotoWithoutFaceIsOneClearLine(@TempDir Path dir) throws Exception {
    Path model = SharedData.require("models/reference/MobileFaceNet_paddlex.onnx");
    MfnCliTest.Run noThreshold = MfnCliTest.mfn("verify", photo("Abdullah_Gul", 1), photo("Abdullah_Gul", 6), "--model", model.toString());
    assertThat(noThreshold.exit()).isEqualTo(2);
    assertThat(noThreshold.err().strip().lines()).hasSize(1);
    assertThat(noThreshold.err()).contains("no calibrated threshold");

    Path blank = dir.resolve("blank.png");
    javax.imageio.ImageIO.write(new java.awt.image.BufferedImage(300, 200, java.awt.image.BufferedImage.TYPE_INT_RGB), "png", blank.toFile());
    MfnCliTest.Run noFace = MfnCliTest.mfn("verify", photo("Abdullah_Gul", 1), blank.toString(), "--model", model.toString(), "--threshold", "0.3");
    assertThat(noFace.exit()).isEqualTo(1); // a refused photo (2: usage, as the missing threshold above)
    assertThat(noFace.err().strip().lines()).hasSize(1);
    assertThat(noFace.err()).contains("blank.png").contains("NO_FACE");
    // with --json the refusal is also a document on stdout, with the same exit status
    MfnCliTest.Run noFaceJson = MfnCliTest.mfn("verify", photo("Abdullah_Gul", 1), blank.toString(), "--model", model.toString(),
        "--threshold", "0.3", "--json");
    assertThat(noFaceJson.exit()).isEqualTo(1);
    JsonNode refused = JsonOutputTest.single(noFaceJson.out());
    assertThat(refused.get("ok").asBoolean()).isFalse();
    assertThat(refused.get("reason").asText()).isEqualTo("NO_FACE");
    assertThat(refused.get("error").asText()).contains("blank.png");
  }
}
