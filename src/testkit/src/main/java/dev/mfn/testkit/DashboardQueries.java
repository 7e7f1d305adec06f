package dev.mfn.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The metric names that the Grafana dashboard (k8s/base/monitoring/grafana-dashboard.json) queries,
 * by dashboard row, and the names a Prometheus endpoint really exports: a test of the service or
 * of a job holds the two together, so a renamed metric breaks a test instead of a dashboard panel.
 */
public final class DashboardQueries {
  /** Metric names in PromQL: ours start with mfn_ (the service) or flink_ (the jobs). */
  private static final Pattern NAME = Pattern.compile("\\b((?:mfn|flink)_[A-Za-z0-9_:]+)");

  private DashboardQueries() {}

  public static Path dashboard() {
    Path repo = Path.of(System.getProperty("mfn.repo", ".")).toAbsolutePath().normalize();
    return repo.resolve("k8s/base/monitoring/grafana-dashboard.json");
  }

  /** Row title -> the metric names its panels' queries use (panels belong to the row above them). */
  public static Map<String, Set<String>> byRow() throws IOException {
    JsonNode root = new ObjectMapper().readTree(dashboard().toFile());
    Map<String, Set<String>> rows = new LinkedHashMap<>();
    String row = "";
    for (JsonNode panel : root.path("panels")) {
      if ("row".equals(panel.path("type").asText())) {
        row = panel.path("title").asText();
        rows.put(row, new TreeSet<>());
        continue;
      }
      for (JsonNode target : panel.path("targets")) {
        Matcher m = NAME.matcher(target.path("expr").asText());
        while (m.find()) {
          rows.computeIfAbsent(row, r -> new TreeSet<>()).add(m.group(1));
        }
      }
    }
    return rows;
  }

  /** The metric names of one Prometheus text exposition (samples, so _bucket/_count/_sum are names). */
  public static Set<String> exported(String exposition) {
    Set<String> names = new TreeSet<>();
    for (String line : exposition.split("\n")) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      int end = 0;
      while (end < line.length() && line.charAt(end) != '{' && line.charAt(end) != ' ') {
        end++;
      }
      names.add(line.substring(0, end));
    }
    return names;
  }

  /** GET an endpoint's exposition; empty when it does not answer like a Prometheus endpoint. */
  public static String scrape(String url) {
    try {
      HttpResponse<String> r = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build()
          .send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200 ? r.body() : "";
    } catch (IOException e) {
      return "";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "";
    }
  }

  /**
   * Waits (at most {@code wait}) until the cluster's processes, scraped together, export every
   * metric that the dashboard's {@code rows} query; fails naming the ones still missing. A metric
   * that appears only once a job has run a while (a source's lag once it has its splits) gets the
   * time to appear; one that never does fails.
   */
  public static void awaitClusterExports(dev.mfn.services.flink.LocalFlinkCluster cluster, Duration wait, String... rows)
      throws IOException, InterruptedException {
    Map<String, Set<String>> all = byRow();
    Set<String> wanted = new TreeSet<>();
    for (String row : rows) {
      Set<String> names = all.get(row);
      if (names == null || names.isEmpty()) {
        throw new AssertionError("the dashboard has no row '" + row + "' with queries: " + all.keySet());
      }
      wanted.addAll(names);
    }
    // the last scrape, kept for the failure's message
    Set<String> missing = new TreeSet<>(wanted);
    Set<String> exported = new TreeSet<>();
    java.util.List<String> endpoints = new java.util.ArrayList<>();
    try {
      Await.until("the dashboard's metrics on the cluster", wait, () -> {
        try {
          endpoints.clear();
          endpoints.addAll(cluster.metricsEndpoints());
        } catch (IOException e) {
          return false;
        }
        exported.clear();
        for (String url : endpoints) {
          exported.addAll(exported(scrape(url)));
        }
        missing.clear();
        missing.addAll(wanted);
        missing.removeAll(exported);
        return missing.isEmpty();
      });
      return;
    } catch (AssertionError timedOut) {
      // said below, with what was missing
    }
    Set<String> near = new TreeSet<>();
    for (String name : missing) {
      String last = name.substring(name.lastIndexOf('_') + 1);
      exported.stream().filter(e -> e.contains(last)).forEach(near::add);
    }
    throw new AssertionError("the dashboard's rows " + java.util.List.of(rows) + " query metrics the cluster does not export: "
        + missing + " (scraped " + endpoints + "; exported names like them: " + near + ")");
  }
}
