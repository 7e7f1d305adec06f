package dev.mfn.cli.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The jobs of a Flink cluster as the console shows them, read from the JobManager's REST API (plain
 * GETs with short timeouts: a page must not hang on a slow cluster): each job's state and start,
 * its restarts, its last completed checkpoint, and the records per second its sources emit now.
 */
public final class FlinkJobsStatus {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final String rest;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  /** @param rest host:port of the JobManager's REST API */
  public FlinkJobsStatus(String rest) {
    this.rest = rest;
  }

  public String address() {
    return rest;
  }

  /** Every job the cluster knows, newest first. */
  public List<Map<String, Object>> jobs() throws IOException {
    List<Map<String, Object>> jobs = new ArrayList<>();
    for (JsonNode j : get("/jobs/overview").path("jobs")) {
      String id = j.path("jid").asText();
      Map<String, Object> job = new LinkedHashMap<>();
      job.put("id", id);
      job.put("name", j.path("name").asText());
      job.put("state", j.path("state").asText());
      job.put("start_time", j.path("start-time").asLong());
      job.put("duration_ms", j.path("duration").asLong());
      boolean live = !List.of("FINISHED", "CANCELED", "FAILED").contains(j.path("state").asText());
      job.put("restarts", live ? metric("/jobs/" + id + "/metrics?get=numRestarts") : null);
      job.put("last_checkpoint", lastCheckpoint(id));
      job.put("records_per_second", live ? sourceRate(id) : null);
      jobs.add(job);
    }
    jobs.sort((a, b) -> Long.compare((long) b.get("start_time"), (long) a.get("start_time")));
    return jobs;
  }

  private Map<String, Object> lastCheckpoint(String id) {
    try {
      JsonNode done = get("/jobs/" + id + "/checkpoints").path("latest").path("completed");
      if (done.isMissingNode() || done.isNull()) {
        return null;
      }
      Map<String, Object> c = new LinkedHashMap<>();
      c.put("id", done.path("id").asLong());
      c.put("completed_at", done.path("latest_ack_timestamp").asLong());
      c.put("duration_ms", done.path("end_to_end_duration").asLong());
      c.put("size_bytes", done.path("checkpointed_size").asLong(done.path("state_size").asLong()));
      return c;
    } catch (IOException e) {
      return null; // a job without checkpointing, or one that just ended
    }
  }

  /**
   * Records per second out of the job's sources (its vertices named "Source: ..."; the embed job
   * has several: photos, model events, erasures), each summed over its subtasks.
   */
  private Double sourceRate(String id) {
    try {
      double sum = 0;
      boolean any = false;
      for (JsonNode vertex : get("/jobs/" + id).path("vertices")) {
        if (!vertex.path("name").asText().startsWith("Source")) {
          continue;
        }
        for (JsonNode m : get("/jobs/" + id + "/vertices/" + vertex.path("id").asText()
            + "/subtasks/metrics?get=numRecordsOutPerSecond&agg=sum")) {
          sum += m.path("sum").asDouble();
          any = true;
        }
      }
      return any ? sum : null;
    } catch (IOException e) {
      return null;
    }
  }

  private Long metric(String path) {
    try {
      for (JsonNode m : get(path)) {
        return m.path("value").asLong();
      }
      return null;
    } catch (IOException e) {
      return null;
    }
  }

  private JsonNode get(String path) throws IOException {
    try {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://" + rest + path)).timeout(Duration.ofSeconds(3)).build(),
          HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) {
        throw new IOException("Flink REST " + path + ": HTTP " + r.statusCode());
      }
      return JSON.readTree(r.body());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    } catch (java.net.ConnectException | java.net.http.HttpConnectTimeoutException e) {
      throw new IOException("no Flink JobManager answers at " + rest, e);
    }
  }
}
