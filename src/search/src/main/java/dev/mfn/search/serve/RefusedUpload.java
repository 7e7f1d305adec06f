package dev.mfn.search.serve;

import jakarta.servlet.http.HttpServletRequest;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Semaphore;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;

/**
 * Reads and drops the body of a request the service refuses (401, 403, 404, 413, 429, and the 400s
 * and 413s of a body cut off while read), so that the client hears the refusal.
 *
 * <p>Why: answering before the body is read, then closing the connection while the client is still
 * sending, makes the server's kernel answer the client's next bytes with a reset, and a reset can
 * destroy the answer before the client has read it: the client sees "connection reset" or an empty
 * response ("header parser received no bytes") instead of 413. CI met exactly that with a 300 kB
 * upload against a 200 kB limit. Jetty, by itself, only takes what has already arrived
 * ({@code HttpConfiguration.maxUnconsumedRequestContentReads}); Tomcat swallows up to 2 MB for the
 * same reason ({@code maxSwallowSize}). Here: up to {@link #cap(long)} bytes and {@link #BUDGET}. A
 * body read to its end leaves the connection open for the client's next request; one that is not
 * (declared above the cap, still coming at the deadline) gets the answer and the connection is cut,
 * as before, which a client still sending may see as a reset.
 *
 * <p>Bounded, because a refusal must stay cheap: at most {@link #AT_ONCE} drains at a time (one
 * more answers at once, without reading), each on the thread that refuses, polling Jetty's
 * non-blocking read (a pending demand cannot be withdrawn at the deadline). The 503 "busy" answer
 * never drains: a server shedding load does not read bodies. Not read either: the body of a client
 * that sent {@code Expect: 100-continue} and has not been asked for it (reading would ask, with a
 * 100); the refusal reaches it without a byte of the body sent.
 */
final class RefusedUpload {
  /** The longest a refusal waits for the rest of a body: slow senders cannot hold a thread for long. */
  static final Duration BUDGET = Duration.ofSeconds(5);

  /** Drains at once, server-wide: beyond, refusals go out without reading (threads stay free). */
  static final int AT_ONCE = 8;

  private static final long POLL_MILLIS = 5;

  private final long cap;
  private final Semaphore slots = new Semaphore(AT_ONCE);

  /** @param maxUploadBytes the service's upload limit: worth reading up to twice that, at least 2 MiB */
  RefusedUpload(long maxUploadBytes) {
    this.cap = cap(maxUploadBytes);
  }

  /** Drains going on now (the tests wait for them instead of sleeping). */
  int inProgress() {
    return AT_ONCE - slots.availablePermits();
  }

  /** Bytes worth reading for a refusal: twice the upload limit, at least Tomcat's 2 MiB. */
  static long cap(long maxUploadBytes) {
    return Math.max(2L << 20, 2 * maxUploadBytes);
  }

  /**
   * Reads what is left of the request's body, up to the cap and {@link #BUDGET}.
   *
   * @param started whether the body was being read already (a 100 Continue was sent, if asked for)
   * @return true if the body was read to its end (or there was none), false if it was left unread
   */
  boolean drain(HttpServletRequest servlet, boolean started) {
    long declared = servlet.getContentLengthLong();
    String coding = servlet.getHeader("Transfer-Encoding");
    boolean chunked = coding != null && coding.toLowerCase(Locale.ROOT).contains("chunked");
    if (declared <= 0 && !chunked) {
      return true;
    }
    String expect = servlet.getHeader("Expect");
    boolean notAskedYet = !started && expect != null && expect.toLowerCase(Locale.ROOT).contains("100-continue");
    if (notAskedYet || declared > cap || !slots.tryAcquire()) {
      return false;
    }
    try {
      Request request = ServletContextRequest.getServletContextRequest(servlet);
      long deadline = System.nanoTime() + BUDGET.toNanos();
      long read = 0;
      while (read <= cap) {
        // read() fills from the connection itself and answers null when nothing has come yet
        Content.Chunk chunk = request.read();
        if (chunk == null) {
          if (System.nanoTime() >= deadline) {
            return false;
          }
          Thread.sleep(POLL_MILLIS);
          continue;
        }
        if (Content.Chunk.isFailure(chunk)) {
          return false;
        }
        read += chunk.remaining();
        boolean last = chunk.isLast();
        chunk.release();
        if (last) {
          return true;
        }
      }
      return false;
    } catch (InterruptedException e) {
      // only when the server stops: keep the flag (the answer may then not be written, which is fine)
      Thread.currentThread().interrupt();
      return false;
    } catch (RuntimeException e) {
      // not a Jetty request, or a body already failed by a parser: nothing more to take
      return false;
    } finally {
      slots.release();
    }
  }
}
