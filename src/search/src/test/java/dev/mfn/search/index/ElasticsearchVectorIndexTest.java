package dev.mfn.search.index;

import static org.assertj.core.api.Assertions.assertThat;

import co.elastic.clients.elasticsearch.ElasticsearchClient;
import dev.mfn.config.MfnSettings;
import dev.mfn.services.elasticsearch.ElasticsearchServer;
import dev.mfn.services.process.Ports;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The contract on a real Elasticsearch node (the 9.2 distribution, started for this class), plus
 * what only the cluster backend has: the serving alias.
 */
class ElasticsearchVectorIndexTest extends VectorIndexContract {
  private static ElasticsearchServer server;
  private static ElasticsearchClient client;
  private static final Set<String> used = new HashSet<>();

  @BeforeAll
  static void start() throws IOException {
    MfnSettings settings = MfnSettings.load();
    Path data = Files.createTempDirectory(Files.createDirectories(settings.home()), "es-index-test-");
    server = new ElasticsearchServer(MfnSettings.pinnedVersion("elasticsearch.version"),
        settings.home().resolve("elasticsearch"), data, Ports.free(), settings.get("elasticsearch.user"), "512m");
    server.start();
    client = new ElasticsearchVectorIndex.Connection(server.url(), null, null, null, null).client();
  }

  @AfterAll
  static void stop() throws IOException {
    if (client != null) {
      client.close();
    }
    if (server != null) {
      server.stop();
    }
  }

  /** Each test gets its own version names (the node outlives the tests of the class). */
  @Override
  VectorIndex open(Path root, String version) throws IOException {
    String unique = root.getFileName() + "-" + version;
    used.add(unique);
    return new ElasticsearchVectorIndex(client, unique);
  }

  @Test
  void theAliasServesOneVersionAtATime(@TempDir Path root) throws IOException {
    ElasticsearchVectorIndex a = (ElasticsearchVectorIndex) open(root, "a");
    ElasticsearchVectorIndex b = (ElasticsearchVectorIndex) open(root, "b");
    a.serve();
    assertThat(client.indices().getAlias(g -> g.name(ElasticsearchVectorIndex.ALIAS)).aliases()).containsOnlyKeys(a.index());
    b.serve();
    assertThat(client.indices().getAlias(g -> g.name(ElasticsearchVectorIndex.ALIAS)).aliases()).containsOnlyKeys(b.index());
  }
}
