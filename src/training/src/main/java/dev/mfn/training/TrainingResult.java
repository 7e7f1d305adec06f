package dev.mfn.training;

/**
 * How a run ended: its final state, the last validation, records the loader had to skip, and the
 * steps an epoch has.
 */
public record TrainingResult(
    TrainingState state, TrainingListener.Validation validation, long skippedRecords,
    long stepsPerEpoch) {
  public double imagesPerSecond() {
    return state.images() / Math.max(1e-9, state.trainingSeconds());
  }
}
