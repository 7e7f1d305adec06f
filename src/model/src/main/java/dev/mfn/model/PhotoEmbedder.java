package dev.mfn.model;

import dev.mfn.face.FaceRejected;
import dev.mfn.face.crop.FaceCrop;
import dev.mfn.face.crop.FaceCropper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;
import org.opencv.core.Core;
import org.opencv.core.Mat;

/**
 * Photos in, one embedding each out: decode, detect, choose, align (the face core), then embed in
 * batches. With {@code flip}, the embedding is that of the crop plus that of its mirror image,
 * normalised (a small, well-known accuracy gain). With {@code centerFallback}, a photo without a
 * usable face is embedded from its central square instead of being rejected.
 */
public final class PhotoEmbedder {
  private final FaceCropper cropper;
  private final Embedder embedder;
  private final boolean flip;
  private final boolean centerFallback;
  private final int batchSize;

  public PhotoEmbedder(
      FaceCropper cropper, Embedder embedder, boolean flip, boolean centerFallback, int batchSize) {
    this.cropper = cropper;
    this.embedder = embedder;
    this.flip = flip;
    this.centerFallback = centerFallback;
    this.batchSize = batchSize;
  }

  /** Embeds the files in order; {@code progress} gets the number of photos done so far. */
  public List<PhotoEmbedding> embedFiles(List<Path> files, IntConsumer progress) {
    List<PhotoEmbedding> results = new ArrayList<>(files.size());
    List<FaceCrop> pending = new ArrayList<>();
    List<Integer> pendingIndex = new ArrayList<>();
    for (int i = 0; i < files.size(); i++) {
      Path file = files.get(i);
      results.add(null);
      try {
        byte[] bytes = dev.mfn.face.decode.PhotoFiles.read(file, cropper.maxBytes());
        FaceCrop crop =
            centerFallback ? cropper.cropChosenOrCenter(bytes) : cropper.cropChosen(bytes);
        pending.add(crop);
        pendingIndex.add(i);
      } catch (FaceRejected e) {
        results.set(i, new PhotoEmbedding(file.toString(), null, null, false, e.reason()));
      }
      if (pending.size() >= batchSize || i == files.size() - 1) {
        flush(files, pending, pendingIndex, results);
        progress.accept(i + 1);
      }
    }
    return results;
  }

  private void flush(
      List<Path> files, List<FaceCrop> pending, List<Integer> index, List<PhotoEmbedding> results) {
    if (pending.isEmpty()) {
      return;
    }
    float[][] vectors = embedCrops(pending.stream().map(c -> c.aligned().crop()).toList());
    for (int k = 0; k < pending.size(); k++) {
      FaceCrop crop = pending.get(k);
      int i = index.get(k);
      results.set(
          i,
          new PhotoEmbedding(files.get(i).toString(), vectors[k], crop.face(), crop.fallback(), null));
      crop.release();
    }
    pending.clear();
    index.clear();
  }

  /**
   * Embeds aligned crops (with the flip if configured), normalised. The crops and their mirrors go
   * through the model together, one forward pass per batch, in batches of at most the configured
   * size (a crowd photo's hundreds of faces must not become one huge tensor).
   */
  public float[][] embedCrops(List<Mat> crops) {
    int chunk = Math.max(1, flip ? batchSize / 2 : batchSize);
    float[][] vectors = new float[crops.size()][];
    for (int from = 0; from < crops.size(); from += chunk) {
      List<Mat> part = crops.subList(from, Math.min(crops.size(), from + chunk));
      float[][] embedded = flip ? withMirrors(part) : embedder.embed(part);
      System.arraycopy(embedded, 0, vectors, from, embedded.length);
    }
    return vectors;
  }

  /** Each crop's embedding plus its mirror's, normalised; crops and mirrors in one batch. */
  private float[][] withMirrors(List<Mat> crops) {
    List<Mat> mirrored = new ArrayList<>(crops.size());
    try {
      for (Mat crop : crops) {
        Mat m = new Mat();
        Core.flip(crop, m, 1);
        mirrored.add(m);
      }
      List<Mat> both = new ArrayList<>(2 * crops.size());
      both.addAll(crops);
      both.addAll(mirrored);
      float[][] all = embedder.embed(both);
      int n = crops.size();
      float[][] vectors = new float[n][];
      for (int k = 0; k < n; k++) {
        vectors[k] = all[k];
        for (int d = 0; d < vectors[k].length; d++) {
          vectors[k][d] += all[n + k][d];
        }
        Embedder.normalize(vectors[k]);
      }
      return vectors;
    } finally {
      mirrored.forEach(Mat::release);
    }
  }
}
