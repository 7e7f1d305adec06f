package dev.mfn.cli.pipeline;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * One look at something slow (a broker, a JobManager) shared by every request for a few seconds: a
 * page refreshed by many people reads it once. While a new look is under way (a slow broker can
 * make it take many seconds), other requests get the last one at once instead of queueing; only
 * the very first requests wait for a first look.
 */
final class ReusedLook<T> {
  private final Supplier<T> look;
  private final long reuseNanos;
  private final ReentrantLock looking = new ReentrantLock();
  private volatile T last;
  private volatile long lastAt;

  ReusedLook(Supplier<T> look, long reuseSeconds) {
    this.look = look;
    this.reuseNanos = TimeUnit.SECONDS.toNanos(reuseSeconds);
  }

  T get() {
    T seen = last;
    if (seen != null && System.nanoTime() - lastAt <= reuseNanos) {
      return seen;
    }
    if (seen != null && !looking.tryLock()) {
      return seen; // someone is looking now
    }
    if (seen == null) {
      looking.lock();
    }
    try {
      if (last == null || System.nanoTime() - lastAt > reuseNanos) {
        last = look.get();
        lastAt = System.nanoTime();
      }
      return last;
    } finally {
      looking.unlock();
    }
  }
}
