package dev.mfn.flink.embed;

import dev.mfn.search.index.ElasticsearchVectorIndex;
import dev.mfn.search.index.LuceneVectorIndex;
import dev.mfn.search.index.VectorIndex;
import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Where the job writes, as a serialisable recipe the sink opens on its task: the embedded Lucene
 * index (a folder per model version; one writer, so the sink runs with parallelism 1) or an
 * Elasticsearch cluster (any parallelism).
 *
 * <p>No secret is part of the recipe: it travels in the job graph (the JobManager's storage, the
 * web UI's plan, savepoint metadata). The Elasticsearch password or API key is read where the
 * index is opened, from that process's settings: MFN_INDEX_ES_PASSWORD / MFN_INDEX_ES_API_KEY or
 * the files named by index.es.password.file / index.es.api.key.file (a Kubernetes secret volume).
 */
public record IndexTarget(String luceneRoot, String esUrl, String esUser, String esCaCert) implements Serializable {

  public static IndexTarget lucene(Path root) {
    return new IndexTarget(root.toAbsolutePath().toString(), null, null, null);
  }

  /** Elasticsearch at {@code url}; the user's password comes from the settings of the process that opens it. */
  public static IndexTarget elasticsearch(String url, String user, String caCert) {
    return new IndexTarget(null, url, user, caCert);
  }

  public boolean isLucene() {
    return esUrl == null;
  }

  /**
   * Opens the index of one model version. A Lucene folder takes one writer per process, and the
   * sink and the index migrator both write to a new version, so Lucene indexes are shared within
   * the task manager's JVM ({@link SharedLuceneIndexes}).
   */
  public VectorIndex open(String modelVersion) throws IOException {
    if (isLucene()) {
      return SharedLuceneIndexes.open(Path.of(luceneRoot), modelVersion);
    }
    return ElasticsearchVectorIndex.open(connection(), modelVersion);
  }

  /** The version searches use now: the alias (Elasticsearch) or the SERVING file (Lucene). */
  public Optional<String> servedVersion() throws IOException {
    if (isLucene()) {
      return LuceneVectorIndex.servedVersion(Path.of(luceneRoot));
    }
    try (var client = connection().client()) {
      return ElasticsearchVectorIndex.servedVersion(client);
    }
  }

  /** The served version with the location of its model, when recorded. */
  public Optional<dev.mfn.search.index.ServedVersion> served() throws IOException {
    if (isLucene()) {
      return LuceneVectorIndex.served(Path.of(luceneRoot));
    }
    try (var client = connection().client()) {
      return ElasticsearchVectorIndex.served(client);
    }
  }

  /** Every model version that has an index here (folders under the root, or faces-* indices). */
  public java.util.List<String> versions() throws IOException {
    if (isLucene()) {
      Path root = Path.of(luceneRoot);
      if (!java.nio.file.Files.isDirectory(root)) {
        return java.util.List.of();
      }
      try (var children = java.nio.file.Files.list(root)) {
        return children.filter(java.nio.file.Files::isDirectory).map(p -> p.getFileName().toString()).sorted().toList();
      }
    }
    try (var client = connection().client()) {
      return ElasticsearchVectorIndex.versions(client);
    }
  }

  private ElasticsearchVectorIndex.Connection connection() {
    dev.mfn.config.MfnSettings here = dev.mfn.config.MfnSettings.load();
    return new ElasticsearchVectorIndex.Connection(esUrl, esUser, here.secret("index.es.password"),
        here.secret("index.es.api.key"), esCaCert == null ? null : Path.of(esCaCert));
  }
}
