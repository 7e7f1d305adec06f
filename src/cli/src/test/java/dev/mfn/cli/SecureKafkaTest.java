package dev.mfn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mfn.config.MfnSettings;
import dev.mfn.flink.embed.EmbedConfig;
import dev.mfn.flink.embed.EmbedJob;
import dev.mfn.flink.embed.IndexTarget;
import dev.mfn.services.process.Ports;
import dev.mfn.testkit.DetectorFiles;
import dev.mfn.testkit.SharedData;
import dev.mfn.testkit.TopicReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.InstantiationUtil;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A secured Kafka as an operator starts it (`mfn services start kafka --secure`: SASL_SSL with
 * SCRAM-SHA-512, a certificate of its own, the client password generated into a 600 file) and the
 * clients with the settings it prints: `mfn publish`, `mfn enroll` through the Flink embed job.
 * A wrong password and a wrong CA: one clear line each. And the job graph a cluster would receive
 * holds neither the Kafka password nor the Elasticsearch one: only references to them.
 */
class SecureKafkaTest {
  private static final List<String> SETTINGS = List.of("mfn.kafka.security.protocol", "mfn.kafka.sasl.username",
      "mfn.kafka.ssl.ca", "mfn.kafka.sasl.password.file", "mfn.kafka.controller.port", "mfn.index.es.password");
  @TempDir Path dir;
  private Path data;

  @AfterEach
  void stop() {
    if (data != null) {
      MfnCliTest.mfn("services", "stop", "kafka", "--data", data.toString());
    }
    SETTINGS.forEach(System::clearProperty);
  }

  @Test
  void rightCredentialsWorkWrongOnesAreRefusedAndNoSecretIsInTheJobGraph() throws Exception {
    String model = SharedData.require("models/reference/MobileFaceNet_paddlex.onnx").toString();
    Path lfw = SharedData.require("data/lfw/images");
    data = dir.resolve("kafka-secure");
    int port = Ports.free();
    System.setProperty("mfn.kafka.controller.port", String.valueOf(Ports.free()));
    MfnCliTest.Run start = MfnCliTest.mfn("services", "start", "kafka", "--secure", "--data", data.toString(),
        "--port", String.valueOf(port));
    assertThat(start.exit()).as(start.err() + start.out()).isZero();
    String bootstrap = "127.0.0.1:" + port;
    Path passwordFile = data.resolve("secrets/client-password");
    Path ca = data.resolve("tls/ca.pem");
    String password = Files.readString(passwordFile);
    assertThat(start.out()).contains("secured: SASL_SSL, SCRAM-SHA-512 user mfn").contains("MFN_KAFKA_SSL_CA=" + ca)
        .doesNotContain(password);
    assertThat(Files.readString(data.resolve("broker.log"))).doesNotContain(password);

    // no credentials at all: refused
    MfnCliTest.Run anonymous = MfnCliTest.mfn("models", "list", "--bootstrap", bootstrap);
    assertThat(anonymous.exit()).isNotZero();

    System.setProperty("mfn.kafka.security.protocol", "SASL_SSL");
    System.setProperty("mfn.kafka.sasl.username", "mfn");
    System.setProperty("mfn.kafka.ssl.ca", ca.toString());
    System.setProperty("mfn.kafka.sasl.password.file", passwordFile.toString());
    Path gallery = dir.resolve("gallery");
    List<Path> people = TestCertificates.gallery(lfw, gallery, 50, 3);
    MfnCliTest.Run publish = MfnCliTest.mfn("publish", gallery.toString(), "--topic", "secure-photos", "--bootstrap", bootstrap,
        "--no-progress");
    assertThat(publish.exit()).as(publish.err()).isZero();
    assertThat(publish.out()).contains("published 3 of 3 files");
    MfnCliTest.Run enroll = MfnCliTest.mfn("enroll", gallery.toString(), "--model", model, "--index", dir.resolve("index").toString(),
        "--bootstrap", bootstrap, "--topic", "secure-enroll", "--no-progress");
    assertThat(enroll.exit()).as(enroll.err()).isZero();
    assertThat(enroll.out()).contains("holds 3 faces");

    // the job graph a cluster would get: Kafka's password only as a reference, Elasticsearch's not at all
    System.setProperty("mfn.index.es.password", "es-secret-in-settings-123");
    EmbedConfig config = new EmbedConfig(bootstrap, "secure-enroll", "dlq", "models.events", "g", false, 1, model,
        IndexTarget.elasticsearch("https://127.0.0.1:1", "mfn", ca.toString()), false, 8, 200, 1_000,
        dir.resolve("checkpoints").toString(), "blazeface", DetectorFiles.blazefaceDir().toString(), null, null, 0.5, 20,
        64 << 20, 60_000_000);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    EmbedJob.fromConfig(config).build(env);
    byte[] graph = InstantiationUtil.serializeObject(env.getStreamGraph().getJobGraph());
    String text = new String(graph, StandardCharsets.ISO_8859_1);
    assertThat(text).doesNotContain(password).doesNotContain("es-secret-in-settings-123");
    assertThat(text).contains("${dir:" + passwordFile.getParent() + ":client-password}");
    System.clearProperty("mfn.index.es.password");

    // a wrong password: one line
    Path wrong = Files.writeString(dir.resolve("wrong-password"), "not-the-password");
    System.setProperty("mfn.kafka.sasl.password.file", wrong.toString());
    MfnCliTest.Run refused = MfnCliTest.mfn("publish", gallery.toString(), "--topic", "secure-photos", "--bootstrap", bootstrap,
        "--no-progress");
    assertThat(refused.exit()).isEqualTo(Mfn.EXIT_USAGE);
    assertThat(refused.err().lines().toList()).hasSize(1);
    assertThat(refused.err()).contains("refused the credentials (SASL authentication failed)").contains("kafka.sasl.username");

    // a CA that did not issue the broker's certificate: one line
    System.setProperty("mfn.kafka.sasl.password.file", passwordFile.toString());
    System.setProperty("mfn.kafka.ssl.ca", TestCertificates.otherCa(dir).toString());
    MfnCliTest.Run untrusted = MfnCliTest.mfn("publish", gallery.toString(), "--topic", "secure-photos", "--bootstrap", bootstrap,
        "--no-progress");
    assertThat(untrusted.exit()).isEqualTo(Mfn.EXIT_USAGE);
    assertThat(untrusted.err().lines().toList()).hasSize(1);
    assertThat(untrusted.err()).contains("cannot verify the TLS certificate of Kafka at " + bootstrap).contains("kafka.ssl.ca");
    // what was published with the right credentials is there (read as an authenticated client)
    System.setProperty("mfn.kafka.ssl.ca", ca.toString());
    assertThat(TopicReader.readAll(bootstrap, "secure-photos")).hasSize(3);
  }
}
