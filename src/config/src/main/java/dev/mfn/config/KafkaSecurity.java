package dev.mfn.config;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The security settings every Kafka client of the project uses (CLI, both Flink jobs, the
 * service, the retraining controller), from {@link MfnSettings}: {@code kafka.security.protocol}
 * (empty: PLAINTEXT; SASL_SSL, SASL_PLAINTEXT or SSL), {@code kafka.sasl.mechanism},
 * {@code kafka.sasl.username}, {@code kafka.ssl.ca} (a PEM file the clients trust).
 *
 * <p>The password never becomes a client property: the JAAS line refers to it through Kafka's
 * config providers, resolved by each client where it runs, so a Flink job graph (which carries
 * its sources' and sinks' properties) holds only the reference: {@code ${env:MFN_KAFKA_SASL_PASSWORD}}
 * when that variable is set, else {@code ${dir:FOLDER:FILE}} for the file named by
 * {@code kafka.sasl.password.file} (a Kubernetes secret volume; the file holds the password
 * alone, without a trailing newline).
 */
public final class KafkaSecurity {
  public static final String PASSWORD_ENV = "MFN_KAFKA_SASL_PASSWORD";

  private KafkaSecurity() {}

  /** The client properties for this process's settings; empty for a PLAINTEXT cluster. */
  public static Map<String, String> client() {
    return clientProperties(MfnSettings.load(), System.getenv());
  }

  static Map<String, String> clientProperties(MfnSettings settings, Map<String, String> env) {
    String protocol = settings.get("kafka.security.protocol").trim().toUpperCase(java.util.Locale.ROOT);
    if (protocol.isEmpty() || protocol.equals("PLAINTEXT")) {
      return Map.of();
    }
    Map<String, String> p = new LinkedHashMap<>();
    p.put("security.protocol", protocol);
    if (protocol.startsWith("SASL")) {
      String mechanism = settings.get("kafka.sasl.mechanism").trim();
      p.put("sasl.mechanism", mechanism);
      String reference;
      if (env.get(PASSWORD_ENV) != null) {
        p.put("config.providers", "env");
        p.put("config.providers.env.class", "org.apache.kafka.common.config.provider.EnvVarConfigProvider");
        reference = "${env:" + PASSWORD_ENV + "}";
      } else if (!settings.get("kafka.sasl.password.file").isBlank()) {
        Path file = settings.getPath("kafka.sasl.password.file");
        try {
          String content = java.nio.file.Files.readString(file);
          if (content.endsWith("\n") || content.endsWith("\r")) {
            // Kafka's DirectoryConfigProvider reads the file as it is: the newline would be part of the password
            throw new IllegalStateException("kafka.sasl.password.file " + file + " ends with a newline; write the password"
                + " without one (printf '%s' ... > file)");
          }
        } catch (java.io.IOException e) {
          throw new IllegalStateException("cannot read kafka.sasl.password.file " + file + ": " + e.getMessage());
        }
        p.put("config.providers", "dir");
        p.put("config.providers.dir.class", "org.apache.kafka.common.config.provider.DirectoryConfigProvider");
        reference = "${dir:" + file.getParent() + ":" + file.getFileName() + "}";
      } else {
        throw new IllegalStateException("kafka.security.protocol is " + protocol + " but no password is configured: set "
            + PASSWORD_ENV + " or kafka.sasl.password.file (not a settings value: the jobs' graphs would carry it)");
      }
      String module = mechanism.startsWith("SCRAM") ? "org.apache.kafka.common.security.scram.ScramLoginModule"
          : "org.apache.kafka.common.security.plain.PlainLoginModule";
      p.put("sasl.jaas.config", module + " required username=\"" + settings.get("kafka.sasl.username").trim()
          + "\" password=\"" + reference + "\";");
    }
    if (protocol.endsWith("SSL") && !settings.get("kafka.ssl.ca").isBlank()) {
      p.put("ssl.truststore.type", "PEM");
      p.put("ssl.truststore.location", settings.getPath("kafka.ssl.ca").toString());
    }
    return p;
  }

  /** A client's own configuration with the security properties added. */
  public static Map<String, Object> with(Map<String, Object> config) {
    Map<String, Object> all = new java.util.HashMap<>(config);
    all.putAll(client());
    return all;
  }

  /** The same as {@link java.util.Properties}, added to {@code into}. */
  public static java.util.Properties addTo(java.util.Properties into) {
    into.putAll(client());
    return into;
  }
}
