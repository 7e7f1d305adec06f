package dev.mfn.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.mfn.model.net.MarginSoftmaxLoss;
import dev.mfn.model.net.MobileFaceNet;
import dev.mfn.model.net.ParameterFiles;
import dev.mfn.model.store.ModelConfig;
import dev.mfn.training.loader.CropJitter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The training loop on a tiny shard set made from real CFP photos (8 people, 10 photos each). */
class FaceTrainerTest {
  @TempDir static Path shared;
  static Path shards;

  @BeforeAll
  static void shards() throws IOException {
    shards = TinyShards.write(shared.resolve("shards"), 8, 10, 2);
  }

  private static TrainingOptions tiny(Integer arcFaceEpoch, int epochs) {
    return TrainingOptions.defaults(shards)
        .withBudget(epochs, null)
        .withBatch(16, 0.05f, 5)
        .withPhases(arcFaceEpoch, 16f, 0.3f)
        .withCheckpoints(0, 3)
        .withDevice("cpu", 2);
  }

  @Test
  void aTimeBudgetIsPlannedAgainWhenTheFirstStepsWereSlow(@TempDir Path run) throws IOException {
    // the first plan comes from the first 20 steps' wall clock; here they are slowed down (a busy
    // machine, warm-up), so that plan is far too short: without planning again the run stops at it
    // with half of its 40 seconds unused and the cosine schedule squeezed. Batch 4: epochs of ~17
    // steps, shorter than the 20 steps of the first plan (which then never came at all)
    double budget = 40;
    List<Long> plans = new ArrayList<>();
    TrainingOptions options = tiny(null, 1).withBudget(null, budget / 60).withBatch(4, 0.05f, 5);
    TrainingResult result =
        new FaceTrainer(options, run, new TrainingListener() {
              @Override
              public void onPlanned(long plannedSteps) {
                plans.add(plannedSteps);
              }

              @Override
              public void onStep(TrainingState state, float loss, float lr) {
                if (state.step() <= FaceTrainer.PLAN_AFTER_STEPS) {
                  sleep(500);
                }
              }
            })
            .train();
    assertThat(plans).hasSizeGreaterThanOrEqualTo(2);
    assertThat(plans.get(plans.size() - 1)).isGreaterThan(plans.get(0));
    assertThat(result.state().trainingSeconds()).as("training seconds of a %s s budget", budget).isGreaterThan(0.85 * budget);
    assertThat(result.state().step()).isLessThanOrEqualTo(result.state().plannedSteps());
  }

  @Test
  void aReplanCountsTheStepsThatTheRemainingTimeBuysAtTheSpeedSoFar() {
    TrainingState s = TrainingState.start(10);
    for (int i = 0; i < 100; i++) {
      s = s.stepped(16, 0.5); // 100 steps in 50 s: 2 steps per second
    }
    assertThat(FaceTrainer.replanned(s.planned(120), 80)).isEqualTo(160); // 30 s left: 60 steps more
    assertThat(FaceTrainer.replanned(s.planned(120), 50)).isEqualTo(101); // no time left: one step
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Test
  void lossFallsInAFewSteps(@TempDir Path run) throws IOException {
    List<Float> losses = new ArrayList<>();
    TrainingResult result =
        new FaceTrainer(tiny(null, 8), run, new TrainingListener() {
              @Override
              public void onStep(TrainingState state, float loss, float lr) {
                losses.add(loss);
              }
            })
            .train();
    assertThat(losses).hasSizeGreaterThanOrEqualTo(20);
    double first = losses.subList(0, 4).stream().mapToDouble(Float::doubleValue).average().orElseThrow();
    double last =
        losses.subList(losses.size() - 4, losses.size()).stream().mapToDouble(Float::doubleValue).average().orElseThrow();
    assertThat(last).as("mean loss of the last 4 steps vs the first 4").isLessThan(first * 0.7);
    assertThat(result.state().step()).isEqualTo(losses.size());
    assertThat(run.resolve(ModelConfig.PARAMETERS)).isRegularFile();
    assertThat(MetricsLog.read(run.resolve("metrics.jsonl")))
        .anySatisfy(r -> assertThat(r.path("type").asText()).isEqualTo("epoch"));
  }

  @Test
  void resumeFromAMidArcFaceCheckpointWithMomentumEqualsTheUninterruptedRun(@TempDir Path straight, @TempDir Path crashed)
      throws IOException {
    // 4 steps an epoch; softmax for epoch 1, ArcFace from epoch 2; a checkpoint every 3 steps and at
    // each epoch's end: step 6 is mid-epoch 2, two ArcFace steps after the switch (momentum built up).
    // The run keeps a weight average (--average): it must come through the crash as the momentum does.
    // with the on-the-fly jitter and erasing: their draws must follow the batch, not the run, to
    // resume exactly; label smoothing puts both phases' losses on the smoothed path; dropout's masks
    // come from the engine's generator, which a resumed run must seed as the uninterrupted one did;
    // a stronger jitter and a cosine margin only change the ranges and the loss
    TrainingOptions options = tiny(1, 3).withCheckpoints(3, 2).withAverage(0.9).withJitter(true).withErase(0.25)
        .withLabelSmoothing(0.1f).withDropout(0.2f).withCosMargin(0.2f).withJitterStrength(1.5);
    new FaceTrainer(options, straight, new TrainingListener() {}).train();
    // the newest 2 checkpoints are kept, LATEST names the newest
    try (var folders = Files.list(straight.resolve(Checkpoint.FOLDER))) {
      assertThat(folders.map(f -> f.getFileName().toString()).sorted().toList())
          .containsExactly("LATEST", "step-000000009-epoch00002", "step-000000012-epoch00003");
    }
    assertThat(Files.readString(straight.resolve(Checkpoint.FOLDER).resolve(Checkpoint.POINTER)).trim())
        .isEqualTo("step-000000012-epoch00003");

    RuntimeException crash = new RuntimeException("simulated crash");
    assertThatThrownBy(
            () ->
                new FaceTrainer(options, crashed, new TrainingListener() {
                      @Override
                      public void onStep(TrainingState state, float loss, float lr) {
                        if (state.step() == 7) {
                          throw crash;
                        }
                      }
                    })
                    .train())
        .isSameAs(crash);
    Checkpoint.Saved saved = Checkpoint.latest(crashed).orElseThrow();
    assertThat(saved.state().step()).isEqualTo(6);
    assertThat(saved.state().phase()).isEqualTo(Phase.ARCFACE);
    assertThat(saved.state().epochBatches()).as("batches of epoch 2 done").isEqualTo(2);
    // the checkpoint carries momentum for every trained parameter, and it is not zero
    try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
      NDList momentum = NDList.decode(manager, Files.readAllBytes(saved.folder().resolve("momentum.ndlist")));
      assertThat(momentum.size()).isGreaterThan(100);
      assertThat(momentum.stream().map(NDArray::getName)).allMatch(n -> n.endsWith("@cpu()"));
      NDArray head = momentum.stream().filter(a -> a.getName().startsWith("02head_weight@")).findFirst().orElseThrow();
      assertThat(head.abs().sum().getFloat()).isGreaterThan(0f);
    }
    // and the weight average, which is not the weights
    assertThat(saved.folder().resolve(Checkpoint.AVERAGE)).isRegularFile();
    // a run with an average cannot resume from a checkpoint that has none: refused before it starts
    Path noAverage = crashed.resolveSibling(crashed.getFileName() + "-no-average");
    copyTree(crashed, noAverage);
    Files.delete(noAverage.resolve(Checkpoint.FOLDER).resolve(saved.folder().getFileName()).resolve(Checkpoint.AVERAGE));
    assertThatThrownBy(() -> new FaceTrainer(options, noAverage, new TrainingListener() {}))
        .isInstanceOf(FaceTrainer.ResumeMismatchException.class)
        .hasMessageContaining("has no weight average");
    // a crash in the middle of a later save leaves a partial folder that nothing points to
    Files.createDirectories(crashed.resolve(Checkpoint.FOLDER).resolve(".step-000000009-epoch00002.partial"));

    // resuming with other options or other shards mixes two runs: refused, in one line
    assertThatThrownBy(() -> new FaceTrainer(options.withBatch(16, 0.1f, 5), crashed, new TrainingListener() {}))
        .isInstanceOf(FaceTrainer.ResumeMismatchException.class)
        .hasMessageContaining("--lr 0.05 (now 0.1)")
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    assertResumeRefused(options.withAverage(null), crashed, "--average 0.9 (now unset)");
    assertResumeRefused(options.withJitter(false).withJitterStrength(null), crashed, "--jitter on (now unset)");
    assertResumeRefused(options.withErase(0.3), crashed, "--erase 0.25 (now 0.3)");
    assertResumeRefused(options.withErase(null), crashed, "--erase 0.25 (now unset)");
    assertResumeRefused(options.withLabelSmoothing(null), crashed, "--label-smoothing 0.1 (now unset)");
    assertResumeRefused(options.withDropout(0.3f), crashed, "--dropout 0.2 (now 0.3)");
    assertResumeRefused(options.withCosMargin(null), crashed, "--cos-margin 0.2 (now unset)");
    assertResumeRefused(options.withJitterStrength(2.0), crashed, "--jitter-strength 1.5 (now 2.0)");
    assertResumeRefused(options.withFillOutside(true), crashed, "--fill-outside unset (now on)");
    assertResumeRefused(options.withLowRes(0.4), crashed, "--low-res unset (now 0.4)");
    // the decay keys keep their old names in the checkpoint but the message names the flag
    assertThatThrownBy(() -> new FaceTrainer(options.withDecay(5e-4f, 5e-4f), crashed, new TrainingListener() {}))
        .isInstanceOf(FaceTrainer.ResumeMismatchException.class)
        .hasMessageContaining("--weight-decay (body) " + options.bodyDecay() + " (now 5.0E-4)")
        .hasMessageContaining("--weight-decay (head) " + options.headDecay() + " (now 5.0E-4)");
    Path otherShards = crashed.resolveSibling(crashed.getFileName() + "-shards");
    copyTree(shards, otherShards);
    Files.delete(otherShards.resolve("validation/shard-000/part-0-0.avro"));
    TrainingOptions elsewhere = options.withShards(otherShards);
    assertThatThrownBy(() -> new FaceTrainer(elsewhere, crashed, new TrainingListener() {}))
        .isInstanceOf(FaceTrainer.ResumeMismatchException.class)
        .hasMessageContaining("other or changed shard files");

    List<Long> steps = new ArrayList<>();
    TrainingResult resumed =
        new FaceTrainer(options, crashed, new TrainingListener() {
              @Override
              public void onStep(TrainingState state, float loss, float lr) {
                steps.add(state.step());
              }
            })
            .train();
    assertThat(steps.get(0)).isEqualTo(7);
    assertThat(resumed.state().step()).isEqualTo(12);
    assertThat(crashed.resolve(Checkpoint.FOLDER).resolve(".step-000000009-epoch00002.partial")).doesNotExist();

    // resuming a finished run (say it crashed while evaluating) takes no further step
    List<Long> extra = new ArrayList<>();
    TrainingResult again =
        new FaceTrainer(options, crashed, new TrainingListener() {
              @Override
              public void onStep(TrainingState state, float loss, float lr) {
                extra.add(state.step());
              }
            })
            .train();
    assertThat(extra).isEmpty();
    assertThat(again.state().step()).isEqualTo(resumed.state().step());

    // the same batches from the middle of the epoch, the same momentum, the same schedule: the
    // same weights. Single-threaded kernels with MKL's strict reproducibility (the pom) make runs
    // bitwise repeatable; 1e-5 leaves room for nothing but float formatting.
    assertThat(differences(straight.resolve(ModelConfig.PARAMETERS), crashed.resolve(ModelConfig.PARAMETERS), 1e-5f))
        .isEmpty();
    // the model is the average the last checkpoint holds, parameter by parameter, exactly ...
    Path last = straight.resolve(Checkpoint.FOLDER).resolve("step-000000012-epoch00003");
    try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
      var model = MobileFaceNet.body();
      model.initialize(manager, DataType.FLOAT32, MobileFaceNet.inputShape(1));
      ParameterFiles.load(model, manager, straight.resolve(ModelConfig.PARAMETERS));
      NDList average = NDList.decode(manager, Files.readAllBytes(last.resolve(Checkpoint.AVERAGE)));
      assertThat(average.size()).isEqualTo(model.getParameters().size());
      for (var p : model.getParameters()) {
        NDArray a = average.stream().filter(x -> x.getName().equals(p.getKey())).findFirst().orElseThrow();
        assertThat(p.getValue().getArray().toFloatArray()).as(p.getKey()).containsExactly(a.toFloatArray());
      }
    }
    // ... and not the last step's weights (that checkpoint's body)
    assertThat(differences(straight.resolve(ModelConfig.PARAMETERS), last.resolve("body.params"), 1e-4f)).hasSizeGreaterThan(50);
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (var all = Files.walk(from)) {
      for (Path p : all.toList()) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target);
        }
      }
    }
  }

  @Test
  void aRunThatDivergesStopsAndKeepsOnlyFiniteCheckpoints(@TempDir Path slow, @TempDir Path fast) throws IOException {
    // learning rates no network survives, a checkpoint every step. Without the guards such a run went
    // on to its end with NaN weights, and its checkpoints replaced the good ones.
    // At 1e33 the first update leaves the weights finite but huge: step 2's loss is NaN, and the
    // step stops before its update, with step 1's checkpoint on disk.
    String atStep2 = diverge(slow, 1e33f);
    assertThat(atStep2).startsWith("training diverged at step 2: the loss is NaN")
        .contains("its newest checkpoint is at step 1 (finite weights)");
    assertThat(Checkpoint.latest(slow).orElseThrow().state().step()).isEqualTo(1);
    // at the float's largest value the first update itself overflows: the checkpoint after it is
    // refused (its loss was finite), and the run has none
    String atStep1 = diverge(fast, Float.MAX_VALUE);
    assertThat(atStep1).startsWith("training diverged at step 1: the weights of ").contains("are not finite")
        .contains("with no checkpoint");
    assertThat(Checkpoint.latest(fast)).isEmpty();
  }

  /** Trains until the run diverges; checks what every diverged run must hold; returns the message. */
  private static String diverge(Path run, float lr) throws IOException {
    TrainingOptions options = tiny(null, 3).withBatch(16, lr, 1).withCheckpoints(1, 20);
    List<Long> stepped = new ArrayList<>();
    Throwable thrown = org.assertj.core.api.Assertions.catchThrowable(() -> new FaceTrainer(options, run, new TrainingListener() {
          @Override
          public void onStep(TrainingState state, float loss, float lr) {
            stepped.add(state.step());
          }
        }).train());
    assertThat(thrown).isInstanceOf(FaceTrainer.DivergedException.class).hasMessageContaining("--clip-grad");
    assertThat(thrown.getMessage()).doesNotContain("\n");
    assertThat(stepped).as("stopped at once, not after 3 epochs").hasSizeLessThan(3);
    assertThat(run.resolve(ModelConfig.PARAMETERS)).as("no model from diverged weights").doesNotExist();
    // the run says so in its folder, and is not resumed: the same steps would diverge again
    assertThat(Files.readString(run.resolve(FaceTrainer.DIVERGED)).strip()).isEqualTo(thrown.getMessage());
    assertThatThrownBy(() -> new FaceTrainer(options, run, new TrainingListener() {}))
        .isInstanceOf(FaceTrainer.DivergedException.class)
        .hasMessageStartingWith("this run stopped because it diverged (training diverged at step ")
        .hasMessageEndingWith("a resume would repeat it: start a new run");
    // every checkpoint left holds finite weights
    Path folder = run.resolve(Checkpoint.FOLDER);
    List<Path> kept = new ArrayList<>();
    if (Files.isDirectory(folder)) {
      try (var all = Files.list(folder)) {
        all.filter(f -> f.getFileName().toString().startsWith("step-")).forEach(kept::add);
      }
    }
    for (Path checkpoint : kept) {
      try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
        var body = MobileFaceNet.body();
        body.initialize(manager, DataType.FLOAT32, MobileFaceNet.inputShape(1));
        ParameterFiles.load(body, manager, checkpoint.resolve("body.params"));
        for (var p : body.getParameters()) {
          for (float v : p.getValue().getArray().toFloatArray()) {
            assertThat(Float.isFinite(v)).as(checkpoint.getFileName() + " " + p.getKey()).isTrue();
          }
        }
      }
    }
    return thrown.getMessage();
  }

  @Test
  void gradientClippingBoundsTheBodysStepAndChangesNothingWhereItDoesNotAct(
      @TempDir Path none, @TempDir Path wide, @TempDir Path tight) throws IOException {
    // no decay: a body step is the learning rate times the velocity alone
    TrainingOptions base = tiny(null, 3).withDecay(0f, 0f).withCheckpoints(1, 20);
    new FaceTrainer(base, none, new TrainingListener() {}).train();
    new FaceTrainer(base.withClipGrad(1e30f), wide, new TrainingListener() {}).train();
    float clip = 1e-4f;
    new FaceTrainer(base.withClipGrad(clip), tight, new TrainingListener() {}).train();
    // a clip that never acts leaves the run bit for bit as it was
    assertThat(differences(none.resolve(ModelConfig.PARAMETERS), wide.resolve(ModelConfig.PARAMETERS), 0f)).isEmpty();
    // a tight one: step 2 moves the body by at most lr * (1 + momentum + momentum^2) * clip (the
    // velocity of two clipped gradients, Nesterov or not), where the unclipped run moves it far more
    double bound = base.learningRate() * (1 + 0.9 + 0.81) * clip;
    double clipped = bodyStep(tight, 1, 2);
    assertThat(clipped).isGreaterThan(0).isLessThanOrEqualTo(bound * 1.001);
    assertThat(bodyStep(none, 1, 2)).as("the unclipped step").isGreaterThan(100 * bound);
    // the classifier is not clipped (arcface_torch clips the backbone): it moves as without the clip
    assertThat(headStep(tight, 1, 2)).as("the head's step").isGreaterThan(100 * bound);
    // the norm before clipping is in the metrics
    assertThat(MetricsLog.read(tight.resolve("metrics.jsonl")))
        .filteredOn(r -> r.path("type").asText().equals("step"))
        .isNotEmpty()
        .allSatisfy(r -> assertThat(r.path("grad_norm").asDouble()).isGreaterThan(clip));
    assertThat(MetricsLog.read(none.resolve("metrics.jsonl"))).allSatisfy(r -> assertThat(r.has("grad_norm")).isFalse());
  }

  /** The L2 norm of the body's trained weights' change from checkpoint step a to step b (BatchNorm statistics left out). */
  private static double bodyStep(Path run, int a, int b) throws IOException {
    try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
      var first = MobileFaceNet.body();
      first.initialize(manager, DataType.FLOAT32, MobileFaceNet.inputShape(1));
      ParameterFiles.load(first, manager, checkpoint(run, a).resolve("body.params"));
      var second = MobileFaceNet.body();
      second.initialize(manager, DataType.FLOAT32, MobileFaceNet.inputShape(1));
      ParameterFiles.load(second, manager, checkpoint(run, b).resolve("body.params"));
      double squares = 0;
      for (var p : first.getParameters()) {
        if (!p.getValue().requiresGradient()) {
          continue; // running mean and variance: not stepped by the optimiser
        }
        float[] x = p.getValue().getArray().toFloatArray();
        float[] y = second.getParameters().get(p.getKey()).getArray().toFloatArray();
        for (int i = 0; i < x.length; i++) {
          squares += (double) (y[i] - x[i]) * (y[i] - x[i]);
        }
      }
      return Math.sqrt(squares);
    }
  }

  /** The L2 norm of the softmax classifier's change from checkpoint step a to step b (8 classes). */
  private static double headStep(Path run, int a, int b) throws IOException {
    try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
      float[][] w = new float[2][];
      int i = 0;
      for (int step : new int[] {a, b}) {
        var head = ai.djl.nn.core.Linear.builder().setUnits(8).build();
        head.initialize(manager, DataType.FLOAT32, new ai.djl.ndarray.types.Shape(1, 128));
        ParameterFiles.load(head, manager, checkpoint(run, step).resolve("head.params"));
        w[i++] = head.getParameters().get("weight").getArray().toFloatArray();
      }
      double squares = 0;
      for (int k = 0; k < w[0].length; k++) {
        squares += (double) (w[1][k] - w[0][k]) * (w[1][k] - w[0][k]);
      }
      return Math.sqrt(squares);
    }
  }

  private static Path checkpoint(Path run, int step) throws IOException {
    try (var all = Files.list(run.resolve(Checkpoint.FOLDER))) {
      String prefix = String.format("step-%09d-", step);
      return all.filter(f -> f.getFileName().toString().startsWith(prefix)).findFirst().orElseThrow();
    }
  }

  @Test
  void aClipNormMustBePositiveAndFinite() {
    assertThatThrownBy(() -> tiny(null, 1).withClipGrad(0f).validate()).hasMessageContaining("--clip-grad");
    assertThatThrownBy(() -> tiny(null, 1).withClipGrad(Float.POSITIVE_INFINITY).validate()).hasMessageContaining("--clip-grad");
    assertThatThrownBy(() -> tiny(null, 1).withClipGrad(Float.NaN).validate()).hasMessageContaining("--clip-grad");
  }

  @Test
  void labelSmoothingAndDropoutReachTheStep(@TempDir Path plain, @TempDir Path smoothed, @TempDir Path dropped) {
    // the same seed, weights and first batch: only the option differs, so the first step's loss must
    // (a trainer that dropped either option on the way would give the plain run's loss)
    float base = firstLoss(tiny(1, 3), plain);
    assertThat(firstLoss(tiny(1, 3).withLabelSmoothing(0.1f), smoothed)).isNotEqualTo(base);
    assertThat(firstLoss(tiny(1, 3).withDropout(0.2f), dropped)).isNotEqualTo(base);
  }

  @Test
  void theCosineMarginReachesTheFirstArcFaceStep(@TempDir Path plain, @TempDir Path noMargin, @TempDir Path cosFace,
      @TempDir Path combined) {
    // the softmax epoch before it is the same run in all four: only the margin loss differs. A cosine
    // margin lost on the way (or applied to the softmax phase only) gives the loss without it; with
    // it every target logit is lower, so the loss is higher
    TrainingOptions noAngle = tiny(1, 3).withPhases(1, 16f, 0f);
    assertThat(firstLoss(noAngle.withCosMargin(0.35f), cosFace, Phase.ARCFACE))
        .isGreaterThan(firstLoss(noAngle, noMargin, Phase.ARCFACE));
    assertThat(firstLoss(tiny(1, 3).withCosMargin(0.2f), combined, Phase.ARCFACE))
        .isGreaterThan(firstLoss(tiny(1, 3), plain, Phase.ARCFACE));
  }

  @Test
  void theMarginLossHasTheOptionsMarginsInTrainingAndValidation() {
    // the same loss object scores the validation split, so both carry the margins in their places
    MarginSoftmaxLoss loss = FaceTrainer.marginLoss(tiny(1, 3).withPhases(1, 16f, 0.3f).withCosMargin(0.2f), 350);
    assertThat(loss.scale()).isEqualTo(16f);
    assertThat(loss.angularMargin()).isEqualTo(0.3f);
    assertThat(loss.cosineMargin()).isEqualTo(0.2f);
    assertThat(FaceTrainer.marginLoss(tiny(1, 3), 350).cosineMargin()).isZero();
  }

  @Test
  void aCosineMarginMustBeBetweenZeroAndOne() {
    for (float bad : new float[] {0f, -0.1f, 1f, Float.NaN}) {
      assertThatThrownBy(() -> tiny(null, 1).withCosMargin(bad).validate()).hasMessageContaining("--cos-margin");
    }
    tiny(null, 1).withCosMargin(0.35f).validate();
  }

  /** Resuming {@code run} with {@code options} is refused, naming what differs. */
  private static void assertResumeRefused(TrainingOptions options, Path run, String message) {
    assertThatThrownBy(() -> new FaceTrainer(options, run, new TrainingListener() {}))
        .isInstanceOf(FaceTrainer.ResumeMismatchException.class)
        .hasMessageContaining(message);
  }

  private static float firstLoss(TrainingOptions options, Path run) {
    return firstLoss(options, run, Phase.SOFTMAX);
  }

  /** The loss of the run's first step in {@code phase}; the run stops there. */
  private static float firstLoss(TrainingOptions options, Path run, Phase phase) {
    float[] first = new float[1];
    RuntimeException stop = new RuntimeException("one step is enough");
    assertThatThrownBy(() -> new FaceTrainer(options, run, new TrainingListener() {
          @Override
          public void onStep(TrainingState state, float loss, float lr) {
            if (state.phase() != phase) {
              return;
            }
            first[0] = loss;
            throw stop;
          }
        }).train())
        .isSameAs(stop);
    assertThat(first[0]).isFinite();
    return first[0];
  }

  @Test
  void aLabelSmoothingShareAndADropoutRateMustBeBetweenZeroAndOne() {
    for (float bad : new float[] {0f, -0.1f, 1f, Float.NaN}) {
      assertThatThrownBy(() -> tiny(null, 1).withLabelSmoothing(bad).validate()).hasMessageContaining("--label-smoothing");
    }
    tiny(null, 1).withLabelSmoothing(0.1f).validate();
    for (float bad : new float[] {0f, -0.1f, 1f, Float.NaN}) {
      assertThatThrownBy(() -> tiny(null, 1).withDropout(bad).validate()).hasMessageContaining("--dropout");
    }
    tiny(null, 1).withDropout(0.2f).validate();
  }

  @Test
  void theJitterAndErasingOptionsReachTheTrainingLoader() {
    assertThat(FaceTrainer.trainingLoader(tiny(1, 3)).jitter()).isEqualTo(CropJitter.NONE);
    assertThat(FaceTrainer.trainingLoader(tiny(1, 3).withJitter(true)).jitter()).isEqualTo(CropJitter.STANDARD);
    assertThat(FaceTrainer.trainingLoader(tiny(1, 3).withErase(0.25)).jitter()).isEqualTo(CropJitter.NONE.withErase(0.25));
    assertThat(FaceTrainer.trainingLoader(tiny(1, 3).withJitter(true).withErase(0.3)).jitter())
        .isEqualTo(CropJitter.STANDARD.withErase(0.3));
    for (double bad : new double[] {0, 0.01, 0.6, Double.NaN}) {
      assertThatThrownBy(() -> tiny(null, 1).withErase(bad).validate()).hasMessageContaining("--erase");
    }
    assertThat(FaceTrainer.trainingLoader(tiny(1, 3).withJitter(true).withJitterStrength(1.5)).jitter())
        .isEqualTo(CropJitter.STANDARD.scaled(1.5));
    assertThatThrownBy(() -> tiny(null, 1).withJitterStrength(1.5).validate()).hasMessage("--jitter-strength needs --jitter");
    for (double bad : new double[] {0, 0.2, 3.5, Double.NaN}) {
      assertThatThrownBy(() -> tiny(null, 1).withJitter(true).withJitterStrength(bad).validate())
          .hasMessageContaining("--jitter-strength must be in [0.25, 3.0]");
    }
    // 1 is the standard jitter: the same identity, so it resumes a plain --jitter run
    assertThat(tiny(1, 3).withJitter(true).withJitterStrength(1.0).identity()).isEqualTo(tiny(1, 3).withJitter(true).identity());
    assertThat(tiny(1, 3).withJitter(true).identity()).doesNotContainKeys("--jitter-strength", "--cos-margin", "--fill-outside");
    // the outside fill: in training (before the jitter) and in validation, which has no jitter
    assertThat(FaceTrainer.trainingLoader(tiny(1, 3).withJitter(true).withFillOutside(true)).jitter())
        .isEqualTo(CropJitter.STANDARD.withFillOutside(true));
    assertThat(FaceTrainer.validationLoader(tiny(1, 3).withJitter(true).withFillOutside(true)).jitter())
        .isEqualTo(CropJitter.NONE.withFillOutside(true));
    assertThat(FaceTrainer.validationLoader(tiny(1, 3).withJitter(true)).jitter()).isEqualTo(CropJitter.NONE);
    assertThat(tiny(1, 3).withFillOutside(true).identity()).containsEntry("--fill-outside", "on");
    // the low resolution: training only (validation crops stay as written), in the identity only when on
    assertThat(FaceTrainer.trainingLoader(tiny(1, 3).withJitter(true).withLowRes(0.4)).jitter())
        .isEqualTo(CropJitter.STANDARD.withLowRes(0.4));
    assertThat(FaceTrainer.trainingLoader(tiny(1, 3).withLowRes(0.4)).jitter()).isEqualTo(CropJitter.NONE.withLowRes(0.4));
    assertThat(FaceTrainer.validationLoader(tiny(1, 3).withJitter(true).withLowRes(0.4)).jitter()).isEqualTo(CropJitter.NONE);
    assertThat(tiny(1, 3).withLowRes(0.4).identity()).containsEntry("--low-res", "0.4");
    assertThat(tiny(1, 3).withJitter(true).identity()).doesNotContainKey("--low-res");
    for (double bad : new double[] {0, 0.1, 1, Double.NaN}) {
      assertThatThrownBy(() -> tiny(null, 1).withLowRes(bad).validate()).hasMessageContaining("--low-res");
    }
  }

  @Test
  void theGpuPathSaysClearlyThatThereIsNoGpu(@TempDir Path run) {
    assertThatThrownBy(() -> new FaceTrainer(tiny(null, 1).withDevice("gpu", 2), run, new TrainingListener() {}))
        .isInstanceOf(Devices.NoGpuException.class)
        .hasMessageContaining("GPU")
        .hasMessageContaining("--device cpu");
  }

  /** Parameters (BatchNorm statistics included) that differ by more than {@code tolerance} between two files. */
  private static List<String> differences(Path a, Path b, float tolerance) throws IOException {
    try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
      var first = MobileFaceNet.body();
      first.initialize(manager, DataType.FLOAT32, MobileFaceNet.inputShape(1));
      ParameterFiles.load(first, manager, a);
      var second = MobileFaceNet.body();
      second.initialize(manager, DataType.FLOAT32, MobileFaceNet.inputShape(1));
      ParameterFiles.load(second, manager, b);
      var pa = first.getParameters();
      var pb = second.getParameters();
      List<String> differ = new ArrayList<>();
      for (int i = 0; i < pa.size(); i++) {
        float d = pa.valueAt(i).getArray().sub(pb.valueAt(i).getArray()).abs().max().getFloat();
        if (d > tolerance) {
          differ.add(pa.keyAt(i) + " by " + d);
        }
      }
      assertThat(pa.size()).isEqualTo(pb.size()).isGreaterThan(100);
      return differ;
    }
  }
}
