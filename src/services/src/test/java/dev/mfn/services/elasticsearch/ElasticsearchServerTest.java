package dev.mfn.services.elasticsearch;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mfn.config.MfnSettings;
import dev.mfn.services.process.Ports;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Starts the real Elasticsearch distribution (fetched by its Maven coordinates) on a free port,
 * waits for a healthy cluster and stops it. The unpacked distribution is cached in the build folder.
 */
class ElasticsearchServerTest {

  /**
   * With the first transport port taken by another process, as a CI run once had it (an ephemeral
   * port of some client happened to be HTTP port + 100): the node still starts.
   */
  @Test
  void startsHealthyOnLoopbackAndStops() throws Exception {
    MfnSettings settings = MfnSettings.load();
    Path data = Files.createTempDirectory(Files.createDirectories(settings.home()), "es-test-");
    int port = Ports.free();
    String range = ElasticsearchServer.transportPorts(port);
    int firstTransport = Integer.parseInt(range.substring(0, range.indexOf('-')));
    ElasticsearchServer server =
        new ElasticsearchServer(
            MfnSettings.pinnedVersion("elasticsearch.version"),
            settings.home().resolve("elasticsearch"),
            data,
            port,
            settings.get("elasticsearch.user"),
            "512m");
    try (ServerSocket taken = new ServerSocket(firstTransport, 1, InetAddress.getLoopbackAddress())) {
      assertThat(server.start()).isTrue();
      assertThat(server.health()).hasValueSatisfying(s -> assertThat(s).isIn("green", "yellow"));
      assertThat(server.process()).isPresent();
      assertThat(server.url()).startsWith("http://127.0.0.1:");
    } finally {
      server.stop();
    }
    assertThat(server.process()).isEmpty();
    assertThat(server.health()).isEmpty();
    ElasticsearchDistribution.deleteRecursively(data);
  }

  @Test
  void findsAJdkNewEnoughForElasticsearch() {
    // The machine kind this project runs on has a JDK >= 21 beside the default 17.
    assertThat(JdkLocator.find(ElasticsearchServer.MINIMUM_JAVA))
        .hasValueSatisfying(
            jdk -> assertThat(JdkLocator.majorVersion(jdk).orElseThrow()).isGreaterThanOrEqualTo(21));
    assertThat(JdkLocator.find(999)).isEmpty();
  }

  @Test
  void transportPortsAreARangeOfAHundredInsideThePortSpace() {
    assertThat(ElasticsearchServer.transportPorts(9200)).isEqualTo("9300-9399");
    assertThat(ElasticsearchServer.transportPorts(65_400)).isEqualTo("1424-1523");
    assertThat(ElasticsearchServer.transportPorts(65_335)).isEqualTo("65435-65534");
  }
}
