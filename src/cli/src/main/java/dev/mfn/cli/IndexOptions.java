package dev.mfn.cli;

import dev.mfn.config.MfnSettings;
import dev.mfn.face.crop.FaceCropper;
import dev.mfn.model.Embedder;
import dev.mfn.model.PhotoEmbedder;
import dev.mfn.model.EmbeddingModels;
import dev.mfn.search.enroll.FaceEmbedStage;
import dev.mfn.search.index.LuceneVectorIndex;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The options search, enroll and delete share: the model and the embedded index. */
final class IndexOptions {
  @Option(names = "--model", paramLabel = "MODEL", description = Models.HELP)
  Path model;

  @Option(names = "--index", paramLabel = "DIR", description = "Embedded index folder, one subfolder per model version (default: setting index.dir).")
  Path index;

  Path indexRoot(MfnSettings settings) {
    return index != null ? index : settings.getPath("index.dir");
  }

  /** The model version names the index: a model-store version's name, or the model file's name. */
  static String version(Embedder embedder, Path model, MfnSettings settings) throws IOException {
    return EmbeddingModels.version(embedder, Models.resolve(model, settings));
  }

  LuceneVectorIndex openIndex(MfnSettings settings, String version) throws IOException {
    return new LuceneVectorIndex(indexRoot(settings), version);
  }

  static FaceEmbedStage stage(FaceCropper cropper, Embedder embedder, String version, FaceEmbedStage.Faces faces, int batch) {
    return new FaceEmbedStage(cropper, new PhotoEmbedder(cropper, embedder, true, false, batch), version, faces);
  }
}
