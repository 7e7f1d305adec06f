package dev.mfn.cli;

import dev.mfn.config.MfnSettings;
import dev.mfn.face.RejectReason;
import dev.mfn.face.crop.FaceCropper;
import dev.mfn.model.Embedder;
import dev.mfn.publish.IdentityFolders;
import dev.mfn.publish.PhotoFile;
import dev.mfn.search.enroll.FaceEmbedStage;
import dev.mfn.search.index.LuceneVectorIndex;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** `mfn enroll DIR`: identity folders into the embedded index, in this process. */
@Command(
    name = "enroll",
    mixinStandardHelpOptions = true,
    description = {
      "Enroll identity folders (DIR/<subject>/<photos>) into the embedded vector index: the chosen",
      "face of each photo is aligned, embedded (crop + mirror) in batches and stored with its",
      "subject, box and aligned crop. Ids are image + face + model version, so enrolling again",
      "replaces instead of duplicating. This runs the embed job's stage in-process; the streaming",
      "path (images.enroll -> Flink embed job) comes with the embed job."
    })
final class EnrollCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "DIR", description = "One folder per identity.")
  Path dir;

  @Option(names = "--no-progress", description = "No progress bar.")
  boolean noProgress;

  @Mixin IndexOptions indexOptions;
  @Mixin FaceOptions face;
  @Spec CommandSpec spec;
  private final MfnSettings settings;

  EnrollCommand(MfnSettings settings) {
    this.settings = settings;
  }

  @Override
  public Integer call() throws Exception {
    if (!Files.isDirectory(dir)) {
      throw new IllegalArgumentException("not a folder: " + dir);
    }
    List<PhotoFile> photos = IdentityFolders.list(dir);
    int batch = settings.getInt("embed.batch.size");
    long enrolled = 0;
    Map<RejectReason, Integer> rejected = new TreeMap<>();
    try (FaceCropper cropper = face.openCropper(settings);
        Embedder embedder = Models.open(indexOptions.model, settings)) {
      String version = IndexOptions.version(embedder, indexOptions.model, settings);
      FaceEmbedStage stage = IndexOptions.stage(cropper, embedder, version, FaceEmbedStage.Faces.CHOSEN, batch);
      try (LuceneVectorIndex index = indexOptions.openIndex(settings, version);
          ProgressBar bar = Progress.bar("enroll", photos.size(), "photos", noProgress)) {
        for (int from = 0; from < photos.size(); from += batch) {
          List<FaceEmbedStage.Photo> chunk = new ArrayList<>();
          for (PhotoFile p : photos.subList(from, Math.min(photos.size(), from + batch))) {
            chunk.add(new FaceEmbedStage.Photo(p.source(), p.subject(), Files.readAllBytes(p.path())));
          }
          FaceEmbedStage.Result result = stage.embed(chunk);
          index.upsert(result.documents());
          enrolled += result.documents().size();
          result.rejected().values().forEach(r -> rejected.merge(r, 1, Integer::sum));
          bar.stepTo(Math.min(photos.size(), from + batch));
        }
        spec.commandLine().getOut().printf("enrolled %d faces from %d photos into %s (model %s); index holds %d%n",
            enrolled, photos.size(), index.folder(), version, index.count());
      }
    }
    if (!rejected.isEmpty()) {
      spec.commandLine().getOut().println("  not enrolled: " + rejected);
    }
    return 0;
  }
}
