package dev.mfn.flink.ingest;

import static dev.mfn.flink.common.JobSettings.optionalArg;

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
      --unbounded                keep running; shard sets are cut on request (a record on the cuts topic)
      --labels-topic T           subject -> label registry, compacted (default: <topic>.labels)
      --cuts-topic T             unbounded: cut requests (default: <topic>.cuts)
      --resume                   --out belongs to this job: continue into it (a restore does so anyway)
      --parallelism P            (default 1)       --shards N      shards per split (default 16)
      --validation-fraction F    (default 0.005)
      --cap/--keep-above/--opening-above/--full-above   policy thresholds (default 350/200/90/30)
      --checkpoint-ms MS         (default 10000)
      --blob-roots R1,R2         where photos sent by reference may be read (folders, file: or s3:// prefixes);
                                 default none: every photo by reference is a SOURCE_FORBIDDEN dead letter
      --max-bytes B              the most bytes of one photo (default 64 MiB)
      --detector blazeface|mtcnn|yunet (default blazeface) with --blazeface-dir DIR,
        --yunet-model FILE or --mtcnn-dir DIR; --min-score S (0.5), --min-face-size PX (20)
      """;

  /** The arguments that {@link #parse} turns back into {@code c}: how the CLI submits to a cluster. */
  public static java.util.List<String> of(IngestConfig c) {
    java.util.List<String> a = new java.util.ArrayList<>(java.util.List.of(
        "--out", c.outDir(), "--bootstrap", c.bootstrap(), "--topic", c.topic(), "--dlq-topic", c.deadLetterTopic(),
        "--group-id", c.groupId(), "--parallelism", String.valueOf(c.parallelism()),
        "--shards", String.valueOf(c.shards()), "--validation-fraction", String.valueOf(c.validationFraction()),
        "--cap", String.valueOf(c.cap()), "--keep-above", String.valueOf(c.keepAbove()),
        "--opening-above", String.valueOf(c.openingAbove()), "--full-above", String.valueOf(c.fullAbove()),
        "--labels-topic", c.labelRegistryTopic(), "--cuts-topic", c.cutRequestTopic(),
        "--checkpoint-ms", String.valueOf(c.checkpointMillis()), "--detector", c.detector(),
        "--min-score", String.valueOf(c.minScore()), "--min-face-size", String.valueOf(c.minFaceSize()),
        "--max-bytes", String.valueOf(c.maxBytes()), "--max-pixels", String.valueOf(c.maxPixels())));
    optionalArg(a, "--blazeface-dir", c.blazefaceDir());
    optionalArg(a, "--yunet-model", c.yunetModel());
    optionalArg(a, "--mtcnn-dir", c.mtcnnDir());
    if (!c.bounded()) {
      a.add("--unbounded");
    }
    if (c.resume()) {
      a.add("--resume");
    }
    optionalArg(a, "--blob-roots", c.blobRoots() == null || c.blobRoots().isBlank() ? null : c.blobRoots());
    return a;
  }

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
        p.get("labels-topic", null),
        p.get("cuts-topic", null),
        p.getLong("checkpoint-ms", 10_000),
        p.get("detector", "blazeface"),
        p.get("blazeface-dir", null),
        p.get("yunet-model", null),
        p.get("mtcnn-dir", null),
        p.getDouble("min-score", 0.5),
        p.getDouble("min-face-size", 20),
        p.getLong("max-bytes", 64L << 20),
        p.getLong("max-pixels", 60_000_000L),
        p.has("resume"),
        p.get("blob-roots", ""));
  }
}
