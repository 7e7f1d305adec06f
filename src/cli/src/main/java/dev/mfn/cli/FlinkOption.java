package dev.mfn.cli;

import dev.mfn.config.MfnSettings;
import dev.mfn.services.flink.ClusterJobs;
import picocli.CommandLine.Option;

/** `--flink HOST:PORT`: run the job on a Flink session cluster instead of the local MiniCluster. */
final class FlinkOption {
  @Option(names = "--flink", paramLabel = "HOST:PORT", description = {
      "Submit the job to the Flink session cluster whose REST API is there (setting flink.rest;",
      "./mfn services start flink starts one on 127.0.0.1:8081). Default: Flink's local cluster",
      "inside this command."})
  String rest;

  /** The cluster's REST address, or null for the local MiniCluster. */
  String address(MfnSettings settings) {
    String a = rest != null ? rest : settings.get("flink.rest");
    return a == null || a.isBlank() ? null : a.trim();
  }

  /** A client for the cluster; one line when nothing answers there. */
  static ClusterJobs connect(String address, MfnSettings settings) throws Exception {
    ClusterJobs jobs = new ClusterJobs(address, settings.home().resolve("flink-client"));
    if (!jobs.reachable()) {
      jobs.close();
      throw new IllegalStateException("no Flink JobManager answers at " + address
          + " (start one with ./mfn services start flink)");
    }
    return jobs;
  }

  /** The message of the deepest cause: what went wrong, not which layer passed it on. */
  static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    String message = t.getMessage() != null ? t.getMessage() : t.toString();
    // Flink's REST errors arrive as "[org.apache...SomeException: what happened\n]"
    return message.replaceAll("^\\[?(?:[\\w$]+\\.)+[\\w$]*Exception: ", "").replaceAll("\\s*]\\s*$", "").strip();
  }
}
