package dev.mfn.search.verify;

import dev.mfn.face.FaceRejected;
import dev.mfn.model.PhotoEmbedder;
import dev.mfn.model.PhotoEmbedding;
import java.nio.file.Path;
import java.util.List;

/**
 * Are two photos the same person? Each photo's chosen face is aligned and embedded (with its
 * mirror image, as in the evaluation that calibrated the threshold), then compared by cosine
 * similarity with the threshold of the model version.
 */
public final class FaceVerifier {
  private final PhotoEmbedder embedder;
  private final double threshold;

  public FaceVerifier(PhotoEmbedder embedder, double threshold) {
    this.embedder = embedder;
    this.threshold = threshold;
  }

  /** @throws FaceRejected naming the photo when one has no usable face */
  public Verdict verify(Path first, Path second) throws FaceRejected {
    List<PhotoEmbedding> both = embedder.embedFiles(List.of(first, second), done -> {});
    float[] a = vector(both.get(0), first);
    float[] b = vector(both.get(1), second);
    double dot = 0;
    for (int i = 0; i < a.length; i++) {
      dot += a[i] * b[i];
    }
    return new Verdict(dot, threshold);
  }

  private static float[] vector(PhotoEmbedding e, Path photo) throws FaceRejected {
    if (!e.ok()) {
      throw new FaceRejected(e.rejected(), photo + ": " + e.rejected().description());
    }
    return e.vector();
  }
}
