package dev.mfn.search.serve;

import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.ConsumptionProbe;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * A token bucket per API key (Bucket4j): {@code perSecond} requests a second on average, bursts
 * of {@code burst}. A request over the limit gets 429 with Retry-After; /health is not limited.
 */
public final class RateLimits {
  private final long perSecond;
  private final long burst;
  private final ConcurrentMap<String, Bucket> buckets = new ConcurrentHashMap<>();

  /** @param perSecond average requests per second per key; 0: no limit */
  public RateLimits(long perSecond, long burst) {
    this.perSecond = perSecond;
    this.burst = Math.max(burst, perSecond);
  }

  /** 0 when the request may go ahead, else the seconds until it may (at least 1). */
  public long secondsToWait(String keyId) {
    if (perSecond <= 0) {
      return 0;
    }
    Bucket bucket = buckets.computeIfAbsent(keyId, id -> Bucket.builder()
        .addLimit(Bandwidth.builder().capacity(burst).refillGreedy(perSecond, Duration.ofSeconds(1)).build())
        .build());
    ConsumptionProbe probe = bucket.tryConsumeAndReturnRemaining(1);
    if (probe.isConsumed()) {
      return 0;
    }
    return Math.max(1, (probe.getNanosToWaitForRefill() + 999_999_999L) / 1_000_000_000L);
  }
}
