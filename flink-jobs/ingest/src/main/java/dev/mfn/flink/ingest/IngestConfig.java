package dev.mfn.flink.ingest;

import dev.mfn.face.detect.DetectorConfig;
import dev.mfn.face.policy.IdentityPolicy;
import java.io.Serializable;
import java.nio.file.Path;

/**
 * Everything the ingest job needs, in one typed, serialisable object (Flink ships it to every
 * task). Paths are strings because java.nio.file.Path is not serialisable. The CLI builds it from
 * the settings and flags; {@link IngestJob#main} from arguments ({@link IngestArguments}).
 *
 * <p>{@code resume}: the output folder already belongs to this job (it continues from its own
 * checkpoint or savepoint); without it, a run refuses an output folder that holds a shard set.
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
    String labelsTopic,
    String cutsTopic,
    long checkpointMillis,
    String detector,
    String blazefaceDir,
    String yunetModel,
    String mtcnnDir,
    double minScore,
    double minFaceSize,
    long maxBytes,
    long maxPixels,
    boolean resume,
    String blobRoots)
    implements Serializable {

  /** The settings without blob roots: no photo is read by reference (each one is SOURCE_FORBIDDEN). */
  public IngestConfig(String bootstrap, String topic, String deadLetterTopic, String groupId, boolean bounded,
      String outDir, int parallelism, int shards, double validationFraction, int cap, int keepAbove,
      int openingAbove, int fullAbove, String labelsTopic, String cutsTopic, long checkpointMillis, String detector,
      String blazefaceDir, String yunetModel, String mtcnnDir, double minScore, double minFaceSize, long maxBytes,
      long maxPixels, boolean resume) {
    this(bootstrap, topic, deadLetterTopic, groupId, bounded, outDir, parallelism, shards, validationFraction, cap,
        keepAbove, openingAbove, fullAbove, labelsTopic, cutsTopic, checkpointMillis, detector, blazefaceDir,
        yunetModel, mtcnnDir, minScore, minFaceSize, maxBytes, maxPixels, resume, "");
  }

  /** The same settings reading referenced photos under these roots (setting blob.roots, comma-separated). */
  public IngestConfig withBlobRoots(String roots) {
    return new IngestConfig(bootstrap, topic, deadLetterTopic, groupId, bounded, outDir, parallelism, shards,
        validationFraction, cap, keepAbove, openingAbove, fullAbove, labelsTopic, cutsTopic, checkpointMillis,
        detector, blazefaceDir, yunetModel, mtcnnDir, minScore, minFaceSize, maxBytes, maxPixels, resume, roots);
  }

  /** Where photos sent by reference may be read, and how many bytes at most. */
  public dev.mfn.flink.common.PhotoSource photoSource() {
    return dev.mfn.flink.common.PhotoSource.of(blobRoots, maxBytes);
  }

  /** The subject -> label registry (a compacted topic): given, or the input topic + ".labels". */
  public String labelRegistryTopic() {
    return labelsTopic != null ? labelsTopic : topic + ".labels";
  }

  /** Unbounded mode: where cut requests arrive; given, or the input topic + ".cuts". */
  public String cutRequestTopic() {
    return cutsTopic != null ? cutsTopic : topic + ".cuts";
  }

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
