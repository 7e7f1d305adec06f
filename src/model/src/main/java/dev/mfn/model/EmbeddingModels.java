package dev.mfn.model;

import dev.mfn.model.export.OnnxExport;
import dev.mfn.model.store.ModelConfig;
import dev.mfn.model.store.ModelStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Opens whatever a user gives as MODEL: an .onnx file, a model-store version, or a whole store. */
public final class EmbeddingModels {
  private EmbeddingModels() {}

  /** Opens with the runtime the settings choose ({@link EmbedRuntime#fromSettings}). */
  public static Embedder open(Path model) throws IOException {
    return open(model, EmbedRuntime.fromSettings(dev.mfn.config.MfnSettings.load()));
  }

  /**
   * Opens {@code model}: an .onnx file with ONNX Runtime; a model-store version (or a store's latest)
   * with ONNX Runtime when it has a current {@code model.onnx} and the runtime allows it, else with
   * the PyTorch engine on its parameters.
   */
  public static Embedder open(Path model, EmbedRuntime runtime) throws IOException {
    if (!Files.exists(model)) {
      throw new IOException("model not found: " + model);
    }
    Path exported = exportedVersion(model);
    if (exported != null) {
      // a version's own export given by its file: the version (its normalisation, id and thresholds)
      return open(exported, runtime.choice() == EmbedRuntime.Choice.PYTORCH ? runtime : runtime.withChoice(EmbedRuntime.Choice.ONNX));
    }
    if (Files.isRegularFile(model) && model.getFileName().toString().endsWith(".onnx")) {
      // ONNX embedders of the MobileFaceNet family: BGR, (x - 127.5) / 127.5
      return new OnnxEmbedder(model, CropTensor.REFERENCE, null, runtime.threads());
    }
    if (Files.isDirectory(model)) {
      Path version = ModelStore.resolve(model);
      if (runtime.choice() == EmbedRuntime.Choice.PYTORCH) {
        return new TorchEmbedder(version);
      }
      ModelConfig config = ModelConfig.read(version);
      var onnx = OnnxExport.usable(version, config);
      if (onnx.isPresent()) {
        try {
          return new OnnxEmbedder(onnx.get(), config.preprocessing(), config, runtime.threads());
        } catch (IOException | RuntimeException | LinkageError e) {
          if (runtime.choice() == EmbedRuntime.Choice.ONNX) {
            throw e;
          }
          // a file ONNX Runtime cannot load, or no native runtime on this machine: the parameters still serve
          org.slf4j.LoggerFactory.getLogger(EmbeddingModels.class)
              .warn("{}: ONNX Runtime cannot open {} ({}); using the PyTorch path", version, onnx.get(), e.toString());
        }
      }
      if (runtime.choice() == EmbedRuntime.Choice.ONNX) {
        throw new IOException("model.runtime is onnx but " + version + " has no current " + OnnxExport.FILE
            + " (write it with: mfn export --model " + version + ")");
      }
      return new TorchEmbedder(version);
    }
    throw new IOException(
        "unsupported model " + model + " (expected an .onnx file or a model-store folder)");
  }

  /** The version folder when {@code model} is a version's own model.onnx, else null. */
  private static Path exportedVersion(Path model) {
    Path parent = model.toAbsolutePath().getParent();
    return Files.isRegularFile(model) && parent != null && model.getFileName().toString().equals(OnnxExport.FILE)
        && Files.isRegularFile(parent.resolve(ModelConfig.FILE)) ? parent : null;
  }

  /** A short name for reports: the version folder's name, or the file name. */
  public static String name(Path model) throws IOException {
    if (exportedVersion(model) != null) {
      return name(exportedVersion(model));
    }
    if (Files.isDirectory(model)) {
      Path version = ModelStore.resolve(model);
      return version.getFileName().toString();
    }
    return model.getFileName().toString();
  }

  /**
   * The model version that names index versions, documents and model events: a model-store
   * version's id (config.json: its name and its store's id, e.g. v3-1a2b3c4d), or the model file's
   * name for an .onnx file.
   */
  public static String version(Embedder embedder, Path model) throws IOException {
    return embedder.storeConfig().isPresent() ? embedder.storeConfig().get().id() : name(model);
  }

  /** The same version as {@link #version(Embedder, Path)}, read without loading the model. */
  public static String version(Path model) throws IOException {
    if (exportedVersion(model) != null) {
      return version(exportedVersion(model));
    }
    return Files.isDirectory(model)
        ? dev.mfn.model.store.ModelConfig.read(ModelStore.resolve(model)).id()
        : name(model);
  }
}
