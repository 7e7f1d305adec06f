package dev.mfn.training;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * Where a run stands, saved with every checkpoint ({@code checkpoint/state.json}) so {@code
 * --resume} continues at the same step, phase and schedule.
 *
 * @param epoch epochs completed
 * @param epochBatches batches of the current (unfinished) epoch already trained on: a checkpoint
 *     taken mid-epoch resumes with the batch after them
 * @param plannedSteps total steps the schedule is planned for (measured after 20 steps, then again every 50
 *     steps of the softmax phase of a run with a time budget)
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record TrainingState(
    @JsonProperty("epoch") int epoch,
    @JsonProperty("step") long step,
    @JsonProperty("phase") Phase phase,
    @JsonProperty("planned_steps") long plannedSteps,
    @JsonProperty("arcface_start_step") long arcFaceStartStep,
    @JsonProperty("arcface_start_epoch") int arcFaceStartEpoch,
    @JsonProperty("best_validation_loss") double bestValidationLoss,
    @JsonProperty("epochs_without_improvement") int epochsWithoutImprovement,
    @JsonProperty("images") long images,
    @JsonProperty("training_seconds") double trainingSeconds,
    @JsonProperty("classes") int classes,
    @JsonProperty("epoch_batches") int epochBatches) {

  public static TrainingState start(int classes) {
    return new TrainingState(0, 0, Phase.SOFTMAX, -1, -1, -1, Double.MAX_VALUE, 0, 0, 0, classes, 0);
  }

  public TrainingState stepped(int batch, double seconds) {
    return new TrainingState(
        epoch, step + 1, phase, plannedSteps, arcFaceStartStep, arcFaceStartEpoch,
        bestValidationLoss, epochsWithoutImprovement, images + batch, trainingSeconds + seconds,
        classes, epochBatches + 1);
  }

  /** A batch of the epoch that was not trained on (too few decodable samples). */
  public TrainingState batchPassedOver() {
    return new TrainingState(
        epoch, step, phase, plannedSteps, arcFaceStartStep, arcFaceStartEpoch, bestValidationLoss,
        epochsWithoutImprovement, images, trainingSeconds, classes, epochBatches + 1);
  }

  public TrainingState planned(long steps) {
    return new TrainingState(
        epoch, step, phase, steps, arcFaceStartStep, arcFaceStartEpoch, bestValidationLoss,
        epochsWithoutImprovement, images, trainingSeconds, classes, epochBatches);
  }

  /** Epoch done: records its validation loss against the best so far (1% counts as better). */
  public TrainingState epochDone(double validationLoss) {
    boolean better = validationLoss < bestValidationLoss * 0.99;
    return new TrainingState(
        epoch + 1, step, phase, plannedSteps, arcFaceStartStep, arcFaceStartEpoch,
        Math.min(bestValidationLoss, validationLoss), better ? 0 : epochsWithoutImprovement + 1,
        images, trainingSeconds, classes, 0);
  }

  public TrainingState toArcFace() {
    return new TrainingState(
        epoch, step, Phase.ARCFACE, plannedSteps, step, epoch, Double.MAX_VALUE, 0, images,
        trainingSeconds, classes, epochBatches);
  }
}
