package dev.mfn.bench;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.initializer.XavierInitializer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import dev.mfn.model.net.ChannelPrelu;
import dev.mfn.model.net.FaceClassifier;
import dev.mfn.model.net.MobileFaceNet;
import dev.mfn.training.FaceTrainer;
import dev.mfn.training.TrainingListener;
import dev.mfn.training.TrainingOptions;
import dev.mfn.training.TrainingResult;
import dev.mfn.training.loader.Batch;
import dev.mfn.training.loader.ShardLoader;
import dev.mfn.training.loader.ShardSet;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Locale;

/**
 * Training throughput, stage by stage, in one run:
 *
 * <ol>
 *   <li>the shard loader alone (read, decode, mirror, normalise), 1 and 2 worker threads;
 *   <li>the bare DJL step: MobileFaceNet + softmax forward, backward and DJL's own SGD on one
 *       constant batch (no data loading at all): the ceiling of this machine;
 *   <li>our trainer ({@link FaceTrainer}: loader + grouped SGD + schedule + metrics), its img/s
 *       counting the waits for data.
 * </ol>
 *
 * <p>With {@code --activations}: only the bare step, once per way of computing the per-channel
 * PReLU ({@code max(x,0) + a*min(x,0)}, {@code where(x>0, x, a*x)}, PyTorch's fused {@code
 * torch.prelu} through {@code TorchPrelu}, the default) and with a plain ReLU, the cheapest
 * non-linearity there is (not the paper's network), interleaved. {@code --phases} prints each bare
 * run's time per phase and its resident memory after the warm-up steps and at the end; {@code
 * --no-loader} leaves out the loader rows. {@code bench/step-vs-pytorch.sh} runs this next to a
 * plain PyTorch loop of the same network.
 *
 * <p>Usage: {@code bench/run train --shards DIR [--seconds 60] [--repeats 3] [--batch 32] [--activations] [--phases] [--no-loader]}
 */
public final class TrainBench {
  /** Print the bare step's time per phase (forward + loss, backward, optimizer): {@code --phases}. */
  private static boolean PHASES = false;
  /** Untimed steps before each bare-step measurement. */
  private static final int WARMUP_STEPS = 3;

  public static void main(String[] args) throws Exception {
    Path shards = null;
    int seconds = 60;
    int repeats = 3;
    int batch = 32;
    boolean activations = false;
    boolean noLoader = false;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--shards" -> shards = Path.of(args[++i]);
        case "--seconds" -> seconds = Integer.parseInt(args[++i]);
        case "--repeats" -> repeats = Integer.parseInt(args[++i]);
        case "--batch" -> batch = Integer.parseInt(args[++i]);
        case "--activations" -> activations = true;
        case "--phases" -> PHASES = true;
        case "--no-loader" -> noLoader = true;
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    if (shards == null) {
      throw new IllegalArgumentException("usage: bench/run train --shards DIR [--seconds S] [--repeats R] [--batch B]");
    }
    ShardSet set = ShardSet.open(shards);
    System.out.printf("shards %s: %d training samples, %d classes; batch %d, %d s x %d repeats, %d cores%n",
        shards, set.samples(ShardSet.Split.TRAIN), set.classes(), batch, seconds, repeats,
        Runtime.getRuntime().availableProcessors());
    if (activations) {
      Map<String, java.util.function.Supplier<ai.djl.nn.Block>> kinds = new java.util.LinkedHashMap<>();
      kinds.put("PReLU max(x,0) + a*min(x,0)", () -> new ChannelPrelu(ChannelPrelu.Formula.MAX_MIN));
      kinds.put("PReLU where(x>0, x, a*x)", () -> new ChannelPrelu(ChannelPrelu.Formula.WHERE));
      kinds.put("PReLU torch.prelu (fused, TorchScript)", () -> new ChannelPrelu(ChannelPrelu.Formula.FUSED));
      kinds.put("ReLU (one fused kernel)", ai.djl.nn.Activation::reluBlock);
      Map<String, List<Double>> rates = new java.util.LinkedHashMap<>();
      for (int r = 0; r < repeats; r++) {
        for (var kind : kinds.entrySet()) {
          rates.computeIfAbsent(kind.getKey(), k -> new ArrayList<>()).add(bareStep(set.classes(), batch, seconds, kind.getValue()));
        }
      }
      rates.forEach((name, list) -> report("bare DJL step, " + name, list));
      System.out.println("peak resident memory of this process (VmHWM): " + peakMb() + " MB");
      return;
    }
    for (int workers : noLoader ? new int[0] : new int[] {1, 2}) {
      List<Double> rates = new ArrayList<>();
      for (int r = 0; r < repeats; r++) {
        rates.add(loader(set, batch, workers, seconds));
      }
      report("loader alone, " + workers + " worker(s)", rates);
    }
    List<Double> bare = new ArrayList<>();
    List<Double> ours = new ArrayList<>();
    for (int r = 0; r < repeats; r++) {
      bare.add(bareStep(set.classes(), batch, seconds));
      ours.add(trainer(shards, batch, seconds));
    }
    report("bare DJL step (constant batch)", bare);
    report("FaceTrainer (loader + step)", ours);
    System.out.println("peak resident memory of this process (VmHWM): " + peakMb() + " MB");
  }

  private static long rssMb() {
    return statusMb("VmRSS:");
  }

  private static long peakMb() {
    return statusMb("VmHWM:");
  }

  private static long statusMb(String field) {
    try {
      return Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith(field))
          .mapToLong(l -> Long.parseLong(l.replaceAll("[^0-9]", "")) / 1024).findFirst().orElse(0);
    } catch (java.io.IOException e) {
      return 0;
    }
  }

  private static double loader(ShardSet set, int batch, int workers, int seconds) throws Exception {
    try (ShardLoader loader = new ShardLoader(set.files(ShardSet.Split.TRAIN), ShardLoader.Options.training(batch, workers, 1))) {
      long images = 0;
      long start = System.nanoTime();
      long end = start + seconds * 1_000_000_000L;
      int epoch = 1;
      while (System.nanoTime() < end) {
        try (ShardLoader.Epoch e = loader.epoch(epoch++)) {
          while (e.hasNext() && System.nanoTime() < end) {
            images += e.next().size();
          }
        }
      }
      return images / ((System.nanoTime() - start) / 1e9);
    }
  }

  private static double bareStep(int classes, int batch, int seconds) {
    return bareStep(classes, batch, seconds, ChannelPrelu::new);
  }

  private static double bareStep(int classes, int batch, int seconds, java.util.function.Supplier<ai.djl.nn.Block> activation) {
    try (Model model = Model.newInstance("bare", "PyTorch")) {
      FaceClassifier net = new FaceClassifier(MobileFaceNet.body(activation), Linear.builder().setUnits(classes).build());
      model.setBlock(net);
      DefaultTrainingConfig config =
          new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
              .optInitializer(new XavierInitializer(), Parameter.Type.WEIGHT)
              .optOptimizer(Optimizer.sgd().setLearningRateTracker(Tracker.fixed(0.01f)).optMomentum(0.9f).build());
      try (Trainer trainer = model.newTrainer(config)) {
        trainer.initialize(MobileFaceNet.inputShape(batch));
        NDManager m = trainer.getManager();
        NDArray x = m.randomNormal(MobileFaceNet.inputShape(batch));
        NDArray y = m.randomInteger(0, classes, new ai.djl.ndarray.types.Shape(batch), DataType.INT64);
        // untimed warm-up: the first steps grow the allocator's heap and pick the kernels; what a
        // long run sees is the steady state after them (the plain PyTorch loop warms up the same way)
        long[] phases = new long[3];
        for (int i = 0; i < WARMUP_STEPS; i++) {
          oneStep(trainer, m, x, y, phases);
        }
        java.util.Arrays.fill(phases, 0);
        long rssAfterWarmup = rssMb();
        long images = 0;
        long start = System.nanoTime();
        long end = start + seconds * 1_000_000_000L;
        while (System.nanoTime() < end) {
          oneStep(trainer, m, x, y, phases);
          images += batch;
        }
        double elapsed = (System.nanoTime() - start) / 1e9;
        if (PHASES) {
          long steps = images / batch;
          // a step whose memory is bounded leaves the resident set where the warm-up put it
          System.out.printf(Locale.ROOT, "  per step (ms): forward + loss %.1f, backward %.1f, optimizer %.1f;"
                  + " resident MB after %d warm-up steps %d, after %d more %d%n",
              phases[0] / 1e6 / steps, phases[1] / 1e6 / steps, phases[2] / 1e6 / steps, WARMUP_STEPS,
              rssAfterWarmup, steps, rssMb());
        }
        return images / elapsed;
      }
    }
  }

  /** One bare step; adds its forward + loss, backward and optimizer nanoseconds to {@code phases}. */
  private static void oneStep(Trainer trainer, NDManager m, NDArray x, NDArray y, long[] phases) {
    long t0 = System.nanoTime();
    long t1;
    // the step's arrays (outputs follow their input's manager) must die with the step
    try (NDManager step = m.newSubManager(); GradientCollector gc = trainer.newGradientCollector()) {
      NDArray xs = x.duplicate();
      xs.attach(step);
      NDArray ys = y.duplicate();
      ys.attach(step);
      NDList out = trainer.forward(new NDList(xs));
      NDArray loss = trainer.getLoss().evaluate(new NDList(ys), out);
      t1 = System.nanoTime();
      gc.backward(loss);
    }
    long t2 = System.nanoTime();
    trainer.step();
    long t3 = System.nanoTime();
    phases[0] += t1 - t0;
    phases[1] += t2 - t1;
    phases[2] += t3 - t2;
  }

  private static double trainer(Path shards, int batch, int seconds) throws Exception {
    Path run = Files.createTempDirectory("train-bench");
    TrainingOptions options =
        TrainingOptions.defaults(shards).withBudget(null, seconds / 60.0).withBatch(batch, 0.05f, 50);
    TrainingResult result = new FaceTrainer(options, run, new TrainingListener() {}).train();
    return result.imagesPerSecond();
  }

  private static void report(String what, List<Double> rates) {
    List<Double> sorted = new ArrayList<>(rates);
    Collections.sort(sorted);
    System.out.printf(Locale.ROOT, "%-34s img/s  min %.1f  median %.1f  max %.1f   (%s)%n", what,
        sorted.get(0), sorted.get(sorted.size() / 2), sorted.get(sorted.size() - 1),
        String.join(", ", rates.stream().map(r -> String.format(Locale.ROOT, "%.1f", r)).toList()));
  }
}
