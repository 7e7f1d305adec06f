package dev.mfn.cli;

import dev.mfn.config.MfnSettings;
import dev.mfn.face.crop.FaceCropper;
import dev.mfn.model.Embedder;
import dev.mfn.model.PhotoEmbedder;
import dev.mfn.model.EmbeddingModels;
import dev.mfn.search.enroll.FaceEmbedStage;
import dev.mfn.flink.embed.IndexTarget;
import dev.mfn.search.index.ElasticsearchVectorIndex;
import dev.mfn.search.index.LuceneVectorIndex;
import dev.mfn.search.index.VectorIndex;
import java.nio.file.Files;
import java.util.List;
import java.util.stream.Stream;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * The options search, enroll, delete, reindex and serve share: the model, and the vector index:
 * the embedded Lucene one (a folder), or Elasticsearch with --es / setting index.es.url.
 */
final class IndexOptions {
  @Option(names = "--model", paramLabel = "MODEL", description = Models.HELP)
  Path model;

  @Option(names = "--index", paramLabel = "DIR", description = "Embedded index folder, one subfolder per model version (default: setting index.dir).")
  Path index;

  @Option(names = "--es", paramLabel = "URL", description = "Elasticsearch instead of the embedded index (default: setting index.es.url; credentials and CA from the index.es.* settings).")
  String es;

  Path indexRoot(MfnSettings settings) {
    return index != null ? index : settings.getPath("index.dir");
  }

  /** The Elasticsearch connection, or null for the embedded index. */
  ElasticsearchVectorIndex.Connection elasticsearch(MfnSettings settings) {
    String url = es != null ? es : settings.get("index.es.url");
    if (url == null || url.isBlank()) {
      return null;
    }
    String ca = settings.get("index.es.ca");
    return new ElasticsearchVectorIndex.Connection(url, settings.get("index.es.user"), settings.secret("index.es.password"),
        settings.secret("index.es.api.key"), ca == null || ca.isBlank() ? null : settings.getPath("index.es.ca"));
  }

  /** Where the Flink embed job writes: the same index these options open. */
  IndexTarget target(MfnSettings settings) {
    var c = elasticsearch(settings);
    return c == null ? IndexTarget.lucene(indexRoot(settings))
        : IndexTarget.elasticsearch(c.url(), c.username(), c.caCertificate() == null ? null : c.caCertificate().toString());
  }

  /** Every model version with an index (folders under the root, or faces-* indices). */
  List<String> versions(MfnSettings settings) throws IOException {
    var c = elasticsearch(settings);
    if (c != null) {
      try (var client = c.client()) {
        return ElasticsearchVectorIndex.versions(client);
      }
    }
    Path root = indexRoot(settings);
    if (!Files.isDirectory(root)) {
      return List.of();
    }
    try (Stream<Path> children = Files.list(root)) {
      return children.filter(Files::isDirectory).map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  /** For messages: where a version's index is. */
  String describe(MfnSettings settings, String version) {
    var c = elasticsearch(settings);
    return c == null ? indexRoot(settings).resolve(version).toString()
        : c.url() + " index " + ElasticsearchVectorIndex.indexName(version);
  }

  /** The model version names the index: a model-store version's name, or the model file's name. */
  static String version(Embedder embedder, Path model, MfnSettings settings) throws IOException {
    return EmbeddingModels.version(embedder, Models.resolve(model, settings));
  }

  VectorIndex openIndex(MfnSettings settings, String version) throws IOException {
    var c = elasticsearch(settings);
    return c == null ? new LuceneVectorIndex(indexRoot(settings), version) : ElasticsearchVectorIndex.open(c, version);
  }

  /**
   * A version's index as the search service opens it: Elasticsearch as always; the embedded index
   * read-only (the embed job may hold its writer), reopened when a newer commit appears.
   */
  VectorIndex openForServing(MfnSettings settings, String version) throws IOException {
    var c = elasticsearch(settings);
    return c == null ? LuceneVectorIndex.readOnly(indexRoot(settings), version) : ElasticsearchVectorIndex.open(c, version);
  }

  /** The version the index serves now, with its model's location when recorded. */
  java.util.Optional<dev.mfn.search.index.ServedVersion> served(MfnSettings settings) throws IOException {
    var c = elasticsearch(settings);
    if (c == null) {
      return LuceneVectorIndex.served(indexRoot(settings));
    }
    try (var client = c.client()) {
      return ElasticsearchVectorIndex.served(client);
    }
  }

  static FaceEmbedStage stage(FaceCropper cropper, Embedder embedder, String version, FaceEmbedStage.Faces faces, int batch) {
    return new FaceEmbedStage(cropper, new PhotoEmbedder(cropper, embedder, true, false, batch), version, faces);
  }
}
