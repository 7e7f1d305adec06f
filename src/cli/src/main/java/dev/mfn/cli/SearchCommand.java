package dev.mfn.cli;

import dev.mfn.config.MfnSettings;
import dev.mfn.face.FaceRejected;
import dev.mfn.face.crop.FaceCropper;
import dev.mfn.model.Embedder;
import dev.mfn.search.FaceSearch;
import dev.mfn.search.enroll.FaceEmbedStage;
import dev.mfn.search.index.VectorIndex;
import dev.mfn.search.index.SearchHit;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** `mfn search IMAGE`: who is in this photo? */
@Command(
    name = "search",
    mixinStandardHelpOptions = true,
    description = {
      "Search the embedded index with a photo: every face in it, with its k most similar enrolled",
      "faces (subject, cosine similarity, image), and 'unknown' when even the best is below the",
      "model's 1:N threshold at its target false-accept rate (config.json threshold_far; --threshold overrides).",
      "--json prints one JSON document: ok, image, model, runtime, index_faces, threshold, threshold_source",
      "and faces (face, box [x, y, width, height], unknown, subject, hits: similarity, subject, image_id, face_index, id)."
    })
final class SearchCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "IMAGE", description = "The photo to search with.")
  Path image;

  @Option(names = "--k", paramLabel = "K", defaultValue = "5", description = "Matches per face (default: ${DEFAULT-VALUE}).")
  int k;

  @Option(names = "--threshold", paramLabel = "T", description = "Similarity below which a face is 'unknown'.")
  Double threshold;

  @Option(names = "--json", description = JsonOutput.HELP)
  boolean json;

  @Mixin IndexOptions indexOptions;
  @Mixin FaceOptions face;
  @Spec CommandSpec spec;
  private final MfnSettings settings;

  SearchCommand(MfnSettings settings) {
    this.settings = settings;
  }

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    byte[] photo;
    try {
      photo = dev.mfn.face.decode.PhotoFiles.read(image, settings.getLong("decode.max.bytes"));
    } catch (FaceRejected e) {
      return refused(e);
    }
    try (FaceCropper cropper = face.openCropper(settings);
        Embedder embedder = Models.open(indexOptions.model, settings)) {
      String version = IndexOptions.version(embedder, indexOptions.model, settings);
      Models.Threshold cutoff = Models.searchThreshold(embedder, threshold);
      double t = cutoff.value();
      try (VectorIndex index = indexOptions.openIndex(settings, version)) {
        if (index.count() == 0) {
          throw new IllegalStateException("the index for model " + version + " is empty (" + indexOptions.describe(settings, version)
              + "): enroll photos first with `mfn enroll DIR`");
        }
        FaceSearch search = new FaceSearch(IndexOptions.stage(cropper, embedder, version, FaceEmbedStage.Faces.ALL, 8), index, t);
        List<FaceSearch.FaceMatches> faces;
        try {
          faces = search.search(photo, k);
        } catch (FaceRejected e) {
          return refused(e);
        }
        if (json) {
          JsonOutput.print(out, document(faces, version, embedder.runtime(), index.count(), cutoff));
          return 0;
        }
        out.printf(Locale.ROOT, "%s: %d face(s); index %s holds %d faces; unknown below %.3f (%s); model on %s%n",
            image, faces.size(), version, index.count(), t, cutoff.source(), embedder.runtime());
        for (int i = 0; i < faces.size(); i++) {
          FaceSearch.FaceMatches f = faces.get(i);
          out.printf(Locale.ROOT, "face %d at %.0f,%.0f %.0fx%.0f: %s%n", i + 1, f.box()[0], f.box()[1], f.box()[2], f.box()[3],
              f.unknown() ? "unknown" : f.bestSubject());
          for (SearchHit h : f.hits()) {
            out.printf(Locale.ROOT, "  %.3f  %s  (%s)%n", h.similarity(), h.subject(), h.imageId());
          }
        }
      }
    }
    return 0;
  }

  /** A photo that cannot be searched: one line on stderr, and with --json its document on stdout. */
  private int refused(FaceRejected e) {
    spec.commandLine().getErr().println("mfn search: " + image + ": " + e.reason() + " (" + e.getMessage() + ")");
    if (json) {
      Map<String, Object> doc = JsonOutput.document();
      doc.put("ok", false);
      doc.put("error", image + ": " + e.getMessage());
      doc.put("reason", e.reason().name());
      doc.put("image", image.toString());
      JsonOutput.print(spec.commandLine().getOut(), doc);
    }
    return 1;
  }

  /** What the human summary says, as --json prints it. */
  private Map<String, Object> document(List<FaceSearch.FaceMatches> faces, String version, String runtime, long indexed,
      Models.Threshold cutoff) {
    List<Map<String, Object>> list = new ArrayList<>();
    for (int i = 0; i < faces.size(); i++) {
      FaceSearch.FaceMatches f = faces.get(i);
      List<Map<String, Object>> hits = new ArrayList<>();
      for (SearchHit h : f.hits()) {
        Map<String, Object> hit = JsonOutput.document();
        hit.put("similarity", h.similarity()); // a float, as the index stores it
        hit.put("subject", h.subject());
        hit.put("image_id", h.imageId());
        hit.put("face_index", h.faceIndex());
        hit.put("id", h.id());
        hits.add(hit);
      }
      Map<String, Object> m = JsonOutput.document();
      m.put("face", i + 1);
      m.put("box", List.of(f.box()[0], f.box()[1], f.box()[2], f.box()[3]));
      m.put("unknown", f.unknown());
      m.put("subject", f.bestSubject()); // null when unknown
      m.put("hits", hits);
      list.add(m);
    }
    Map<String, Object> doc = JsonOutput.document();
    doc.put("ok", true);
    doc.put("image", image.toString());
    doc.put("model", version);
    doc.put("runtime", runtime);
    doc.put("index_faces", indexed);
    doc.put("threshold", JsonOutput.number(cutoff.value()));
    doc.put("threshold_source", cutoff.source());
    doc.put("faces", list);
    return doc;
  }
}
