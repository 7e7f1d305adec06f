package dev.mfn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mfn.model.store.ModelConfig;
import dev.mfn.testkit.SharedData;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `mfn export` as a user with a version trained before training wrote model.onnx: before it, the
 * version verifies on PyTorch; after it, on ONNX Runtime, with the same verdict and (to the printed
 * three decimals) the same similarity.
 */
class ExportCommandTest {
  private static final Path LFW = SharedData.root().resolve("data/lfw/images");

  @Test
  void anOlderVersionIsExportedAndThenServedByOnnxRuntime(@TempDir Path dir) throws Exception {
    SharedData.require("data/lfw/images");
    Path committed = Path.of(System.getProperty("mfn.repo", "../..")).resolve("models/default").toAbsolutePath().normalize();
    Path version = Files.createDirectories(dir.resolve("store/v1"));
    ModelConfig config = ModelConfig.read(committed);
    Files.copy(committed.resolve(config.parameters()), version.resolve(config.parameters()));
    config.withOnnx(null).write(version);
    String a = LFW.resolve("Abdullah_Gul/Abdullah_Gul_0001.jpg").toString();
    String b = LFW.resolve("Abdullah_Gul/Abdullah_Gul_0006.jpg").toString();

    MfnCliTest.Run before = MfnCliTest.mfn("verify", a, b, "--model", version.toString());
    assertThat(before.exit()).as(before.err()).isZero();
    assertThat(before.out()).contains("on PyTorch)");

    MfnCliTest.Run export = MfnCliTest.mfn("export", "--model", version.toString());
    assertThat(export.exit()).as(export.err()).isZero();
    assertThat(export.out()).contains(config.id() + ": " + version.resolve("model.onnx")).contains("BatchNorm folded")
        .contains("(pixel - 127.5) / 128");
    assertThat(ModelConfig.read(version).onnx().file()).isEqualTo("model.onnx");

    MfnCliTest.Run after = MfnCliTest.mfn("verify", a, b, "--model", version.toString());
    assertThat(after.exit()).as(after.err()).isZero();
    assertThat(after.out()).contains("on ONNX Runtime)");
    assertThat(after.out().replace("ONNX Runtime", "")).isEqualTo(before.out().replace("PyTorch", ""));
  }
}
