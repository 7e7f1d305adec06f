package dev.mfn.search.enroll;

import dev.mfn.face.FaceRejected;
import dev.mfn.face.RejectReason;
import dev.mfn.face.crop.FaceCrop;
import dev.mfn.face.crop.FaceCropper;
import dev.mfn.model.PhotoEmbedder;
import dev.mfn.search.index.FaceDocument;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.imgcodecs.Imgcodecs;

/**
 * Photos in, index documents out: decode, detect (every face, or only the chosen one), align,
 * embed the crops of all photos together in batches (crop + mirror, as the evaluation that set the
 * threshold did). The plain-class core of the embed job; the Flink operator wraps it.
 */
public final class FaceEmbedStage {
  /** Which faces of a photo are indexed. */
  public enum Faces {
    ALL,
    CHOSEN
  }

  /**
   * A photo to enroll.
   *
   * @param source where the photo came from (the RawImage's source), for display; null when not
   *     known. Its faces' documents carry it, since the index keeps no copy of the photo itself
   */
  public record Photo(String imageId, String subject, byte[] bytes, String source) {
    /** A photo whose source is not known (a search query, a bench). */
    public Photo(String imageId, String subject, byte[] bytes) {
      this(imageId, subject, bytes, null);
    }
  }

  /** The documents made, and the photos refused with their reason. */
  public record Result(List<FaceDocument> documents, Map<String, RejectReason> rejected) {}

  private final FaceCropper cropper;
  private final PhotoEmbedder embedder;
  private final String modelVersion;
  private final Faces faces;

  public FaceEmbedStage(FaceCropper cropper, PhotoEmbedder embedder, String modelVersion, Faces faces) {
    this.cropper = cropper;
    this.embedder = embedder;
    this.modelVersion = modelVersion;
    this.faces = faces;
  }

  public Result embed(List<Photo> photos) {
    List<FaceCrop> crops = new ArrayList<>();
    List<Photo> owners = new ArrayList<>();
    List<Integer> indexes = new ArrayList<>();
    Map<String, RejectReason> rejected = new LinkedHashMap<>();
    for (Photo photo : photos) {
      try {
        List<FaceCrop> found =
            faces == Faces.ALL ? cropper.cropAll(photo.bytes()) : List.of(cropper.cropChosen(photo.bytes()));
        if (found.isEmpty()) {
          rejected.put(photo.imageId(), RejectReason.NO_FACE);
        }
        for (int i = 0; i < found.size(); i++) {
          crops.add(found.get(i));
          owners.add(photo);
          indexes.add(i);
        }
      } catch (FaceRejected e) {
        rejected.put(photo.imageId(), e.reason());
      }
    }
    List<FaceDocument> documents = new ArrayList<>(crops.size());
    if (!crops.isEmpty()) {
      float[][] vectors = embedder.embedCrops(crops.stream().map(c -> c.aligned().crop()).toList());
      for (int k = 0; k < crops.size(); k++) {
        FaceCrop crop = crops.get(k);
        var b = crop.face().box();
        // the publication time is the caller's to add (the embed job knows it, a Photo does not)
        documents.add(new FaceDocument(owners.get(k).imageId(), indexes.get(k), owners.get(k).subject(),
            modelVersion, vectors[k], new float[] {(float) b.x(), (float) b.y(), (float) b.width(), (float) b.height()},
            png(crop.aligned().crop()), 0, owners.get(k).source()));
        crop.release();
      }
    }
    return new Result(documents, rejected);
  }

  static byte[] png(Mat crop) {
    MatOfByte out = new MatOfByte();
    Imgcodecs.imencode(".png", crop, out);
    byte[] bytes = out.toArray();
    out.release();
    return bytes;
  }
}
