package dev.mfn.flink.ingest;

import org.apache.flink.util.ParameterTool;

/**
 * Arguments of the ingest job when a Flink cluster runs it (`flink run ... --out DIR ...`). The
 * `mfn ingest` command builds the same {@link IngestConfig} from the project settings instead.
 */
public final class IngestArguments {
  private IngestArguments() {}

  public static final String USAGE =
      """
      --out DIR                  shards and manifest.json (required)
      --bootstrap HOST:PORT      Kafka (default 127.0.0.1:9092)
      --topic T                  input topic (default images.train)
      --dlq-topic T              dead-letter topic (default images.dlq)
      --group-id G               consumer group (default mfn-ingest)
      --unbounded                keep running; an identity is complete after --idle-ms without photos
      --parallelism P            (default 1)       --shards N      shards per split (default 16)
      --validation-fraction F    (default 0.005)
      --cap/--keep-above/--opening-above/--full-above   policy thresholds (default 350/200/90/30)
      --idle-ms MS               (default 60000)   --checkpoint-ms MS (default 10000)
      --detector blazeface|mtcnn|yunet (default blazeface) with --blazeface-dir DIR,
        --yunet-model FILE or --mtcnn-dir DIR; --min-score S (0.5), --min-face-size PX (20)
      """;

  public static IngestConfig parse(String[] args) {
    ParameterTool p = ParameterTool.fromArgs(args);
    if (!p.has("out")) {
      throw new IllegalArgumentException("--out is required\n" + USAGE);
    }
    return new IngestConfig(
        p.get("bootstrap", "127.0.0.1:9092"),
        p.get("topic", "images.train"),
        p.get("dlq-topic", "images.dlq"),
        p.get("group-id", "mfn-ingest"),
        !p.has("unbounded"),
        p.get("out"),
        p.getInt("parallelism", 1),
        p.getInt("shards", 16),
        p.getDouble("validation-fraction", 0.005),
        p.getInt("cap", 350),
        p.getInt("keep-above", 200),
        p.getInt("opening-above", 90),
        p.getInt("full-above", 30),
        p.getLong("idle-ms", 60_000),
        p.getLong("checkpoint-ms", 10_000),
        p.get("detector", "blazeface"),
        p.get("blazeface-dir", null),
        p.get("yunet-model", null),
        p.get("mtcnn-dir", null),
        p.getDouble("min-score", 0.5),
        p.getDouble("min-face-size", 20),
        p.getLong("max-bytes", 64L << 20),
        p.getLong("max-pixels", 60_000_000L));
  }
}
