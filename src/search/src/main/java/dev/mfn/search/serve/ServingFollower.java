package dev.mfn.search.serve;

import dev.mfn.search.index.ServedVersion;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a {@link SearchService} on the version the index serves: polls the served version (the
 * Elasticsearch alias or the embedded index's SERVING file, written by the embed job's migrator
 * once the new index is complete) and, when it changes, opens that version's model and index
 * beside the current ones, switches the service to them between two calls and closes the old
 * ones. A version that cannot be opened is logged and tried again after a back-off, while the
 * service keeps answering with the version it has.
 */
public final class ServingFollower implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ServingFollower.class);

  /** Opens what a served version needs: its model (from the recorded location) and its index. */
  @FunctionalInterface
  public interface Loader {
    SearchService.Served load(ServedVersion version) throws Exception;
  }

  private final SearchService service;
  private final Callable<Optional<ServedVersion>> source;
  private final Loader loader;
  private final Duration retryAfter;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "serving-follower");
    t.setDaemon(true);
    return t;
  });
  private final AtomicLong failures = new AtomicLong();
  private String failedVersion;
  private long failedAt;

  public ServingFollower(SearchService service, Callable<Optional<ServedVersion>> source, Loader loader, Duration retryAfter) {
    this.service = service;
    this.source = source;
    this.loader = loader;
    this.retryAfter = retryAfter;
  }

  /** Checks every {@code interval} from now on. */
  public ServingFollower start(Duration interval) {
    timer.scheduleWithFixedDelay(this::checkQuietly, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    return this;
  }

  /** Versions that could not be opened (each try counted). */
  public long failures() {
    return failures.get();
  }

  /** One check: switches when the served version differs from the service's; true if it switched. */
  public synchronized boolean check() throws Exception {
    Optional<ServedVersion> now = source.call();
    if (now.isEmpty() || now.get().version().equals(service.version())) {
      return false;
    }
    ServedVersion next = now.get();
    if (next.version().equals(failedVersion) && System.currentTimeMillis() - failedAt < retryAfter.toMillis()) {
      return false;
    }
    SearchService.Served loaded;
    try {
      loaded = loader.load(next);
    } catch (Exception e) {
      failures.incrementAndGet();
      failedVersion = next.version();
      failedAt = System.currentTimeMillis();
      LOG.warn("the index serves {} but it cannot be opened here; still answering with {} (next try in {} s): {}",
          next.version(), service.version(), retryAfter.toSeconds(), e.toString());
      return false;
    }
    SearchService.Served previous = service.switchTo(loaded);
    LOG.info("now serving model {} (was {})", loaded.version(), previous.version());
    try {
      previous.close();
    } catch (Exception e) {
      LOG.warn("closing model {} failed: {}", previous.version(), e.toString());
    }
    return true;
  }

  private void checkQuietly() {
    try {
      check();
    } catch (Exception e) {
      LOG.warn("could not read which version is served: {}", e.toString());
    } catch (Throwable t) {
      LOG.error("serving follower stopped by {}", t.toString(), t);
      throw t;
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
