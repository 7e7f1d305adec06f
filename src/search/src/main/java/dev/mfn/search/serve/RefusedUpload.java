package dev.mfn.search.serve;

import jakarta.servlet.http.HttpServletRequest;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;

/**
 * Reads and drops the body of a request the service refuses (401, 403, 404, 413, 429, 503), so that
 * the client hears the refusal.
 *
 * <p>Why: answering before the body is read, then closing the connection while the client is still
 * sending, makes the server's kernel answer the client's next bytes with a reset, and a reset can
 * destroy the answer before the client has read it: the client sees "connection reset" or an empty
 * response ("header parser received no bytes") instead of 413. CI met exactly that with a 300 kB
 * upload against a 200 kB limit. Jetty, by itself, only takes what has already arrived
 * ({@code HttpConfiguration.maxUnconsumedRequestContentReads}); Tomcat swallows up to 2 MB for the
 * same reason ({@code maxSwallowSize}). Here: up to {@link #cap(long)} bytes and {@link #BUDGET},
 * after which the answer goes out and the connection closes as before. A body read to its end
 * leaves the connection open for the client's next request.
 *
 * <p>Not read at all: a body declared larger than the cap (nobody waits for it), and the body of a
 * client that sent {@code Expect: 100-continue}: it is waiting for a 100 it must not get, and the
 * refusal reaches it without a byte of the body sent.
 */
final class RefusedUpload {
  /** The longest a refusal waits for the rest of a body: slow senders cannot hold a thread for long. */
  static final Duration BUDGET = Duration.ofSeconds(5);

  private RefusedUpload() {
  }

  /** Bytes worth reading for a refusal: twice the upload limit, at least Tomcat's 2 MiB. */
  static long cap(long maxUploadBytes) {
    return Math.max(2L << 20, 2 * maxUploadBytes);
  }

  /**
   * Reads what is left of the request's body, up to {@code cap} bytes and {@link #BUDGET}.
   *
   * @return true if the body was read to its end (or there was none), false if it was left unread
   */
  static boolean drain(HttpServletRequest servlet, long cap) {
    long declared = servlet.getContentLengthLong();
    String coding = servlet.getHeader("Transfer-Encoding");
    boolean chunked = coding != null && coding.toLowerCase(Locale.ROOT).contains("chunked");
    if (declared <= 0 && !chunked) {
      return true;
    }
    String expect = servlet.getHeader("Expect");
    if (expect != null && expect.toLowerCase(Locale.ROOT).contains("100-continue") || declared > cap) {
      return false;
    }
    Request request = ServletContextRequest.getServletContextRequest(servlet);
    if (request == null) {
      return false;
    }
    long deadline = System.nanoTime() + BUDGET.toNanos();
    long read = 0;
    try {
      while (read <= cap) {
        Content.Chunk chunk = request.read();
        if (chunk == null) {
          long left = deadline - System.nanoTime();
          if (left <= 0) {
            return false;
          }
          CountDownLatch more = new CountDownLatch(1);
          request.demand(more::countDown);
          if (!more.await(left, TimeUnit.NANOSECONDS)) {
            return false;
          }
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
      Thread.currentThread().interrupt();
      return false;
    } catch (RuntimeException e) {
      // the body was already failed or half-read by a parser: nothing more to take
      return false;
    }
  }
}
