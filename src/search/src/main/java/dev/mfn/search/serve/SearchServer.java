package dev.mfn.search.serve;

import dev.mfn.face.FaceRejected;
import io.javalin.Javalin;
import io.javalin.http.ContentType;
import io.javalin.http.Context;
import io.javalin.http.HttpStatus;
import io.javalin.http.UploadedFile;
import io.javalin.http.staticfiles.Location;
import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import java.util.Set;

/**
 * The REST service and the web page (Javalin): {@code POST /search}, {@code POST /verify},
 * {@code DELETE /subjects/{subject}}, {@code POST /retrain}, {@code GET /faces/{id}/crop}, {@code GET /health},
 * {@code GET /openapi.json}, and the page at {@code /}. Every API call but health and the
 * description needs the API key in {@value ApiKey#HEADER}; uploads above {@code maxUploadBytes}
 * get 413.
 */
public final class SearchServer implements AutoCloseable {
  /** What answers without the key: the page, the health check and the API description. */
  private static final Set<String> OPEN = Set.of("/", "/index.html", "/health", "/openapi.json");
  private final Javalin app;

  public SearchServer(SearchService service, ApiKey key, long maxUploadBytes) {
    this(service, key, maxUploadBytes, null);
  }

  /** @param retrain where POST /retrain queues a request, or null: that endpoint answers 503 */
  public SearchServer(SearchService service, ApiKey key, long maxUploadBytes, RetrainTrigger retrain) {
    app = Javalin.create(cfg -> {
      cfg.http.maxRequestSize = maxUploadBytes;
      cfg.staticFiles.add(files -> {
        files.hostedPath = "/";
        files.directory = "/web";
        files.location = Location.CLASSPATH;
      });
      cfg.routes.before(ctx -> {
        if (!OPEN.contains(ctx.path()) && !key.matches(ctx.header(ApiKey.HEADER))) {
          ctx.status(HttpStatus.UNAUTHORIZED).json(Map.of("error", "missing or wrong API key (header " + ApiKey.HEADER + ")"));
          ctx.skipRemainingHandlers();
        } else if (ctx.contentLength() > maxUploadBytes) {
          // multipart bodies bypass Javalin's maxRequestSize: refuse by the declared length
          ctx.status(HttpStatus.CONTENT_TOO_LARGE).json(Map.of("error", "upload larger than " + maxUploadBytes + " bytes"));
          ctx.skipRemainingHandlers();
        }
      });
      cfg.routes.get("/health", ctx -> ctx.json(service.health()));
      cfg.routes.get("/openapi.json", ctx -> {
        try (InputStream in = SearchServer.class.getResourceAsStream("/openapi.json")) {
          ctx.contentType(ContentType.APPLICATION_JSON).result(in.readAllBytes());
        }
      });
      cfg.routes.post("/search", ctx -> ctx.json(service.search(upload(ctx, "photo"), ctx.queryParamAsClass("k", Integer.class).getOrDefault(5))));
      cfg.routes.post("/verify", ctx -> ctx.json(service.verify(upload(ctx, "a"), upload(ctx, "b"))));
      cfg.routes.delete("/subjects/{subject}", ctx -> {
        long removed;
        try {
          removed = service.delete(ctx.pathParam("subject"));
        } catch (java.io.IOException e) {
          throw e;
        } catch (Exception e) {
          // the tombstone could not be recorded: nothing was removed, so say so instead of half-erasing
          ctx.status(HttpStatus.SERVICE_UNAVAILABLE).json(Map.of("error", "could not record the deletion (tombstone): " + e.getMessage()));
          return;
        }
        ctx.json(Map.of("subject", ctx.pathParam("subject"), "removed", removed));
      });
      cfg.routes.post("/retrain", ctx -> {
        if (retrain == null) {
          ctx.status(HttpStatus.SERVICE_UNAVAILABLE).json(Map.of("error", "retraining is not configured for this service"));
          return;
        }
        var body = ctx.body().isBlank() ? Map.<String, Object>of() : ctx.bodyAsClass(Map.class);
        var request = new RetrainTrigger.Request(text(body.get("reason")), number(body.get("epochs")),
            number(body.get("minutes")), text(body.get("shards")), "api:" + ctx.ip());
        String id;
        try {
          id = retrain.request(request);
        } catch (Exception e) {
          ctx.status(HttpStatus.SERVICE_UNAVAILABLE).json(Map.of("error", "could not queue the request: " + e.getMessage()));
          return;
        }
        ctx.status(HttpStatus.ACCEPTED).json(Map.of("requestId", id,
            "status", "queued for the retraining controller, which starts a training job unless one is running"));
      });
      cfg.routes.get("/faces/{id}/crop", ctx -> {
        byte[] png = service.crop(ctx.pathParam("id"));
        if (png == null) {
          ctx.status(HttpStatus.NOT_FOUND).json(Map.of("error", "no such face"));
        } else {
          ctx.contentType(ContentType.IMAGE_PNG).result(png);
        }
      });
      cfg.routes.exception(FaceRejected.class, (e, ctx) ->
          ctx.status(HttpStatus.UNPROCESSABLE_CONTENT).json(Map.of("error", e.getMessage(), "reason", e.reason().name())));
      cfg.routes.exception(BadRequest.class, (e, ctx) -> ctx.status(HttpStatus.BAD_REQUEST).json(Map.of("error", e.getMessage())));
    });
  }

  private static String text(Object value) {
    return value == null ? null : value.toString();
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

  /** Starts on 127.0.0.1 or the given host; port 0 picks a free one. */
  public SearchServer start(String host, int port) {
    app.start(host, port);
    return this;
  }

  public int port() {
    return app.port();
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
    app.stop();
  }

  static final class BadRequest extends RuntimeException {
    BadRequest(String message) {
      super(message);
    }
  }
}
