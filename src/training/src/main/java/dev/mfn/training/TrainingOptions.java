package dev.mfn.training;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Everything a training run is configured by, in one place (the CLI builds it from flags). The
 * defaults follow the MobileFaceNet paper where it says something, insightface's arcface_torch
 * where it does not, and this machine (2 CPU cores) for the batch size.
 *
 * @param epochs run this many epochs (null: run until {@code minutes} are spent)
 * @param minutes budget of training-step time (loading included); the schedule is planned to end
 *     inside it, validation passes and checkpoints come on top (a few %) (null: no budget)
 * @param bodyDecay weight decay of the convolutions before the global operator
 * @param headDecay weight decay of the layers after it: GDConv, the 1x1 to 128, the classifier
 *     (BatchNorm and PReLU parameters are not decayed; see {@code DecayGroups})
 * @param arcFaceEpoch switch to ArcFace after this epoch (null: when validation loss plateaus, or
 *     when {@code softmaxShare} of the planned steps are done)
 * @param patience epochs without a 1% validation-loss improvement that end the softmax phase
 * @param scale ArcFace scale s (null: {@link #defaultScale} of the number of classes)
 * @param device "cpu", "gpu" (all GPUs) or "gpu:N" (the first N GPUs)
 * @param checkpointEvery steps between checkpoints (0: only at the end of each epoch)
 * @param keepCheckpoints checkpoints kept on disk (the newest)
 * @param averageDecay decay of the weights' exponential moving average that becomes the model
 *     ({@code WeightAverage}; null: the last step's weights)
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
    Float scale,
    float margin,
    String device,
    int loaderWorkers,
    long seed,
    int checkpointEvery,
    int keepCheckpoints,
    Double averageDecay) {

  /** The scale the paper used (ArcFace, on 85k classes); also the ceiling of the default. */
  public static final float PAPER_SCALE = 64f;

  public static TrainingOptions defaults(Path shards) {
    return new TrainingOptions(
        shards, null, null, 32, 0.05f, 0.9f, 4e-5f, 4e-4f, 200, null, 1, 0.5, null, 0.5f, "cpu", 2, 42L,
        500, 3, null);
  }

  /**
   * The default ArcFace scale for {@code classes} classes: {@code min(64, 4 * sqrt(2) * ln(C - 1))}.
   *
   * <p>{@code sqrt(2) * ln(C - 1)} is AdaCos's fixed scale (Zhang et al., 2019): the scale at which
   * the softmax over C classes neither saturates nor stays flat, which grows with ln C. ArcFace's
   * s = 64 is about 4 times that scale at its 85k classes (4 * 16.1), so the factor 4 keeps the
   * paper's setting for large class counts and shrinks the scale with the logarithm of the class
   * count below it: 33 for 350 classes, 52 for 10,000, 64 from about 80,000.
   */
  public static float defaultScale(int classes) {
    double adaCos = Math.sqrt(2) * Math.log(Math.max(2, classes - 1));
    return (float) Math.min(PAPER_SCALE, 4 * adaCos);
  }

  /** The ArcFace scale this run uses with {@code classes} classes. */
  public float scaleFor(int classes) {
    return scale != null ? scale : defaultScale(classes);
  }

  public TrainingOptions withBudget(Integer epochs, Double minutes) {
    return new TrainingOptions(
        shards, epochs, minutes, batchSize, learningRate, momentum, bodyDecay, headDecay,
        warmupSteps, arcFaceEpoch, patience, softmaxShare, scale, margin, device, loaderWorkers,
        seed, checkpointEvery, keepCheckpoints, averageDecay);
  }

  public TrainingOptions withBatch(int batchSize, float learningRate, int warmupSteps) {
    return new TrainingOptions(
        shards, epochs, minutes, batchSize, learningRate, momentum, bodyDecay, headDecay,
        warmupSteps, arcFaceEpoch, patience, softmaxShare, scale, margin, device, loaderWorkers,
        seed, checkpointEvery, keepCheckpoints, averageDecay);
  }

  /**
   * @param body weight decay of the convolutions before the global operator
   * @param head weight decay of GDConv, the 1x1 to 128 and the classifier
   */
  public TrainingOptions withDecay(float body, float head) {
    return new TrainingOptions(
        shards, epochs, minutes, batchSize, learningRate, momentum, body, head,
        warmupSteps, arcFaceEpoch, patience, softmaxShare, scale, margin, device, loaderWorkers,
        seed, checkpointEvery, keepCheckpoints, averageDecay);
  }

  /** @param scale null: the default for the number of classes */
  public TrainingOptions withPhases(Integer arcFaceEpoch, Float scale, float margin) {
    return new TrainingOptions(
        shards, epochs, minutes, batchSize, learningRate, momentum, bodyDecay, headDecay,
        warmupSteps, arcFaceEpoch, patience, softmaxShare, scale, margin, device, loaderWorkers,
        seed, checkpointEvery, keepCheckpoints, averageDecay);
  }

  public TrainingOptions withDevice(String device, int loaderWorkers) {
    return new TrainingOptions(
        shards, epochs, minutes, batchSize, learningRate, momentum, bodyDecay, headDecay,
        warmupSteps, arcFaceEpoch, patience, softmaxShare, scale, margin, device, loaderWorkers,
        seed, checkpointEvery, keepCheckpoints, averageDecay);
  }

  public TrainingOptions withSeed(long seed) {
    return new TrainingOptions(
        shards, epochs, minutes, batchSize, learningRate, momentum, bodyDecay, headDecay,
        warmupSteps, arcFaceEpoch, patience, softmaxShare, scale, margin, device, loaderWorkers,
        seed, checkpointEvery, keepCheckpoints, averageDecay);
  }

  public TrainingOptions withCheckpoints(int every, int keep) {
    return new TrainingOptions(
        shards, epochs, minutes, batchSize, learningRate, momentum, bodyDecay, headDecay,
        warmupSteps, arcFaceEpoch, patience, softmaxShare, scale, margin, device, loaderWorkers,
        seed, every, keep, averageDecay);
  }

  /** @param decay null: no average, the model is the last step's weights */
  public TrainingOptions withAverage(Double decay) {
    return new TrainingOptions(
        shards, epochs, minutes, batchSize, learningRate, momentum, bodyDecay, headDecay,
        warmupSteps, arcFaceEpoch, patience, softmaxShare, scale, margin, device, loaderWorkers,
        seed, checkpointEvery, keepCheckpoints, decay);
  }

  public TrainingOptions withShards(Path shards) {
    return new TrainingOptions(
        shards, epochs, minutes, batchSize, learningRate, momentum, bodyDecay, headDecay,
        warmupSteps, arcFaceEpoch, patience, softmaxShare, scale, margin, device, loaderWorkers,
        seed, checkpointEvery, keepCheckpoints, averageDecay);
  }

  /**
   * The options that decide what a run computes, by their flag names: a checkpoint records them
   * and {@code --resume} refuses other values. Left out: where the shards are (the checkpoint
   * fingerprints their content instead), the device, loader threads and checkpoint cadence, which
   * a resumed run may change (another machine, a busier one).
   */
  public Map<String, String> identity() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("--epochs", String.valueOf(epochs));
    m.put("--minutes", String.valueOf(minutes));
    m.put("--batch", String.valueOf(batchSize));
    m.put("--lr", Float.toString(learningRate));
    m.put("momentum", Float.toString(momentum));
    m.put("body decay", Float.toString(bodyDecay));
    m.put("head decay", Float.toString(headDecay));
    m.put("--warmup", String.valueOf(warmupSteps));
    m.put("--arcface-epoch", String.valueOf(arcFaceEpoch));
    m.put("patience", String.valueOf(patience));
    m.put("softmax share", Double.toString(softmaxShare));
    m.put("--scale", scale == null ? "auto" : Float.toString(scale));
    m.put("--margin", Float.toString(margin));
    m.put("--seed", String.valueOf(seed));
    if (averageDecay != null) {
      // only when on: checkpoints of runs made before the option existed still resume
      m.put("--average", Double.toString(averageDecay));
    }
    return m;
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
    if (!(learningRate > 0) || (scale != null && !(scale > 0 && scale < Float.POSITIVE_INFINITY))
        || !(margin >= 0) || margin >= Math.PI / 2) {
      throw new IllegalArgumentException("need --lr > 0, --scale > 0 and 0 <= --margin < pi/2");
    }
    if (!(bodyDecay >= 0 && bodyDecay < 1) || !(headDecay >= 0 && headDecay < 1)) {
      throw new IllegalArgumentException("--weight-decay must be in [0, 1), e.g. 5e-4");
    }
    if (averageDecay != null && !(averageDecay > 0 && averageDecay < 1)) {
      throw new IllegalArgumentException("--average must be a decay in (0, 1), e.g. 0.999");
    }
    if (checkpointEvery < 0 || keepCheckpoints < 1) {
      throw new IllegalArgumentException("need --checkpoint-every >= 0 and --keep-checkpoints >= 1");
    }
  }
}
