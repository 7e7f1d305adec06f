package dev.mfn.search.serve;

import dev.mfn.face.FaceRejected;
import dev.mfn.search.models.ModelShelf;
import io.javalin.Javalin;
import io.javalin.config.SizeUnit;
import io.javalin.http.ContentType;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.javalin.http.HttpStatus;
import io.javalin.http.UploadedFile;
import io.javalin.http.staticfiles.Location;
import java.io.IOException;
import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The REST service and the web page (Javalin): {@code POST /search}, {@code POST /verify},
 * {@code DELETE /subjects/{subject}}, {@code POST /retrain}, {@code POST /enroll} and
 * {@code GET /enroll/{imageId}} (photos onto the enroll topic, and each one's state), {@code GET /faces/{id}/crop},
 * {@code GET /health}, {@code GET /openapi.json}, and the page at {@code /}.
 * The page is the operator's console (Search, Verify, Subjects, Models tabs, one page: the key
 * stays in its memory), and its tabs read {@code GET /subjects}, {@code GET /subjects/{s}/faces},
 * {@code GET /models} and {@code GET /models/{version}/plots/{name}} with the same keys and scopes.
 *
 * <p>How it protects itself, in the order a request meets it: security headers on every answer;
 * every API call but health and the description needs a key ({@value ApiKey#HEADER}) whose scope
 * covers the endpoint (401 / 403); a rate limit per key (429 with Retry-After); a body limit that
 * holds for chunked and multipart bodies too (413, enforced while the body is read); {@code k}
 * between 1 and {@link ServerOptions#maxK} (400); a bounded wait for a free model worker (503 with
 * Retry-After). Enrolments, deletions and retrain requests go to the audit trail before they happen. Error
 * bodies carry a reason, never an exception's text (that goes to the log, under an incident id). A
 * refused request's body is read and dropped, within bounds, before the refusal goes out
 * ({@link RefusedUpload}): otherwise a client still sending meets a reset instead of the answer.
 */
public final class SearchServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SearchServer.class);
  /** What answers without the key: the page and its files, the health check and the API description. */
  private static final Set<String> OPEN = Set.of("/", "/index.html", "/app.css", "/console.js", "/search.js", "/verify.js",
      "/subjects.js", "/models.js", "/enroll.js", "/pipeline.js", "/health", "/ready", "/openapi.json",
      "/metrics");
  private static final String CALLER = "mfn.caller";
  private final SearchService service;
  private final ApiKeys keys;
  private final ServerOptions options;
  private final RetrainTrigger retrain;
  private final AuditTrail audit;
  private final RateLimits limits;
  private final RefusedUpload refusedUploads;
  private final java.util.concurrent.Semaphore inFlight;
  private static final String HOLDS_SLOT = "mfn.slot";
  private Javalin app;
  private ServerConnector tlsConnector;
  /** The model store GET /models lists, or null: only the served version is known. */
  private volatile ModelShelf models;
  /** Where POST /enroll publishes photos, or null: the enrolment endpoints answer 503. */
  private volatile Enrolment enrolment;
  /** What GET /training/runs reads (requests and what became of them), or null: it answers 503. */
  private volatile TrainingRunsView trainingRuns;
  /** What GET /pipeline reads (jobs, lag, dead letters), or null: it answers 503. */
  private volatile PipelineView pipeline;
  private final ServiceMetrics metrics;
  private volatile com.sun.net.httpserver.HttpServer metricsListener;
  private java.util.concurrent.ExecutorService metricsExecutor;

  public SearchServer(SearchService service, ApiKey key, long maxUploadBytes) {
    this(service, key, maxUploadBytes, null);
  }

  /** @param retrain where POST /retrain queues a request, or null: that endpoint answers 503 */
  public SearchServer(SearchService service, ApiKey key, long maxUploadBytes, RetrainTrigger retrain) {
    this(service, ApiKeys.single(key), ServerOptions.defaults().withMaxUploadBytes(maxUploadBytes), retrain, AuditTrail.NONE);
  }

  /**
   * @param retrain where POST /retrain queues a request, or null: that endpoint answers 503
   * @param audit where deletions and retrain requests are recorded before they happen
   */
  public SearchServer(SearchService service, ApiKeys keys, ServerOptions options, RetrainTrigger retrain, AuditTrail audit) {
    this.service = service;
    this.keys = keys;
    this.options = options;
    this.retrain = retrain;
    this.audit = audit;
    this.limits = new RateLimits(options.ratePerSecond(), options.rateBurst());
    this.refusedUploads = new RefusedUpload(options.maxUploadBytes());
    this.inFlight = new java.util.concurrent.Semaphore(options.maxInFlight());
    this.metrics = new ServiceMetrics(service, () -> models == null ? 0 : models.refusedByGate());
  }

  /**
   * The model store that GET /models and its plots read (read-only), for the console's Models tab;
   * call before {@link #start}. Without one (or with null) GET /models lists only the served version.
   */
  public SearchServer withModels(ModelShelf shelf) {
    this.models = shelf;
    return this;
  }

  /**
   * Where POST /enroll hands photos (the enroll topic, for the embed job) and GET /enroll/{id}
   * learns of dead letters; call before {@link #start}. Without one (or with null) both answer 503.
   */
  public SearchServer withEnrolment(Enrolment enrolment) {
    this.enrolment = enrolment;
    return this;
  }

  /**
   * What the console's Pipeline tab reads (GET /pipeline and the dead letters' thumbnails); call
   * before {@link #start}. Without one (or with null) both answer 503.
   */
  public SearchServer withPipeline(PipelineView view) {
    this.pipeline = view;
    return this;
  }

  /**
   * What the console's Models tab reads of training (GET /training/runs); call before {@link
   * #start}. Without one (or with null) it answers 503.
   */
  public SearchServer withTrainingRuns(TrainingRunsView view) {
    this.trainingRuns = view;
    return this;
  }

  /** Every API route, as "METHOD /path/{param}": what the OpenAPI description must describe. */
  private final java.util.Set<String> routes = new java.util.TreeSet<>();

  public java.util.Set<String> routes() {
    return java.util.Collections.unmodifiableSet(routes);
  }

  /** Registers a route and remembers it (the contract test holds the list against openapi.json). */
  private void route(io.javalin.config.JavalinConfig cfg, String method, String path, io.javalin.http.Handler handler) {
    routes.add(method + " " + path);
    switch (method) {
      case "GET" -> cfg.routes.get(path, handler);
      case "POST" -> cfg.routes.post(path, handler);
      case "DELETE" -> cfg.routes.delete(path, handler);
      default -> throw new IllegalArgumentException(method);
    }
  }

  /** Starts on the given host (127.0.0.1 for this machine only); port 0 picks a free one. */
  public SearchServer start(String host, int port) {
    long max = options.maxUploadBytes();
    app = Javalin.create(cfg -> {
      cfg.http.maxRequestSize = max;
      // multipart: Jetty counts the bytes as it parses, chunked or not; large parts go to disk, not the heap
      cfg.jetty.multipartConfig.maxFileSize(max, SizeUnit.BYTES);
      cfg.jetty.multipartConfig.maxTotalRequestSize(max, SizeUnit.BYTES);
      cfg.jetty.multipartConfig.maxInMemoryFileSize(1 << 20, SizeUnit.BYTES);
      if (options.tlsKeystore() != null) {
        cfg.jetty.addConnector((server, http) -> {
          tlsConnector = httpsConnector(server, http, host, port);
          return tlsConnector;
        });
      }
      cfg.staticFiles.add(files -> {
        files.hostedPath = "/";
        // a folder of our own package: a bare "/web" is also Flink's dashboard (flink-runtime-web), and
        // `mfn serve` runs with Flink on its class path: the first jar listed would win
        files.directory = "/dev/mfn/search/web";
        files.location = Location.CLASSPATH;
      });
      // every answer is counted and timed here, refused ones too (the guard's 401/403/429/413/503)
      cfg.requestLogger.http((ctx, ms) -> metrics.request(ctx.method().name(), ctx.path(), ctx.statusCode(), ms));
      cfg.routes.before(this::guard);
      cfg.routes.after(ctx -> {
        if (Boolean.TRUE.equals(ctx.attribute(HOLDS_SLOT))) {
          ctx.attribute(HOLDS_SLOT, false);
          inFlight.release();
        }
      });
      route(cfg, "GET", "/health", ctx -> ctx.json(service.health()));
      route(cfg, "GET", "/ready", ctx -> {
        if (service.ready()) {
          ctx.json(Map.of("ready", true));
        } else {
          ctx.header("Retry-After", "5");
          ctx.status(HttpStatus.SERVICE_UNAVAILABLE).json(Map.of("ready", false, "error", "the face index does not answer"));
        }
      });
      // Prometheus scrapes without a key: counts and timings only, never a face, a name or a key
      if (options.metricsPort() == null) {
        route(cfg, "GET", "/metrics", ctx -> ctx.contentType(ServiceMetrics.CONTENT_TYPE).result(metrics.scrape()));
      }
      route(cfg, "GET", "/openapi.json", ctx -> {
        try (InputStream in = SearchServer.class.getResourceAsStream("/openapi.json")) {
          ctx.contentType(ContentType.APPLICATION_JSON).result(in.readAllBytes());
        }
      });
      route(cfg, "POST", "/search", ctx -> ctx.json(service.search(upload(ctx, "photo"), k(ctx))));
      route(cfg, "POST", "/verify", ctx -> ctx.json(service.verify(upload(ctx, "a"), upload(ctx, "b"))));
      route(cfg, "DELETE", "/subjects/{subject}", this::delete);
      route(cfg, "GET", "/subjects", ctx -> ctx.json(service.subjects(filter(ctx), offset(ctx), limit(ctx))));
      route(cfg, "GET", "/subjects/{subject}/faces", ctx -> ctx.json(service.facesOf(ctx.pathParam("subject"), limit(ctx))));
      route(cfg, "GET", "/models", this::models);
      route(cfg, "GET", "/models/{version}/plots/{name}", this::plot);
      route(cfg, "POST", "/retrain", this::retrain);
      route(cfg, "POST", "/enroll", this::enroll);
      route(cfg, "GET", "/enroll/{imageId}", this::enrolmentState);
      route(cfg, "GET", "/training/runs", this::trainingRuns);
      route(cfg, "GET", "/pipeline", this::pipeline);
      route(cfg, "GET", "/pipeline/dead-letters/{partition}/{offset}/thumbnail", this::deadLetterThumbnail);
      route(cfg, "GET", "/faces/{id}/crop", ctx -> {
        byte[] png = service.crop(ctx.pathParam("id"));
        if (png == null) {
          ctx.status(HttpStatus.NOT_FOUND).json(Map.of("error", "no such face"));
        } else {
          ctx.contentType(ContentType.IMAGE_PNG).result(png);
        }
      });
      cfg.routes.exception(FaceRejected.class, (e, ctx) -> {
        metrics.rejected(e.reason().name());
        ctx.status(HttpStatus.UNPROCESSABLE_CONTENT).json(Map.of("error", e.reason().description(), "reason", e.reason().name()));
      });
      cfg.routes.exception(BadRequest.class, (e, ctx) -> ctx.status(HttpStatus.BAD_REQUEST).json(Map.of("error", e.getMessage())));
      cfg.routes.exception(SearchService.Busy.class, (e, ctx) -> {
        ctx.header("Retry-After", "1");
        ctx.status(HttpStatus.SERVICE_UNAVAILABLE).json(Map.of("error", "busy: every model worker is taken; retry in a second"));
      });
      cfg.routes.exception(Exception.class, this::internalError);
    });
    app.start(host, port);
    if (options.metricsPort() != null) {
      try {
        startMetricsListener(host);
      } catch (RuntimeException e) {
        app.stop(); // nobody gets a server to close: leave no port behind
        throw e;
      }
    }
    return this;
  }

  public int port() {
    return tlsConnector != null ? tlsConnector.getLocalPort() : app.port();
  }

  /** The port GET /metrics answers on: the service's own, or its metrics listener's. */
  public int metricsPort() {
    return metricsListener != null ? metricsListener.getAddress().getPort() : port();
  }

  /**
   * GET /metrics alone on a port of its own (JDK's HTTP server: one route, no key; the network
   * policy lets only Prometheus reach it), when {@link ServerOptions#metricsPort} asks for one.
   */
  private void startMetricsListener(String host) {
    // the JDK server has no request timeout by default: a client that sends a byte and stops would
    // hold a thread; bound each request (a JVM-wide setting of that server, set only when unset)
    if (System.getProperty("sun.net.httpserver.maxReqTime") == null) {
      System.setProperty("sun.net.httpserver.maxReqTime", "30");
    }
    try {
      metricsListener = com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress(host, options.metricsPort()), 16);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException("cannot listen for metrics on " + host + ":" + options.metricsPort(), e);
    }
    metricsListener.createContext("/", exchange -> {
      try (exchange) {
        if (!exchange.getRequestMethod().equals("GET") || !exchange.getRequestURI().getPath().equals("/metrics")) {
          exchange.sendResponseHeaders(404, -1);
          return;
        }
        byte[] body = metrics.scrape().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", ServiceMetrics.CONTENT_TYPE);
        exchange.sendResponseHeaders(200, body.length);
        exchange.getResponseBody().write(body);
      }
    });
    metricsExecutor = java.util.concurrent.Executors.newFixedThreadPool(2, r -> {
      Thread t = new Thread(r, "metrics-listener");
      t.setDaemon(true);
      return t;
    });
    metricsListener.setExecutor(metricsExecutor);
    metricsListener.start();
  }

  /** Headers, key, scope, rate and size, before any handler runs. */
  private void guard(Context ctx) {
    ctx.header("X-Content-Type-Options", "nosniff");
    ctx.header("X-Frame-Options", "DENY");
    ctx.header("Referrer-Policy", "no-referrer");
    ctx.header("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:;"
        + " connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
    if (options.tlsKeystore() != null) {
      ctx.header("Strict-Transport-Security", "max-age=31536000");
    }
    String path = normalised(ctx.path());
    String method = ctx.method().name();
    boolean open = OPEN.contains(path) && !(path.equals("/metrics") && options.metricsPort() != null);
    if (open && (method.equals("GET") || method.equals("HEAD"))) {
      return;
    }
    ctx.header("Cache-Control", "no-store");
    var caller = keys.authenticate(ctx.header(ApiKey.HEADER));
    if (caller.isEmpty()) {
      refuse(ctx, HttpStatus.UNAUTHORIZED, "missing, unknown or revoked API key (header " + ApiKey.HEADER + ")");
      return;
    }
    Scope needed = scopeOf(ctx.method().name(), path);
    if (needed == null) {
      // deny by default: only the endpoints below exist, each with its scope
      refuse(ctx, HttpStatus.NOT_FOUND, "no such endpoint: " + ctx.method().name() + " " + path);
      return;
    }
    // the crops are what both a search answer and the console's Subjects tab show: either scope
    boolean crop = needed == Scope.SEARCH && path.matches("/faces/[^/]+/crop") && caller.get().may(Scope.BROWSE);
    if (!caller.get().may(needed) && !crop) {
      refuse(ctx, HttpStatus.FORBIDDEN, "this key may not " + needed.label() + " (key " + caller.get().keyId() + ")");
      return;
    }
    long wait = limits.secondsToWait(caller.get().keyId());
    if (wait > 0) {
      ctx.header("Retry-After", String.valueOf(wait));
      refuse(ctx, HttpStatus.TOO_MANY_REQUESTS, "rate limit of this key reached; retry after " + wait + " s");
      return;
    }
    if (ctx.contentLength() > options.maxUploadBytes()) {
      // known from the header: refuse before reading a byte (chunked bodies are counted as they are read)
      refuse(ctx, HttpStatus.CONTENT_TOO_LARGE, "upload larger than " + options.maxUploadBytes() + " bytes");
      return;
    }
    // a slot before the body is read: a flood of slow or large uploads cannot hold more than
    // maxInFlight bodies and threads (the rate limit caps how fast requests start, not how many wait)
    if (!inFlight.tryAcquire()) {
      ctx.header("Retry-After", "1");
      refuse(ctx, HttpStatus.SERVICE_UNAVAILABLE, "busy: " + options.maxInFlight() + " requests in progress; retry in a second");
      return;
    }
    ctx.attribute(HOLDS_SLOT, true);
    ctx.attribute(CALLER, caller.get());
  }

  /**
   * The scope each endpoint needs, from the normalised path (Javalin also routes "/search/" and
   * "//search" to /search: the check must see what the router sees); null: no such endpoint.
   * Exact per method: GET /subjects/{s}/faces (search) and DELETE /subjects/{s} (delete) share a
   * prefix, and neither scope may reach the other's endpoint.
   */
  static Scope scopeOf(String method, String path) {
    return switch (method) {
      case "GET" -> path.matches("/enroll/[^/]+") ? Scope.ENROLL
          : path.matches("/faces/[^/]+/crop") ? Scope.SEARCH
          : path.equals("/subjects") || path.matches("/subjects/[^/]+/faces")
          || path.equals("/models") || path.matches("/models/[^/]+/plots/[^/]+") || path.equals("/training/runs")
          || path.equals("/pipeline") || path.matches("/pipeline/dead-letters/[^/]+/[^/]+/thumbnail") ? Scope.BROWSE : null;
      case "POST" -> switch (path) {
        case "/search" -> Scope.SEARCH;
        case "/verify" -> Scope.VERIFY;
        case "/retrain" -> Scope.RETRAIN;
        case "/enroll" -> Scope.ENROLL;
        default -> null;
      };
      case "DELETE" -> path.matches("/subjects/[^/]+") ? Scope.DELETE : null;
      default -> null;
    };
  }

  /** GET /training/runs: the recent retrain requests and what the controller did with each. */
  private void trainingRuns(Context ctx) {
    TrainingRunsView view = trainingRuns;
    if (view == null) {
      ctx.status(HttpStatus.SERVICE_UNAVAILABLE).json(Map.of("error", "training runs are not followed by this service (no Kafka)"));
      return;
    }
    ctx.json(view.runs());
  }

  /** GET /pipeline: the jobs, the consumer lag and the dead letters, each part or why it is missing. */
  private void pipeline(Context ctx) {
    PipelineView view = pipeline;
    if (view == null) {
      ctx.status(HttpStatus.SERVICE_UNAVAILABLE).json(Map.of("error", "the pipeline view is not configured for this service (no Kafka)"));
      return;
    }
    ctx.json(view.status());
  }

  /**
   * GET /pipeline/dead-letters/{partition}/{offset}/thumbnail: a small PNG of the photo a dead letter
   * carries, through the bounded decoder (the photo was refused once and may be hostile); 404 when
   * there is none or it does not decode.
   */
  private void deadLetterThumbnail(Context ctx) throws Exception {
    PipelineView view = pipeline;
    if (view == null) {
      ctx.status(HttpStatus.SERVICE_UNAVAILABLE).json(Map.of("error", "the pipeline view is not configured for this service (no Kafka)"));
      return;
    }
    int partition;
    long offset;
    try {
      partition = Integer.parseInt(ctx.pathParam("partition"));
      offset = Long.parseLong(ctx.pathParam("offset"));
    } catch (NumberFormatException e) {
      throw new BadRequest("partition and offset are whole numbers");
    }
    var png = view.deadLetterPhoto(partition, offset).flatMap(photo -> Thumbnails.png(photo, 160));
    if (png.isEmpty()) {
      ctx.status(HttpStatus.NOT_FOUND).json(Map.of("error", "no photo to show for this dead letter (none, or not decodable)"));
    } else {
      ctx.contentType(ContentType.IMAGE_PNG).result(png.get());
    }
  }

  /** Repeated slashes collapsed, a trailing slash dropped: "/search/" and "//search" are "/search". */
  static String normalised(String path) {
    String p = path.replaceAll("/{2,}", "/");
    return p.length() > 1 && p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
  }

  /** Refused bodies being read now ({@link RefusedUpload}); for the tests. */
  int drainsInProgress() {
    return refusedUploads.inProgress();
  }

  private void refuse(Context ctx, HttpStatus status, String why) {
    ctx.status(status).json(Map.of("error", why));
    ctx.skipRemainingHandlers();
    if (status != HttpStatus.SERVICE_UNAVAILABLE) { // busy: shed the load, read nothing
      refusedUploads.drain(ctx.req(), false); // so that a client still sending hears the refusal
    }
  }

  private void delete(Context ctx) throws IOException {
    String subject = ctx.pathParam("subject");
    ApiKeys.Caller caller = ctx.attribute(CALLER);
    try {
      audit.record(caller.keyId(), "delete", subject, "DELETE /subjects");
    } catch (Exception e) {
      unavailable(ctx, "could not write the audit record; nothing was deleted", e);
      return;
    }
    long removed;
    try {
      removed = service.delete(subject);
    } catch (IOException e) {
      throw e;
    } catch (Exception e) {
      // the tombstone could not be recorded: nothing was removed, so say so instead of half-erasing
      unavailable(ctx, "could not record the deletion (tombstone); nothing was removed", e);
      return;
    }
    ctx.json(Map.of("subject", subject, "removed", removed));
  }

  private void retrain(Context ctx) {
    if (retrain == null) {
      ctx.status(HttpStatus.SERVICE_UNAVAILABLE).json(Map.of("error", "retraining is not configured for this service"));
      return;
    }
    Map<?, ?> body;
    try {
      body = ctx.body().isBlank() ? Map.of() : ctx.bodyAsClass(Map.class);
    } catch (HttpResponseException e) {
      throw e;
    } catch (Exception e) { // Jackson's parse errors arrive unchecked through Kotlin
      throw new BadRequest("the body is a JSON object: {\"reason\": ..., \"epochs\": N, \"minutes\": M, \"shards\": DIR}");
    }
    ApiKeys.Caller caller = ctx.attribute(CALLER);
    var request = new RetrainTrigger.Request(text(body.get("reason")), bounded(number(body.get("epochs")), 1_000, "epochs"),
        bounded(number(body.get("minutes")), 7 * 24 * 60, "minutes"), shards(text(body.get("shards"))), "key:" + caller.keyId());
    try {
      audit.record(caller.keyId(), "retrain", "training", request.reason() == null ? "" : request.reason());
    } catch (Exception e) {
      unavailable(ctx, "could not write the audit record; nothing was queued", e);
      return;
    }
    String id;
    try {
      id = retrain.request(request);
    } catch (Exception e) {
      unavailable(ctx, "could not queue the request", e);
      return;
    }
    ctx.status(HttpStatus.ACCEPTED).json(Map.of("requestId", id,
        "status", "queued for the retraining controller, which starts a training job unless one is running"));
  }

  /** The most photos one POST /enroll takes (the whole body stays within the upload limit too). */
  static final int MAX_ENROL_PHOTOS = 50;

  /**
   * POST /enroll: multipart, field {@code subject} and one or more file fields {@code photo}. The
   * photos go onto the enroll topic (the embed job indexes them, or dead-letters them with a
   * reason); the answer (202) gives each its image id, for GET /enroll/{id}. Audited before
   * anything is published, as deletions are.
   */
  private void enroll(Context ctx) throws IOException {
    Enrolment to = enrolment;
    if (to == null) {
      ctx.status(HttpStatus.SERVICE_UNAVAILABLE).json(Map.of("error", "enrolment is not configured for this service"));
      return;
    }
    String subject = subject(ctx.formParam("subject"));
    java.util.List<UploadedFile> files = ctx.uploadedFiles("photo");
    if (files.isEmpty()) {
      throw new BadRequest("send one or more photos as multipart file fields 'photo'");
    }
    if (files.size() > MAX_ENROL_PHOTOS) {
      throw new BadRequest("at most " + MAX_ENROL_PHOTOS + " photos per request, not " + files.size());
    }
    java.util.List<Enrolment.Upload> photos = new java.util.ArrayList<>();
    for (UploadedFile file : files) {
      try (InputStream in = file.content()) {
        photos.add(new Enrolment.Upload(filename(file.filename()), in.readAllBytes()));
      }
    }
    ApiKeys.Caller caller = ctx.attribute(CALLER);
    try {
      audit.record(caller.keyId(), "enroll", subject, "POST /enroll, " + photos.size() + (photos.size() == 1 ? " photo" : " photos"));
    } catch (Exception e) {
      unavailable(ctx, "could not write the audit record; nothing was published", e);
      return;
    }
    java.util.List<String> ids;
    long submittedAt;
    try {
      submittedAt = System.currentTimeMillis();
      ids = to.submit(subject, photos);
    } catch (Enrolment.Refused e) {
      ctx.status(HttpStatus.CONTENT_TOO_LARGE).json(Map.of("error", e.getMessage()));
      return;
    } catch (Exception e) {
      unavailable(ctx, "could not publish the photos to the enroll topic", e);
      return;
    }
    java.util.List<Map<String, Object>> sent = new java.util.ArrayList<>();
    for (int i = 0; i < ids.size(); i++) {
      sent.add(Map.of("image_id", ids.get(i), "filename", photos.get(i).filename()));
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("subject", subject);
    body.put("photos", sent);
    body.put("submitted_at", submittedAt); // GET /enroll/{id}?since=: this sending's refusals only
    if (to.topic() != null) {
      body.put("topic", to.topic());
    }
    ctx.status(HttpStatus.ACCEPTED).json(body);
  }

  /**
   * GET /enroll/{imageId}?subject=S: searchable (the served index has a face of it), dead_letter
   * (the job refused it: reason and message) or waiting. The subject is asked for because the
   * index finds faces by subject; the id alone would need a scan.
   */
  private void enrolmentState(Context ctx) throws IOException, SearchService.Busy {
    Enrolment from = enrolment;
    if (from == null) {
      ctx.status(HttpStatus.SERVICE_UNAVAILABLE).json(Map.of("error", "enrolment is not configured for this service"));
      return;
    }
    String imageId = ctx.pathParam("imageId");
    if (!imageId.matches("[A-Za-z0-9._-]{1,128}")) {
      throw new BadRequest("an image id is 1 to 128 letters, digits, '.', '_' or '-'");
    }
    String since = ctx.queryParam("since");
    long sentAt;
    try {
      sentAt = since == null || since.isBlank() ? 0 : Long.parseLong(since.trim());
    } catch (NumberFormatException e) {
      throw new BadRequest("since is the submitted_at of POST /enroll (ms since the epoch)");
    }
    ctx.json(service.enrolmentState(subject(ctx.queryParam("subject")), imageId, from, sentAt));
  }

  /**
   * A subject as enrolment takes it: 1 to 200 characters, no control characters, not only dots,
   * and none of '/', '\', '%', '?', '#' (the person must stay reachable as one URL path segment:
   * GET /subjects/{s}/faces, DELETE /subjects/{s}; "." and ".." are resolved away by clients and
   * proxies, '\' is read as '/' by browsers, '%' starts an escape some servers decode twice, '?'
   * and '#' end the path).
   */
  static String subject(String value) {
    if (value == null || value.isEmpty() || value.length() > 200 || value.chars().anyMatch(Character::isISOControl)) {
      throw new BadRequest("subject (the person's name) is 1 to 200 characters, without control characters");
    }
    if (value.codePoints().anyMatch(c -> Character.getType(c) == Character.FORMAT)) {
      // zero-width spaces, direction overrides: names that look like another person's
      throw new BadRequest("subject (the person's name) cannot contain invisible formatting characters");
    }
    if (!value.equals(value.strip())) {
      throw new BadRequest("subject (the person's name) cannot start or end with spaces");
    }
    if (value.chars().allMatch(c -> c == '.')) {
      throw new BadRequest("subject (the person's name) cannot be only dots: '.' and '..' are not names in a URL path,"
          + " and the person must stay reachable as /subjects/{name}");
    }
    for (char c : new char[] {'/', '\\', '%', '?', '#'}) {
      if (value.indexOf(c) >= 0) {
        throw new BadRequest("subject (the person's name) cannot contain '" + c + "': the name must stay one URL path"
            + " segment (/subjects/{name}), and '/', '\\', '%', '?' and '#' cannot");
      }
    }
    return value;
  }

  /** The name a photo was sent under, for the answer only: printable, at most 200 characters. */
  private static String filename(String name) {
    String clean = name == null ? "" : name.codePoints().filter(c -> !Character.isISOControl(c))
        .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
    return clean.length() > 200 ? clean.substring(0, 200) : clean;
  }

  /** 503 with a plain reason; the exception's text goes to the log only, under an incident id. */
  private static void unavailable(Context ctx, String what, Exception e) {
    String incident = UUID.randomUUID().toString().substring(0, 8);
    LOG.warn("{} {}: {} (incident {})", ctx.method(), ctx.path(), what, incident, e);
    ctx.status(HttpStatus.SERVICE_UNAVAILABLE).json(Map.of("error", what, "incident", incident));
  }

  private void internalError(Exception e, Context ctx) {
    if (e instanceof HttpResponseException h) { // Javalin's own (413 from the body limit, 400 ...)
      ctx.status(h.getStatus()).json(Map.of("error", h.getMessage()));
      refusedUploads.drain(ctx.req(), true);
      return;
    }
    if (tooLarge(e)) {
      ctx.status(HttpStatus.CONTENT_TOO_LARGE).json(Map.of("error", "upload larger than " + options.maxUploadBytes() + " bytes"));
      refusedUploads.drain(ctx.req(), true); // the rest of a cut-off body
      return;
    }
    if (indexDown(e)) {
      // Elasticsearch stopped or unreachable: the service stays up and says so; it recovers by itself
      LOG.warn("{} {}: the face index does not answer: {}", ctx.method(), ctx.path(), e.toString());
      ctx.header("Retry-After", "5");
      ctx.status(HttpStatus.SERVICE_UNAVAILABLE).json(Map.of("error",
          "the face index is unavailable (Elasticsearch does not answer); retry later", "reason", "INDEX_UNAVAILABLE"));
      return;
    }
    if (badMessage(e)) {
      ctx.status(HttpStatus.BAD_REQUEST).json(Map.of("error", "malformed request body (multipart/form-data expected)"));
      refusedUploads.drain(ctx.req(), true);
      return;
    }
    String incident = UUID.randomUUID().toString().substring(0, 8);
    LOG.error("{} {} failed (incident {})", ctx.method(), ctx.path(), incident, e);
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("error", "internal error; the service log has the details");
    body.put("incident", incident);
    ctx.status(HttpStatus.INTERNAL_SERVER_ERROR).json(body);
  }

  /**
   * Jetty's multipart parser stops at the limit, as it reads, with "max length exceeded" (total) or
   * "max file size exceeded" (one part), wrapped in a 400 "bad multipart": find it in the chain.
   */
  private static boolean tooLarge(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      String m = String.valueOf(t.getMessage()).toLowerCase(java.util.Locale.ROOT);
      if (t instanceof IllegalStateException && (m.contains("max length exceeded") || m.contains("max file size exceeded"))) {
        return true;
      }
    }
    return false;
  }

  /** An index that does not answer: refused or reset connections, timeouts, a cluster without a node. */
  private static boolean indexDown(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      String name = t.getClass().getName();
      String m = String.valueOf(t.getMessage());
      if (t instanceof java.net.ConnectException || t instanceof java.net.SocketTimeoutException
          || t instanceof java.net.http.HttpTimeoutException || name.startsWith("org.apache.hc.core5.http.ConnectionClosed")
          || name.equals("co.elastic.clients.transport.TransportException") || m.contains("Connection refused")
          || m.contains("no_shard_available") || m.contains("all shards failed") || m.contains("cluster_block_exception")) {
        return true;
      }
    }
    return false;
  }

  /** A body Jetty could not parse (a broken multipart body): the client's fault, 400. */
  private static boolean badMessage(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof org.eclipse.jetty.http.BadMessageException) {
        return true;
      }
    }
    return false;
  }

  private int k(Context ctx) {
    String value = ctx.queryParam("k");
    if (value == null) {
      return 5;
    }
    int k;
    try {
      k = Integer.parseInt(value.trim());
    } catch (NumberFormatException e) {
      throw new BadRequest("k is a whole number from 1 to " + options.maxK());
    }
    if (k < 1 || k > options.maxK()) {
      throw new BadRequest("k is a whole number from 1 to " + options.maxK() + ", not " + k);
    }
    return k;
  }

  /** The most subjects or faces one page of GET /subjects and GET /subjects/{s}/faces holds. */
  static final int MAX_LIMIT = 200;
  /** The furthest GET /subjects pages (a page past the end is empty). */
  static final int MAX_OFFSET = 1_000_000;

  /** GET /subjects: the name filter, a case-insensitive substring (at most 100 characters). */
  private static String filter(Context ctx) {
    String value = ctx.queryParam("filter");
    if (value != null && value.length() > 100) {
      throw new BadRequest("filter is at most 100 characters");
    }
    return value;
  }

  private static int offset(Context ctx) {
    return whole(ctx, "offset", 0, 0, MAX_OFFSET);
  }

  private static int limit(Context ctx) {
    return whole(ctx, "limit", 50, 1, MAX_LIMIT);
  }

  /** A whole-number query parameter from {@code min} to {@code max}; absent: {@code absent}; else 400. */
  private static int whole(Context ctx, String name, int absent, int min, int max) {
    String value = ctx.queryParam(name);
    if (value == null || value.isBlank()) {
      return absent;
    }
    int n;
    try {
      n = Integer.parseInt(value.trim());
    } catch (NumberFormatException e) {
      throw new BadRequest(name + " is a whole number from " + min + " to " + max);
    }
    if (n < min || n > max) {
      throw new BadRequest(name + " is a whole number from " + min + " to " + max + ", not " + n);
    }
    return n;
  }

  /** GET /models: the served version, and every version of the model store, newest first. */
  private void models(Context ctx) throws IOException {
    ModelShelf shelf = models;
    java.util.List<Map<String, Object>> versions = new java.util.ArrayList<>();
    if (shelf != null) {
      for (ModelShelf.Version v : shelf.versions()) {
        versions.add(v.toJson());
      }
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("served", service.version());
    body.put("versions", versions);
    ctx.json(body);
  }

  /**
   * GET /models/{version}/plots/{name}: a PNG of the store, and nothing else: the version must be
   * a version folder's name (vN, or the single-version store's folder) and the name a plot's
   * ([a-z0-9-]+.png), else 400; the shelf resolves it inside the version's plots folder, else 404.
   */
  private void plot(Context ctx) throws IOException {
    ModelShelf shelf = models;
    String version = ctx.pathParam("version");
    String name = ctx.pathParam("name");
    if (shelf == null) {
      ctx.status(HttpStatus.NOT_FOUND).json(Map.of("error", "no model store is configured for this service"));
      return;
    }
    if (!shelf.validVersion(version) || !ModelShelf.validPlot(name)) {
      throw new BadRequest("a plot is /models/vN/plots/NAME.png (NAME: lower-case letters, digits and dashes)");
    }
    var file = shelf.plot(version, name);
    if (file.isEmpty()) {
      ctx.status(HttpStatus.NOT_FOUND).json(Map.of("error", "no such plot"));
      return;
    }
    ctx.contentType(ContentType.IMAGE_PNG).result(java.nio.file.Files.readAllBytes(file.get()));
  }

  private static String text(Object value) {
    if (value == null) {
      return null;
    }
    String s = value.toString();
    if (s.length() > 500) {
      throw new BadRequest("reason and shards are at most 500 characters");
    }
    return s;
  }

  private static Integer bounded(Integer value, int max, String name) {
    if (value != null && value > max) {
      throw new BadRequest(name + " is at most " + max + ", not " + value);
    }
    return value;
  }

  /** A shard set named by a plain relative name (no '..', no absolute path): the controller resolves it. */
  private static String shards(String value) {
    if (value != null && (!value.matches("[A-Za-z0-9._/-]{1,200}") || value.startsWith("/") || value.contains(".."))) {
      throw new BadRequest("shards is a relative shard-set name (letters, digits, . _ - /), without '..'");
    }
    return value;
  }

  private static Integer number(Object value) {
    if (value == null) {
      return null;
    }
    if (value instanceof Number n && n.doubleValue() == n.intValue() && n.intValue() > 0) {
      return n.intValue();
    }
    throw new BadRequest("epochs and minutes are positive whole numbers, not " + value);
  }

  private ServerConnector httpsConnector(org.eclipse.jetty.server.Server server, HttpConfiguration http, String host, int port) {
    SslContextFactory.Server ssl = new SslContextFactory.Server();
    ssl.setKeyStorePath(options.tlsKeystore().toAbsolutePath().toString());
    ssl.setKeyStoreType("PKCS12");
    ssl.setKeyStorePassword(options.tlsPassword());
    HttpConfiguration https = new HttpConfiguration(http);
    https.addCustomizer(new SecureRequestCustomizer(false)); // SNI host checks off: clients use 127.0.0.1
    ServerConnector connector = new ServerConnector(server, new SslConnectionFactory(ssl, "http/1.1"),
        new HttpConnectionFactory(https));
    connector.setHost(host);
    connector.setPort(port);
    return connector;
  }

  private static byte[] upload(Context ctx, String field) throws IOException {
    UploadedFile file = ctx.uploadedFile(field);
    if (file == null) {
      throw new BadRequest("send the photo as multipart form field '" + field + "'");
    }
    try (InputStream in = file.content()) {
      return in.readAllBytes();
    }
  }

  @Override
  public void close() {
    if (metricsListener != null) {
      metricsListener.stop(0);
      metricsExecutor.shutdownNow();
    }
    if (app != null) {
      app.stop();
    }
  }

  static final class BadRequest extends RuntimeException {
    BadRequest(String message) {
      super(message);
    }
  }
}
