package dev.mfn.services.kafka;

import dev.mfn.services.process.JavaCommand;
import dev.mfn.services.process.PidFile;
import dev.mfn.services.process.Ports;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;

/**
 * A single-node KRaft Kafka broker (broker and controller in one) run as a child JVM from the Maven
 * artifacts on our classpath, listening on 127.0.0.1 only. No Docker, no separate install.
 *
 * <p>Everything lives under {@code dataDir}: server.properties, the log segments, broker.log and a
 * pid file, so `mfn services stop kafka` in another process finds the broker again.
 */
public final class KafkaBroker {
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(90);

  private final Path dataDir;
  private final int port;
  private final int controllerPort;
  private final PidFile pidFile;
  private final Security security;

  /**
   * A secured broker: clients authenticate with SASL SCRAM-SHA-512 over TLS (SASL_SSL) as this
   * user; the broker's certificate is its own (self-signed for 127.0.0.1, made with the JDK's
   * keytool), and clients trust it through {@link #caCertificate()}. Authentication only: every
   * authenticated user may use every topic (no ACLs on one machine).
   */
  public record Security(String user, String password) {
    @Override
    public String toString() { // never the password
      return "Security[user=" + user + "]";
    }
  }

  public KafkaBroker(Path dataDir, int port, int controllerPort) {
    this(dataDir, port, controllerPort, null);
  }

  private KafkaBroker(Path dataDir, int port, int controllerPort, Security security) {
    this.security = security;
    this.dataDir = dataDir.toAbsolutePath().normalize();
    this.port = port;
    this.controllerPort = controllerPort;
    this.pidFile = new PidFile(this.dataDir.resolve("broker.pid"));
  }

  /** The same broker, secured (a data folder formatted with its users: use a new one). */
  public KafkaBroker secured(Security value) {
    return new KafkaBroker(dataDir, port, controllerPort, value);
  }

  /** The PEM certificate clients of a secured broker trust (setting kafka.ssl.ca). */
  public Path caCertificate() {
    return dataDir.resolve("tls/ca.pem");
  }

  public String bootstrapServers() {
    return "127.0.0.1:" + port;
  }

  public Path dataDir() {
    return dataDir;
  }

  public Path logFile() {
    return dataDir.resolve("broker.log");
  }

  /** The running broker process recorded under dataDir, if any. */
  public Optional<ProcessHandle> process() {
    return pidFile.process();
  }

  /**
   * Formats the storage on first use, starts the broker and waits until it answers an admin
   * request. With {@code detached}, the broker outlives this JVM (for `mfn services start`); without
   * it, the broker is killed when this JVM exits (for tests).
   *
   * @return false when a broker was already running from this dataDir
   */
  public boolean start(boolean detached) throws IOException {
    if (process().isPresent()) {
      return false;
    }
    for (int p : new int[] {port, controllerPort}) {
      if (Ports.isListening(p)) {
        throw new IOException("port " + p + " on 127.0.0.1 is already in use by another process");
      }
    }
    Files.createDirectories(dataDir);
    SecureBroker secure = security == null ? null : new SecureBroker(dataDir, security);
    if (secure != null) {
      secure.prepare();
    }
    Path config = writeServerProperties(secure);
    Path loggingConfig = writeLoggingConfig();
    if (!Files.exists(logDir().resolve("meta.properties"))) {
      if (secure == null) {
        format(config, List.of());
      } else {
        formatInProcess(config, secure.formatArguments());
      }
    }
    List<String> command = new ArrayList<>();
    if (detached && Files.isExecutable(Path.of("/usr/bin/setsid"))) {
      command.add("/usr/bin/setsid"); // own session: a later Ctrl-C in the terminal leaves it alone
    }
    command.addAll(
        JavaCommand.of(
            List.of(
                "-Xms256m",
                "-Xmx768m",
                "-XX:+UseG1GC",
                "-Djava.awt.headless=true",
                "-Dlogback.configurationFile=" + loggingConfig,
                "-Djava.io.tmpdir=" + Files.createDirectories(dataDir.resolve("tmp"))),
            "kafka.Kafka",
            List.of(config.toString())));
    Process process =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile().toFile()))
            .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
            .start();
    pidFile.write(process.pid());
    if (!detached) {
      Runtime.getRuntime().addShutdownHook(new Thread(process::destroyForcibly));
    }
    awaitReady(process, secure);
    return true;
  }

  /** Stops the broker recorded under dataDir; false when none was running. */
  public boolean stop() throws IOException {
    return pidFile.stop(Duration.ofSeconds(30));
  }

  private Path logDir() {
    return dataDir.resolve("kraft-logs");
  }

  private Path writeServerProperties(SecureBroker secure) throws IOException {
    Properties p = new Properties();
    p.putAll(
        Map.ofEntries(
            Map.entry("process.roles", "broker,controller"),
            Map.entry("node.id", "1"),
            Map.entry("controller.quorum.voters", "1@127.0.0.1:" + controllerPort),
            Map.entry(
                "listeners",
                "PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort),
            Map.entry("advertised.listeners", "PLAINTEXT://127.0.0.1:" + port),
            Map.entry("controller.listener.names", "CONTROLLER"),
            Map.entry("inter.broker.listener.name", "PLAINTEXT"),
            Map.entry(
                "listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"),
            Map.entry("log.dirs", logDir().toString()),
            // One node: every internal topic has a single replica.
            Map.entry("offsets.topic.replication.factor", "1"),
            Map.entry("offsets.topic.num.partitions", "4"),
            Map.entry("transaction.state.log.replication.factor", "1"),
            Map.entry("transaction.state.log.min.isr", "1"),
            Map.entry("transaction.state.log.num.partitions", "4"),
            Map.entry("share.coordinator.state.topic.replication.factor", "1"),
            Map.entry("share.coordinator.state.topic.min.isr", "1"),
            Map.entry("group.initial.rebalance.delay.ms", "0"),
            Map.entry("num.partitions", "1"),
            // Training datasets are snapshots of a topic: keep them until the user deletes them.
            Map.entry("log.retention.ms", "-1")));
    if (secure != null) {
      p.putAll(secure.serverProperties(port, controllerPort));
    }
    Path config = dataDir.resolve("server.properties");
    Files.deleteIfExists(config);
    // it may hold the broker's own passwords: only its owner reads it
    Files.createFile(config, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
        java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
    try (var out = Files.newBufferedWriter(config)) {
      p.store(out, "written by mfn: single-node KRaft broker on loopback");
    }
    return config;
  }

  private Path writeLoggingConfig() throws IOException {
    Path file = dataDir.resolve("broker-logback.xml");
    Files.writeString(
        file,
        """
        <configuration>
          <appender name="OUT" class="ch.qos.logback.core.ConsoleAppender">
            <encoder><pattern>%d{ISO8601} %-5level [%logger{24}] %msg%n</pattern></encoder>
          </appender>
          <logger name="org.apache.kafka" level="INFO"/>
          <logger name="kafka" level="INFO"/>
          <logger name="state.change.logger" level="WARN"/>
          <root level="INFO"><appender-ref ref="OUT"/></root>
        </configuration>
        """);
    return file;
  }

  /**
   * Kafka's StorageTool in this JVM: its SCRAM arguments hold passwords, which a child process
   * would show to every local user (ps). Kafka's Exit is pointed at an exception for the call.
   */
  private void formatInProcess(Path config, List<String> extra) throws IOException {
    List<String> arguments = new ArrayList<>(List.of(
        "format", "--ignore-formatted", "-t", Uuid.randomUuid().toString(), "-c", config.toString()));
    arguments.addAll(extra);
    final class Exited extends RuntimeException {
      final int code;

      Exited(int code) {
        super(null, null, false, false);
        this.code = code;
      }
    }
    org.apache.kafka.common.utils.Exit.setExitProcedure((code, message) -> {
      throw new Exited(code);
    });
    try {
      Class.forName("kafka.tools.StorageTool").getMethod("main", String[].class)
          .invoke(null, (Object) arguments.toArray(String[]::new));
    } catch (java.lang.reflect.InvocationTargetException e) {
      if (!(e.getCause() instanceof Exited exited && exited.code == 0)) {
        throw new IOException("formatting Kafka storage failed: " + (e.getCause() instanceof Exited x
            ? "exit " + x.code : e.getCause().getClass().getSimpleName()), null);
      }
    } catch (ReflectiveOperationException e) {
      throw new IOException("Kafka's StorageTool is not on the classpath", e);
    } finally {
      org.apache.kafka.common.utils.Exit.resetExitProcedure();
    }
    if (!Files.exists(logDir().resolve("meta.properties"))) {
      throw new IOException("formatting Kafka storage wrote no meta.properties under " + logDir());
    }
  }

  private void format(Path config, List<String> extra) throws IOException {
    List<String> arguments = new ArrayList<>(List.of(
        "format", "--ignore-formatted", "-t", Uuid.randomUuid().toString(), "-c", config.toString()));
    arguments.addAll(extra);
    List<String> command = JavaCommand.of(List.of("-Xmx256m"), "kafka.tools.StorageTool", arguments);
    Process process =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile().toFile()))
            .start();
    try {
      if (!process.waitFor(120, TimeUnit.SECONDS) || process.exitValue() != 0) {
        process.destroyForcibly();
        throw new IOException("formatting Kafka storage failed; see " + logFile());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while formatting Kafka storage", e);
    }
  }

  private void awaitReady(Process process, SecureBroker secure) throws IOException {
    Instant deadline = Instant.now().plus(READY_TIMEOUT);
    Properties props = new Properties();
    if (secure != null) {
      props.putAll(secure.adminClientProperties());
    }
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
    props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "3000");
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "5000");
    while (Instant.now().isBefore(deadline)) {
      if (!process.isAlive()) {
        throw new IOException(
            "Kafka broker exited with code " + process.exitValue() + "; see " + logFile());
      }
      if (Ports.isListening(port)) {
        try (Admin admin = Admin.create(props)) {
          if (!admin.describeCluster().nodes().get(5, TimeUnit.SECONDS).isEmpty()) {
            return;
          }
        } catch (Exception notYet) {
          // the listener opens before the controller has elected itself: try again
        }
      }
      sleepQuietly(250);
    }
    process.destroyForcibly();
    throw new IOException(
        "Kafka broker not ready after " + READY_TIMEOUT.toSeconds() + " s; see " + logFile());
  }

  private static void sleepQuietly(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
