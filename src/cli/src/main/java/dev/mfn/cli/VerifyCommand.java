package dev.mfn.cli;

import dev.mfn.config.MfnSettings;
import dev.mfn.face.FaceRejected;
import dev.mfn.face.crop.FaceCropper;
import dev.mfn.model.Embedder;
import dev.mfn.model.PhotoEmbedder;
import dev.mfn.search.verify.FaceVerifier;
import dev.mfn.search.verify.Verdict;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** `mfn verify A B`: same person or not, with the similarity and the model's threshold. */
@Command(
    name = "verify",
    mixinStandardHelpOptions = true,
    description = {
      "1:1 verification of two photos: the chosen face of each is aligned and embedded (with its",
      "mirror image), and the cosine similarity is compared with the threshold the model's",
      "evaluation calibrated (config.json of the model-store version; --threshold overrides it).",
      "Prints 'same person' or 'different people' with both numbers; --json prints them as one JSON",
      "document (ok, first, second, same_person, similarity, threshold, model, runtime)."
    })
final class VerifyCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "A", description = "First photo.")
  Path first;

  @Parameters(index = "1", paramLabel = "B", description = "Second photo.")
  Path second;

  @Option(names = "--model", paramLabel = "MODEL", description = Models.HELP)
  Path model;

  @Option(names = "--threshold", paramLabel = "T", description = "Cosine similarity from which two faces are the same person.")
  Double threshold;

  @Option(names = "--json", description = JsonOutput.HELP)
  boolean json;

  @Mixin FaceOptions face;
  @Spec CommandSpec spec;
  private final MfnSettings settings;

  VerifyCommand(MfnSettings settings) {
    this.settings = settings;
  }

  @Override
  public Integer call() throws Exception {
    try (FaceCropper cropper = face.openCropper(settings);
        Embedder embedder = Models.open(model, settings)) {
      double t = Models.threshold(embedder, threshold);
      PhotoEmbedder photos = new PhotoEmbedder(cropper, embedder, true, false, 2);
      Verdict v;
      try {
        v = new FaceVerifier(photos, t).verify(first, second);
      } catch (FaceRejected e) {
        spec.commandLine().getErr().println("mfn verify: " + e.getMessage() + " (" + e.reason() + ")");
        if (json) {
          JsonOutput.error(spec.commandLine().getOut(), e.getMessage(), e.reason().name());
        }
        return 1; // a refused photo, as `mfn search` (2 is for usage and unreachable services)
      }
      String version = IndexOptions.version(embedder, model, settings);
      if (json) {
        Map<String, Object> doc = JsonOutput.document();
        doc.put("ok", true);
        doc.put("first", first.toString());
        doc.put("second", second.toString());
        doc.put("same_person", v.samePerson());
        doc.put("similarity", JsonOutput.number(v.similarity()));
        doc.put("threshold", JsonOutput.number(v.threshold()));
        doc.put("model", version);
        doc.put("runtime", embedder.runtime());
        JsonOutput.print(spec.commandLine().getOut(), doc);
        return 0;
      }
      spec.commandLine().getOut().printf(Locale.ROOT, "%s: similarity %.3f %s threshold %.3f (model %s on %s)%n",
          v.samePerson() ? "same person" : "different people", v.similarity(),
          v.samePerson() ? ">=" : "<", v.threshold(), version, embedder.runtime());
    }
    return 0;
  }

}
