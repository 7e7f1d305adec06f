package dev.mfn.flink.ingest;

import java.util.SplittableRandom;

/**
 * Uniform reservoir sampling (Algorithm R): after n items, each one is in the reservoir of size
 * {@code cap} with probability cap/n, whatever the order they came in. The random choice for the
 * n-th item depends only on the identity and n, so a replay after a restore decides the same way.
 */
public final class IdentityReservoir {
  private IdentityReservoir() {}

  /**
   * Where the n-th item (1-based) goes: its slot in the reservoir, or -1 when it is not kept.
   */
  public static int slotFor(String identity, long n, int cap) {
    if (n <= cap) {
      return (int) (n - 1);
    }
    long j = new SplittableRandom(identity.hashCode() * 0x9E3779B97F4A7C15L + n).nextLong(n);
    return j < cap ? (int) j : -1;
  }
}
