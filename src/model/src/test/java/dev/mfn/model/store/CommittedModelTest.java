package dev.mfn.model.store;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The committed default model names itself by its weights: its id ({@code v1-<first 8 hex digits
 * of the parameters' SHA-256>}) must differ from any other network's, or an index built with one
 * is written to and searched with the other (the default committed before 2026-12-04 was plain
 * {@code v1}). Config, card and ONNX file must agree on it, and the checksums on the files.
 */
class CommittedModelTest {
  private static final Path COMMITTED =
      Path.of(System.getProperty("mfn.repo", "../..")).resolve("models/default").toAbsolutePath().normalize();

  @Test
  void itsIdComesFromItsWeightsAndEveryFileAgrees() throws Exception {
    ModelConfig config = ModelConfig.read(COMMITTED);
    String parameters = ModelStore.checksum(COMMITTED);
    assertThat(config.checksum()).as("config.json's checksum is the parameter file's").isEqualTo(parameters);
    assertThat(config.id()).isEqualTo(config.version() + "-" + parameters.substring(0, 8));
    assertThat(config.evalPairs()).as("no path of the training machine in the repository").isNull();

    JsonNode card = new ObjectMapper().readTree(COMMITTED.resolve("model-card.json").toFile());
    assertThat(card.path("model_id").asText()).isEqualTo(config.id());

    Path onnx = COMMITTED.resolve(config.onnx().file());
    assertThat(ModelStore.checksum(onnx)).as("config.json's ONNX checksum").isEqualTo(config.onnx().sha256());
    assertThat(config.onnx().parametersSha256()).as("exported from these parameters").isEqualTo(parameters);
    // the export writes the id into the file's doc string and metadata (UTF-8 in the protobuf)
    byte[] bytes = Files.readAllBytes(onnx);
    assertThat(new String(bytes, StandardCharsets.ISO_8859_1)).contains("mfn.version").contains(config.id());
  }
}
