package dev.mfn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mfn.testkit.SharedData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** detect, align and embed as a person runs them, on real LFW photos. */
class FaceCommandsTest {

  @Test
  void detectPrintsEveryFaceAsJson() throws Exception {
    Path photo = SharedData.require("data/lfw/images/Aaron_Eckhart/Aaron_Eckhart_0001.jpg");
    MfnCliTest.Run run = MfnCliTest.mfn("detect", photo.toString(), "--json", "--detector", "blazeface");
    assertThat(run.exit()).as(run.err()).isZero();
    JsonNode doc = new ObjectMapper().readTree(run.out());
    assertThat(doc.get("width").asInt()).isEqualTo(250);
    assertThat(doc.get("faces")).isNotEmpty();
    assertThat(doc.get("faces").get(0).get("landmarks")).hasSize(10);
  }

  @Test
  void unreadablePhotosAreOneLineWithTheirReason(@TempDir Path dir) throws Exception {
    Path text = Files.writeString(dir.resolve("notes.jpg"), "not a photo");
    MfnCliTest.Run run = MfnCliTest.mfn("detect", text.toString());
    assertThat(run.exit()).isEqualTo(1);
    assertThat(run.err().strip()).isEqualTo("mfn detect: " + text + ": NOT_AN_IMAGE: unknown signature");
  }

  @Test
  void alignWritesA112Crop(@TempDir Path dir) throws Exception {
    Path photo = SharedData.require("data/lfw/images/Aaron_Eckhart/Aaron_Eckhart_0001.jpg");
    Path out = dir.resolve("face.png");
    MfnCliTest.Run run = MfnCliTest.mfn("align", photo.toString(), out.toString(), "--detector", "mtcnn");
    assertThat(run.exit()).as(run.err()).isZero();
    assertThat(run.out()).contains("alignment residual");
    var image = javax.imageio.ImageIO.read(out.toFile());
    assertThat(image.getWidth()).isEqualTo(112);
    assertThat(image.getHeight()).isEqualTo(112);
  }

  @Test
  void embedWritesOneNormalisedLinePerInputInOrder(@TempDir Path dir) throws Exception {
    Path lfw = SharedData.require("data/lfw/images");
    Path model = SharedData.require("models/reference/MobileFaceNet_paddlex.onnx");
    Path blank = dir.resolve("blank.png");
    javax.imageio.ImageIO.write(new java.awt.image.BufferedImage(300, 200, java.awt.image.BufferedImage.TYPE_INT_RGB), "png", blank.toFile());
    Path list = dir.resolve("list.txt");
    List<String> inputs =
        List.of(
            lfw.resolve("Aaron_Eckhart/Aaron_Eckhart_0001.jpg").toString(),
            "blank.png",
            lfw.resolve("Abdullah_Gul/Abdullah_Gul_0001.jpg").toString(),
            lfw.resolve("Abdullah_Gul/Abdullah_Gul_0006.jpg").toString());
    Files.write(list, inputs);
    Path csv = dir.resolve("out.csv");

    MfnCliTest.Run run = MfnCliTest.mfn("embed", "--model", model.toString(), "--list", list.toString(),
        "--out", csv.toString(), "--flip", "--no-progress");
    assertThat(run.exit()).as(run.err()).isZero();
    assertThat(run.out()).contains("face found 3, central square 0, not embedded 1");
    List<String> lines = Files.readAllLines(csv);
    assertThat(lines).hasSize(4);
    for (int i = 0; i < 4; i++) {
      assertThat(lines.get(i)).startsWith(inputs.get(i) + ",");
      assertThat(lines.get(i).split(",", -1)).hasSize(129);
    }
    float[] a = vector(lines.get(0));
    float[] b = vector(lines.get(2));
    float[] c = vector(lines.get(3));
    assertThat(dot(a, a)).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-4));
    assertThat(dot(b, c)).as("same person").isGreaterThan(dot(a, b) + 0.2);
    assertThat(lines.get(1)).isEqualTo("blank.png" + ",".repeat(128));

    MfnCliTest.Run fallback = MfnCliTest.mfn("embed", "--model", model.toString(), "--list", list.toString(),
        "--out", csv.toString(), "--fallback", "center", "--no-progress");
    assertThat(fallback.out()).contains("face found 3, central square 1, not embedded 0");
  }

  private static float[] vector(String line) {
    String[] f = line.split(",");
    float[] v = new float[f.length - 1];
    for (int i = 1; i < f.length; i++) {
      v[i - 1] = Float.parseFloat(f[i]);
    }
    return v;
  }

  private static double dot(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }
}
