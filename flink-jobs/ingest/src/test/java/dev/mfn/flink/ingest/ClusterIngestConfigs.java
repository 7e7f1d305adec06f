package dev.mfn.flink.ingest;

import java.nio.file.Path;

/** Ingest configurations for the operator tests (no broker, no detector needed). */
final class ClusterIngestConfigs {
  private ClusterIngestConfigs() {}

  /** Unbounded, policy 10/8/5/3 (cap 10; n > 8 keep; n > 5 x2; n > 3 x4; else drop). */
  static IngestConfig unbounded(Path out) {
    return new IngestConfig("127.0.0.1:9", "t", "t.dlq", "g", false, out.toString(), 1, 4, 0.0, 10, 8, 5, 3,
        null, null, 1_000, "blazeface", null, null, null, 0.5, 20, 1 << 20, 1_000_000, false);
  }
}
