package dev.mfn.search.serve;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * What {@code GET /metrics} exports, in Prometheus' text format (Micrometer's Prometheus registry).
 *
 * <p>The names, as Prometheus sees them (the Grafana dashboard in k8s/base/monitoring queries them,
 * and a test holds the two together):
 * <ul>
 *   <li>{@code mfn_http_requests_seconds} (histogram: {@code _bucket}, {@code _count}, {@code _sum}),
 *       labels {@code method}, {@code endpoint}, {@code status}: every request, refused ones too;
 *   <li>{@code mfn_index_faces}: faces in the served version's index (the last look, at most half
 *       a second old: a scrape never waits on a hung index); {@code mfn_index_up}: 1 when it answered;
 *   <li>{@code mfn_model_served{version}}: 1 for the version served now (an "info" gauge);
 *   <li>{@code mfn_model_switches_total}, {@code mfn_searches_total}, {@code mfn_busy_refusals_total};
 *   <li>{@code mfn_faces_rejected_total{reason}}: photos refused with a reason code (no face, undecodable ...);
 *   <li>{@code mfn_models_refused_by_gate}: versions in the model store that the gate refused;
 *   <li>the JVM's own (memory, GC, threads, CPU, uptime).
 * </ul>
 *
 * <p>The {@code endpoint} label is one of a fixed set (the route, not the path asked for), so a
 * client asking for a million different paths cannot make a million time series.
 */
public final class ServiceMetrics {
  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final SearchService service;
  private final MultiGauge served;
  private volatile Map<String, Object> health = Map.of();
  private static final Duration[] BUCKETS = java.util.stream.Stream.of(5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000)
      .map(Duration::ofMillis).toArray(Duration[]::new);

  public ServiceMetrics(SearchService service, LongSupplier refusedByGate) {
    this.service = service;
    new JvmMemoryMetrics().bindTo(registry);
    new JvmGcMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    Gauge.builder("mfn.index.faces", this, m -> number(m.health.get("faces")))
        .description("Faces in the served version's index").register(registry);
    Gauge.builder("mfn.index.up", this, m -> "ok".equals(m.health.get("status")) ? 1 : 0)
        .description("1 when the face index answered the last look, else 0").register(registry);
    Gauge.builder("mfn.workers.idle", this, m -> number(m.health.get("workers_idle")))
        .description("Model workers free to take a request").register(registry);
    FunctionCounter.builder("mfn.model.switches", this, m -> number(m.health.get("model_switches")))
        .description("Model version switches since the start").register(registry);
    FunctionCounter.builder("mfn.searches", this, m -> number(m.health.get("searches")))
        .description("Searches answered or tried").register(registry);
    FunctionCounter.builder("mfn.busy.refusals", this, m -> number(m.health.get("busy_refusals")))
        .description("Requests refused with 503 because every model worker stayed busy").register(registry);
    Gauge.builder("mfn.models.refused.by.gate", refusedByGate, s -> s.getAsLong())
        .description("Versions in the model store that the model gate refused").register(registry);
    served = MultiGauge.builder("mfn.model.served").description("1 for the model version served now").register(registry);
  }

  /** One request, as the router saw it. */
  public void request(String method, String path, int status, float millis) {
    Timer.builder("mfn.http.requests")
        .description("HTTP requests by endpoint and status")
        .tags(Tags.of("method", method, "endpoint", endpoint(method, path), "status", String.valueOf(status)))
        // a dozen fixed buckets (not Micrometer's ~70): endpoints x statuses x replicas stay affordable
        .serviceLevelObjectives(BUCKETS)
        .register(registry)
        .record((long) (millis * 1_000_000L), TimeUnit.NANOSECONDS);
  }

  /** A photo refused with a reason code (the 422 answers). */
  public void rejected(String reason) {
    Counter.builder("mfn.faces.rejected").description("Photos refused, by reason code").tag("reason", reason)
        .register(registry).increment();
  }

  /** The exposition text: the service's state is read once, then every meter. */
  public String scrape() {
    health = service.health();
    served.register(List.of(MultiGauge.Row.of(Tags.of("version", String.valueOf(health.get("model"))), 1)), true);
    return registry.scrape();
  }

  public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  /** The route a request went to, from a fixed set: "other" for anything else. */
  static String endpoint(String method, String path) {
    String p = SearchServer.normalised(path);
    if (p.matches("/faces/[^/]+/crop")) {
      return "/faces/{id}/crop";
    }
    if (p.matches("/subjects/[^/]+/faces")) {
      return "/subjects/{subject}/faces";
    }
    if (p.matches("/subjects/[^/]+")) {
      return "/subjects/{subject}";
    }
    if (p.matches("/enroll/[^/]+")) {
      return "/enroll/{id}"; // never the image id: one series, whatever photos are asked about
    }
    if (p.matches("/models/[^/]+/plots/[^/]+")) {
      return "/models/{version}/plots/{name}";
    }
    if (p.matches("/pipeline/dead-letters/[^/]+/[^/]+/thumbnail")) {
      return "/pipeline/dead-letters/{partition}/{offset}/thumbnail";
    }
    return switch (p) {
      case "/search", "/verify", "/retrain", "/enroll", "/subjects", "/models", "/training/runs", "/pipeline", "/health", "/ready", "/metrics", "/openapi.json" -> p;
      default -> p.matches("/[A-Za-z0-9-]*(\\.(html|js|css))?") && method.equals("GET") ? "page" : "other";
    };
  }

  private static double number(Object value) {
    return value instanceof Number n ? n.doubleValue() : 0;
  }
}
