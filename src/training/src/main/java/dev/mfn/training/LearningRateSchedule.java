package dev.mfn.training;

/**
 * Learning rate per step. Softmax phase: linear warm-up, then constant (the phase ends when the
 * validation loss stops improving, a point nobody knows in advance). ArcFace phase: a short warm-up
 * again (the new margin changes the gradients abruptly), then cosine decay to zero at the planned
 * last step.
 */
public record LearningRateSchedule(float base, int warmupSteps) {
  public float at(TrainingState s) {
    if (s.phase() == Phase.SOFTMAX) {
      return warm(s.step(), warmupSteps) * base;
    }
    long local = s.step() - s.arcFaceStartStep();
    long length = Math.max(1, s.plannedSteps() - s.arcFaceStartStep());
    int warm = (int) Math.min(warmupSteps, Math.max(1, length / 10));
    if (local < warm) {
      return warm(local, warm) * base;
    }
    double progress = Math.min(1.0, (double) (local - warm) / Math.max(1, length - warm));
    return (float) (base * 0.5 * (1 + Math.cos(Math.PI * progress)));
  }

  private static float warm(long step, int steps) {
    return steps <= 0 ? 1f : Math.min(1f, (step + 1f) / steps);
  }
}
