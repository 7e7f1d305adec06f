package dev.mfn.face.crop;

import dev.mfn.face.FaceRejected;
import dev.mfn.face.RejectReason;
import dev.mfn.face.align.AlignedFace;
import dev.mfn.face.align.SimilarityAligner;
import dev.mfn.face.decode.ImageDecoder;
import dev.mfn.face.detect.DetectedFace;
import dev.mfn.face.detect.FaceChooser;
import dev.mfn.face.detect.FaceDetector;
import dev.mfn.face.detect.Landmarks;
import java.util.ArrayList;
import java.util.List;
import org.opencv.core.Mat;

/**
 * The face core's stages in order: decode, detect, choose, align. One instance per thread (it owns
 * a detector). Every refusal is a {@link FaceRejected} with its reason.
 */
public final class FaceCropper implements AutoCloseable {
  private final ImageDecoder decoder;
  private final FaceDetector detector;
  private final FaceChooser chooser;
  private final SimilarityAligner aligner = new SimilarityAligner();

  public FaceCropper(ImageDecoder decoder, FaceDetector detector, FaceChooser chooser) {
    this.decoder = decoder;
    this.detector = detector;
    this.chooser = chooser;
  }

  public FaceDetector detector() {
    return detector;
  }

  /** The most bytes a photo may have (the decoder's limit): read files with it (PhotoFiles). */
  public long maxBytes() {
    return decoder.maxBytes();
  }

  /** The chosen face of a photo (training, verification). */
  public FaceCrop cropChosen(byte[] photo) throws FaceRejected {
    return guarded(() -> cropChosenUnguarded(photo));
  }

  private FaceCrop cropChosenUnguarded(byte[] photo) throws FaceRejected {
    Mat image = decoder.decode(photo);
    try {
      DetectedFace face = chooser.choose(detector.detect(image), image.cols(), image.rows());
      return new FaceCrop(face, aligner.align(image, face.landmarks()), image.cols(), image.rows());
    } finally {
      image.release();
    }
  }

  /**
   * The chosen face, or when the photo holds none, its central square as if it were a face (the
   * template's landmarks placed on the central half of the shorter side). Decode errors still throw.
   */
  public FaceCrop cropChosenOrCenter(byte[] photo) throws FaceRejected {
    return guarded(() -> cropChosenOrCenterUnguarded(photo));
  }

  private FaceCrop cropChosenOrCenterUnguarded(byte[] photo) throws FaceRejected {
    Mat image = decoder.decode(photo);
    try {
      DetectedFace face;
      try {
        face = chooser.choose(detector.detect(image), image.cols(), image.rows());
      } catch (FaceRejected noFace) {
        return new FaceCrop(null, centerCrop(image), image.cols(), image.rows());
      }
      return new FaceCrop(face, aligner.align(image, face.landmarks()), image.cols(), image.rows());
    } finally {
      image.release();
    }
  }

  /** Every face of a photo, best first (search, enrollment of group photos). */
  public List<FaceCrop> cropAll(byte[] photo) throws FaceRejected {
    return guarded(() -> cropAllUnguarded(photo));
  }

  private List<FaceCrop> cropAllUnguarded(byte[] photo) throws FaceRejected {
    Mat image = decoder.decode(photo);
    try {
      List<FaceCrop> crops = new ArrayList<>();
      for (DetectedFace face : detector.detect(image)) {
        try {
          crops.add(new FaceCrop(face, aligner.align(image, face.landmarks()), image.cols(), image.rows()));
        } catch (FaceRejected unusable) {
          // a degenerate detection among others: skip it, keep the rest
        }
      }
      return crops;
    } finally {
      image.release();
    }
  }

  /**
   * Maps the 112x112 template onto the central square whose side is half the shorter image side,
   * which is where a face sits in a centred portrait (e.g. LFW's 250x250 photos).
   */
  AlignedFace centerCrop(Mat image) throws FaceRejected {
    double side = Math.min(image.cols(), image.rows()) / 2.0;
    double scale = side / SimilarityAligner.SIZE;
    Landmarks placed =
        SimilarityAligner.TEMPLATE.scaled(
            scale, (image.cols() - side) / 2.0, (image.rows() - side) / 2.0);
    return aligner.align(image, placed);
  }

  private interface Step<T> {
    T run() throws FaceRejected;
  }

  /**
   * A library exception (OpenCV, the detector's runtime) on one photo becomes that photo's refusal
   * (PROCESSING_FAILED): a job must set the photo aside, not fail and replay it forever.
   */
  private static <T> T guarded(Step<T> step) throws FaceRejected {
    try {
      return step.run();
    } catch (RuntimeException e) {
      String message = String.valueOf(e.getMessage());
      throw new FaceRejected(RejectReason.PROCESSING_FAILED, e.getClass().getSimpleName() + ": "
          + (message.length() > 200 ? message.substring(0, 200) + "..." : message));
    }
  }

  @Override
  public void close() {
    detector.close();
  }
}
