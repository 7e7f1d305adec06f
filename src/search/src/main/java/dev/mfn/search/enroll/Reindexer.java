package dev.mfn.search.enroll;

import dev.mfn.model.PhotoEmbedder;
import dev.mfn.search.index.FaceDocument;
import dev.mfn.search.index.VectorIndex;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongConsumer;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.imgcodecs.Imgcodecs;

/**
 * Builds the index of a new model version from the aligned crops stored in the old one, without
 * the original photos: each crop is embedded by the new model (crop + mirror) and written with the
 * same image id, face index, subject, box, publication time and source under the new version. The
 * old index is untouched, so searches keep using it until the new one is complete.
 */
public final class Reindexer {
  private final PhotoEmbedder embedder;
  private final String newVersion;
  private final int batchSize;

  public Reindexer(PhotoEmbedder embedder, String newVersion, int batchSize) {
    this.embedder = embedder;
    this.newVersion = newVersion;
    this.batchSize = batchSize;
  }

  /** Returns how many faces were written; faces without a stored crop are counted as skipped. */
  public Result run(VectorIndex from, VectorIndex to, LongConsumer progress) throws IOException {
    return run(from, to, d -> true, progress);
  }

  /** Re-indexes only the stored faces {@code which} accepts (e.g. those the new index lacks). */
  public Result run(VectorIndex from, VectorIndex to, java.util.function.Predicate<FaceDocument> which,
      LongConsumer progress) throws IOException {
    List<FaceDocument> pending = new ArrayList<>();
    long[] counts = new long[2];
    try {
      from.forEachStored(d -> {
        if (!which.test(d)) {
          return;
        }
        if (d.cropPng() == null) {
          counts[1]++;
          return;
        }
        pending.add(d);
        if (pending.size() >= batchSize) {
          counts[0] += write(pending, to);
          progress.accept(counts[0]);
        }
      });
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
    counts[0] += write(pending, to);
    progress.accept(counts[0]);
    return new Result(counts[0], counts[1]);
  }

  private long write(List<FaceDocument> batch, VectorIndex to) {
    if (batch.isEmpty()) {
      return 0;
    }
    List<Mat> crops = new ArrayList<>(batch.size());
    for (FaceDocument d : batch) {
      crops.add(Imgcodecs.imdecode(new MatOfByte(d.cropPng()), Imgcodecs.IMREAD_COLOR));
    }
    float[][] vectors = embedder.embedCrops(crops);
    crops.forEach(Mat::release);
    List<FaceDocument> out = new ArrayList<>(batch.size());
    for (int i = 0; i < batch.size(); i++) {
      FaceDocument d = batch.get(i);
      // the photo's publication time and source come over too: the original photo is not at hand to
      // recover them, and without them the new version's faces could not say where they came from
      out.add(new FaceDocument(d.imageId(), d.faceIndex(), d.subject(), newVersion, vectors[i], d.box(), d.cropPng(),
          d.publishedAt(), d.source()));
    }
    try {
      to.upsert(out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    int n = batch.size();
    batch.clear();
    return n;
  }

  /** Faces written to the new version, and faces skipped for want of a stored crop. */
  public record Result(long written, long skipped) {}
}
