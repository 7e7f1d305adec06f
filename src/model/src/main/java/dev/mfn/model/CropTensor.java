package dev.mfn.model;

import java.util.List;
import org.opencv.core.CvType;
import org.opencv.core.Mat;

/**
 * Packs 112x112 BGR crops into one NCHW float array, (x - mean) / std per value, in BGR or RGB
 * channel order: the input layout MobileFaceNet-style models expect.
 */
public record CropTensor(float mean, float std, boolean rgb) {
  /** The reference ONNX model's preprocessing: BGR, (x - 127.5) / 127.5. */
  public static final CropTensor REFERENCE = new CropTensor(127.5f, 127.5f, false);

  /** What our trained MobileFaceNets see, in training and after: BGR, (x - 127.5) / 128. */
  public static final CropTensor TRAINED = new CropTensor(127.5f, 128f, false);

  public float[] pack(List<Mat> crops, int size) {
    int plane = size * size;
    float[] out = new float[crops.size() * 3 * plane];
    byte[] pixels = new byte[plane * 3];
    float scale = 1f / std;
    for (int n = 0; n < crops.size(); n++) {
      Mat crop = crops.get(n);
      if (crop.rows() != size || crop.cols() != size || crop.type() != CvType.CV_8UC3) {
        throw new IllegalArgumentException(
            "crop must be " + size + "x" + size + " BGR, got " + crop);
      }
      crop.get(0, 0, pixels);
      int base = n * 3 * plane;
      for (int i = 0; i < plane; i++) {
        for (int c = 0; c < 3; c++) {
          int channel = rgb ? 2 - c : c;
          out[base + channel * plane + i] = ((pixels[3 * i + c] & 0xFF) - mean) * scale;
        }
      }
    }
    return out;
  }
}
