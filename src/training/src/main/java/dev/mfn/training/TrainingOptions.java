package dev.mfn.training;

import java.nio.file.Path;

/**
 * Everything a training run is configured by, in one place (the CLI builds it from flags). The
 * defaults follow the MobileFaceNet paper where it says something, insightface's arcface_torch
 * where it does not, and this machine (2 CPU cores) for the batch size.
 *
 * @param epochs run this many epochs (null: run until {@code minutes} are spent)
 * @param minutes wall-clock budget; the schedule is planned to end inside it (null: no budget)
 * @param arcFaceEpoch switch to ArcFace after this epoch (null: when validation loss plateaus, or
 *     when {@code softmaxShare} of the planned steps are done)
 * @param patience epochs without a 1% validation-loss improvement that end the softmax phase
 * @param device "cpu", "gpu" (all GPUs) or "gpu:N" (the first N GPUs)
 */
public record TrainingOptions(
    Path shards,
    Integer epochs,
    Double minutes,
    int batchSize,
    float learningRate,
    float momentum,
    float bodyDecay,
    float headDecay,
    int warmupSteps,
    Integer arcFaceEpoch,
    int patience,
    double softmaxShare,
    float scale,
    float margin,
    String device,
    int loaderWorkers,
    long seed) {

  public static TrainingOptions defaults(Path shards) {
    return new TrainingOptions(
        shards, null, null, 32, 0.05f, 0.9f, 4e-5f, 4e-4f, 200, null, 1, 0.5, 64f, 0.5f, "cpu", 2, 42L);
  }

  public TrainingOptions withBudget(Integer epochs, Double minutes) {
    return new TrainingOptions(
        shards, epochs, minutes, batchSize, learningRate, momentum, bodyDecay, headDecay,
        warmupSteps, arcFaceEpoch, patience, softmaxShare, scale, margin, device, loaderWorkers,
        seed);
  }

  public TrainingOptions withBatch(int batchSize, float learningRate, int warmupSteps) {
    return new TrainingOptions(
        shards, epochs, minutes, batchSize, learningRate, momentum, bodyDecay, headDecay,
        warmupSteps, arcFaceEpoch, patience, softmaxShare, scale, margin, device, loaderWorkers,
        seed);
  }

  public TrainingOptions withPhases(Integer arcFaceEpoch, float scale, float margin) {
    return new TrainingOptions(
        shards, epochs, minutes, batchSize, learningRate, momentum, bodyDecay, headDecay,
        warmupSteps, arcFaceEpoch, patience, softmaxShare, scale, margin, device, loaderWorkers,
        seed);
  }

  public TrainingOptions withDevice(String device, int loaderWorkers) {
    return new TrainingOptions(
        shards, epochs, minutes, batchSize, learningRate, momentum, bodyDecay, headDecay,
        warmupSteps, arcFaceEpoch, patience, softmaxShare, scale, margin, device, loaderWorkers,
        seed);
  }

  public void validate() {
    if (epochs == null && minutes == null) {
      throw new IllegalArgumentException("give --epochs or --minutes (or both)");
    }
    if ((epochs != null && epochs < 1) || (minutes != null && minutes <= 0)) {
      throw new IllegalArgumentException("--epochs and --minutes must be positive");
    }
    if (batchSize < 2) {
      throw new IllegalArgumentException("--batch must be >= 2 (BatchNorm needs a batch)");
    }
    if (learningRate <= 0 || scale <= 0 || margin < 0 || margin >= Math.PI / 2) {
      throw new IllegalArgumentException("need --lr > 0, --scale > 0 and 0 <= --margin < pi/2");
    }
  }
}
