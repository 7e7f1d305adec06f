package dev.mfn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mfn.config.MfnSettings;
import dev.mfn.services.kafka.KafkaBroker;
import dev.mfn.services.process.Ports;
import dev.mfn.testkit.LocalKafka;
import dev.mfn.testkit.SharedData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A secured Elasticsearch as an operator starts it (`mfn services start elasticsearch --secure`:
 * certificates from the distribution's elasticsearch-certutil, a user whose password is generated
 * into a file of mode 600), and every client reaching it with the settings it prints: `mfn enroll`
 * both ways (directly, and through Kafka and the Flink embed job, whose tasks read the password
 * from their own settings), `mfn search`. A wrong password and a wrong CA are refused with one
 * clear line each.
 */
@ExtendWith(LocalKafka.class)
class SecureElasticsearchTest {
  private static final List<String> SETTINGS = List.of("mfn.index.es.user", "mfn.index.es.ca", "mfn.index.es.password.file",
      "mfn.index.es.password");
  @TempDir Path dir;
  private Path data;

  @AfterEach
  void stop() {
    SETTINGS.forEach(System::clearProperty);
    if (data != null) {
      MfnCliTest.mfn("services", "stop", "elasticsearch", "--data", data.toString());
    }
  }

  @Test
  void rightCredentialsWorkAndWrongOnesAreRefusedWithOneLine(KafkaBroker broker) throws Exception {
    String model = SharedData.require("models/reference/MobileFaceNet_paddlex.onnx").toString();
    Path lfw = SharedData.require("data/lfw/images");
    // a data folder the service user can reach (not a private temp folder), as the other ES tests do
    data = Files.createTempDirectory(Files.createDirectories(MfnSettings.load().home()), "es-secure-test-");
    int port = Ports.free();
    MfnCliTest.Run start = MfnCliTest.mfn("services", "start", "elasticsearch", "--secure", "--data", data.toString(),
        "--port", String.valueOf(port));
    assertThat(start.exit()).as(start.err() + start.out()).isZero();
    String url = "https://127.0.0.1:" + port;
    assertThat(start.out()).contains("Elasticsearch is healthy at " + url).contains("secured: TLS with its own CA, user mfn");
    Path passwordFile = data.resolve("secrets/elasticsearch-password");
    Path ca = data.resolve("config/certs/ca/ca.crt");
    assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(passwordFile))).isEqualTo("rw-------");
    String password = Files.readString(passwordFile).strip();
    assertThat(start.out()).contains("MFN_INDEX_ES_PASSWORD_FILE=" + passwordFile).doesNotContain(password);

    // plain HTTP and no credentials: refused by the node itself
    var http = java.net.http.HttpClient.newHttpClient();
    boolean plain;
    try {
      plain = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + "/")).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString()).statusCode() == 200;
    } catch (java.io.IOException closed) {
      plain = false;
    }
    assertThat(plain).isFalse();
    // HTTPS with the node's CA but no credentials: 401 from the node itself
    var trust = java.security.KeyStore.getInstance(java.security.KeyStore.getDefaultType());
    trust.load(null, null);
    try (var in = Files.newInputStream(ca)) {
      trust.setCertificateEntry("ca", java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    var tmf = javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    var ssl = javax.net.ssl.SSLContext.getInstance("TLS");
    ssl.init(null, tmf.getTrustManagers(), null);
    assertThat(java.net.http.HttpClient.newBuilder().sslContext(ssl).build().send(
        java.net.http.HttpRequest.newBuilder(java.net.URI.create(url + "/")).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(401);
    // the CA's private key is gone (nobody can mint a certificate clients would trust); the node's is owner-only
    assertThat(data.resolve("config/certs/ca/ca.key")).doesNotExist();
    assertThat(java.nio.file.attribute.PosixFilePermissions.toString(
        Files.getPosixFilePermissions(data.resolve("config/certs/node/node.key")))).isEqualTo("rw-------");

    System.setProperty("mfn.index.es.user", "mfn");
    System.setProperty("mfn.index.es.ca", ca.toString());
    System.setProperty("mfn.index.es.password.file", passwordFile.toString());
    Path gallery = dir.resolve("gallery");
    List<Path> people = TestCertificates.gallery(lfw, gallery, 40, 3);
    MfnCliTest.Run direct = MfnCliTest.mfn("enroll", gallery.toString(), "--direct", "--model", model, "--es", url, "--no-progress");
    assertThat(direct.exit()).as(direct.err()).isZero();
    assertThat(direct.out()).contains("enrolled 3 faces");
    // the streaming path: the embed job's sink opens the index on its task, with its own settings
    MfnCliTest.Run streamed = MfnCliTest.mfn("enroll", gallery.toString(), "--model", model, "--es", url,
        "--bootstrap", broker.bootstrapServers(), "--topic", "secure-enroll", "--no-progress");
    assertThat(streamed.exit()).as(streamed.err()).isZero();
    assertThat(streamed.out()).contains("holds 3 faces");
    String probe;
    try (Stream<Path> photos = Files.list(people.get(1))) {
      probe = photos.sorted().findFirst().orElseThrow().toString();
    }
    MfnCliTest.Run search = MfnCliTest.mfn("search", probe, "--model", model, "--es", url, "--threshold", "0.3");
    assertThat(search.exit()).as(search.err()).isZero();
    assertThat(search.out()).contains(people.get(1).getFileName().toString());

    // a wrong password: one line naming what to fix
    System.setProperty("mfn.index.es.password", "not-the-password");
    MfnCliTest.Run wrong = MfnCliTest.mfn("search", probe, "--model", model, "--es", url, "--threshold", "0.3");
    assertThat(wrong.exit()).isEqualTo(Mfn.EXIT_USAGE);
    assertThat(wrong.err().lines().toList()).hasSize(1);
    assertThat(wrong.err()).contains("refused the credentials (HTTP 401)").contains("index.es.user").doesNotContain("not-the-password");
    System.clearProperty("mfn.index.es.password");

    // a CA that did not sign the node's certificate
    Path otherCa = TestCertificates.otherCa(dir);
    System.setProperty("mfn.index.es.ca", otherCa.toString());
    MfnCliTest.Run untrusted = MfnCliTest.mfn("search", probe, "--model", model, "--es", url, "--threshold", "0.3");
    assertThat(untrusted.exit()).isEqualTo(Mfn.EXIT_USAGE);
    assertThat(untrusted.err().lines().toList()).hasSize(1);
    assertThat(untrusted.err()).contains("cannot verify the TLS certificate of Elasticsearch at " + url).contains("index.es.ca");
  }
}
