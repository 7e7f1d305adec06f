package dev.mfn.services.flink;

import dev.mfn.services.process.Ports;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * conf/config.yaml of the local cluster: loopback addresses, memory, slots, and the settings both
 * jobs run with on any cluster of ours (the Kubernetes FlinkDeployments carry the same):
 * RocksDB state with incremental checkpoints, checkpoints retained on cancel (a job can be
 * resumed from its last one), savepoints folder, restarts with back-off, native-code packages
 * loaded parent-first, and a checkpoint timeout that a long cut (every identity's samples written
 * in one go) stays within, with a few failed checkpoints tolerated rather than a restart. (Our jobs
 * also set the checkpoint policy themselves, JobSettings.checkpointing: the client fixes it in the
 * job graph, where this file does not reach; these lines serve other jobs.)
 */
public final class ClusterConfigFile {
  /** Packages whose classes (and native libraries) come from the cluster's class path only. */
  public static final String PARENT_FIRST = "nu.pattern.;org.opencv.;ai.djl.;com.microsoft.onnxruntime.";

  private ClusterConfigFile() {}

  static void write(Path dir, ClusterOptions o) throws IOException {
    Path conf = Files.createDirectories(dir.resolve("conf"));
    String yaml = """
        # written by mfn services start flink: a standalone session cluster on loopback
        jobmanager.rpc.address: 127.0.0.1
        jobmanager.rpc.port: %d
        jobmanager.bind-host: 127.0.0.1
        jobmanager.memory.process.size: %dm
        taskmanager.bind-host: 127.0.0.1
        taskmanager.host: 127.0.0.1
        taskmanager.memory.process.size: %dm
        taskmanager.numberOfTaskSlots: %d
        taskmanager.load-balance.mode: SLOTS
        rest.address: 127.0.0.1
        rest.bind-address: 127.0.0.1
        rest.port: %d
        parallelism.default: 1
        heartbeat.timeout: 20000
        io.tmp.dirs: %s
        state.backend.type: rocksdb
        execution.checkpointing.incremental: true
        execution.checkpointing.dir: %s
        execution.checkpointing.savepoint-dir: %s
        execution.checkpointing.externalized-checkpoint-retention: RETAIN_ON_CANCELLATION
        execution.checkpointing.timeout: 30 min
        execution.checkpointing.tolerable-failed-checkpoints: 3
        restart-strategy.type: exponential-delay
        restart-strategy.exponential-delay.initial-backoff: 1 s
        restart-strategy.exponential-delay.max-backoff: 30 s
        restart-strategy.exponential-delay.attempts-before-reset-backoff: 20
        classloader.parent-first-patterns.additional: "%s"
        web.submit.enable: true
        # every process (JobManager, each TaskManager) serves its metrics to Prometheus on the first
        # free port of this range (the Kubernetes FlinkDeployments use 9249, one process per pod)
        metrics.reporter.prom.factory.class: org.apache.flink.metrics.prometheus.PrometheusReporterFactory
        metrics.reporter.prom.port: %s
        """.formatted(
            Ports.free(), o.jobManagerMb(), o.taskManagerMb(), o.slots(), o.restPort(),
            Files.createDirectories(dir.resolve("tmp")),
            dir.resolve("checkpoints").toUri(), dir.resolve("savepoints").toUri(), PARENT_FIRST,
            metricsPorts(o));
    Files.writeString(conf.resolve("config.yaml"), yaml);
    Files.writeString(logback(dir), """
        <configuration>
          <appender name="FILE" class="ch.qos.logback.core.FileAppender">
            <file>${log.file}</file>
            <encoder><pattern>%d{ISO8601} %-5level [%thread] [%logger{30}] %msg%n</pattern></encoder>
          </appender>
          <logger name="org.apache.flink" level="INFO"/>
          <logger name="org.apache.kafka" level="WARN"/>
          <logger name="org.apache.pekko" level="WARN"/>
          <root level="INFO"><appender-ref ref="FILE"/></root>
        </configuration>
        """);
  }

  /**
   * A range of ports for the processes' Prometheus endpoints: one per process and some to spare
   * (a reporter whose port is taken tries the next one).
   */
  private static String metricsPorts(ClusterOptions o) {
    int first = Math.min(Ports.free(), 65_535 - 64);
    return first + "-" + (first + o.taskManagers() + 8);
  }

  /** The range written into a cluster's config.yaml, as "FIRST-LAST"; empty when none. */
  static java.util.Optional<int[]> metricsPorts(Path dir) throws IOException {
    Path file = dir.resolve("conf").resolve("config.yaml");
    if (!Files.isRegularFile(file)) {
      return java.util.Optional.empty();
    }
    for (String line : Files.readAllLines(file)) {
      if (line.startsWith("metrics.reporter.prom.port:")) {
        String[] range = line.substring(line.indexOf(':') + 1).trim().split("-");
        int from = Integer.parseInt(range[0].trim());
        return java.util.Optional.of(new int[] {from, range.length > 1 ? Integer.parseInt(range[1].trim()) : from});
      }
    }
    return java.util.Optional.empty();
  }

  static Path logback(Path dir) {
    return dir.resolve("conf").resolve("logback.xml");
  }
}
