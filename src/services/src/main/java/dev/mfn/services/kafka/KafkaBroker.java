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

  public KafkaBroker(Path dataDir, int port, int controllerPort) {
    this.dataDir = dataDir.toAbsolutePath().normalize();
    this.port = port;
    this.controllerPort = controllerPort;
    this.pidFile = new PidFile(this.dataDir.resolve("broker.pid"));
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
    Path config = writeServerProperties();
    Path loggingConfig = writeLoggingConfig();
    if (!Files.exists(logDir().resolve("meta.properties"))) {
      format(config);
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
    awaitReady(process);
    return true;
  }

  /** Stops the broker recorded under dataDir; false when none was running. */
  public boolean stop() throws IOException {
    return pidFile.stop(Duration.ofSeconds(30));
  }

  private Path logDir() {
    return dataDir.resolve("kraft-logs");
  }

  private Path writeServerProperties() throws IOException {
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
    Path config = dataDir.resolve("server.properties");
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

  private void format(Path config) throws IOException {
    List<String> command =
        JavaCommand.of(
            List.of("-Xmx256m"),
            "kafka.tools.StorageTool",
            List.of(
                "format",
                "--ignore-formatted",
                "-t",
                Uuid.randomUuid().toString(),
                "-c",
                config.toString()));
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

  private void awaitReady(Process process) throws IOException {
    Instant deadline = Instant.now().plus(READY_TIMEOUT);
    Properties props = new Properties();
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
