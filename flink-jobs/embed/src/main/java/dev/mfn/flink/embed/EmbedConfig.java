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
    long maxPixels)
    implements Serializable {

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
