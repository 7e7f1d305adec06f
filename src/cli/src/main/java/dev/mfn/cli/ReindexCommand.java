package dev.mfn.cli;

import dev.mfn.config.MfnSettings;
import dev.mfn.face.crop.FaceCropper;
import dev.mfn.model.Embedder;
import dev.mfn.model.PhotoEmbedder;
import dev.mfn.search.enroll.Reindexer;
import dev.mfn.search.index.VectorIndex;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** `mfn reindex --model NEW --from OLD`: a new model's index from the crops stored in the old one. */
@Command(
    name = "reindex",
    mixinStandardHelpOptions = true,
    description = {
      "Build the embedded index of a model version (--model) from the aligned crops stored in the",
      "index of another version (--from), without the original photos: every crop is embedded by",
      "the new model and stored with the same subject, image and box. The old index stays as it is",
      "until you delete its folder, so searches with the old model keep working meanwhile. Subjects",
      "erased with `mfn delete` (tombstones on topic.deleted, read from Kafka) are never copied."
    })
final class ReindexCommand implements Callable<Integer> {
  @Option(names = "--from", paramLabel = "VERSION", required = true, description = "Index version to read the crops from (a folder name under the index folder).")
  String from;

  @Option(names = "--bootstrap", paramLabel = "HOST:PORT", description = "Kafka, for the tombstones of deleted subjects (default: setting kafka.bootstrap).")
  String bootstrap;

  @Option(names = "--no-progress", description = "No progress bar.")
  boolean noProgress;

  @Mixin IndexOptions indexOptions;
  @Mixin FaceOptions face;
  @Spec CommandSpec spec;
  private final MfnSettings settings;

  ReindexCommand(MfnSettings settings) {
    this.settings = settings;
  }

  @Override
  public Integer call() throws Exception {
    if (!indexOptions.versions(settings).contains(from)) {
      throw new IllegalArgumentException("no index version '" + from + "' (there are: " + indexOptions.versions(settings) + ")");
    }
    try (FaceCropper cropper = face.openCropper(settings);
        Embedder embedder = Models.open(indexOptions.model, settings)) {
      String version = IndexOptions.version(embedder, indexOptions.model, settings);
      if (version.equals(from)) {
        throw new IllegalArgumentException("--from is the model's own version (" + version + ")");
      }
      PhotoEmbedder photos = new PhotoEmbedder(cropper, embedder, true, false, settings.getInt("embed.batch.size"));
      try (VectorIndex old = indexOptions.openIndex(settings, from);
          VectorIndex next = indexOptions.openIndex(settings, version)) {
        Reindexer.Result result;
        // the bar is closed (its line ended) before the summary is printed
        try (ProgressBar bar = Progress.bar("reindex", old.count(), "faces", noProgress)) {
          // erased subjects are never copied forward (subjects.deleted, followed up to now)
          String servers = bootstrap != null ? bootstrap : settings.kafkaBootstrap();
          dev.mfn.publish.KafkaAccess.prepare(servers, settings.topics().deleted(), 1, 10_000,
              java.util.Map.of("cleanup.policy", "compact", "retention.ms", "-1"));
          try (var erasures = dev.mfn.flink.embed.Erasures.open(servers, settings.topics().deleted())) {
            erasures.catchUp(java.time.Duration.ofSeconds(30));
            result = new Reindexer(photos, version, settings.getInt("embed.batch.size"))
                .run(old, next, d -> !erasures.erased(d.subject()), bar::stepTo);
          }
          bar.stepTo(old.count());
        }
        spec.commandLine().getOut().printf("re-indexed %d faces from %s into %s (%s now holds %d); %d without a stored crop%n",
            result.written(), from, version, indexOptions.describe(settings, version), next.count(), result.skipped());
      }
    }
    return 0;
  }
}
