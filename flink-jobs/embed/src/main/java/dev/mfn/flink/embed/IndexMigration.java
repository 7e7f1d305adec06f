package dev.mfn.flink.embed;

import dev.mfn.model.Embedder;
import dev.mfn.model.EmbeddingModels;
import dev.mfn.model.PhotoEmbedder;
import dev.mfn.search.enroll.Reindexer;
import dev.mfn.search.index.FaceDocument;
import dev.mfn.search.index.VectorIndex;
import java.io.IOException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves searches to another model version without the original photos: re-embeds the crops stored
 * in the indexes of the versions it comes from (the one served, and the one the embed tasks wrote
 * before the switch, e.g. a retired one) into the target version's index, and serves the target
 * only when it holds every face they hold.
 *
 * <p>Meanwhile the embed job writes new photos into the target already, and a task that had not
 * switched yet may still add a few to the old one; so the migration repeats passes over the faces
 * the target lacks until a pass finds none after {@code settled} says that no old-model document
 * can still be on its way (the caller knows: a checkpoint that followed the switch has completed).
 * The ids (image + face + version) make every pass idempotent, and a restarted migration cheap.
 * Faces of erased subjects are never copied ({@code erased}).
 */
final class IndexMigration {
  private static final Logger LOG = LoggerFactory.getLogger(IndexMigration.class);
  private final IndexTarget target;
  private final int batchSize;
  private final BooleanSupplier settled;
  private final Erasures erased;
  /** True while a pass is done and the migration waits for the commit point (for tests, metrics). */
  private final java.util.concurrent.atomic.AtomicBoolean waiting;

  IndexMigration(IndexTarget target, int batchSize, BooleanSupplier settled, Erasures erased,
      java.util.concurrent.atomic.AtomicBoolean waiting) {
    this.waiting = waiting;
    this.target = target;
    this.batchSize = batchSize;
    this.settled = settled;
    this.erased = erased;
  }

  /** Faces the migration wrote into the target, and the number of passes it took. */
  record Result(List<String> from, String to, long written, int passes, boolean served) {}

  Result migrate(List<String> fromVersions, ModelTimeline.Model to, BooleanSupplier cancelled)
      throws IOException, InterruptedException {
    try (Embedder embedder = EmbeddingModels.open(to.path())) {
      String newVersion = EmbeddingModels.version(embedder, to.path());
      if (!newVersion.equals(to.version())) {
        throw new IOException("the model at " + to.location() + " is " + newVersion + ", not " + to.version());
      }
      // only stored crops are embedded here: no detector is needed
      Reindexer reindexer = new Reindexer(new PhotoEmbedder(null, embedder, true, false, batchSize), newVersion, batchSize);
      try (VectorIndex into = target.open(newVersion)) {
        long written = 0;
        int passes = 0;
        while (!cancelled.getAsBoolean()) {
          boolean quiet = settled.getAsBoolean(); // asked before the pass: the pass then sees all
          Set<String> present = faces(into);
          long pass = 0;
          try {
            for (String version : fromVersions) {
              try (VectorIndex from = target.open(version)) {
                pass += reindexer.run(from, into, d -> {
                  if (cancelled.getAsBoolean()) {
                    throw new java.util.concurrent.CancellationException(); // stops the pass between two faces
                  }
                  return !erased.erased(d.subject()) && present.add(face(d));
                }, n -> {}).written();
              }
            }
          } catch (java.util.concurrent.CancellationException stop) {
            return new Result(fromVersions, newVersion, written, passes, false);
          }
          passes++;
          written += pass;
          if (pass == 0 && quiet && !cancelled.getAsBoolean()) {
            // a subject deleted while a pass copied it must not be served: remove every erased
            // subject from the target first (a no-op for those it does not hold)
            erased.catchUp(java.time.Duration.ofSeconds(30));
            for (String subject : erased.active()) {
              into.deleteSubject(subject);
            }
            into.serve(to.location());
            LOG.info("index {} holds every face of {} ({} re-embedded in {} passes): now served", newVersion, fromVersions, written, passes);
            return new Result(fromVersions, newVersion, written, passes, true);
          }
          // a pass reads every stored face: wait for the settle point instead of repeating it, so a
          // migration takes two passes unless old-model faces keep arriving
          if (!settled.getAsBoolean()) {
            waiting.set(true);
            try {
              while (!settled.getAsBoolean() && !cancelled.getAsBoolean()) {
                Thread.sleep(200);
              }
            } finally {
              waiting.set(false);
            }
          }
        }
        return new Result(fromVersions, newVersion, written, passes, false);
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
