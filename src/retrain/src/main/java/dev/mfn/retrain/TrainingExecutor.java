package dev.mfn.retrain;

import dev.mfn.records.RetrainRequest;

/**
 * Where a retrain request becomes a training run: a Job on the Kubernetes cluster
 * ({@link RetrainController}) or a child process on this machine ({@link LocalTrainingExecutor}).
 * Either runs one training at a time and refuses a request while one runs.
 */
public interface TrainingExecutor {
  RetrainController.Outcome submit(RetrainRequest request);
}
