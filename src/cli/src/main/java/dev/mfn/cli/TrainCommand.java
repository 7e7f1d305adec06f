package dev.mfn.cli;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mfn.config.MfnSettings;
import dev.mfn.evaluate.ModelGate;
import dev.mfn.evaluate.PairSets;
import dev.mfn.evaluate.Verification;
import dev.mfn.face.crop.FaceCropper;
import dev.mfn.model.Embedder;
import dev.mfn.model.EmbeddingModels;
import dev.mfn.evaluate.VerificationReport;
import dev.mfn.model.net.MobileFaceNet;
import dev.mfn.model.store.ModelConfig;
import dev.mfn.model.store.ModelStore;
import dev.mfn.training.Checkpoint;
import dev.mfn.training.Devices;
import dev.mfn.training.FaceTrainer;
import dev.mfn.training.MetricsLog;
import dev.mfn.training.Phase;
import dev.mfn.training.RunLock;
import dev.mfn.training.TrainingListener;
import dev.mfn.training.TrainingOptions;
import dev.mfn.training.TrainingResult;
import dev.mfn.training.TrainingState;
import dev.mfn.training.loader.ShardSet;
import dev.mfn.training.report.ModelCard;
import dev.mfn.training.report.TrainingPlots;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** `mfn train`: shards in, a new model-store version out (parameters, card, plots, metrics). */
@Command(
    name = "train",
    mixinStandardHelpOptions = true,
    description = {
      "Train MobileFaceNet on the ingest job's shards with DJL's PyTorch engine: softmax first, then",
      "ArcFace from the softmax weights when the validation loss stops improving (or at",
      "--arcface-epoch). SGD with momentum, warm-up, cosine decay in the ArcFace phase, weight decay",
      "(--weight-decay) 4e-5 on the convolutions and 4e-4 on the layers after the global operator",
      "(GDConv, the 1x1 to 128, the classifier), none on BatchNorm and PReLU. Checkpoints every --checkpoint-every steps",
      "and at each epoch's end; --resume picks up an interrupted run. The version becomes visible",
      "(latest, --model STORE) only once complete. Then 10-fold verification on the pairs sets given (--lfw, --cfp), a",
      "threshold, a model card (JSON + Markdown), plots (PNG) and metrics (JSON lines) in the new",
      "version folder of the model store. --publish announces it on the models topic, once it passes the",
      "model gate: sane embeddings and verification accuracy on the gate's pairs (--gate-pairs, else --lfw)",
      "at least the serving model's minus --gate-tolerance. A refused model is recorded on the topic",
      "(RETIRED, with the reason), never served, and the command exits with status 3; --force overrides.",
      "--json: the lines a person reads go to stderr, and stdout gets one JSON document at the end: ok,",
      "version, run, resumed_from_step, identities, training_samples, validation_samples, epochs, steps,",
      "images, training_seconds, images_per_second, validation_accuracy, onnx, onnx_error, threshold,",
      "threshold_at_far, target_far, evaluations [{dataset, pairs, photos, faces, fallbacks, rejected,",
      "mean_accuracy, std_accuracy, best_threshold, tar_at_far_1e3, threshold_at_far_1e3}], plots,",
      "peak_memory_mb, and with --publish: gate {passed, reason, forced}, announced, models_topic, sequence."
    })
final class TrainCommand implements Callable<Integer> {
  static final class Budget {
    @Option(names = "--epochs", paramLabel = "E", description = "Train this many epochs.")
    Integer epochs;

    @Option(names = "--minutes", paramLabel = "M", description = "Train for this long (time in training steps; validation passes and checkpoints come on top,"
        + " a few %%); the schedule is planned to fit and planned again as the speed is measured.")
    Double minutes;
  }

  @Option(names = "--shards", paramLabel = "DIR", required = true, description = "The ingest job's output (manifest.json, train/, validation/).")
  Path shards;

  @Option(names = "--model-store", paramLabel = "DIR", description = "Model store to add a version to (default: setting model.store).")
  Path store;

  @ArgGroup(exclusive = false, multiplicity = "1")
  Budget budget;

  @Option(names = "--batch", paramLabel = "N", defaultValue = "32", description = "Batch size (default: ${DEFAULT-VALUE}: fastest on 2 CPU cores, 27 img/s vs 18 at 64; the paper used 512 on GPUs).")
  int batch;

  @Option(names = "--lr", paramLabel = "LR", defaultValue = "0.05", description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
  float lr;

  @Option(names = "--warmup", paramLabel = "STEPS", defaultValue = "200", description = "Warm-up steps (default: ${DEFAULT-VALUE}).")
  int warmup;

  @Option(names = "--arcface-epoch", paramLabel = "E", description = "Switch to ArcFace after epoch E (default: on a validation-loss plateau or at half the planned steps).")
  Integer arcFaceEpoch;

  @Option(names = "--scale", paramLabel = "S", defaultValue = "auto", description = {
      "ArcFace scale s, or auto (default): min(64, 4 * sqrt(2) * ln(C - 1)) for C classes, i.e. 4x",
      "AdaCos's fixed scale: 33 for 350 classes, the paper's 64 from about 80,000."})
  String scale;

  @Option(
      names = "--weight-decay",
      paramLabel = "BODY[,HEAD]",
      defaultValue = "4e-5,4e-4",
      description = "Weight decay of the convolutions before the global operator, and of the layers after it"
          + " (GDConv, the 1x1 to 128, the classifier); one value: both (default: ${DEFAULT-VALUE}, the paper's;"
          + " BatchNorm and PReLU are never decayed).")
  String weightDecay;

  @Option(names = "--checkpoint-every", paramLabel = "STEPS", defaultValue = "500", description = "Steps between checkpoints, besides one at each epoch's end (default: ${DEFAULT-VALUE}; 0: epochs only).")
  int checkpointEvery;

  @Option(names = "--keep-checkpoints", paramLabel = "K", defaultValue = "3", description = "Checkpoints kept on disk, the newest (default: ${DEFAULT-VALUE}).")
  int keepCheckpoints;

  @Option(names = "--margin", paramLabel = "M", defaultValue = "0.5", description = "ArcFace angular margin m in radians (default: ${DEFAULT-VALUE}; 0 with --cos-margin: CosFace).")
  float margin;

  @Option(
      names = "--average",
      paramLabel = "DECAY",
      description = "Keep an exponential moving average of the weights (decay e.g. 0.999, warmed up as"
          + " min(d, (1 + t) / (10 + t)) at step t: d is reached at step (10d - 1) / (1 - d), 8,990 for 0.999)"
          + " and make it the model (default: the last step's weights).")
  Double average;

  @Option(
      names = "--jitter",
      description = "Jitter every training crop on the fly, anew each epoch: shift +-6 px, scale +-10%%,"
          + " rotation +-10 degrees, brightness and contrast +-20%% (the ingest job's augmented copies are"
          + " drawn once and seen every epoch).")
  boolean jitter;

  @Option(
      names = "--jitter-strength",
      paramLabel = "K",
      description = "With --jitter: every jitter range times K, --erase's share and --low-res aside (0.25 to 3; 1.5: shift +-9 px,"
          + " scale +-15%%, rotation +-15 degrees, brightness and contrast +-30%%; default: 1).")
  Double jitterStrength;

  @Option(
      names = "--erase",
      paramLabel = "SHARE",
      description = "Random erasing: grey out one rectangle of half the training crops, drawn anew each epoch,"
          + " covering 2%% to SHARE of the crop (at most 0.5; e.g. 0.25), aspect 0.3 to 3.3. With or without --jitter.")
  Double erase;

  @Option(
      names = "--fill-outside",
      description = "Paint over the black the aligner left where a training crop reaches past its photo (tightly"
          + " cropped photos: CFP's leave 27%% of a crop black on average) with what surrounds it, before the"
          + " jitter (OpenCV inpainting). With or without --jitter.")
  boolean fillOutside;

  @Option(
      names = "--low-res",
      paramLabel = "SIDE",
      description = "Low resolution: shrink half the training crops, drawn anew each epoch, to a side of SIDE to"
          + " 100%% of their own and enlarge them back (SIDE at least 0.15, below 1; e.g. 0.4), as a small face in a small photo"
          + " looks: CFP's crops come from large, sharp faces, LFW's have about a seventh of their fine detail."
          + " With or without --jitter.")
  Double lowRes;

  @Option(
      names = "--clip-grad",
      paramLabel = "NORM",
      description = "Scale a step's body gradient down to this L2 norm when it is larger (arcface_torch clips at 5;"
          + " default: no clipping; at 5 it changed the recipe: bench/RESULTS.md). With or without it, a run whose loss"
          + " becomes NaN stops with one line naming its newest (finite) checkpoint. One device only.")
  Float clipGrad;

  @Option(
      names = "--cos-margin",
      paramLabel = "M3",
      description = "Second phase only: an additive cosine margin in (0, 1) (CosFace's m) taken off the true class's"
          + " cosine after the angular --margin: --margin 0 --cos-margin 0.35 trains CosFace, both together the"
          + " combined margin (e.g. --margin 0.3 --cos-margin 0.2; default: none, ArcFace).")
  Float cosMargin;

  @Option(
      names = "--label-smoothing",
      paramLabel = "EPS",
      description = "Label smoothing in both phases: the loss's target puts 1 - EPS on the true class and spreads EPS"
          + " over all classes (e.g. 0.1; default: none).")
  Float labelSmoothing;

  @Option(
      names = "--dropout",
      paramLabel = "P",
      description = "Dropout before the embedding: zero this share of the 512 features entering the 1x1 to 128 at each"
          + " training step (e.g. 0.2; default: none; inference never drops).")
  Float dropout;

  @Option(names = "--device", paramLabel = "D", defaultValue = "cpu", description = "cpu, gpu (all GPUs) or gpu:N (default: ${DEFAULT-VALUE}).")
  String device;

  @Option(names = "--loader-workers", paramLabel = "N", defaultValue = "2", description = "Threads decoding batches (default: ${DEFAULT-VALUE}).")
  int workers;

  @Option(names = "--seed", paramLabel = "N", defaultValue = "42", description = "Random seed: initialisation and data order (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--resume-if-interrupted", description = {"Continue the store's newest interrupted run made with these",
      "options and shards if there is one, else start a new version: what a retried training Job runs."})
  boolean resumeIfInterrupted;

  @Option(names = "--resume", description = {"Continue the store's interrupted run from its last checkpoint. Give the same",
      "options and shards as the interrupted run: a checkpoint that was made with others is refused."})
  boolean resume;

  @Option(names = "--lfw", paramLabel = "DIR", description = "Evaluate on LFW's 6,000 pairs afterwards (its threshold goes into the model).")
  Path lfw;

  @Option(names = "--cfp", paramLabel = "DIR", description = "Evaluate on CFP frontal-profile pairs afterwards (all splits; see --cfp-split).")
  Path cfp;

  @Option(
      names = "--cfp-split",
      paramLabel = "N",
      description = "With --cfp: score CFP-FF and CFP-FP on split N alone (7: people 301-350), the test of a"
          + " model trained without its people (default: CFP-FP on every split).")
  Integer cfpSplit;

  @Option(names = "--target-far", paramLabel = "FAR", description = "False-accept rate the 1:N search threshold is chosen for (default: setting search.target.far, 1e-4).")
  Double targetFar;

  @Option(names = "--publish", description = "Announce the new version on the models topic (setting topic.models).")
  boolean publish;

  @Option(names = "--gate-pairs", paramLabel = "DIR", description = "Pairs (LFW layout: pairs.txt, images/) the model must verify on before --publish announces it (default: the --lfw pairs).")
  Path gatePairs;

  @Option(names = "--gate-tolerance", paramLabel = "F", defaultValue = "0.01", description = "Accuracy (fraction) the new model may lose against the one serving (default: ${DEFAULT-VALUE}).")
  double gateTolerance;

  @Option(names = "--models-topic", paramLabel = "T", description = "Where --publish announces (default: setting topic.models).")
  String modelsTopic;

  @Option(names = "--force", description = "Announce even if the gate refuses the model (operators only: it is recorded as forced).")
  boolean force;

  @Option(names = "--bootstrap", paramLabel = "HOST:PORT", description = "Kafka for --publish (default: setting kafka.bootstrap).")
  String bootstrap;

  @Option(names = "--no-progress", description = "No progress bar.")
  boolean noProgress;

  @Option(names = "--json", description = JsonOutput.HELP)
  boolean json;

  /** What --json prints at the end, filled in as the run goes. */
  private final Map<String, Object> doc = JsonOutput.document();

  @Mixin FaceOptions face;
  @Spec CommandSpec spec;
  private final MfnSettings settings;

  TrainCommand(MfnSettings settings) {
    this.settings = settings;
  }

  @Override
  public Integer call() throws Exception {
    // with --json the lines a person reads go to stderr: stdout carries the one document
    PrintWriter out = json ? spec.commandLine().getErr() : spec.commandLine().getOut();
    float[] decay = parseDecay(weightDecay);
    TrainingOptions options =
        TrainingOptions.defaults(shards)
            .withBudget(budget.epochs, budget.minutes)
            .withBatch(batch, lr, warmup)
            .withPhases(arcFaceEpoch, parseScale(scale), margin)
            .withDecay(decay[0], decay[1])
            .withDevice(device, workers)
            .withSeed(seed)
            .withCheckpoints(checkpointEvery, keepCheckpoints)
            .withAverage(average)
            .withJitter(jitter)
            .withJitterStrength(jitterStrength)
            .withErase(erase)
            .withClipGrad(clipGrad)
            .withCosMargin(cosMargin)
            .withLabelSmoothing(labelSmoothing)
            .withDropout(dropout)
            .withFillOutside(fillOutside)
            .withLowRes(lowRes);
    options.validate();
    if (cfpSplit != null && cfp == null) {
      throw new IllegalArgumentException("--cfp-split needs --cfp DIR");
    }
    Devices.parse(options.device()); // no GPU where one was asked for: say so before anything is made
    ShardSet shardSet = ShardSet.open(shards);
    // a wrong pairs folder or split fails now, not after hours of training
    if (lfw != null) {
      PairSets.lfw(lfw);
    }
    if (cfp != null && cfpSplit == null) {
      PairSets.cfp(cfp, PairSets.CfpProtocol.FP);
    }
    if (cfpSplit != null) {
      for (PairSets.CfpProtocol protocol : PairSets.CfpProtocol.values()) {
        PairSets.cfpSplit(cfp, protocol, cfpSplit);
      }
      SortedSet<String> people = PairSets.cfpPeople(PairSets.cfpSplit(cfp, PairSets.CfpProtocol.FP, cfpSplit));
      SortedSet<String> seen = new TreeSet<>(people);
      seen.retainAll(shardSet.identities());
      out.printf("CFP split %d: people %s-%s, %s%n", cfpSplit, people.first(), people.last(),
          seen.isEmpty() ? "none of them in the training shards (held out)"
              : seen.size() + " of " + people.size() + " in the training shards: NOT a held-out score");
    }
    ModelStore modelStore = new ModelStore(store != null ? store : settings.getPath("model.store"));
    Picked picked = pick(modelStore, options, shardSet);
    try (RunLock lock = picked.lock()) {
      return train(out, options, shardSet, modelStore, picked.run());
    }
  }

  private Integer train(PrintWriter out, TrainingOptions options, ShardSet shardSet, ModelStore modelStore, Path run)
      throws Exception {
    String version = run.getFileName().toString();
    doc.put("ok", true); // settled at the end
    doc.put("version", version);
    doc.put("run", run.toString());
    doc.put("resumed_from_step", null);
    if (Checkpoint.exists(run)) {
      long step = Checkpoint.state(run).orElseThrow().step();
      doc.put("resumed_from_step", step);
      out.printf("resuming %s from its checkpoint at step %d%n", version, step);
    }
    doc.put("identities", shardSet.classes());
    doc.put("training_samples", shardSet.samples(ShardSet.Split.TRAIN));
    doc.put("validation_samples", shardSet.samples(ShardSet.Split.VALIDATION));
    out.printf("training %s: %d identities, %d training / %d validation samples -> %s%n", version,
        shardSet.classes(), shardSet.samples(ShardSet.Split.TRAIN), shardSet.samples(ShardSet.Split.VALIDATION), run);

    TrainingResult result;
    ForwardingListener forward = new ForwardingListener();
    FaceTrainer trainer = new FaceTrainer(options, run, forward); // refuses a mismatched --resume
    try (ProgressBar bar = Progress.bar("train " + version, 1, "steps", noProgress)) {
      forward.target = listener(bar, out);
      result = trainer.train();
    }
    out.printf(Locale.ROOT, "trained %d epochs, %d steps, %d images in %.1f min (%.1f img/s); validation accuracy %.3f%n",
        result.state().epoch(), result.state().step(), result.state().images(),
        result.state().trainingSeconds() / 60, result.imagesPerSecond(),
        result.validation() == null ? Double.NaN : result.validation().accuracy());
    doc.put("epochs", result.state().epoch());
    doc.put("steps", result.state().step());
    doc.put("images", result.state().images());
    doc.put("training_seconds", JsonOutput.number(result.state().trainingSeconds()));
    doc.put("images_per_second", JsonOutput.number(result.imagesPerSecond()));
    doc.put("validation_accuracy", result.validation() == null ? null : JsonOutput.number(result.validation().accuracy()));

    ModelConfig config = ModelConfig.mobileFaceNet(version, Instant.now().toString(), null).withStoreId(modelStore.id());
    config = config.withChecksum(ModelStore.checksum(run.resolve(config.parameters())));
    config.write(run); // the embedder reads it; the threshold is added below
    // the serving graph for ONNX Runtime, checked against these parameters by whoever opens it
    try {
      config = dev.mfn.model.export.OnnxExport.export(run);
      doc.put("onnx", run.resolve(config.onnx().file()).toString());
      doc.put("onnx_error", null);
      out.printf("exported %s (ONNX, BatchNorm folded): the embedders serve it by default%n", run.resolve(config.onnx().file()));
    } catch (IOException | RuntimeException e) {
      // hours of training are not lost to an export problem: the parameters serve on PyTorch
      doc.put("onnx", null);
      doc.put("onnx_error", e.getMessage());
      out.printf("no ONNX export (%s): the version serves on PyTorch; try again with mfn export --model %s%n", e.getMessage(), run);
    }
    List<VerificationReport> reports = new ArrayList<>();
    try (Embedder embedder = EmbeddingModels.open(run)) { // what will serve: model.onnx on ONNX Runtime
      if (lfw != null) {
        reports.add(EvalCommand.evaluate(settings, face, embedder, version, "LFW", PairSets.lfw(lfw), true, noProgress));
      }
      if (cfp != null && cfpSplit != null) {
        // FP first: without --lfw the first set gives the threshold, and FP is what --cfp alone scores
        for (PairSets.CfpProtocol protocol : List.of(PairSets.CfpProtocol.FP, PairSets.CfpProtocol.FF)) {
          reports.add(EvalCommand.evaluate(settings, face, embedder, version, "CFP-" + protocol + "-" + cfpSplit,
              PairSets.cfpSplit(cfp, protocol, cfpSplit), true, noProgress));
        }
      } else if (cfp != null) {
        reports.add(EvalCommand.evaluate(settings, face, embedder, version, "CFP-FP",
            PairSets.cfp(cfp, PairSets.CfpProtocol.FP), true, noProgress));
      }
    }
    if (lfw != null) {
      config = config.withEvalPairs(lfw.toAbsolutePath().toString());
    }
    doc.put("threshold", null);
    doc.put("threshold_at_far", null);
    doc.put("target_far", null);
    if (!reports.isEmpty()) {
      var first = reports.get(0).result();
      double far = targetFar != null ? targetFar : settings.getDouble("search.target.far");
      config = config.withThreshold((float) first.bestThreshold())
          .withThresholdAtFar((float) Verification.thresholdAtFar(first.roc(), far), far);
      config.write(run);
      doc.put("threshold", config.threshold());
      doc.put("threshold_at_far", config.thresholdAtFar());
      doc.put("target_far", far);
      out.printf(Locale.ROOT, "thresholds: %.4f for 1:1 verification (best accuracy), %.4f for 1:N search (FAR %.0e on %s)%n",
          config.threshold(), config.thresholdAtFar(), far, reports.get(0).dataset());
    }
    List<Map<String, Object>> evaluations = new ArrayList<>();
    for (VerificationReport r : reports) {
      r.writeJson(run.resolve("eval-" + r.dataset().toLowerCase(Locale.ROOT) + ".json"));
      out.print(r.table());
      evaluations.add(evaluation(r));
    }
    doc.put("evaluations", evaluations);
    List<Path> plots = TrainingPlots.write(run.resolve("plots"), MetricsLog.read(run.resolve("metrics.jsonl")), reports);
    ObjectNode card =
        ModelCard.json(config, options, result, reports,
            new ModelCard.Context(Instant.now().toString(), Machine.describe(), command(),
                Machine.peakResidentBytes(), trainableParameters(), shardSet.totals(), shardSet.classes()));
    ModelCard.write(run, card);
    // everything is on disk: only now may latest() (and so every `--model STORE`) pick it
    ModelStore.complete(run);
    Checkpoint.delete(run);
    int status = 0;
    doc.put("plots", plots.size());
    if (publish) {
      status = gateAndAnnounce(run, config, reports, out);
    }
    long peakMb = Machine.peakResidentBytes() / (1024 * 1024);
    out.printf("model %s: %s (model-card.md, plots/ with %d charts, metrics.jsonl); peak memory %d MB%n",
        version, run, plots.size(), peakMb);
    if (reports.isEmpty()) {
      out.println("no pairs set given (--lfw, --cfp): the model has no verification threshold yet");
    }
    if (json) {
      doc.put("peak_memory_mb", peakMb);
      doc.put("ok", status == 0);
      JsonOutput.print(spec.commandLine().getOut(), doc);
    }
    return status;
  }

  /** One pairs set's verification, as the --json document gives it. */
  private static Map<String, Object> evaluation(VerificationReport r) {
    Map<String, Object> m = JsonOutput.document();
    m.put("dataset", r.dataset());
    m.put("pairs", r.pairs());
    m.put("photos", r.photos());
    m.put("faces", r.faces());
    m.put("fallbacks", r.fallbacks());
    m.put("rejected", r.rejected());
    m.put("mean_accuracy", JsonOutput.number(r.result().meanAccuracy()));
    m.put("std_accuracy", JsonOutput.number(r.result().stdAccuracy()));
    m.put("best_threshold", JsonOutput.number(r.result().bestThreshold()));
    m.put("tar_at_far_1e3", JsonOutput.number(r.result().tarAtFar1e3()));
    m.put("threshold_at_far_1e3", JsonOutput.number(r.result().thresholdAtFar1e3()));
    return m;
  }

  /** Exit status of a run whose model was trained but refused by the gate (not announced). */
  static final int REFUSED = 3;

  /**
   * The model gate, then the announcement: the new version must verify on the gate's pairs (--gate-pairs,
   * else the --lfw pairs it was evaluated on) at least as well as the model the topic makes serve,
   * minus --gate-tolerance, with sane embeddings. Passed: a PUBLISHED event. Refused: a RETIRED
   * event with the reason (so the refusal is on record where the followers look), nothing served.
   */
  private int gateAndAnnounce(Path run, ModelConfig config, List<VerificationReport> reports, PrintWriter out) throws Exception {
    ModelAnnouncer topic = new ModelAnnouncer(bootstrap != null ? bootstrap : settings.kafkaBootstrap(),
        modelsTopic != null ? modelsTopic : settings.topics().models());
    List<dev.mfn.records.ModelEvent> history = topic.history();
    var serving = ModelAnnouncer.timeline(history);
    ModelGate.Verdict verdict;
    if (force) {
      verdict = new ModelGate.Verdict(true, "forced by the operator (--force): the gate was not run", Double.NaN, null, 0);
    } else {
      verdict = gate(run, serving.serving() ? serving.current() : null);
    }
    Files.writeString(run.resolve("gate.json"), new com.fasterxml.jackson.databind.ObjectMapper().writerWithDefaultPrettyPrinter()
        .writeValueAsString(Map.of("passed", verdict.passed(), "reason", verdict.reason(),
            "served", serving.serving() ? serving.current().version() : "")));
    ModelConfig announced = config;
    Map<String, Object> gate = JsonOutput.document();
    gate.put("passed", verdict.passed());
    gate.put("reason", verdict.reason());
    gate.put("forced", force);
    doc.put("gate", gate);
    doc.put("models_topic", topic.topic());
    doc.put("announced", verdict.passed());
    doc.put("sequence", null);
    if (!verdict.passed()) {
      topic.append(sequence -> ModelAnnouncer.about(dev.mfn.records.ModelEventKind.RETIRED, announced.id(),
          run.toAbsolutePath().toUri().toString(), announced.checksum(), sequence, "refused by the gate: " + verdict.reason()));
      out.printf("model %s NOT announced: refused by the gate: %s (recorded on %s; --force announces it anyway)%n",
          config.version(), verdict.reason(), topic.topic());
      return REFUSED;
    }
    dev.mfn.records.ModelEvent event = topic.append(sequence -> {
      dev.mfn.records.ModelEvent e = ModelAnnouncer.published(run, announced, reports, sequence, "gate " + verdict.line());
      e.setForced(force);
      return e;
    });
    doc.put("sequence", event.getSequence());
    out.printf("gate %s%n", verdict.line());
    out.printf("announced %s on %s (sequence %d)%n", config.id(), topic.topic(), event.getSequence());
    return 0;
  }

  private ModelGate.Verdict gate(Path run, dev.mfn.flink.embed.ModelTimeline.Model served) throws Exception {
    Path pairs = gatePairs != null ? gatePairs : lfw;
    if (pairs == null) {
      return new ModelGate.Verdict(false, "no pair set to check it on (give --gate-pairs DIR or --lfw DIR)", Double.NaN, null, 0);
    }
    ModelGate.Options options = new ModelGate.Options(PairSets.lfw(pairs), pairs.toString(), gateTolerance, 32);
    try (FaceCropper cropper = face.openCropper(settings);
        Embedder candidate = EmbeddingModels.open(run)) {
      if (served == null) {
        return new ModelGate(cropper, options).check(candidate, null);
      }
      Embedder current;
      try {
        current = EmbeddingModels.open(served.path());
      } catch (Exception e) {
        return new ModelGate.Verdict(false, "the serving model " + served.version() + " cannot be opened here to compare with: "
            + e.getMessage(), Double.NaN, null, 0);
      }
      try (current) {
        return new ModelGate(cropper, options).check(candidate, current);
      }
    }
  }

  /** Lets the trainer be made (and refuse a bad --resume) before the progress bar exists. */
  private static final class ForwardingListener implements TrainingListener {
    TrainingListener target = new TrainingListener() {};

    @Override
    public void onStep(TrainingState state, float loss, float learningRate) {
      target.onStep(state, loss, learningRate);
    }

    @Override
    public void onEpoch(TrainingState state, Validation validation) {
      target.onEpoch(state, validation);
    }

    @Override
    public void onPlanned(long plannedSteps) {
      target.onPlanned(plannedSteps);
    }

    @Override
    public void onPhase(Phase phase, int epoch) {
      target.onPhase(phase, epoch);
    }

    @Override
    public void onCheckpoint(TrainingState state) {
      target.onCheckpoint(state);
    }
  }

  private TrainingListener listener(ProgressBar bar, PrintWriter out) {
    return new TrainingListener() {
      @Override
      public void onPlanned(long plannedSteps) {
        bar.maxHint(plannedSteps);
      }

      @Override
      public void onStep(TrainingState state, float loss, float learningRate) {
        bar.stepTo(state.step());
        bar.setExtraMessage(String.format(Locale.ROOT, " %s loss %.3f lr %.4f", state.phase().name().toLowerCase(Locale.ROOT), loss, learningRate));
      }

      @Override
      public void onPhase(Phase phase, int epoch) {
        bar.setExtraMessage(" switching to " + phase + " after epoch " + epoch);
      }

      @Override
      public void onEpoch(TrainingState state, Validation v) {
        if (noProgress) {
          out.printf(Locale.ROOT, "epoch %d (%s): validation loss %.4f, accuracy %.4f; step %d%n",
              state.epoch(), state.phase(), v.loss(), v.accuracy(), state.step());
        }
      }
    };
  }

  private record Picked(Path run, RunLock lock) {}

  /**
   * The run folder this command trains, locked: a new version; with --resume the newest interrupted
   * run (one still incomplete, with a checkpoint, that no process is training); with
   * --resume-if-interrupted the newest such run made with these options and shards, else a new
   * version (what a retried Kubernetes Job does: the first pod's run, not a fresh start).
   */
  private Picked pick(ModelStore store, TrainingOptions options, ShardSet shardSet) throws IOException {
    if (resume || resumeIfInterrupted) {
      Checkpoint.RunIdentity wanted = Checkpoint.RunIdentity.of(options, shardSet);
      int busy = 0;
      for (Path candidate : interrupted(store)) {
        Optional<RunLock> lock = RunLock.tryAcquire(candidate);
        if (lock.isEmpty()) {
          busy++;
          continue; // another process is training it
        }
        if (resume || Checkpoint.latest(candidate).orElseThrow().identity().mismatch(wanted).isEmpty()) {
          return new Picked(candidate, lock.get()); // --resume: a mismatch is refused by the trainer
        }
        lock.get().close();
      }
      if (resume) {
        throw new IOException("--resume: no interrupted run with a checkpoint in " + store.root()
            + (busy > 0 ? " (" + busy + " being trained by another process)" : ""));
      }
    }
    Path run = store.reserveNext();
    return new Picked(run, RunLock.tryAcquire(run).orElseThrow(() -> new IOException("cannot lock " + run)));
  }

  /** Version folders still being made that have a checkpoint, newest first. */
  static List<Path> interrupted(ModelStore store) throws IOException {
    if (!Files.isDirectory(store.root())) {
      return List.of();
    }
    try (var children = Files.list(store.root())) {
      List<Path> candidates = new ArrayList<>();
      for (Path p : children.filter(p -> p.getFileName().toString().matches("v\\d+")).toList()) {
        // a diverged run is not resumed: it would repeat the same steps (FaceTrainer.DIVERGED)
        if (ModelStore.incomplete(p) && Checkpoint.exists(p) && !Files.exists(p.resolve(dev.mfn.training.FaceTrainer.DIVERGED))) {
          candidates.add(p);
        }
      }
      candidates.sort(java.util.Comparator.comparingInt((Path p) -> Integer.parseInt(p.getFileName().toString().substring(1))).reversed());
      return candidates;
    }
  }

  /** --scale: a number, or auto (null: the default for the number of classes). */
  static Float parseScale(String value) {
    if (value == null || value.equalsIgnoreCase("auto")) {
      return null;
    }
    try {
      return Float.parseFloat(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--scale must be a number or auto, not '" + value + "'");
    }
  }

  /** A decay as a person writes it: unsigned decimal, optional exponent (no 5e-4f, no hex, no -0). */
  private static final Pattern DECIMAL = Pattern.compile("\\+?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?");

  /** "BODY,HEAD" or one value for both. */
  static float[] parseDecay(String value) {
    String[] parts = value.split(",", -1);
    try {
      if (parts.length == 1) {
        float both = decay(parts[0]);
        return new float[] {both, both};
      }
      if (parts.length == 2) {
        return new float[] {decay(parts[0]), decay(parts[1])};
      }
    } catch (NumberFormatException e) {
      // the one message below
    }
    throw new IllegalArgumentException("--weight-decay must be BODY,HEAD or one number, e.g. 5e-4, not '" + value + "'");
  }

  private static float decay(String part) {
    String text = part.strip();
    if (!DECIMAL.matcher(text).matches()) {
      throw new NumberFormatException(text);
    }
    float f = Float.parseFloat(text);
    if (f == 0f && new java.math.BigDecimal(text).signum() != 0) {
      throw new NumberFormatException(text + " is below float precision: it would be 0");
    }
    return f;
  }

  private String command() {
    return "mfn " + String.join(" ", spec.commandLine().getParseResult().originalArgs());
  }

  static long trainableParameters() {
    try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
      SequentialBlock body = MobileFaceNet.body();
      body.initialize(manager, DataType.FLOAT32, MobileFaceNet.inputShape(1));
      return body.getParameters().values().stream()
          .filter(Parameter::requiresGradient)
          .mapToLong(p -> p.getArray().size())
          .sum();
    }
  }
}
