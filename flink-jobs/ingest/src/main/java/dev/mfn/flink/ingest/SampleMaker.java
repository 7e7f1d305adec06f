package dev.mfn.flink.ingest;

import dev.mfn.face.augment.Augmentation;
import dev.mfn.face.augment.FaceAugmenter;
import dev.mfn.records.CropFormat;
import dev.mfn.records.FaceSample;
import dev.mfn.records.Split;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.imgcodecs.Imgcodecs;

/**
 * Turns a kept face into its samples. The split is chosen by a hash of the image id (all samples
 * of one photo share it), so a re-run splits the same way:
 * <ul>
 *   <li>a TRAIN photo gives the crop itself plus the augmentations of its tier, each seeded by the
 *       image id, so a re-run writes identical pixels;
 *   <li>a VALIDATION photo gives its crop only ({@link Augmentation#NONE}), whatever the tier: the
 *       validation set measures the model on real photos, one sample per photo.
 * </ul>
 */
public final class SampleMaker {
  private final FaceAugmenter augmenter = new FaceAugmenter();
  private final double validationFraction;

  public SampleMaker(double validationFraction) {
    this.validationFraction = validationFraction;
  }

  /** Validation when the image id's hash falls in the lowest {@code validationFraction}. */
  public static Split split(String imageId, double validationFraction) {
    long h = stableHash(imageId) >>> 1; // 63 uniform bits
    return h < (long) (validationFraction * Long.MAX_VALUE) ? Split.VALIDATION : Split.TRAIN;
  }

  /** FNV-1a 64-bit with a final mix: stable across JVMs and runs, unlike String.hashCode's spread. */
  public static long stableHash(String s) {
    long h = 0xcbf29ce484222325L;
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      h ^= b & 0xff;
      h *= 0x100000001b3L;
    }
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    return h;
  }

  /**
   * The samples of one kept photo: one per variant of its tier for a TRAIN photo; for a VALIDATION
   * photo only the un-augmented crop (when the tier writes it, as every tier but DROP does).
   */
  public List<FaceSample> samples(CroppedFace face, List<Augmentation> variants, Instant now) {
    Split split = split(face.imageId, validationFraction);
    List<Augmentation> written = split == Split.TRAIN ? variants
        : variants.contains(Augmentation.NONE) ? List.of(Augmentation.NONE) : List.of();
    List<FaceSample> out = new ArrayList<>(written.size());
    Mat crop = null;
    try {
      for (Augmentation variant : written) {
        byte[] png = face.png;
        if (variant != Augmentation.NONE) {
          if (crop == null) {
            crop = Imgcodecs.imdecode(new MatOfByte(face.png), Imgcodecs.IMREAD_COLOR);
          }
          Mat augmented = augmenter.apply(crop, variant, stableHash(face.imageId + "/" + variant));
          MatOfByte buffer = new MatOfByte();
          Imgcodecs.imencode(".png", augmented, buffer);
          png = buffer.toArray();
          augmented.release();
          buffer.release();
        }
        List<Float> landmarks = new ArrayList<>(10);
        for (float v : face.landmarks) {
          landmarks.add(v);
        }
        out.add(
            FaceSample.newBuilder()
                .setId(face.imageId + "/" + variant.name().toLowerCase())
                .setImageId(face.imageId)
                .setSubject(face.subject)
                .setLabel(-1) // assigned by LabelAssigner
                .setSplit(split)
                .setAugmentation(dev.mfn.records.Augmentation.valueOf(variant.name()))
                .setCropFormat(CropFormat.PNG)
                .setCrop(ByteBuffer.wrap(png))
                .setLandmarks(landmarks)
                .setDetector(face.detector)
                .setDetectionScore(face.score)
                .setAlignmentResidual(face.residual)
                .setTimestamp(now)
                .build());
      }
    } finally {
      if (crop != null) {
        crop.release();
      }
    }
    return out;
  }
}
