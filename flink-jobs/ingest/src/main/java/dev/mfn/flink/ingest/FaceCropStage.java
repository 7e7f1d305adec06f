package dev.mfn.flink.ingest;

import dev.mfn.face.FaceRejected;
import dev.mfn.face.crop.FaceCrop;
import dev.mfn.face.crop.FaceCropper;
import dev.mfn.face.detect.Landmarks;
import dev.mfn.flink.common.PhotoSource;
import dev.mfn.records.RawImage;
import org.opencv.core.MatOfByte;
import org.opencv.imgcodecs.Imgcodecs;

/**
 * The ingest job's per-photo stage as a plain class: RawImage in, aligned face out, or a
 * {@link FaceRejected} with its reason. The Flink operator ({@link CropFunction}) only wraps it.
 */
public final class FaceCropStage implements AutoCloseable {
  private final FaceCropper cropper;
  private final PhotoSource photos;

  /** @param photos where photos sent by reference may be read from */
  public FaceCropStage(FaceCropper cropper, PhotoSource photos) {
    this.cropper = cropper;
    this.photos = photos;
  }

  public CroppedFace crop(RawImage image) throws FaceRejected {
    if (image.getSubject() == null) {
      throw new FaceRejected(dev.mfn.face.RejectReason.EMPTY_INPUT, "training photo without a subject");
    }
    String badSubject = dev.mfn.records.Subjects.problem(image.getSubject());
    if (badSubject != null) {
      throw new FaceRejected(dev.mfn.face.RejectReason.BAD_SUBJECT, badSubject);
    }
    FaceCrop crop = cropper.cropChosen(photos.bytes(image));
    try {
      MatOfByte png = new MatOfByte();
      Imgcodecs.imencode(".png", crop.aligned().crop(), png);
      byte[] bytes = png.toArray();
      png.release();
      Landmarks l = crop.face().landmarks();
      float[] points = new float[10];
      for (int i = 0; i < 10; i++) {
        points[i] = (float) l.xy()[i];
      }
      return new CroppedFace(
          image.getId(), image.getSubject(), bytes, points, crop.face().detector(),
          (float) crop.face().score(), (float) crop.aligned().residual());
    } finally {
      crop.release();
    }
  }

  @Override
  public void close() {
    cropper.close();
  }
}
