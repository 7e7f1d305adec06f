package dev.mfn.flink.embed;

import dev.mfn.search.index.ElasticsearchVectorIndex;
import dev.mfn.search.index.LuceneVectorIndex;
import dev.mfn.search.index.VectorIndex;
import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Path;

/**
 * Where the job writes, as a serialisable recipe the sink opens on its task: the embedded Lucene
 * index (a folder per model version; one writer, so the sink runs with parallelism 1) or an
 * Elasticsearch cluster (any parallelism).
 */
public record IndexTarget(String luceneRoot, String esUrl, String esUser, String esPassword, String esApiKey, String esCaCert)
    implements Serializable {

  public static IndexTarget lucene(Path root) {
    return new IndexTarget(root.toAbsolutePath().toString(), null, null, null, null, null);
  }

  public static IndexTarget elasticsearch(String url, String user, String password, String apiKey, String caCert) {
    return new IndexTarget(null, url, user, password, apiKey, caCert);
  }

  public boolean isLucene() {
    return esUrl == null;
  }

  /** Opens the index of one model version. */
  public VectorIndex open(String modelVersion) throws IOException {
    if (isLucene()) {
      return new LuceneVectorIndex(Path.of(luceneRoot), modelVersion);
    }
    var connection = new ElasticsearchVectorIndex.Connection(esUrl, esUser, esPassword, esApiKey,
        esCaCert == null ? null : Path.of(esCaCert));
    return new ElasticsearchVectorIndex(connection.client(), modelVersion);
  }
}
