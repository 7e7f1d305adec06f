package dev.mfn.training;

/** What a progress bar (or a test) sees of a run. */
public interface TrainingListener {
  /** After every optimiser step. */
  default void onStep(TrainingState state, float loss, float learningRate) {}

  /** After an epoch's validation. */
  default void onEpoch(TrainingState state, Validation validation) {}

  /** When the number of planned steps becomes known (at once for --epochs, after ~20 steps for --minutes). */
  default void onPlanned(long plannedSteps) {}

  default void onPhase(Phase phase, int epoch) {}

  /** After a checkpoint is on disk (every --checkpoint-every steps and at each epoch's end). */
  default void onCheckpoint(TrainingState state) {}

  /** Loss and accuracy on the validation split. */
  record Validation(double loss, double accuracy, long samples) {}
}
