package dev.mfn.services.kafka;

import dev.mfn.services.process.Commands;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * What a SASL_SSL broker needs on one machine: a PKCS12 keystore with a certificate for
 * 127.0.0.1 (the JDK's keytool; its PEM is what clients trust), an internal admin user for the
 * broker's own connections, the client user, both SCRAM-SHA-512 credentials written into the
 * metadata when the storage is formatted. The broker's own passwords live under
 * {@code dataDir/secrets} (mode 600); the client user's password is the caller's.
 */
final class SecureBroker {
  static final String MECHANISM = "SCRAM-SHA-512";
  private final Path dataDir;
  private final KafkaBroker.Security security;
  private String keystorePassword;
  private String adminPassword;

  SecureBroker(Path dataDir, KafkaBroker.Security security) {
    this.dataDir = dataDir;
    this.security = security;
  }

  Path keystore() {
    return dataDir.resolve("tls/broker.p12");
  }

  void prepare() throws IOException {
    keystorePassword = secret("keystore-password");
    adminPassword = secret("admin-password");
    if (!Files.exists(keystore())) {
      Files.createDirectories(keystore().getParent());
      String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
      // passwords from their file (":file"), never on keytool's command line
      String passwordFile = dataDir.resolve("secrets/keystore-password").toString();
      Commands.check(List.of(keytool, "-genkeypair", "-alias", "broker", "-keyalg", "RSA", "-keysize", "2048",
          "-dname", "CN=127.0.0.1", "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-validity", "3650", "-storetype", "PKCS12",
          "-keystore", keystore().toString(), "-storepass:file", passwordFile, "-keypass:file", passwordFile), null, 120);
      Commands.check(List.of(keytool, "-exportcert", "-rfc", "-alias", "broker", "-keystore", keystore().toString(),
          "-storepass:file", passwordFile, "-file", dataDir.resolve("tls/ca.pem").toString()), null, 120);
    }
  }

  /**
   * The SCRAM credentials the storage is formatted with: these arguments hold passwords, so the
   * format runs inside this JVM ({@link KafkaBroker}), never as a child process whose command
   * line every local user can read.
   */
  List<String> formatArguments() {
    return List.of(
        "--add-scram", MECHANISM + "=[name=admin,password=" + adminPassword + "]",
        "--add-scram", MECHANISM + "=[name=" + security.user() + ",password=" + security.password() + "]");
  }

  Map<String, String> serverProperties(int port, int controllerPort) {
    return Map.ofEntries(
        Map.entry("listeners", "SASL_SSL://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort),
        Map.entry("advertised.listeners", "SASL_SSL://127.0.0.1:" + port),
        Map.entry("listener.security.protocol.map", "SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT"),
        Map.entry("inter.broker.listener.name", "SASL_SSL"),
        Map.entry("sasl.enabled.mechanisms", MECHANISM),
        Map.entry("sasl.mechanism.inter.broker.protocol", MECHANISM),
        Map.entry("listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config",
            "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"admin\" password=\""
                + adminPassword + "\";"),
        Map.entry("ssl.keystore.type", "PKCS12"),
        Map.entry("ssl.keystore.location", keystore().toString()),
        Map.entry("ssl.keystore.password", keystorePassword),
        Map.entry("ssl.key.password", keystorePassword),
        Map.entry("ssl.truststore.type", "PEM"),
        Map.entry("ssl.truststore.location", dataDir.resolve("tls/ca.pem").toString()));
  }

  /** How the broker's own readiness check connects (as admin). */
  Map<String, String> adminClientProperties() {
    return Map.of(
        "security.protocol", "SASL_SSL",
        "sasl.mechanism", MECHANISM,
        "sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"admin\" password=\""
            + adminPassword + "\";",
        "ssl.truststore.type", "PEM",
        "ssl.truststore.location", dataDir.resolve("tls/ca.pem").toString());
  }

  /** A random password kept in dataDir/secrets (read again on the next start). */
  private String secret(String name) throws IOException {
    Path file = dataDir.resolve("secrets").resolve(name);
    if (Files.exists(file)) {
      return Files.readString(file).strip();
    }
    Files.createDirectories(file.getParent());
    byte[] random = new byte[18];
    new SecureRandom().nextBytes(random);
    String value = HexFormat.of().formatHex(random);
    Files.writeString(Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))), value);
    return value;
  }
}
