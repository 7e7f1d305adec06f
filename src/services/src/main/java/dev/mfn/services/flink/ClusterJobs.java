package dev.mfn.services.flink;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.client.deployment.StandaloneClusterId;
import org.apache.flink.client.program.PackagedProgram;
import org.apache.flink.client.program.PackagedProgramUtils;
import org.apache.flink.client.program.rest.RestClusterClient;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.client.JobStatusMessage;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobgraph.SavepointRestoreSettings;
import org.apache.flink.runtime.jobmaster.JobResult;

/**
 * Our jobs on a Flink session cluster, through Flink's own client (PackagedProgram to build the job
 * graph from the job jar, RestClusterClient to submit, list, stop with a savepoint and follow).
 */
public final class ClusterJobs implements AutoCloseable {
  /** Written into a savepoint folder by {@link #stopWithSavepoint}: what to resume from it. */
  public static final String SUBMISSION_FILE = "mfn-job.json";
  /** The global job parameters our mains set (see JobSettings.submission in flink-jobs/common). */
  private static final String MAIN_KEY = "mfn.main";
  private static final String ARGS_KEY = "mfn.args";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final String rest;
  private final Path jarDir;
  private final Path submissions;
  private final RestClusterClient<StandaloneClusterId> client;

  /** @param rest host:port of the JobManager's REST API; {@code workDir} holds the job jar */
  public ClusterJobs(String rest, Path workDir) throws Exception {
    this.rest = rest;
    this.jarDir = workDir.resolve("jobs");
    this.submissions = workDir.resolve("submissions");
    int colon = rest.lastIndexOf(':');
    if (colon < 0) {
      throw new IllegalArgumentException("--flink takes HOST:PORT, not " + rest);
    }
    Configuration conf = new Configuration();
    conf.set(RestOptions.ADDRESS, rest.substring(0, colon));
    conf.set(RestOptions.PORT, Integer.parseInt(rest.substring(colon + 1)));
    this.client = new RestClusterClient<>(conf, StandaloneClusterId.getInstance());
  }

  /** True when a JobManager answers at the address. */
  public boolean reachable() {
    try {
      get("/overview");
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * Builds the job graph by running the job's main against a plan environment (as `flink run`
   * does), restores it from the submission's savepoint if any, and submits it with our job jar.
   */
  public JobID submit(JobSubmission job) throws Exception {
    Path jar = ClusterClasspath.jobJar(jarDir);
    Configuration conf = new Configuration();
    PackagedProgram.Builder builder = PackagedProgram.newBuilder()
        .setJarFile(jar.toFile())
        .setEntryPointClassName(job.mainClass())
        .setArguments(job.args().toArray(String[]::new))
        .setConfiguration(conf);
    if (job.savepoint() != null) {
      conf.setString("execution.savepoint.path", job.savepoint());
      builder.setSavepointRestoreSettings(SavepointRestoreSettings.forPath(job.savepoint(), false));
    }
    PackagedProgram program = builder.build();
    try {
      JobGraph graph = PackagedProgramUtils.createJobGraph(program, conf, 1, true);
      JobID id = client.submitJob(graph).get(120, TimeUnit.SECONDS);
      // kept here too, so the job can be resumed from a retained checkpoint after a crash
      Files.createDirectories(submissions);
      JSON.writeValue(submissions.resolve(id + ".json").toFile(), job.restoredFrom(null));
      return id;
    } finally {
      program.close();
    }
  }

  public List<JobStatusMessage> list() throws Exception {
    Collection<JobStatusMessage> jobs = client.listJobs().get(30, TimeUnit.SECONDS);
    List<JobStatusMessage> sorted = new ArrayList<>(jobs);
    sorted.sort((a, b) -> Long.compare(b.getStartTime(), a.getStartTime()));
    return sorted;
  }

  public JobStatus status(JobID job) throws Exception {
    return client.getJobStatus(job).get(30, TimeUnit.SECONDS);
  }

  /** The job's result once it has ended (a failed job's result holds its cause). */
  public JobResult await(JobID job, Duration timeout) throws Exception {
    return client.requestJobResult(job).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  public void cancel(JobID job) throws Exception {
    client.cancel(job).get(60, TimeUnit.SECONDS);
  }

  /** How the job was submitted (its main class and arguments), from its global job parameters. */
  public JobSubmission submissionOf(JobID job) throws IOException {
    JsonNode user = get("/jobs/" + job + "/config").path("execution-config").path("user-config");
    if (!user.has(MAIN_KEY)) {
      throw new IOException("job " + job + " was not submitted by mfn (no " + MAIN_KEY + " parameter)");
    }
    List<String> args = new ArrayList<>();
    JSON.readTree(user.get(ARGS_KEY).asText()).forEach(a -> args.add(a.asText()));
    return new JobSubmission(user.get(MAIN_KEY).asText(), args, null);
  }

  /**
   * Stops the job with a savepoint under {@code dir} (Flink's stop: sources end, a final
   * savepoint, the job finishes) and writes how to resume it into the savepoint folder.
   *
   * @return the savepoint's path
   */
  public String stopWithSavepoint(JobID job, String dir) throws Exception {
    JobSubmission submission = submissionOf(job);
    String path = client.stopWithSavepoint(job, false, dir, SavepointFormatType.CANONICAL).get(10, TimeUnit.MINUTES);
    Path local = Path.of(URI.create(path.startsWith("file:") ? path : "file://" + path));
    JSON.writerWithDefaultPrettyPrinter().writeValue(local.resolve(SUBMISSION_FILE).toFile(), submission);
    return path;
  }

  /**
   * The submission to resume from {@code path}: a savepoint written by {@link #stopWithSavepoint}
   * (it holds mfn-job.json), or a retained checkpoint {@code <checkpoints>/<job id>/chk-N} of a job
   * submitted from this machine (its submission was kept at submit time).
   */
  public JobSubmission savedSubmission(Path path) throws IOException {
    Path file = path.resolve(SUBMISSION_FILE);
    String name = path.getFileName().toString();
    String job = path.getParent() == null ? "" : path.getParent().getFileName().toString();
    if (!Files.isRegularFile(file) && name.matches("chk-\\d+") && job.matches("[0-9a-f]{32}")) {
      file = submissions.resolve(job + ".json");
    }
    if (!Files.isRegularFile(file)) {
      throw new IOException(path + " is neither a savepoint of `mfn jobs stop` (no " + SUBMISSION_FILE
          + ") nor a retained checkpoint (.../<job id>/chk-N) of a job submitted from here");
    }
    return JSON.readValue(file.toFile(), JobSubmission.class).restoredFrom(path.toUri().toString());
  }

  /** Completed checkpoints of the job so far (REST /jobs/:id/checkpoints). */
  public long completedCheckpoints(JobID job) throws IOException {
    return get("/jobs/" + job + "/checkpoints").path("counts").path("completed").asLong();
  }

  /** The external path of the job's latest completed checkpoint, or null. */
  public String latestCheckpoint(JobID job) throws IOException {
    JsonNode latest = get("/jobs/" + job + "/checkpoints").path("latest").path("completed");
    return latest.isMissingNode() || latest.isNull() ? null : latest.path("external_path").asText(null);
  }

  /** The job's details (REST /jobs/:id: state, vertices with their parallelism, ...). */
  public JsonNode details(JobID job) throws IOException {
    return get("/jobs/" + job);
  }

  /**
   * Triggers a checkpoint now (REST POST /jobs/:id/checkpoints), for a job whose periodic interval
   * is long; returns at once, the checkpoint completes on its own.
   */
  public void triggerCheckpoint(JobID job) throws IOException {
    try {
      HttpResponse<String> r = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://" + rest + "/jobs/" + job + "/checkpoints"))
              .header("Content-Type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofString("{}")).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() / 100 != 2) {
        throw new IOException("Flink REST: checkpoint trigger: HTTP " + r.statusCode() + " " + r.body());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }

  public JsonNode get(String path) throws IOException {
    try {
      HttpResponse<String> r = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://" + rest + path)).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) {
        throw new IOException("Flink REST " + path + ": HTTP " + r.statusCode());
      }
      return JSON.readTree(r.body());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    } catch (java.net.ConnectException e) {
      throw new IOException("no Flink JobManager at " + rest + " (start one: ./mfn services start flink)", e);
    }
  }

  @Override
  public void close() {
    client.close();
  }
}
