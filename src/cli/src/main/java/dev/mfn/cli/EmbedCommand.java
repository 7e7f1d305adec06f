package dev.mfn.cli;

import dev.mfn.config.MfnSettings;
import dev.mfn.face.RejectReason;
import dev.mfn.face.crop.FaceCropper;
import dev.mfn.model.Embedder;
import dev.mfn.model.PhotoEmbedder;
import dev.mfn.model.PhotoEmbedding;
import java.io.BufferedWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** `mfn embed`: one L2-normalised embedding per photo of a list, as CSV. */
@Command(
    name = "embed",
    mixinStandardHelpOptions = true,
    description = {
      "Embed the chosen face of every photo in LIST (one path per line; relative paths are taken",
      "relative to the list's folder). OUT gets one line per input, in input order:",
      "path,v1,...,vN (L2-normalised). A photo without a usable face gets empty values, unless",
      "--fallback center embeds its central square instead. Ends with the counts."
    })
final class EmbedCommand implements Callable<Integer> {
  @Option(names = "--model", paramLabel = "MODEL", description = Models.HELP)
  Path model;

  @Option(names = "--list", paramLabel = "LIST", required = true, description = "Text file, one image path per line.")
  Path list;

  @Option(names = "--out", paramLabel = "OUT.csv", required = true, description = "CSV to write.")
  Path out;

  @Option(names = "--flip", description = "Add the embedding of the mirrored crop (then normalise).")
  boolean flip;

  @Option(names = "--fallback", paramLabel = "center", description = "What to embed when no face is found: 'center' (the central square).")
  String fallback;

  @Option(names = "--no-progress", description = "No progress bar.")
  boolean noProgress;

  @Mixin FaceOptions face;
  @Spec CommandSpec spec;
  private final MfnSettings settings;

  EmbedCommand(MfnSettings settings) {
    this.settings = settings;
  }

  @Override
  public Integer call() throws Exception {
    if (fallback != null && !fallback.equals("center")) {
      throw new IllegalArgumentException("--fallback takes 'center', not '" + fallback + "'");
    }
    Path base = list.toAbsolutePath().getParent();
    List<String> lines =
        Files.readAllLines(list).stream().map(String::strip).filter(l -> !l.isEmpty()).toList();
    List<Path> files = lines.stream().map(base::resolve).toList();
    List<PhotoEmbedding> results;
    String runtime;
    try (FaceCropper cropper = face.openCropper(settings);
        Embedder embedder = Models.open(model, settings);
        ProgressBar bar = Progress.bar("embed", files.size(), "photos", noProgress)) {
      runtime = embedder.describe();
      results =
          new PhotoEmbedder(cropper, embedder, flip, fallback != null, settings.getInt("embed.batch.size"))
              .embedFiles(files, bar::stepTo);
    }
    int dimension = results.stream().filter(PhotoEmbedding::ok).mapToInt(r -> r.vector().length).findFirst().orElse(0);
    int faces = 0, centers = 0;
    Map<RejectReason, Integer> missing = new EnumMap<>(RejectReason.class);
    if (out.toAbsolutePath().getParent() != null) {
      Files.createDirectories(out.toAbsolutePath().getParent());
    }
    try (BufferedWriter w = Files.newBufferedWriter(out)) {
      for (int i = 0; i < results.size(); i++) {
        PhotoEmbedding r = results.get(i);
        StringBuilder line = new StringBuilder(csv(lines.get(i)));
        if (r.ok()) {
          for (float v : r.vector()) {
            line.append(',').append(v);
          }
          if (r.fallback()) {
            centers++;
          } else {
            faces++;
          }
        } else {
          line.append(",".repeat(dimension));
          missing.merge(r.rejected(), 1, Integer::sum);
        }
        w.write(line.toString());
        w.newLine();
      }
    }
    var o = spec.commandLine().getOut();
    o.printf("embedded %d photos into %s: face found %d, central square %d, not embedded %d%n",
        results.size(), out, faces, centers, results.size() - faces - centers);
    missing.forEach((reason, n) -> o.printf("  not embedded, %s (%s): %d%n", reason, reason.description(), n));
    o.println("embedder: " + runtime);
    return 0;
  }

  private static String csv(String s) {
    return s.contains(",") || s.contains("\"") ? '"' + s.replace("\"", "\"\"") + '"' : s;
  }
}
