package dev.mfn.services.flink;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mfn.services.process.PidFile;
import dev.mfn.services.process.Ports;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.GlobalConfiguration;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessSpec;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessUtils;
import org.apache.flink.runtime.jobmanager.JobManagerProcessSpec;
import org.apache.flink.runtime.jobmanager.JobManagerProcessUtils;
import org.apache.flink.runtime.util.config.memory.ProcessMemoryUtils;

/**
 * A standalone Flink session cluster on this machine: one JobManager and N TaskManagers, each its
 * own JVM, started from the Flink jars this build resolved (no Flink download), on 127.0.0.1.
 * Everything lives under {@code dir}: conf/config.yaml, log/, checkpoints/, savepoints/, pid files,
 * so `mfn services stop flink` in another process finds the cluster again.
 *
 * <p>Native libraries: the processes' class path holds OpenCV, DJL and ONNX Runtime (every jar of
 * this build except our own code, which comes with each job's jar), and config.yaml makes their
 * packages parent-first. So a native library is loaded once per TaskManager by the system class
 * loader, and a task that fails over (a new user-code class loader in the same TaskManager) finds
 * it loaded instead of failing with "already loaded in another classloader".
 */
public final class LocalFlinkCluster {
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(120);
  /** Flink's own list (its default config.yaml, env.java.opts.all) for Java 17. */
  static final List<String> JAVA_OPENS = List.of(
      "-XX:+IgnoreUnrecognizedVMOptions",
      "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
      "--add-exports=jdk.compiler/com.sun.tools.javac.api=ALL-UNNAMED",
      "--add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED",
      "--add-exports=jdk.compiler/com.sun.tools.javac.parser=ALL-UNNAMED",
      "--add-exports=jdk.compiler/com.sun.tools.javac.tree=ALL-UNNAMED",
      "--add-exports=jdk.compiler/com.sun.tools.javac.util=ALL-UNNAMED",
      "--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
      "--add-opens=java.base/java.lang=ALL-UNNAMED",
      "--add-opens=java.base/java.net=ALL-UNNAMED",
      "--add-opens=java.base/java.io=ALL-UNNAMED",
      "--add-opens=java.base/java.nio=ALL-UNNAMED",
      "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
      "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
      "--add-opens=java.base/java.text=ALL-UNNAMED",
      "--add-opens=java.base/java.time=ALL-UNNAMED",
      "--add-opens=java.base/java.util=ALL-UNNAMED",
      "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
      "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
      "--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED");

  private static final String JOB_MANAGER = "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint";
  private static final String TASK_MANAGER = "org.apache.flink.runtime.taskexecutor.TaskManagerRunner";

  private final Path dir;
  private final ClusterOptions options;

  public LocalFlinkCluster(Path dir, ClusterOptions options) {
    this.dir = dir.toAbsolutePath().normalize();
    this.options = options;
  }

  /** host:port of the REST API and web UI. */
  public String restAddress() {
    return "127.0.0.1:" + options.restPort();
  }

  public Path dir() {
    return dir;
  }

  /**
   * The Prometheus endpoints of the running processes (JobManager and TaskManagers), as
   * "http://127.0.0.1:PORT/metrics": the ports of the configured range that answer now.
   */
  public List<String> metricsEndpoints() throws IOException {
    List<String> endpoints = new ArrayList<>();
    var range = ClusterConfigFile.metricsPorts(dir);
    if (range.isPresent()) {
      for (int port = range.get()[0]; port <= range.get()[1]; port++) {
        if (Ports.isListening(port)) {
          endpoints.add("http://127.0.0.1:" + port + "/metrics");
        }
      }
    }
    return endpoints;
  }

  public Path logDir() {
    return dir.resolve("log");
  }

  /** The running JobManager recorded under dir, if any. */
  public Optional<ProcessHandle> jobManager() {
    return pid("jobmanager").process();
  }

  /** The running TaskManagers recorded under dir (index -> process). */
  public List<Integer> runningTaskManagers() throws IOException {
    List<Integer> running = new ArrayList<>();
    if (Files.isDirectory(dir)) {
      try (var files = Files.list(dir)) {
        files.map(p -> p.getFileName().toString())
            .filter(n -> n.startsWith("taskmanager-") && n.endsWith(".pid"))
            .map(n -> Integer.parseInt(n.substring("taskmanager-".length(), n.length() - 4)))
            .filter(i -> pid("taskmanager-" + i).process().isPresent())
            .sorted()
            .forEach(running::add);
      }
    }
    return running;
  }

  /**
   * Writes the configuration, starts the JobManager and the TaskManagers, and waits until every
   * TaskManager has registered. With {@code detached} the processes outlive this JVM (for `mfn
   * services start`); without it they are killed when it exits (tests).
   *
   * @return false when a JobManager was already running from this dir
   */
  public boolean start(boolean detached) throws IOException {
    if (jobManager().isPresent()) {
      return false;
    }
    if (Ports.isListening(options.restPort())) {
      throw new IOException("port " + options.restPort() + " on 127.0.0.1 is already in use by another process");
    }
    Files.createDirectories(logDir());
    ClusterConfigFile.write(dir, options);
    Configuration conf = GlobalConfiguration.loadConfiguration(confDir().toString());
    JobManagerProcessSpec jm = JobManagerProcessUtils.processSpecFromConfig(conf);
    List<String> jvm = new ArrayList<>(split(JobManagerProcessUtils.generateJvmParametersStr(jm, conf)));
    List<String> args = new ArrayList<>(List.of("--configDir", confDir().toString()));
    args.addAll(split(JobManagerProcessUtils.generateDynamicConfigsStr(jm)));
    ClusterClasspath.linkLibraries(dir.resolve("lib"));
    try {
      launch("jobmanager", jvm, JOB_MANAGER, args, detached);
      for (int i = 1; i <= options.taskManagers(); i++) {
        startTaskManager(i, detached);
      }
      awaitTaskManagers(options.taskManagers());
    } catch (IOException | RuntimeException e) {
      stop(); // no half-started cluster left behind
      throw e;
    }
    return true;
  }

  /** Starts TaskManager {@code index} (a replacement after a kill, or one more). */
  public void startTaskManager(int index, boolean detached) throws IOException {
    Configuration conf = GlobalConfiguration.loadConfiguration(confDir().toString());
    TaskExecutorProcessSpec spec = TaskExecutorProcessUtils.processSpecFromConfig(conf);
    List<String> jvm = new ArrayList<>(split(ProcessMemoryUtils.generateJvmParametersStr(spec)));
    List<String> args = new ArrayList<>(List.of("--configDir", confDir().toString()));
    args.addAll(split(TaskExecutorProcessUtils.generateDynamicConfigsStr(spec)));
    launch("taskmanager-" + index, jvm, TASK_MANAGER, args, detached);
  }

  /** kill -9 of TaskManager {@code index}: a machine that dies, for failover tests. */
  public void killTaskManager(int index) {
    pid("taskmanager-" + index).process().ifPresent(p -> {
      p.destroyForcibly();
      p.onExit().join();
    });
  }

  /** Stops the TaskManagers, then the JobManager; false when nothing was running. */
  public boolean stop() throws IOException {
    boolean any = false;
    for (int i : runningTaskManagers()) {
      any |= pid("taskmanager-" + i).stop(Duration.ofSeconds(20));
    }
    any |= pid("jobmanager").stop(Duration.ofSeconds(20));
    return any;
  }

  /** TaskManagers registered with the JobManager now (REST /taskmanagers), -1 when unreachable. */
  public int registeredTaskManagers() {
    try {
      JsonNode tms = get("/taskmanagers").get("taskmanagers");
      return tms == null ? 0 : tms.size();
    } catch (IOException e) {
      return -1;
    }
  }

  /** Waits until {@code count} TaskManagers are registered. */
  public void awaitTaskManagers(int count) throws IOException {
    Instant deadline = Instant.now().plus(READY_TIMEOUT);
    while (Instant.now().isBefore(deadline)) {
      if (jobManager().isEmpty()) {
        throw new IOException("the Flink JobManager exited; see " + logDir().resolve("jobmanager.log"));
      }
      if (registeredTaskManagers() >= count) {
        return;
      }
      sleep(500);
    }
    throw new IOException("Flink: " + count + " TaskManagers not registered after " + READY_TIMEOUT.toSeconds()
        + " s; see " + logDir());
  }

  /** GET on the REST API, as JSON. */
  public JsonNode get(String path) throws IOException {
    try {
      HttpResponse<String> r = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://" + restAddress() + path)).timeout(Duration.ofSeconds(5)).build(),
          HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) {
        throw new IOException("GET " + path + ": HTTP " + r.statusCode());
      }
      return new ObjectMapper().readTree(r.body());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }

  Path confDir() {
    return dir.resolve("conf");
  }

  private PidFile pid(String name) {
    return new PidFile(dir.resolve(name + ".pid"));
  }

  private void launch(String name, List<String> jvmArgs, String mainClass, List<String> args, boolean detached)
      throws IOException {
    List<String> command = new ArrayList<>();
    if (detached && Files.isExecutable(Path.of("/usr/bin/setsid"))) {
      command.add("/usr/bin/setsid"); // own session: a later Ctrl-C in the terminal leaves it alone
    }
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(jvmArgs);
    command.addAll(JAVA_OPENS);
    Path log = logDir().resolve(name + ".log");
    command.addAll(List.of(
        "-Djava.awt.headless=true",
        "-Dlog.file=" + log,
        "-Dlogback.configurationFile=" + ClusterConfigFile.logback(dir),
        "-Djava.io.tmpdir=" + Files.createDirectories(dir.resolve("tmp")),
        "-cp", ClusterClasspath.linked(dir.resolve("lib"))));
    // where DJL unpacks its natives (~430 MB) and where the repository is: as this JVM has them
    for (String property : List.of("DJL_CACHE_DIR", "ENGINE_CACHE_DIR", "mfn.repo")) {
      if (System.getProperty(property) != null) {
        command.add("-D" + property + "=" + System.getProperty(property));
      }
    }
    command.add(mainClass);
    command.addAll(args);
    ProcessBuilder builder = new ProcessBuilder(command);
    // glibc tuning for PyTorch training (mfn, surefire) keeps freed memory forever: a TaskManager
    // that embeds would grow far past its process size, so it gets glibc's defaults
    builder.environment().remove("MALLOC_MMAP_MAX_");
    builder.environment().remove("MALLOC_TRIM_THRESHOLD_");
    // and few malloc arenas: PyTorch, ONNX Runtime and RocksDB allocate natively from many
    // threads, and glibc's default of 8 arenas a core let a TaskManager reach ~7 GB (measured)
    builder.environment().putIfAbsent("MALLOC_ARENA_MAX", "2");
    Process process = builder
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(logDir().resolve(name + ".out").toFile()))
        .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
        .start();
    pid(name).write(process.pid());
    if (!detached) {
      Runtime.getRuntime().addShutdownHook(new Thread(process::destroyForcibly));
    }
  }

  private static List<String> split(String s) {
    return Arrays.stream(s.trim().split("\\s+")).filter(a -> !a.isEmpty()).toList();
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
