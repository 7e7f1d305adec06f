package dev.mfn.search;

import dev.mfn.face.FaceRejected;
import dev.mfn.search.enroll.FaceEmbedStage;
import dev.mfn.search.index.FaceDocument;
import dev.mfn.search.index.SearchHit;
import dev.mfn.search.index.VectorIndex;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * 1:N search by photo: every face of the photo, its k nearest enrolled faces, and "unknown" when
 * even the best match is below the model's verification threshold.
 */
public final class FaceSearch {
  /** One face of the query photo and what it matched. */
  public record FaceMatches(float[] box, List<SearchHit> hits, boolean unknown) {
    public String bestSubject() {
      return unknown || hits.isEmpty() ? null : hits.get(0).subject();
    }
  }

  private final FaceEmbedStage faces;
  private final VectorIndex index;
  private final double threshold;

  public FaceSearch(FaceEmbedStage faces, VectorIndex index, double threshold) {
    this.faces = faces;
    this.index = index;
    this.threshold = threshold;
  }

  public List<FaceMatches> search(byte[] photo, int k) throws IOException, FaceRejected {
    FaceEmbedStage.Result result = faces.embed(List.of(new FaceEmbedStage.Photo("query", null, photo)));
    if (!result.rejected().isEmpty()) {
      var reason = result.rejected().values().iterator().next();
      throw new FaceRejected(reason, "no usable face in the photo");
    }
    List<FaceMatches> matches = new ArrayList<>();
    for (FaceDocument face : result.documents()) {
      List<SearchHit> hits = index.search(face.vector(), k);
      boolean unknown = hits.isEmpty() || hits.get(0).similarity() < threshold;
      matches.add(new FaceMatches(face.box(), hits, unknown));
    }
    return matches;
  }
}
