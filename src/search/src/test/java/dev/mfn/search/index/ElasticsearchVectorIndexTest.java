package dev.mfn.search.index;


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
import org.junit.jupiter.api.io.TempDir;

/**
 * The contract on a real Elasticsearch node (the 9.2 distribution, started for this class), plus
 * the version names made unique per test (one node serves them all).
 */
class ElasticsearchVectorIndexTest extends VectorIndexContract {
  private static ElasticsearchServer server;
  private static Path data;
  private static ElasticsearchClient client;
  private static final Set<String> used = new HashSet<>();

  @BeforeAll
  static void start() throws IOException {
    MfnSettings settings = MfnSettings.load();
    data = Files.createTempDirectory(Files.createDirectories(settings.home()), "es-index-test-");
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

  /** The node's data folder: every index's segments and translog. */
  @Override
  Path onDisk(Path root) {
    return data;
  }

  /** Elasticsearch keeps a crop base64-encoded in the document's _source. */
  @Override
  byte[] storedForm(byte[] crop) {
    return java.util.Base64.getEncoder().encode(crop);
  }

  /** Only this test's versions count: the node outlives the tests, and the alias is global. */
  @Override
  java.util.Optional<String> served(Path root) throws IOException {
    return ElasticsearchVectorIndex.servedVersion(client).filter(v -> v.startsWith(root.getFileName() + "-"));
  }
}
