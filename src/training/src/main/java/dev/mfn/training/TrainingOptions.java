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
 * @param jitter jitter every training crop on the fly ({@code CropJitter.STANDARD}: shift, scale,
 *     rotation, brightness, contrast, drawn anew each epoch)
 * @param erase random erasing: the largest share of a crop one greyed-out rectangle covers, on half
 *     the crops, drawn anew each epoch ({@code CropJitter#maxErase}; null: no erasing)
 * @param clipGrad the largest L2 norm of the body's gradient (all its parameters together) a step
 *     applies; a larger one is scaled down to it, as arcface_torch's {@code clip_grad_norm_(backbone,
 *     5)} (null: no clipping)
 * @param labelSmoothing the share of the loss's target spread evenly over all classes, in both
 *     phases ({@code SmoothedCrossEntropy}; null: none)
 * @param dropout share of the features before the embedding (the input of the 1x1 to 128) zeroed
 *     at each training step ({@code FaceClassifier}; null: none)
 * @param jitterStrength the jitter's ranges as a multiple of {@code CropJitter.STANDARD}'s (needs
 *     {@code jitter}; null: 1)
 * @param cosMargin additive cosine margin (CosFace's m, insightface's m3) subtracted from the true
 *     class's cosine after the angular margin: with {@code margin} 0 the loss is CosFace, with both
 *     insightface's combined margin ({@code MarginSoftmaxLoss}; null: none, plain ArcFace)
 * @param fillOutside paint over the black the aligner left where a training crop reaches past its
 *     photo, with what surrounds it, before the jitter ({@code OutsideFill}; CFP's tight photos
 *     leave 27% of a crop black on average, LFW's none)
 * @param lowRes shrink half the training crops to a random side of lowRes to 1 of their own and
 *     enlarge them back, drawn anew each epoch ({@code CropJitter#minLowRes}; null: never): CFP's
 *     crops are shrunk from large faces and sharp, LFW's have about a seventh of their fine detail
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
    Double averageDecay,
    boolean jitter,
    Double erase,
    Float clipGrad,
    Float labelSmoothing,
    Float dropout,
    Float cosMargin,
    Double jitterStrength,
    boolean fillOutside,
    Double lowRes) {

  /** The scale the paper used (ArcFace, on 85k classes); also the ceiling of the default. */
  public static final float PAPER_SCALE = 64f;

  public static TrainingOptions defaults(Path shards) {
    return new Builder(shards).build();
  }

  /** These options as a builder, to change some of them. */
  public Builder toBuilder() {
    return new Builder(this);
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
    return toBuilder().epochs(epochs).minutes(minutes).build();
  }

  public TrainingOptions withBatch(int batchSize, float learningRate, int warmupSteps) {
    return toBuilder().batchSize(batchSize).learningRate(learningRate).warmupSteps(warmupSteps).build();
  }

  /**
   * @param body weight decay of the convolutions before the global operator
   * @param head weight decay of GDConv, the 1x1 to 128 and the classifier
   */
  public TrainingOptions withDecay(float body, float head) {
    return toBuilder().bodyDecay(body).headDecay(head).build();
  }

  /** @param scale null: the default for the number of classes */
  public TrainingOptions withPhases(Integer arcFaceEpoch, Float scale, float margin) {
    return toBuilder().arcFaceEpoch(arcFaceEpoch).scale(scale).margin(margin).build();
  }

  public TrainingOptions withDevice(String device, int loaderWorkers) {
    return toBuilder().device(device).loaderWorkers(loaderWorkers).build();
  }

  public TrainingOptions withSeed(long seed) {
    return toBuilder().seed(seed).build();
  }

  public TrainingOptions withCheckpoints(int every, int keep) {
    return toBuilder().checkpointEvery(every).keepCheckpoints(keep).build();
  }

  /** @param decay null: no average, the model is the last step's weights */
  public TrainingOptions withAverage(Double decay) {
    return toBuilder().averageDecay(decay).build();
  }

  /** @param jitter jitter every training crop on the fly ({@code CropJitter.STANDARD}) */
  public TrainingOptions withJitter(boolean jitter) {
    return toBuilder().jitter(jitter).build();
  }

  /** @param erase the largest share of a crop random erasing greys out (null: no erasing) */
  public TrainingOptions withErase(Double erase) {
    return toBuilder().erase(erase).build();
  }

  /** @param clipGrad the body's largest gradient norm a step applies (null: no clipping) */
  public TrainingOptions withClipGrad(Float clipGrad) {
    return toBuilder().clipGrad(clipGrad).build();
  }

  /** @param strength the jitter's ranges as a multiple of the standard ones (null: 1) */
  public TrainingOptions withJitterStrength(Double strength) {
    return toBuilder().jitterStrength(strength).build();
  }

  /** @param fill paint over the outside-photo black of each training crop first */
  public TrainingOptions withFillOutside(boolean fill) {
    return toBuilder().fillOutside(fill).build();
  }

  /** @param lowRes the smallest side half the crops are shrunk to and back (null: none) */
  public TrainingOptions withLowRes(Double lowRes) {
    return toBuilder().lowRes(lowRes).build();
  }

  /** @param cosMargin CosFace's additive cosine margin, after the angular one (null: none) */
  public TrainingOptions withCosMargin(Float cosMargin) {
    return toBuilder().cosMargin(cosMargin).build();
  }

  /** @param labelSmoothing the target's share spread over all classes (null: none) */
  public TrainingOptions withLabelSmoothing(Float labelSmoothing) {
    return toBuilder().labelSmoothing(labelSmoothing).build();
  }

  /** @param dropout share of the features before the embedding zeroed in training (null: none) */
  public TrainingOptions withDropout(Float dropout) {
    return toBuilder().dropout(dropout).build();
  }

  public TrainingOptions withShards(Path shards) {
    return toBuilder().shards(shards).build();
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
    if (jitter) {
      m.put("--jitter", "on"); // only when on, as --average
    }
    if (erase != null) {
      m.put("--erase", Double.toString(erase)); // only when on, as --average
    }
    if (clipGrad != null) {
      m.put("--clip-grad", Float.toString(clipGrad)); // only when on, as --average
    }
    if (labelSmoothing != null) {
      m.put("--label-smoothing", Float.toString(labelSmoothing)); // only when on, as --average
    }
    if (dropout != null) {
      m.put("--dropout", Float.toString(dropout)); // only when on, as --average
    }
    if (cosMargin != null) {
      m.put("--cos-margin", Float.toString(cosMargin)); // only when on, as --average
    }
    if (jitterStrength != null) {
      m.put("--jitter-strength", Double.toString(jitterStrength)); // only when set, as --average
    }
    if (fillOutside) {
      m.put("--fill-outside", "on"); // only when on, as --average
    }
    if (lowRes != null) {
      m.put("--low-res", Double.toString(lowRes)); // only when on, as --average
    }
    return m;
  }

  /**
   * How a refused resume names an {@link #identity()} key: the two decay keys keep their old names
   * (older checkpoints record them so) but are set by {@code --weight-decay BODY,HEAD}; the keys
   * without a flag (momentum, patience, softmax share) come from the code's defaults and can only
   * differ across versions of mfn.
   */
  public static String flagOf(String key) {
    return switch (key) {
      case "body decay" -> "--weight-decay (body)";
      case "head decay" -> "--weight-decay (head)";
      default -> key;
    };
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
    if (erase != null && !(erase >= dev.mfn.training.loader.CropJitter.MIN_ERASE && erase <= 0.5)) {
      throw new IllegalArgumentException("--erase must be a share of the crop in [0.02, 0.5], e.g. 0.25");
    }
    if (lowRes != null && !(lowRes >= dev.mfn.training.loader.CropJitter.LOWEST_LOW_RES && lowRes < 1)) {
      throw new IllegalArgumentException("--low-res must be the smallest side as a share in [0.15, 1), e.g. 0.4");
    }
    if (clipGrad != null && !(clipGrad > 0 && clipGrad < Float.POSITIVE_INFINITY)) {
      throw new IllegalArgumentException("--clip-grad must be a positive, finite norm, e.g. 5");
    }
    if (labelSmoothing != null && !(labelSmoothing > 0 && labelSmoothing < 1)) {
      throw new IllegalArgumentException("--label-smoothing must be a share in (0, 1), e.g. 0.1");
    }
    if (dropout != null && !(dropout > 0 && dropout < 1)) {
      throw new IllegalArgumentException("--dropout must be a rate in (0, 1), e.g. 0.2");
    }
    if (jitterStrength != null && !jitter) {
      throw new IllegalArgumentException("--jitter-strength needs --jitter");
    }
    if (jitterStrength != null && !(jitterStrength >= dev.mfn.training.loader.CropJitter.MIN_STRENGTH
        && jitterStrength <= dev.mfn.training.loader.CropJitter.MAX_STRENGTH)) {
      throw new IllegalArgumentException("--jitter-strength must be in [" + dev.mfn.training.loader.CropJitter.MIN_STRENGTH
          + ", " + dev.mfn.training.loader.CropJitter.MAX_STRENGTH + "], e.g. 1.5 (1: the standard ranges)");
    }
    if (cosMargin != null && !(cosMargin > 0 && cosMargin < 1)) {
      throw new IllegalArgumentException("--cos-margin must be in (0, 1), e.g. 0.35 (CosFace, with --margin 0)");
    }
    if (checkpointEvery < 0 || keepCheckpoints < 1) {
      throw new IllegalArgumentException("need --checkpoint-every >= 0 and --keep-checkpoints >= 1");
    }
  }

  /**
   * Builds options from the defaults (see the record's parameters for what each one means): the
   * paper's where it says something, arcface_torch's where it does not, batch 32 for 2 CPU cores.
   */
  public static final class Builder {
    private Path shards;
    private Integer epochs = null;
    private Double minutes = null;
    private int batchSize = 32;
    private float learningRate = 0.05f;
    private float momentum = 0.9f;
    private float bodyDecay = 4e-5f;
    private float headDecay = 4e-4f;
    private int warmupSteps = 200;
    private Integer arcFaceEpoch = null;
    private int patience = 1;
    private double softmaxShare = 0.5;
    private Float scale = null;
    private float margin = 0.5f;
    private String device = "cpu";
    private int loaderWorkers = 2;
    private long seed = 42L;
    private int checkpointEvery = 500;
    private int keepCheckpoints = 3;
    private Double averageDecay = null;
    private boolean jitter = false;
    private Double erase = null;
    private Float clipGrad = null;
    private Float labelSmoothing = null;
    private Float cosMargin = null;
    private Double jitterStrength = null;
    private Float dropout = null;
    private boolean fillOutside = false;
    private Double lowRes = null;

    public Builder(Path shards) {
      this.shards = shards;
    }

    private Builder(TrainingOptions o) {
      shards = o.shards;
      epochs = o.epochs;
      minutes = o.minutes;
      batchSize = o.batchSize;
      learningRate = o.learningRate;
      momentum = o.momentum;
      bodyDecay = o.bodyDecay;
      headDecay = o.headDecay;
      warmupSteps = o.warmupSteps;
      arcFaceEpoch = o.arcFaceEpoch;
      patience = o.patience;
      softmaxShare = o.softmaxShare;
      scale = o.scale;
      margin = o.margin;
      device = o.device;
      loaderWorkers = o.loaderWorkers;
      seed = o.seed;
      checkpointEvery = o.checkpointEvery;
      keepCheckpoints = o.keepCheckpoints;
      averageDecay = o.averageDecay;
      jitter = o.jitter;
      erase = o.erase;
      clipGrad = o.clipGrad;
      labelSmoothing = o.labelSmoothing;
      cosMargin = o.cosMargin;
      jitterStrength = o.jitterStrength;
      dropout = o.dropout;
      fillOutside = o.fillOutside;
      lowRes = o.lowRes;
    }

    public Builder shards(Path shards) {
      this.shards = shards;
      return this;
    }

    public Builder epochs(Integer epochs) {
      this.epochs = epochs;
      return this;
    }

    public Builder minutes(Double minutes) {
      this.minutes = minutes;
      return this;
    }

    public Builder batchSize(int batchSize) {
      this.batchSize = batchSize;
      return this;
    }

    public Builder learningRate(float learningRate) {
      this.learningRate = learningRate;
      return this;
    }

    public Builder momentum(float momentum) {
      this.momentum = momentum;
      return this;
    }

    public Builder bodyDecay(float bodyDecay) {
      this.bodyDecay = bodyDecay;
      return this;
    }

    public Builder headDecay(float headDecay) {
      this.headDecay = headDecay;
      return this;
    }

    public Builder warmupSteps(int warmupSteps) {
      this.warmupSteps = warmupSteps;
      return this;
    }

    public Builder arcFaceEpoch(Integer arcFaceEpoch) {
      this.arcFaceEpoch = arcFaceEpoch;
      return this;
    }

    public Builder patience(int patience) {
      this.patience = patience;
      return this;
    }

    public Builder softmaxShare(double softmaxShare) {
      this.softmaxShare = softmaxShare;
      return this;
    }

    public Builder scale(Float scale) {
      this.scale = scale;
      return this;
    }

    public Builder margin(float margin) {
      this.margin = margin;
      return this;
    }

    public Builder device(String device) {
      this.device = device;
      return this;
    }

    public Builder loaderWorkers(int loaderWorkers) {
      this.loaderWorkers = loaderWorkers;
      return this;
    }

    public Builder seed(long seed) {
      this.seed = seed;
      return this;
    }

    public Builder checkpointEvery(int checkpointEvery) {
      this.checkpointEvery = checkpointEvery;
      return this;
    }

    public Builder keepCheckpoints(int keepCheckpoints) {
      this.keepCheckpoints = keepCheckpoints;
      return this;
    }

    public Builder averageDecay(Double averageDecay) {
      this.averageDecay = averageDecay;
      return this;
    }

    public Builder jitter(boolean jitter) {
      this.jitter = jitter;
      return this;
    }

    public Builder erase(Double erase) {
      this.erase = erase;
      return this;
    }

    public Builder clipGrad(Float clipGrad) {
      this.clipGrad = clipGrad;
      return this;
    }

    /** 1 is the standard ranges, so it is stored as null: such a run resumes a plain --jitter run's checkpoint. */
    public Builder jitterStrength(Double jitterStrength) {
      this.jitterStrength = jitterStrength != null && jitterStrength == 1.0 ? null : jitterStrength;
      return this;
    }

    public Builder cosMargin(Float cosMargin) {
      this.cosMargin = cosMargin;
      return this;
    }

    public Builder labelSmoothing(Float labelSmoothing) {
      this.labelSmoothing = labelSmoothing;
      return this;
    }

    public Builder dropout(Float dropout) {
      this.dropout = dropout;
      return this;
    }

    public Builder fillOutside(boolean fillOutside) {
      this.fillOutside = fillOutside;
      return this;
    }

    public Builder lowRes(Double lowRes) {
      this.lowRes = lowRes;
      return this;
    }

    public TrainingOptions build() {
      return new TrainingOptions(
          shards, epochs, minutes, batchSize, learningRate, momentum, bodyDecay, headDecay,
          warmupSteps, arcFaceEpoch, patience, softmaxShare, scale, margin, device, loaderWorkers,
          seed, checkpointEvery, keepCheckpoints, averageDecay, jitter, erase, clipGrad,
          labelSmoothing, dropout, cosMargin, jitterStrength, fillOutside, lowRes);
    }
  }
}
