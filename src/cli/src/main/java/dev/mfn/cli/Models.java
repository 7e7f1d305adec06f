package dev.mfn.cli;

import dev.mfn.config.MfnSettings;
import dev.mfn.model.Embedder;
import dev.mfn.model.EmbeddingModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Opens the embedding model a command was given, or the project's default model. */
final class Models {
  static final String HELP =
      "Embedding model: an .onnx file, a model-store version folder (v3) or a whole store (its"
          + " latest version). Default: the committed default model (setting model.default).";

  private Models() {}

  static Path resolve(Path model, MfnSettings settings) throws IOException {
    if (model != null) {
      return model;
    }
    Path fallback = settings.getPath("model.default");
    if (!Files.isDirectory(fallback)) {
      throw new IOException("no --model given and the default model is missing: " + fallback);
    }
    return fallback;
  }

  static Embedder open(Path model, MfnSettings settings) throws IOException {
    return EmbeddingModels.open(resolve(model, settings));
  }

  static String name(Path model, MfnSettings settings) throws IOException {
    return EmbeddingModels.name(resolve(model, settings));
  }
}
