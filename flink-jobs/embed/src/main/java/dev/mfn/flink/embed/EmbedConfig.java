package dev.mfn.flink.embed;

import dev.mfn.face.detect.DetectorConfig;
import java.io.Serializable;
import java.nio.file.Path;

/**
 * The embed job's settings, in one place (the CLI and {@code flink run} arguments both build it).
 *
 * @param model an .onnx file or a model-store version folder
 * @param allFaces index every face of a photo (true) or only the chosen one
 * @param batchSize faces per forward pass at most
 * @param batchMillis a partial batch waits at most this long
 * @param modelEvents the models.events topic to follow (a new model version: embed with it, into
 *     its own index, rebuild that index from the stored crops and then serve it), or null
 * @param gate how an announced model is checked before the job switches to it
 * @param blobRoots where photos sent by reference may be read (comma-separated folders or
 *     object-storage prefixes); empty: none (see {@link dev.mfn.flink.common.PhotoSource})
 * @param erasures the compacted topic of deleted subjects' tombstones (subjects.deleted) the job
 *     consults so that nothing re-creates an erased person, or null (nothing is erased)
 */
public record EmbedConfig(
    String bootstrap,
    String topic,
    String deadLetterTopic,
    String modelEvents,
    String groupId,
    boolean bounded,
    int parallelism,
    String model,
    IndexTarget index,
    boolean allFaces,
    int batchSize,
    long batchMillis,
    long checkpointMillis,
    String checkpointDir,
    String detector,
    String blazefaceDir,
    String yunetModel,
    String mtcnnDir,
    double minScore,
    double minFaceSize,
    long maxBytes,
    long maxPixels,
    GateSettings gate,
    String erasures,
    String blobRoots)
    implements Serializable {

  /**
   * The canary an announced model passes before the job embeds with it (see
   * {@link dev.mfn.evaluate.ModelGate}).
   *
   * @param pairs an LFW-layout folder (pairs.txt, images/) on every TaskManager, or null: the pairs
   *     the model's training evaluated (recorded in its config.json) when they are still there
   * @param tolerance accuracy (a fraction) a new model may lose against the one serving
   */
  public record GateSettings(String pairs, double tolerance) implements Serializable {
    public static final GateSettings DEFAULT = new GateSettings(null, 0.01);
  }

  /** The settings with the default gate. */
  public EmbedConfig(String bootstrap, String topic, String deadLetterTopic, String modelEvents, String groupId,
      boolean bounded, int parallelism, String model, IndexTarget index, boolean allFaces, int batchSize,
      long batchMillis, long checkpointMillis, String checkpointDir, String detector, String blazefaceDir,
      String yunetModel, String mtcnnDir, double minScore, double minFaceSize, long maxBytes, long maxPixels) {
    this(bootstrap, topic, deadLetterTopic, modelEvents, groupId, bounded, parallelism, model, index, allFaces,
        batchSize, batchMillis, checkpointMillis, checkpointDir, detector, blazefaceDir, yunetModel, mtcnnDir,
        minScore, minFaceSize, maxBytes, maxPixels, GateSettings.DEFAULT, null, "");
  }

  public EmbedConfig withGate(GateSettings value) {
    return new EmbedConfig(bootstrap, topic, deadLetterTopic, modelEvents, groupId, bounded, parallelism, model, index,
        allFaces, batchSize, batchMillis, checkpointMillis, checkpointDir, detector, blazefaceDir, yunetModel, mtcnnDir,
        minScore, minFaceSize, maxBytes, maxPixels, value, erasures, blobRoots);
  }

  public EmbedConfig withErasures(String tombstones) {
    return new EmbedConfig(bootstrap, topic, deadLetterTopic, modelEvents, groupId, bounded, parallelism, model, index,
        allFaces, batchSize, batchMillis, checkpointMillis, checkpointDir, detector, blazefaceDir, yunetModel, mtcnnDir,
        minScore, minFaceSize, maxBytes, maxPixels, gate, tombstones, blobRoots);
  }

  /** The same settings reading referenced photos under these roots (setting blob.roots, comma-separated). */
  public EmbedConfig withBlobRoots(String roots) {
    return new EmbedConfig(bootstrap, topic, deadLetterTopic, modelEvents, groupId, bounded, parallelism, model, index,
        allFaces, batchSize, batchMillis, checkpointMillis, checkpointDir, detector, blazefaceDir, yunetModel, mtcnnDir,
        minScore, minFaceSize, maxBytes, maxPixels, gate, erasures, roots);
  }

  /** Where photos sent by reference may be read, and how many bytes at most. */
  public dev.mfn.flink.common.PhotoSource photoSource() {
    return dev.mfn.flink.common.PhotoSource.of(blobRoots, maxBytes);
  }

  public boolean followsModels() {
    return modelEvents != null;
  }

  public DetectorConfig detectorConfig() {
    return new DetectorConfig(path(blazefaceDir), path(yunetModel), path(mtcnnDir), minScore);
  }

  private static Path path(String p) {
    return p == null ? null : Path.of(p);
  }
}
