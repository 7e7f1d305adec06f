package dev.mfn.search.serve;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/** The service's API key, compared in constant time so response timing does not leak it. */
public final class ApiKey {
  public static final String HEADER = "X-API-Key";
  private final byte[] expected;

  public ApiKey(String key) {
    if (key == null || key.length() < 16) {
      throw new IllegalArgumentException("the API key must have at least 16 characters");
    }
    this.expected = key.getBytes(StandardCharsets.UTF_8);
  }

  public boolean matches(String given) {
    return given != null && MessageDigest.isEqual(expected, given.getBytes(StandardCharsets.UTF_8));
  }
}
