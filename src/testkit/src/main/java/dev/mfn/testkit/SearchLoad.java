package dev.mfn.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Concurrent POST /search requests against a running search service, each answer recorded: what
 * the model-switch test asserts on and what the switch benchmark measures.
 */
public final class SearchLoad {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String BOUNDARY = "mfn-load-boundary";

  /** A query photo and the subject its best match should be. */
  public record Query(String subject, byte[] photo) {}

  /**
   * One answer: when it was asked (ms since the load started), how long it took, the status, and
   * for a 200 the model that answered with its best match and similarity (null when no face).
   */
  public record Answer(int worker, long startedMillis, long latencyMicros, int status, String model, String expected,
      String subject, double similarity, String error) {}

  private SearchLoad() {}

  /** {@code workers} threads asking in turn for {@code duration}; the answers in order of completion. */
  public static List<Answer> run(String baseUrl, String apiKey, List<Query> queries, int workers, Duration duration)
      throws InterruptedException {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    List<Answer> answers = Collections.synchronizedList(new ArrayList<>());
    long start = System.nanoTime();
    long end = start + duration.toNanos();
    ExecutorService pool = Executors.newFixedThreadPool(workers);
    for (int w = 0; w < workers; w++) {
      int worker = w;
      pool.submit(() -> {
        for (int i = worker; System.nanoTime() < end; i += workers) {
          Query q = queries.get(i % queries.size());
          long asked = System.nanoTime();
          answers.add(ask(http, baseUrl, apiKey, q, worker, (asked - start) / 1_000_000, asked));
        }
      });
    }
    pool.shutdown();
    pool.awaitTermination(duration.toSeconds() + 120, TimeUnit.SECONDS);
    return new ArrayList<>(answers);
  }

  private static Answer ask(HttpClient http, String baseUrl, String key, Query q, int worker, long at, long asked) {
    try {
      HttpRequest request = HttpRequest.newBuilder(URI.create(baseUrl + "/search?k=1"))
          .header("Content-Type", "multipart/form-data; boundary=" + BOUNDARY)
          .header("X-API-Key", key)
          .timeout(Duration.ofSeconds(60))
          .POST(HttpRequest.BodyPublishers.ofByteArray(multipart(q.photo()))).build();
      HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
      long micros = (System.nanoTime() - asked) / 1_000;
      if (response.statusCode() != 200) {
        return new Answer(worker, at, micros, response.statusCode(), null, q.subject(), null, Double.NaN, response.body());
      }
      JsonNode body = JSON.readTree(response.body());
      JsonNode face = body.path("faces").path(0);
      JsonNode best = face.path("matches").path(0);
      return new Answer(worker, at, micros, 200, body.path("model").asText(), q.subject(), best.isMissingNode() ? null : best.path("subject").asText(),
          best.isMissingNode() ? Double.NaN : best.path("similarity").asDouble(), null);
    } catch (Exception e) {
      return new Answer(worker, at, (System.nanoTime() - asked) / 1_000, -1, null, q.subject(), null, Double.NaN, e.toString());
    }
  }

  private static byte[] multipart(byte[] photo) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(("--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"q.jpg\"\r\n"
        + "Content-Type: application/octet-stream\r\n\r\n").getBytes(StandardCharsets.UTF_8));
    out.write(photo);
    out.write(("\r\n--" + BOUNDARY + "--\r\n").getBytes(StandardCharsets.UTF_8));
    return out.toByteArray();
  }
}
