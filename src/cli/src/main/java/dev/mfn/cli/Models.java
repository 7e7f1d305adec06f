package dev.mfn.cli;

import dev.mfn.model.CropTensor;
import dev.mfn.model.Embedder;
import dev.mfn.model.OnnxEmbedder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Opens the embedding model a command was given. */
final class Models {
  private Models() {}

  static Embedder open(Path model) throws IOException {
    if (model == null) {
      throw new IOException("no --model given");
    }
    if (!Files.exists(model)) {
      throw new IOException("model not found: " + model);
    }
    if (Files.isRegularFile(model) && model.getFileName().toString().endsWith(".onnx")) {
      // ONNX embedders of the MobileFaceNet family: BGR, (x - 127.5) / 127.5
      return new OnnxEmbedder(model, CropTensor.REFERENCE);
    }
    throw new IOException("unsupported model " + model + " (expected an .onnx file)");
  }
}
