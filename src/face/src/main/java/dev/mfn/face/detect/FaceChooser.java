package dev.mfn.face.detect;

import dev.mfn.face.FaceRejected;
import dev.mfn.face.RejectReason;
import java.util.List;

/**
 * The seed's "standard face criterion": among the faces of a photo, take the largest and most
 * central one whose score passes the threshold (insightface scores each box as its area minus twice
 * the squared distance of its centre from the image centre). A face whose box is smaller than the
 * minimum (its longer side, in pixels) is refused: too small to align into a useful 112x112 crop.
 * (The box, not the eye distance: a profile's eyes are close together however large the face.)
 */
public final class FaceChooser {
  private final double minScore;
  private final double minFaceSize;

  /**
   * @param minScore detection score a face needs to be chosen
   * @param minFaceSize minimum longer side of the face box, in source pixels
   */
  public FaceChooser(double minScore, double minFaceSize) {
    this.minScore = minScore;
    this.minFaceSize = minFaceSize;
  }

  public DetectedFace choose(List<DetectedFace> faces, int imageWidth, int imageHeight)
      throws FaceRejected {
    if (faces.isEmpty()) {
      throw new FaceRejected(RejectReason.NO_FACE, "the detector found no face");
    }
    DetectedFace best = null;
    double bestValue = Double.NEGATIVE_INFINITY;
    for (DetectedFace f : faces) {
      if (f.score() < minScore) {
        continue;
      }
      double dx = f.box().centerX() - imageWidth / 2.0;
      double dy = f.box().centerY() - imageHeight / 2.0;
      double value = f.box().area() - 2.0 * (dx * dx + dy * dy);
      if (value > bestValue) {
        bestValue = value;
        best = f;
      }
    }
    if (best == null) {
      throw new FaceRejected(
          RejectReason.LOW_SCORE,
          String.format("best score %.2f < %.2f", faces.get(0).score(), minScore));
    }
    double size = Math.max(best.box().width(), best.box().height());
    if (size < minFaceSize) {
      throw new FaceRejected(
          RejectReason.FACE_TOO_SMALL, String.format("face %.0f px < %.0f px", size, minFaceSize));
    }
    return best;
  }
}
