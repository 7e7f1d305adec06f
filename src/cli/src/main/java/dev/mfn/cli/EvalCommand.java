package dev.mfn.cli;

import dev.mfn.config.MfnSettings;
import dev.mfn.evaluate.Pair;
import dev.mfn.evaluate.PairSets;
import dev.mfn.evaluate.VerificationReport;
import dev.mfn.evaluate.VerificationRun;
import dev.mfn.face.crop.FaceCropper;
import dev.mfn.face.detect.blazeface.BlazeFaceDetector;
import dev.mfn.model.Embedder;
import dev.mfn.model.PhotoEmbedder;
import java.nio.file.Path;
import java.util.List;
import java.util.SortedSet;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** `mfn eval`: the 10-fold verification protocol on LFW or CFP. */
@Command(
    name = "eval",
    mixinStandardHelpOptions = true,
    description = {
      "Verification accuracy of a model with our detector and aligner: every photo of the pairs is",
      "embedded once (crop + mirrored crop), pairs are scored by cosine similarity, and each fold's",
      "accuracy uses the threshold that is best on the other folds. Prints a table (mean +- std,",
      "TAR at FAR=1e-3) and writes JSON with the folds and the ROC. Photos without a face are",
      "embedded from their central square (counted in the table)."
    })
final class EvalCommand implements Callable<Integer> {
  static final class Dataset {
    @Option(names = "--lfw", paramLabel = "DIR", description = "LFW folder with pairs.txt and images/.")
    Path lfw;

    @Option(names = "--cfp", paramLabel = "DIR", description = "CFP folder with Protocol/ and Data/.")
    Path cfp;
  }

  @ArgGroup(exclusive = true, multiplicity = "1")
  Dataset dataset;

  @Option(names = "--protocol", paramLabel = "FF|FP", description = "CFP protocol (default: ${DEFAULT-VALUE}).", defaultValue = "FP")
  PairSets.CfpProtocol protocol;

  @Option(
      names = "--split",
      paramLabel = "N",
      description = {
        "CFP: score split N of the protocol alone (7: people 301-350), dealt into 10 folds: the test",
        "of a model trained without its people (default: all splits)."
      })
  Integer split;

  @Option(names = "--model", paramLabel = "MODEL", description = Models.HELP)
  Path model;

  @Option(names = "--out", paramLabel = "FILE", description = "JSON report (default: build/eval/<dataset>-<detector>.json).")
  Path out;

  @Option(names = "--no-flip", description = "Embed the crop only, without its mirror image.")
  boolean noFlip;

  @Option(names = "--no-progress", description = "No progress bar.")
  boolean noProgress;

  @Option(
      names = "--blazeface-passes",
      paramLabel = "both|gated",
      description = {
        "BlazeFace: the short-range close-up model on every photo (both, the default), or only where",
        "the full-range pass found no confident face or a close-up (gated); full and short run one",
        "model alone. Named in the report (detector blazeface-gated, ...)."
      })
  String blazefacePasses;

  @Mixin FaceOptions face;
  @Spec CommandSpec spec;
  private final MfnSettings settings;

  EvalCommand(MfnSettings settings) {
    this.settings = settings;
  }

  /** The protocol for one pairs set with an open embedder (also run by `mfn train` after training). */
  static VerificationReport evaluate(
      MfnSettings settings, FaceOptions face, Embedder embedder, String modelName, String name,
      List<Pair> pairs, boolean flip, boolean noProgress) throws Exception {
    int photos = VerificationRun.photos(pairs).size();
    try (FaceCropper cropper = face.openCropper(settings);
        ProgressBar bar = Progress.bar("eval " + name, photos, "photos", noProgress)) {
      PhotoEmbedder photoEmbedder =
          new PhotoEmbedder(cropper, embedder, flip, true, settings.getInt("embed.batch.size"));
      return new VerificationRun(photoEmbedder)
          .run(name, modelName, face.detectorLabel(settings), flip, pairs, bar::stepTo);
    }
  }

  @Override
  public Integer call() throws Exception {
    List<Pair> pairs;
    String name;
    if (split != null && dataset.lfw != null) {
      throw new IllegalArgumentException("--split is for CFP's protocol; LFW's 10 folds are scored together");
    }
    if (dataset.lfw != null) {
      pairs = PairSets.lfw(dataset.lfw);
      name = "LFW";
    } else if (split != null) {
      pairs = PairSets.cfpSplit(dataset.cfp, protocol, split);
      name = "CFP-" + protocol + "-" + split;
      SortedSet<String> people = PairSets.cfpPeople(pairs);
      spec.commandLine().getOut().printf("CFP split %d: %d pairs of %d people (%s-%s)%n",
          split, pairs.size(), people.size(), people.first(), people.last());
    } else {
      pairs = PairSets.cfp(dataset.cfp, protocol);
      name = "CFP-" + protocol;
    }
    if (blazefacePasses != null) {
      face.blazefacePasses = BlazeFaceDetector.Passes.parse(blazefacePasses);
    }
    String detector = face.detectorLabel(settings);
    VerificationReport report;
    try (Embedder embedder = Models.open(model, settings)) {
      spec.commandLine().getOut().println("embedder: " + embedder.describe() + "; detector " + detector);
      report = evaluate(settings, face, embedder, Models.name(model, settings), name, pairs, !noFlip, noProgress);
    }
    Path json =
        out != null
            ? out
            : settings.home().resolve("eval").resolve(name.toLowerCase() + "-" + detector + ".json");
    report.writeJson(json);
    spec.commandLine().getOut().print(report.table());
    spec.commandLine().getOut().println("report: " + json);
    return 0;
  }
}
