package dev.mfn.services.elasticsearch;

import dev.mfn.services.process.Commands;
import dev.mfn.services.process.PidFile;
import dev.mfn.services.process.Ports;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A single-node Elasticsearch on 127.0.0.1, from the distribution zip on Maven Central, started as a
 * dedicated non-root user (Elasticsearch refuses root) with a JDK >= 21 found on the machine.
 *
 * <p>Layout: the zip is unpacked once under {@code installRoot}; data, logs, temp files and the pid
 * file live under {@code dataDir}, which the user may choose.
 */
public final class ElasticsearchServer {
  static final int MINIMUM_JAVA = 21;
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(180);
  private static final Pattern STATUS = Pattern.compile("\"status\"\\s*:\\s*\"(\\w+)\"");

  private final String version;
  private final Path installRoot;
  private final Path dataDir;
  private final int port;
  private final String serviceUser;
  private final String heap;
  private final PidFile pidFile;
  private final Security security;

  /** A secured node: HTTPS with its own CA, and this user (superuser, file realm) with this password. */
  public record Security(String user, String password) {
    @Override
    public String toString() { // never the password
      return "Security[user=" + user + "]";
    }
  }

  public ElasticsearchServer(
      String version, Path installRoot, Path dataDir, int port, String serviceUser, String heap) {
    this(version, installRoot, dataDir, port, serviceUser, heap, null);
  }

  private ElasticsearchServer(
      String version, Path installRoot, Path dataDir, int port, String serviceUser, String heap, Security security) {
    this.security = security;
    this.version = version;
    this.installRoot = installRoot.toAbsolutePath().normalize();
    this.dataDir = dataDir.toAbsolutePath().normalize();
    this.port = port;
    this.serviceUser = serviceUser;
    this.heap = heap;
    this.pidFile = new PidFile(this.dataDir.resolve("elasticsearch.pid"));
  }

  /** The same node, secured (see {@link SecureSetup}): `mfn services start elasticsearch --secure`. */
  public ElasticsearchServer secured(Security value) {
    return new ElasticsearchServer(version, installRoot, dataDir, port, serviceUser, heap, value);
  }

  public String url() {
    return (security != null ? "https" : "http") + "://127.0.0.1:" + port;
  }

  /** The CA certificate of a secured node (what clients trust: setting index.es.ca). */
  public Path caCertificate() {
    return dataDir.resolve("config/certs/ca/ca.crt");
  }

  public Path logDir() {
    return dataDir.resolve("logs");
  }

  public Optional<ProcessHandle> process() {
    return pidFile.process();
  }

  /**
   * Fetches and unpacks the distribution when missing, starts the node and waits for a green or
   * yellow cluster. Returns false when a node from this dataDir was already running.
   */
  public boolean start() throws IOException {
    if (process().isPresent()) {
      return false;
    }
    if (Ports.isListening(port)) {
      throw new IOException("port " + port + " on 127.0.0.1 is already in use by another process");
    }
    Path jdk =
        JdkLocator.find(MINIMUM_JAVA)
            .orElseThrow(
                () ->
                    new IOException(
                        "Elasticsearch needs a JDK >= "
                            + MINIMUM_JAVA
                            + " and none was found; install one (e.g. Temurin 25) or set"
                            + " ES_JAVA_HOME"));
    Path home = new ElasticsearchDistribution(version, installRoot).ensureUnpacked();
    for (String dir : new String[] {"data", "logs", "tmp"}) {
      Files.createDirectories(dataDir.resolve(dir));
    }
    SecureSetup secure = security == null ? null : new SecureSetup(home, dataDir, jdk);
    if (secure != null) {
      secure.prepare(security.user(), security.password());
    }
    boolean asRoot = "root".equals(System.getProperty("user.name"));
    List<String> command = new ArrayList<>();
    if (asRoot) {
      ServiceUser.ensure(serviceUser);
      ServiceUser.requireReachable(serviceUser, home, dataDir);
      Commands.check(List.of("chown", "-R", serviceUser, home.toString()), null, 120);
      Commands.check(List.of("chown", "-R", serviceUser, dataDir.toString()), null, 120);
      command.addAll(List.of("runuser", "-u", serviceUser, "--"));
    }
    command.addAll(
        List.of(
            "env",
            // a CLASSPATH inherited from a test runner or launcher would leak into the node
            "-u", "CLASSPATH",
            "-u", "JAVA_TOOL_OPTIONS",
            "-u", "_JAVA_OPTIONS",
            "ES_JAVA_HOME=" + jdk,
            "ES_JAVA_OPTS=-Xms" + heap + " -Xmx" + heap,
            "ES_TMPDIR=" + dataDir.resolve("tmp"),
            "ES_PATH_CONF=" + (secure != null ? secure.conf() : home.resolve("config")),
            home.resolve("bin/elasticsearch").toString(),
            "-d",
            "-p",
            pidFile.path().toString(),
            "-E", "cluster.name=mfn",
            "-E", "node.name=mfn-local",
            "-E", "discovery.type=single-node",
            "-E", "network.host=127.0.0.1",
            "-E", "http.port=" + port,
            // node-to-node traffic, unused by a single node but always bound: a range, so that a
            // port taken by any other process (the fixed port + 100 was an ephemeral port of some
            // client in a CI run: "Address already in use") costs the next one, not the start
            "-E", "transport.port=" + transportPorts(port),
            "-E", "path.data=" + dataDir.resolve("data"),
            "-E", "path.logs=" + logDir(),
            // a nearly full disk must not turn a local test index read-only
            "-E", "cluster.routing.allocation.disk.threshold_enabled=false"));
    command.addAll(secure != null ? secure.settings() : List.of("-E", "xpack.security.enabled=false"));
    Commands.Result launch = Commands.run(command, home, 240);
    if (launch.exitCode() != 0) {
      throw new IOException(
          "Elasticsearch did not start (exit "
              + launch.exitCode()
              + "): "
              + lastLine(launch.output())
              + "; logs in "
              + logDir());
    }
    awaitHealthy();
    return true;
  }

  public boolean stop() throws IOException {
    return pidFile.stop(Duration.ofSeconds(60));
  }

  /** Cluster status ("green", "yellow", "red") from /_cluster/health, or empty when unreachable. */
  public Optional<String> health() {
    HttpRequest.Builder builder =
        HttpRequest.newBuilder(URI.create(url() + "/_cluster/health"))
            .timeout(Duration.ofSeconds(5))
            .GET();
    try {
      HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
      if (security != null) {
        if (!Files.exists(caCertificate())) {
          return Optional.empty();
        }
        client = new SecureSetup(installRoot, dataDir, null).client();
        builder.header("Authorization", "Basic " + java.util.Base64.getEncoder().encodeToString(
            (security.user() + ":" + security.password()).getBytes(java.nio.charset.StandardCharsets.UTF_8)));
      }
      HttpRequest request = builder.build();
      HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
      Matcher m = STATUS.matcher(response.body());
      return response.statusCode() == 200 && m.find() ? Optional.of(m.group(1)) : Optional.empty();
    } catch (IOException e) {
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
  }

  private void awaitHealthy() throws IOException {
    Instant deadline = Instant.now().plus(READY_TIMEOUT);
    while (Instant.now().isBefore(deadline)) {
      Optional<String> status = health();
      if (status.isPresent() && !status.get().equals("red")) {
        return;
      }
      if (process().isEmpty() && Instant.now().isAfter(deadline.minus(READY_TIMEOUT).plusSeconds(20))) {
        throw new IOException("Elasticsearch exited during start-up; logs in " + logDir());
      }
      try {
        Thread.sleep(500);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while waiting for Elasticsearch", e);
      }
    }
    throw new IOException(
        "Elasticsearch not healthy after " + READY_TIMEOUT.toSeconds() + " s; logs in " + logDir());
  }

  /** The transport ports a node on HTTP port {@code port} may bind, the first free one taken. */
  static String transportPorts(int port) {
    int from = port + 100 <= 65_435 ? port + 100 : 1024 + port % 1000;
    return from + "-" + (from + 99);
  }

  private static String lastLine(String output) {
    String[] lines = output.strip().split("\n");
    return lines[lines.length - 1];
  }

  static void makeExecutable(Path file) throws IOException {
    Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
    perms.add(PosixFilePermission.OWNER_EXECUTE);
    perms.add(PosixFilePermission.GROUP_EXECUTE);
    perms.add(PosixFilePermission.OTHERS_EXECUTE);
    Files.setPosixFilePermissions(file, perms);
  }
}
