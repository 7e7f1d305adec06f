package dev.mfn.search.serve;

import java.nio.file.Path;

/**
 * How the REST service protects itself; build with {@link #defaults()} and the {@code with}
 * methods.
 *
 * @param maxUploadBytes the largest request body (multipart included, chunked or not): 413 above
 * @param maxK the most neighbours a search may ask for: 400 above
 * @param ratePerSecond requests per second per key on average (0: unlimited); 429 above
 * @param rateBurst requests a key may send at once
 * @param tlsKeystore a PKCS12 keystore (certificate and key) to serve HTTPS only, or null: HTTP
 * @param tlsPassword the keystore's password (from the environment or a file, never a flag)
 * @param maxInFlight API requests the service holds at once (bodies read, waiting or working);
 *     one more is refused at once with 503: memory and threads stay bounded whatever the clients do
 * @param metricsPort where GET /metrics answers: null, on the service's own port (one machine);
 *     else a listener of its own on that port (0: a free one), and the service's port has no
 *     /metrics, so that a service exposed to the world does not expose its metrics with it
 */
public record ServerOptions(long maxUploadBytes, int maxK, long ratePerSecond, long rateBurst, Path tlsKeystore,
    String tlsPassword, int maxInFlight, Integer metricsPort) {
  public static ServerOptions defaults() {
    return new ServerOptions(16L << 20, 100, 20, 40, null, null, 48, null);
  }

  public ServerOptions withMetricsPort(Integer port) {
    return new ServerOptions(maxUploadBytes, maxK, ratePerSecond, rateBurst, tlsKeystore, tlsPassword, maxInFlight, port);
  }

  public ServerOptions withMaxInFlight(int requests) {
    return new ServerOptions(maxUploadBytes, maxK, ratePerSecond, rateBurst, tlsKeystore, tlsPassword, requests, metricsPort);
  }

  public ServerOptions withMaxUploadBytes(long bytes) {
    return new ServerOptions(bytes, maxK, ratePerSecond, rateBurst, tlsKeystore, tlsPassword, maxInFlight, metricsPort);
  }

  public ServerOptions withMaxK(int k) {
    return new ServerOptions(maxUploadBytes, k, ratePerSecond, rateBurst, tlsKeystore, tlsPassword, maxInFlight, metricsPort);
  }

  public ServerOptions withRate(long perSecond, long burst) {
    return new ServerOptions(maxUploadBytes, maxK, perSecond, burst, tlsKeystore, tlsPassword, maxInFlight, metricsPort);
  }

  public ServerOptions withTls(Path keystore, String password) {
    return new ServerOptions(maxUploadBytes, maxK, ratePerSecond, rateBurst, keystore, password, maxInFlight, metricsPort);
  }

  @Override
  public String toString() { // never the password
    return "ServerOptions[maxUploadBytes=" + maxUploadBytes + ", maxK=" + maxK + ", ratePerSecond=" + ratePerSecond
        + ", rateBurst=" + rateBurst + ", tls=" + (tlsKeystore != null) + ", maxInFlight=" + maxInFlight + ", metricsPort=" + metricsPort + "]";
  }
}
