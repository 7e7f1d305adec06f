package dev.mfn.flink.embed;

import dev.mfn.model.Embedder;
import dev.mfn.model.EmbeddingModels;
import dev.mfn.model.PhotoEmbedder;
import dev.mfn.search.enroll.Reindexer;
import dev.mfn.search.index.FaceDocument;
import dev.mfn.search.index.VectorIndex;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves searches to a new model version without the original photos: re-embeds the crops stored
 * in the served version's index into the new version's index, and serves the new one only when it
 * holds every face the old one holds.
 *
 * <p>Meanwhile the embed job writes new photos into the new version already, and a task that had
 * not switched yet may still add a few to the old one; so the migration makes a first pass, waits
 * for the settle point, and repeats passes over the faces the new index lacks until a pass finds
 * none after {@code settled} says that no old-model
 * document can still be on its way (the caller knows: a checkpoint that followed the model event
 * has completed, so every task switched and every sink flushed). The ids (image + face + version)
 * make every pass idempotent, and a restarted migration cheap.
 */
final class IndexMigration {
  private static final Logger LOG = LoggerFactory.getLogger(IndexMigration.class);
  private final IndexTarget target;
  private final int batchSize;
  private final BooleanSupplier settled;

  IndexMigration(IndexTarget target, int batchSize, BooleanSupplier settled) {
    this.target = target;
    this.batchSize = batchSize;
    this.settled = settled;
  }

  /** Faces the migration wrote into the new version, and the number of passes it took. */
  record Result(String from, String to, long written, int passes, boolean served) {}

  Result migrate(String fromVersion, Path newModel, BooleanSupplier cancelled) throws IOException, InterruptedException {
    try (Embedder embedder = EmbeddingModels.open(newModel)) {
      String newVersion = EmbeddingModels.version(embedder, newModel);
      // only stored crops are embedded here: no detector is needed
      Reindexer reindexer = new Reindexer(new PhotoEmbedder(null, embedder, true, false, batchSize), newVersion, batchSize);
      try (VectorIndex from = target.open(fromVersion);
          VectorIndex to = target.open(newVersion)) {
        long written = 0;
        int passes = 0;
        while (!cancelled.getAsBoolean()) {
          boolean quiet = settled.getAsBoolean(); // asked before the pass: the pass then sees all
          Set<String> present = faces(to);
          Reindexer.Result pass = reindexer.run(from, to, d -> !present.contains(face(d)), n -> {});
          passes++;
          written += pass.written();
          if (pass.written() == 0 && quiet) {
            to.serve();
            LOG.info("index {} holds every face of {} ({} re-embedded in {} passes): now served", newVersion, fromVersion, written, passes);
            return new Result(fromVersion, newVersion, written, passes, true);
          }
          // a pass reads every stored face of both indexes: wait for the settle point instead of
          // repeating it, so a migration takes two passes unless old-model faces keep arriving
          while (!settled.getAsBoolean() && !cancelled.getAsBoolean()) {
            Thread.sleep(200);
          }
        }
        return new Result(fromVersion, newVersion, written, passes, false);
      }
    }
  }

  private static Set<String> faces(VectorIndex index) throws IOException {
    Set<String> faces = new HashSet<>();
    index.forEachStored(d -> faces.add(face(d)));
    return faces;
  }

  private static String face(FaceDocument d) {
    return d.imageId() + "#" + d.faceIndex();
  }
}
