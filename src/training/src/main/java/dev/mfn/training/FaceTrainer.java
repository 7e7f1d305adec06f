package dev.mfn.training;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.initializer.XavierInitializer;
import ai.djl.training.loss.Loss;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mfn.model.net.CosineClassifier;
import dev.mfn.model.net.FaceClassifier;
import dev.mfn.model.net.MarginSoftmaxLoss;
import dev.mfn.model.net.SmoothedCrossEntropy;
import dev.mfn.model.net.MobileFaceNet;
import dev.mfn.model.net.ParameterFiles;
import dev.mfn.training.loader.Batch;
import dev.mfn.training.loader.CropJitter;
import dev.mfn.training.loader.ShardLoader;
import dev.mfn.training.loader.ShardSet;
import dev.mfn.training.optim.DecayGroups;
import dev.mfn.training.optim.GroupedSgd;
import dev.mfn.training.optim.WeightAverage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The training loop: softmax pre-training, then ArcFace resumed from it (the seed's recipe), SGD
 * with momentum and grouped weight decay, validation after every epoch, checkpoints every {@code
 * checkpointEvery} steps and after every epoch.
 *
 * <p>A run lives in one folder (the model-store version being made): {@code checkpoints/} while it
 * trains, {@code metrics.jsonl}, and at the end {@code mobilefacenet.params} (the body only: the
 * embedding model; with {@code --average}, the moving average of its weights). {@link #train} picks up from the newest checkpoint when there is one, and
 * refuses one made with other options or shards ({@link ResumeMismatchException}).
 */
public final class FaceTrainer {
  /** Steps measured before a --minutes budget is turned into a planned step count. */
  static final int PLAN_AFTER_STEPS = 20;
  /** Steps between two plans of a {@code --minutes} run's softmax phase. */
  static final int REPLAN_EVERY = 50;
  private static final int LOG_EVERY = 10;

  private final TrainingOptions options;
  private final ShardSet shards;
  private final Path run;
  private final TrainingListener listener;
  private final Device[] devices;
  private final LearningRateSchedule schedule;

  private Model model;
  private Trainer trainer;
  private FaceClassifier net;
  private GroupedSgd sgd;
  private WeightAverage average;
  private Loss loss;
  /** The phase's loss without label smoothing: validation, and so the softmax phase's plateau test, use it. */
  private Loss validationLoss;
  private final Checkpoint.RunIdentity identity;
  /** The body's gradient norm before clipping at the last step (NaN: not measured, no --clip-grad). */
  private float lastGradientNorm = Float.NaN;
  /** The ids of the body's parameters: the ones --clip-grad scales (the body is kept across the switch). */
  private final java.util.Set<String> bodyParameterIds = new java.util.HashSet<>();
  /** The step of the newest checkpoint on disk (-1: none), named when a run diverges. */
  private long lastCheckpointStep = -1;

  /**
   * The file a diverged run leaves in its folder (its one-line reason): such a run is not resumed
   * (it would repeat the same steps), neither by --resume nor by a retried Kubernetes pod.
   */
  public static final String DIVERGED = "DIVERGED";

  public FaceTrainer(TrainingOptions options, Path run, TrainingListener listener) throws IOException {
    options.validate();
    if (java.nio.file.Files.exists(run.resolve(DIVERGED))) {
      throw new DivergedException("this run stopped because it diverged (" + java.nio.file.Files.readString(run.resolve(DIVERGED)).strip()
          .replaceFirst("; the run stops.*", "") + "); a resume would repeat it: start a new run");
    }
    this.options = options;
    this.shards = ShardSet.open(options.shards());
    this.run = run;
    this.listener = listener;
    this.devices = Devices.parse(options.device());
    if (options.clipGrad() != null && devices.length > 1) {
      // the norm is of the reduced gradient, which DJL forms inside its parameter server
      throw new IllegalArgumentException("--clip-grad runs on one device for now; give --device cpu or gpu:1");
    }
    this.schedule = new LearningRateSchedule(options.learningRate(), options.warmupSteps());
    // a run resumed with other options or data would silently mix two runs: refused before anything
    this.identity = Checkpoint.RunIdentity.of(options, shards);
    Optional<Checkpoint.Saved> saved = Checkpoint.latest(run);
    if (saved.isPresent()) {
      lastCheckpointStep = saved.get().state().step();
      Optional<String> mismatch = saved.get().identity().mismatch(identity);
      if (mismatch.isPresent()) {
        throw new ResumeMismatchException("--resume: the checkpoint at step " + saved.get().state().step()
            + " was made with other settings: " + mismatch.get()
            + "; give the same options and shards, or start a new run without --resume");
      }
      if (options.averageDecay() != null && !Checkpoint.hasAverage(saved.get())) {
        throw new ResumeMismatchException("--resume: the checkpoint at step " + saved.get().state().step()
            + " has no weight average (" + Checkpoint.AVERAGE + "); start a new run without --resume");
      }
    }
  }

  /** How the training loader reads for {@code options}: batch, threads, seed and the crop jitter. */
  static ShardLoader.Options trainingLoader(TrainingOptions options) {
    return ShardLoader.Options.training(options.batchSize(), options.loaderWorkers(), options.seed())
        .withJitter(cropJitter(options));
  }

  /**
   * How the validation loader reads: no jitter, but the outside-photo fill when the run asks for
   * it (not an augmentation: validation crops must look as the training crops do, black aside).
   */
  static ShardLoader.Options validationLoader(TrainingOptions options) {
    return ShardLoader.Options.evaluation(options.batchSize(), options.loaderWorkers())
        .withJitter(CropJitter.NONE.withFillOutside(options.fillOutside()));
  }

  /**
   * The on-the-fly changes of each training crop {@code options} ask for: jitter, erasing and the
   * outside-photo fill, the low resolution.
   */
  public static CropJitter cropJitter(TrainingOptions options) {
    CropJitter ranges = !options.jitter() ? CropJitter.NONE
        : options.jitterStrength() == null ? CropJitter.STANDARD : CropJitter.STANDARD.scaled(options.jitterStrength());
    return (options.erase() == null ? ranges : ranges.withErase(options.erase()))
        .withFillOutside(options.fillOutside())
        .withLowRes(options.lowRes() == null ? 0 : options.lowRes());
  }

  /**
   * Trains (or resumes) until the budget is spent; returns the final state. A run that diverges
   * throws {@link DivergedException} and leaves {@link #DIVERGED} in its folder.
   */
  public TrainingResult train() throws IOException {
    try {
      return trainUntilDone();
    } catch (DivergedException e) {
      dev.mfn.model.store.DurableFiles.write(run.resolve(DIVERGED), (e.getMessage() + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
      throw e;
    }
  }

  private TrainingResult trainUntilDone() throws IOException {
    int classes = shards.classes();
    if (classes < 2) {
      throw new IllegalArgumentException("the shards hold " + classes + " identities; training needs >= 2");
    }
    Optional<Checkpoint.Saved> saved = Checkpoint.latest(run);
    TrainingState state = saved.map(Checkpoint.Saved::state).orElse(TrainingState.start(classes));
    if (state.classes() != classes) {
      throw new IllegalStateException(
          "checkpoint was made for " + state.classes() + " classes, shards have " + classes);
    }
    if (shards.files(ShardSet.Split.TRAIN).isEmpty()) {
      throw new IllegalArgumentException("the shards hold no training samples: " + shards.root());
    }
    long stepsPerEpoch = Math.max(1, shards.samples(ShardSet.Split.TRAIN) / options.batchSize());
    if (options.epochs() != null && state.plannedSteps() < 0) {
      state = state.planned(options.epochs() * stepsPerEpoch);
      listener.onPlanned(state.plannedSteps());
    }
    double budgetSeconds = options.minutes() == null ? Double.MAX_VALUE : options.minutes() * 60;
    TrainingListener.Validation validation = null;
    // seeded initialisation: the same options give the same run (and tests can compare runs)
    Engine.getEngine("PyTorch").setRandomSeed((int) options.seed());
    model = Model.newInstance("mobilefacenet-training", devices[0], "PyTorch");
    try (MetricsLog metrics = new MetricsLog(run.resolve("metrics.jsonl"), state.step());
        ShardLoader train =
            new ShardLoader(
                shards.files(ShardSet.Split.TRAIN),
                trainingLoader(options));
        ShardLoader valid =
            new ShardLoader(
                shards.files(ShardSet.Split.VALIDATION),
                validationLoader(options))) {
      build(state, saved.orElse(null));
      if (saved.isPresent()) {
        requireFiniteWeights(state); // a checkpoint written before the guard existed may hold NaN
      }
      // resuming a run that had already finished (e.g. it crashed while evaluating): no more steps
      boolean finished = budgetSpent(state, budgetSeconds);
      if (finished && average == null) { // with an average, the model is validated after it is in place
        validation = validate(valid);
      }
      // the first plan counts this process's first 20 steps, across epochs: an epoch shorter than
      // that (a small shard set) never planned, and its run never switched to ArcFace by share
      long processStart = System.nanoTime();
      long stepsAtStart = state.step();
      while (!finished) {
        try (ShardLoader.Epoch epoch = train.epoch(state.epoch() + 1, state.epochBatches())) {
          while (true) {
            // the clock includes waiting for the loader: a slow loader must show in img/s
            long t0 = System.nanoTime();
            if (!epoch.hasNext()) {
              break;
            }
            Batch batch = epoch.next();
            if (batch.size() < 2 * Math.min(devices.length, options.batchSize())) {
              // most of its records could not be decoded: BatchNorm cannot train on one sample per
              // device, and a resumed run would meet the same batch again, so it is passed over
              // (and counted, so that a resume skips it too)
              state = state.batchPassedOver();
              continue;
            }
            float lr = schedule.at(state);
            float[] lossAndCorrect = step(batch, lr, state.step() + 1);
            state = state.stepped(batch.size(), (System.nanoTime() - t0) / 1e9);
            listener.onStep(state, lossAndCorrect[0], lr);
            if (state.step() % LOG_EVERY == 0) {
              ObjectNode r = metrics.record("step", state.step());
              r.put("epoch", state.epoch() + 1).put("phase", state.phase().name()).put("lr", lr);
              r.put("loss", lossAndCorrect[0]).put("accuracy", lossAndCorrect[1] / batch.size());
              r.put("images_per_s", state.images() / Math.max(1e-9, state.trainingSeconds()));
              if (options.clipGrad() != null) {
                r.put("grad_norm", lastGradientNorm); // before clipping: how often the clip acts
              }
              metrics.write(r);
            }
            if (state.plannedSteps() < 0 && state.step() - stepsAtStart >= PLAN_AFTER_STEPS) {
              state = plan(state, budgetSeconds, processStart, stepsAtStart);
            }
            if (options.epochs() == null && state.phase() == Phase.SOFTMAX && state.plannedSteps() > 0
                && (state.step() % REPLAN_EVERY == 0 || state.step() >= state.plannedSteps())) {
              state = replan(state, budgetSeconds);
            }
            if (budgetSpent(state, budgetSeconds)) {
              finished = true;
              break;
            }
            if (options.checkpointEvery() > 0 && state.step() % options.checkpointEvery() == 0) {
              // mid-epoch: a crash hours into an epoch loses minutes, not the epoch
              save(state);
            }
          }
        }
        validation = validate(valid);
        state = state.epochDone(validation.loss());
        ObjectNode r = metrics.record("epoch", state.step());
        r.put("epoch", state.epoch()).put("phase", state.phase().name());
        r.put("validation_loss", validation.loss()).put("validation_accuracy", validation.accuracy());
        r.put("validation_samples", validation.samples()).put("seconds", state.trainingSeconds());
        metrics.write(r);
        listener.onEpoch(state, validation);
        if (options.epochs() != null && state.epoch() >= options.epochs()) {
          finished = true;
        }
        if (!finished && options.epochs() == null && state.phase() == Phase.SOFTMAX && state.plannedSteps() > 0) {
          // before the switch is decided: "half the plan" must be half of a plan that is right
          state = replan(state, budgetSeconds);
        }
        if (!finished && state.phase() == Phase.SOFTMAX && timeForArcFace(state)) {
          state = state.toArcFace();
          listener.onPhase(Phase.ARCFACE, state.epoch());
          build(state, null);
        }
        save(state);
      }
      if (average != null) {
        // the model is the average; the validation reported is the saved weights'
        average.copyInto(net.body());
        validation = validate(valid);
      }
      requireFiniteWeights(state);
      ParameterFiles.save(net.body(), run.resolve(dev.mfn.model.store.ModelConfig.PARAMETERS));
      return new TrainingResult(state, validation, train.skipped() + valid.skipped(), stepsPerEpoch);
    } finally {
      close();
    }
  }

  private void save(TrainingState state) throws IOException {
    // a checkpoint of diverged weights would push the last good ones out of the kept K, and a
    // resume would carry on from it: refused, the run stops with the good ones on disk
    requireFiniteWeights(state);
    Checkpoint.save(run, state, identity, net, sgd, average, options.keepCheckpoints());
    lastCheckpointStep = state.step();
    listener.onCheckpoint(state);
  }

  /**
   * The L2 norm of the body's whole gradient (one device: the clipping is refused on more): the
   * gradients flattened into one array (4 MB) and one norm, so a step waits for one number, not
   * one per parameter.
   */
  private float bodyGradientNorm() {
    try (NDManager scratch = trainer.getManager().newSubManager()) {
      NDList flat = new NDList();
      for (var p : net.body().getParameters()) {
        if (!p.getValue().requiresGradient()) {
          continue; // BatchNorm's running statistics
        }
        // the gradient handle is closed with the scratch manager, as DJL's parameter store closes
        // the ones it reads: a handle, not the storage
        NDArray g = p.getValue().getArray().getGradient();
        g.attach(scratch);
        flat.add(g.flatten());
      }
      return flat.isEmpty() ? 0f : ai.djl.ndarray.NDArrays.concat(flat).norm().getFloat();
    }
  }

  /** Stops a run whose weights are no longer finite (a step's gradient overflowed). */
  private void requireFiniteWeights(TrainingState state) {
    for (var p : net.getParameters()) {
      NDArray w = p.getValue().getArray();
      try (NDArray magnitude = w.abs(); NDArray largest = magnitude.max()) {
        if (!Float.isFinite(largest.getFloat())) {
          throw diverged(state.step(), "the weights of " + p.getKey() + " are not finite", Float.NaN);
        }
      }
    }
  }

  private DivergedException diverged(long step, String what, float lr) {
    return new DivergedException("training diverged at step " + step + ": " + what
        + (Float.isNaN(lr) ? "" : String.format(java.util.Locale.ROOT, " (learning rate %.4g)", lr))
        + "; the run stops, " + (lastCheckpointStep < 0 ? "with no checkpoint" : "its newest checkpoint is at step "
        + lastCheckpointStep + " (finite weights)") + ", and it is not resumed (it would take the same steps again):"
        + " start a new one with a lower --lr or gradient clipping (--clip-grad)");
  }

  /**
   * The loss or the weights became NaN or infinite. Before this guard a diverged run went on for
   * hours with NaN weights and its checkpoints replaced the last good ones.
   */
  public static final class DivergedException extends IllegalStateException {
    public DivergedException(String message) {
      super(message);
    }
  }

  /** --resume was given options or shards other than the checkpoint's. */
  public static final class ResumeMismatchException extends IllegalArgumentException {
    public ResumeMismatchException(String message) {
      super(message);
    }
  }

  private boolean budgetSpent(TrainingState s, double budgetSeconds) {
    return (options.epochs() != null && s.epoch() >= options.epochs())
        || (s.plannedSteps() > 0 && s.step() >= s.plannedSteps())
        || s.trainingSeconds() >= budgetSeconds;
  }

  private boolean timeForArcFace(TrainingState s) {
    if (options.arcFaceEpoch() != null) {
      return s.epoch() >= options.arcFaceEpoch();
    }
    boolean plateau = s.epochsWithoutImprovement() >= options.patience();
    boolean share = s.plannedSteps() > 0 && s.step() >= options.softmaxShare() * s.plannedSteps();
    return plateau || share;
  }

  /** Turns the time budget into a step count from the speed measured so far (validation included). */
  private TrainingState plan(TrainingState s, double budgetSeconds, long processStart, long stepsAtStart) {
    double seconds = (System.nanoTime() - processStart) / 1e9;
    double stepsPerSecond = (s.step() - stepsAtStart) / seconds;
    double validationShare =
        shards.samples(ShardSet.Split.VALIDATION) / (3.0 * Math.max(1, shards.samples(ShardSet.Split.TRAIN)));
    long fromTime = s.step() + (long) ((budgetSeconds - s.trainingSeconds()) * stepsPerSecond / (1 + validationShare));
    listener.onPlanned(fromTime);
    return s.planned(Math.max(s.step() + 1, fromTime));
  }

  /**
   * The step count planned again from the speed of every step so far. The first plan comes from 20
   * steps that include warm-up (slow first kernels, a machine busy with something else): a plan too
   * short ended the run minutes early, one too long left the cosine schedule high when the clock
   * ran out. The budget counts step time (validation passes and checkpoints come on top, as for
   * the hard stop), so the rate is steps per training second.
   */
  static long replanned(TrainingState s, double budgetSeconds) {
    double rate = s.step() / Math.max(1e-9, s.trainingSeconds());
    return s.step() + Math.max(1, (long) ((budgetSeconds - s.trainingSeconds()) * rate));
  }

  /**
   * Every {@link #REPLAN_EVERY} steps, when the plan runs out with time left and at each epoch's end
   * (before the switch to ArcFace at half the plan is decided), during the softmax phase only: its learning rate is flat, while in the ArcFace phase the cosine is drawn
   * over the plan, and moving its end would move the learning rate under the run. Changes under 2%
   * are ignored, except when the plan has run out.
   */
  private TrainingState replan(TrainingState s, double budgetSeconds) {
    long steps = replanned(s, budgetSeconds);
    boolean runOut = s.step() >= s.plannedSteps();
    if (!runOut && Math.abs(steps - s.plannedSteps()) <= 0.02 * s.plannedSteps()) {
      return s;
    }
    listener.onPlanned(steps);
    return s.planned(steps);
  }

  /**
   * One optimiser step over the batch, split across the devices, then the weight average's update
   * (inside the step's clock); returns {loss, correct}.
   */
  private float[] step(Batch batch, float lr, long stepNumber) {
    float lossSum = 0;
    float correct = 0;
    try (NDManager step = trainer.getManager().newSubManager()) {
      NDArray x = step.create(batch.pixels(), MobileFaceNet.inputShape(batch.size()));
      NDArray y = step.create(batch.labels());
      try (GradientCollector collector = trainer.newGradientCollector()) {
        int parts = Math.min(devices.length, batch.size());
        for (int i = 0; i < parts; i++) {
          if (options.dropout() != null) {
            // the dropout masks come from the engine's generators (torch seeds the CPU's and every
            // GPU's alike): seeded from (seed, step, part), a resumed run on the same devices draws
            // the masks the uninterrupted one drew, and the parts of a batch get different ones.
            // (It also reseeds DJL's RandomUtils, which nothing here draws from.)
            Engine.getEngine("PyTorch").setRandomSeed(stepSeed(stepSeed(options.seed(), stepNumber), i));
          }
          int from = batch.size() * i / parts;
          int to = batch.size() * (i + 1) / parts;
          NDArray xi = parts == 1 ? x : x.get(from + ":" + to).toDevice(devices[i], false);
          NDArray yi = parts == 1 ? y : y.get(from + ":" + to).toDevice(devices[i], false);
          NDList out = trainer.forward(new NDList(xi));
          // each part's mean loss weighted by its share, so the parts add up to the batch mean
          NDArray l = loss.evaluate(new NDList(yi), out).mul((float) (to - from) / batch.size());
          collector.backward(l);
          lossSum += l.getFloat();
          correct += out.singletonOrThrow().argMax(1).eq(yi).sum().getLong();
        }
      }
      if (!Float.isFinite(lossSum)) {
        // before the update: the weights stay those of the step before (BatchNorm's running
        // statistics saw this forward pass; nothing is saved after it)
        throw diverged(stepNumber, "the loss is " + lossSum, lr);
      }
      if (options.clipGrad() != null) {
        float norm = bodyGradientNorm();
        lastGradientNorm = norm;
        if (!Float.isFinite(norm)) {
          throw diverged(stepNumber, "the gradient's norm is " + norm, lr);
        }
        float clip = options.clipGrad();
        sgd.setGradientScale(norm > clip ? Math.max(Float.MIN_NORMAL, clip / norm) : 1f, bodyParameterIds);
      }
      sgd.setLearningRate(lr);
      trainer.step();
    }
    if (average != null) {
      average.update(net.body(), stepNumber);
    }
    return new float[] {lossSum, correct};
  }

  private TrainingListener.Validation validate(ShardLoader valid) {
    double lossSum = 0;
    long correct = 0;
    long n = 0;
    try (ShardLoader.Epoch epoch = valid.epoch(0)) {
      while (epoch.hasNext()) {
        Batch batch = epoch.next();
        if (batch.size() == 0) {
          continue;
        }
        try (NDManager m = trainer.getManager().newSubManager()) {
          NDArray x = m.create(batch.pixels(), MobileFaceNet.inputShape(batch.size()));
          NDArray y = m.create(batch.labels());
          NDList out = trainer.evaluate(new NDList(x));
          lossSum += validationLoss.evaluate(new NDList(y), out).getFloat() * batch.size();
          correct += out.singletonOrThrow().argMax(1).eq(y).sum().getLong();
          n += batch.size();
        }
      }
    }
    return n == 0
        ? new TrainingListener.Validation(Double.NaN, Double.NaN, 0)
        : new TrainingListener.Validation(lossSum / n, (double) correct / n, n);
  }

  /**
   * Builds the net for the state's phase and a trainer around it. Entering ArcFace in a live run,
   * the class centres start from the softmax layer's weights; restoring, everything comes from the
   * checkpoint (parameters before the trainer exists: DJL's trainer caches parameter arrays).
   */
  private void build(TrainingState state, Checkpoint.Saved restore) throws IOException {
    int classes = state.classes();
    Block body = net == null ? MobileFaceNet.body() : net.body();
    Block head;
    if (state.phase() == Phase.SOFTMAX) {
      head = Linear.builder().setUnits(classes).build();
      loss = new SmoothedCrossEntropy("softmax", labelSmoothing());
      validationLoss = new SmoothedCrossEntropy("softmax", 0f);
    } else {
      head = new CosineClassifier(classes);
      MarginSoftmaxLoss arcFace = marginLoss(options, classes);
      loss = arcFace.withLabelSmoothing(labelSmoothing());
      // smoothing puts a floor (the smoothed target's entropy) under the loss, which would make the
      // plateau test's 1% harder to reach and the logged validation loss incomparable across runs
      validationLoss = arcFace;
    }
    FaceClassifier previous = net;
    net = new FaceClassifier(body, head, options.dropout() == null ? 0f : options.dropout());
    net.setInitializer(
        new XavierInitializer(XavierInitializer.RandomType.GAUSSIAN, XavierInitializer.FactorType.IN, 2),
        Parameter.Type.WEIGHT);
    net.initialize(model.getNDManager(), DataType.FLOAT32, MobileFaceNet.inputShape(options.batchSize()));
    if (restore != null) {
      Checkpoint.restoreParameters(restore, net, model.getNDManager());
    } else if (previous != null && head instanceof CosineClassifier centres) {
      NDArray softmaxWeights = previous.head().getParameters().get("weight").getArray();
      centres.weight().getArray().set(softmaxWeights.toFloatArray());
    }
    if (trainer != null) {
      trainer.close();
    }
    bodyParameterIds.clear();
    net.body().getParameters().forEach(p -> bodyParameterIds.add(p.getValue().getId()));
    DecayGroups groups = DecayGroups.of(net);
    DecayGroups.Rates rates = new DecayGroups.Rates(options.bodyDecay(), options.headDecay());
    sgd = GroupedSgd.create(net.getParameters(), name -> rates.of(groups.of(name)), options.momentum());
    if (restore != null) {
      Checkpoint.restoreMomentum(restore, sgd, model.getNDManager());
    }
    if (options.averageDecay() != null && restore != null) {
      average = Checkpoint.restoreAverage(restore, net.body(), options.averageDecay(), model.getNDManager());
    } else if (options.averageDecay() != null && average == null) {
      // from the initial weights; the ArcFace switch keeps the body, and its average goes on
      average = WeightAverage.start(net.body(), options.averageDecay(), model.getNDManager());
    }
    model.setBlock(net);
    trainer =
        model.newTrainer(new DefaultTrainingConfig(loss).optOptimizer(sgd).optDevices(devices));
    trainer.initialize(MobileFaceNet.inputShape(options.batchSize()));
  }

  /** The second phase's loss, unsmoothed: ArcFace's angular margin, then the cosine margin if any. */
  static MarginSoftmaxLoss marginLoss(TrainingOptions options, int classes) {
    float cosMargin = options.cosMargin() == null ? 0f : options.cosMargin();
    return new MarginSoftmaxLoss(options.scaleFor(classes), options.margin(), cosMargin);
  }

  /** A seed for step {@code step} of a run seeded {@code seed} (SplitMix64's finaliser, folded to an int). */
  static int stepSeed(long seed, long step) {
    long z = seed * 0x9E3779B97F4A7C15L + step;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    z = z ^ (z >>> 31);
    return (int) (z ^ (z >>> 32));
  }

  private float labelSmoothing() {
    return options.labelSmoothing() == null ? 0f : options.labelSmoothing();
  }

  private void close() {
    if (trainer != null) {
      trainer.close();
    }
    if (model != null) {
      model.close();
    }
  }
}
