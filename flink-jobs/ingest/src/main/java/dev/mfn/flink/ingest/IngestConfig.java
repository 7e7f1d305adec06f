package dev.mfn.flink.ingest;

import dev.mfn.face.detect.DetectorConfig;
import dev.mfn.face.policy.IdentityPolicy;
import java.io.Serializable;
import java.nio.file.Path;

/**
 * Everything the ingest job needs, in one typed, serialisable object (Flink ships it to every
 * task). Paths are strings because java.nio.file.Path is not serialisable. The CLI builds it from
 * the settings and flags; {@link IngestJob#main} from arguments.
 */
public record IngestConfig(
    String bootstrap,
    String topic,
    String deadLetterTopic,
    String groupId,
    boolean bounded,
    String outDir,
    int parallelism,
    int shards,
    double validationFraction,
    int cap,
    int keepAbove,
    int openingAbove,
    int fullAbove,
    long idleMillis,
    long checkpointMillis,
    String detector,
    String blazefaceDir,
    String yunetModel,
    String mtcnnDir,
    double minScore,
    double minFaceSize,
    long maxBytes,
    long maxPixels)
    implements Serializable {

  public IdentityPolicy policy() {
    return new IdentityPolicy(cap, keepAbove, openingAbove, fullAbove);
  }

  public DetectorConfig detectorConfig() {
    return new DetectorConfig(path(blazefaceDir), path(yunetModel), path(mtcnnDir), minScore);
  }

  private static Path path(String s) {
    return s == null ? null : Path.of(s);
  }
}
