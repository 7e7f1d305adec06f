package dev.mfn.publish;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/** What a publish run did: counts for every outcome, so nothing is lost silently. */
public final class PublishSummary {
  private static final int EXAMPLES = 3;

  private long found;
  private long sentInline;
  private long sentByReference;
  private long bytesSent;
  private long failed;
  private String firstFailure;
  private Duration elapsed = Duration.ZERO;
  private final Map<SkipReason, Long> skipped = new EnumMap<>(SkipReason.class);
  private final Map<SkipReason, List<String>> examples = new EnumMap<>(SkipReason.class);

  synchronized void found(long n) {
    found = n;
  }

  synchronized void sent(boolean inline, long bytes) {
    if (inline) {
      sentInline++;
    } else {
      sentByReference++;
    }
    bytesSent += bytes;
  }

  synchronized void skipped(SkipReason reason, String source) {
    skipped.merge(reason, 1L, Long::sum);
    List<String> list = examples.computeIfAbsent(reason, r -> new ArrayList<>());
    if (list.size() < EXAMPLES) {
      list.add(printable(source));
    }
  }

  /** A file name as a terminal may show it: control characters (a newline, an escape) escaped, a newline as \\u000a. */
  static String printable(String name) {
    StringBuilder b = new StringBuilder(name.length());
    name.codePoints().forEach(c -> {
      if (Character.isISOControl(c)) {
        b.append(String.format("\\u%04x", c));
      } else {
        b.appendCodePoint(c);
      }
    });
    return b.toString();
  }

  synchronized void failed(String source, Exception e) {
    failed++;
    if (firstFailure == null) {
      firstFailure = printable(source + ": " + e.getMessage());
    }
  }

  synchronized void elapsed(Duration d) {
    elapsed = d;
  }

  public synchronized long found() {
    return found;
  }

  public synchronized long sent() {
    return sentInline + sentByReference;
  }

  public synchronized long sentInline() {
    return sentInline;
  }

  public synchronized long sentByReference() {
    return sentByReference;
  }

  public synchronized long bytesSent() {
    return bytesSent;
  }

  public synchronized long failed() {
    return failed;
  }

  public synchronized long skipped(SkipReason reason) {
    return skipped.getOrDefault(reason, 0L);
  }

  public synchronized long skippedTotal() {
    return skipped.values().stream().mapToLong(Long::longValue).sum();
  }

  public synchronized List<String> examples(SkipReason reason) {
    return List.copyOf(examples.getOrDefault(reason, List.of()));
  }

  public synchronized Duration elapsed() {
    return elapsed;
  }

  public synchronized double imagesPerSecond() {
    return sent() / Math.max(1e-9, elapsed.toNanos() / 1e9);
  }

  public synchronized double megabytesPerSecond() {
    return bytesSent / 1e6 / Math.max(1e-9, elapsed.toNanos() / 1e9);
  }

  /** Every file is accounted for: sent, skipped with a reason, or failed. */
  public synchronized boolean balanced() {
    return found == sent() + skippedTotal() + failed;
  }

  /** The human-readable report the CLI prints at the end. */
  public synchronized String report(String topic) {
    StringBuilder b = new StringBuilder();
    b.append(
        String.format(
            "published %d of %d files to %s in %.1f s (%.0f images/s, %.1f MB/s)%n",
            sent(), found, topic, elapsed.toMillis() / 1e3, imagesPerSecond(),
            megabytesPerSecond()));
    b.append(String.format("  sent inline:       %d%n", sentInline));
    b.append(
        String.format("  sent by reference: %d (too large to go inline; the record holds a URI)%n",
            sentByReference));
    for (SkipReason reason : SkipReason.values()) {
      long n = skipped(reason);
      if (n > 0) {
        b.append(
            String.format(
                "  skipped, %s: %d (e.g. %s)%n",
                reason.description(), n, String.join(", ", examples(reason))));
      }
    }
    if (failed > 0) {
      b.append(String.format("  FAILED to send: %d (first: %s)%n", failed, firstFailure));
    }
    return b.toString();
  }
}
