package dev.mfn.face.decode;

/** Image formats recognised from their bytes. */
public enum ImageFormat {
  JPEG("image/jpeg", true),
  PNG("image/png", true),
  BMP("image/bmp", true),
  WEBP("image/webp", true),
  GIF("image/gif", false),
  TIFF("image/tiff", false);

  private final String mimeType;
  private final boolean decodable;

  ImageFormat(String mimeType, boolean decodable) {
    this.mimeType = mimeType;
    this.decodable = decodable;
  }

  public String mimeType() {
    return mimeType;
  }

  /** Whether our decoder (OpenCV) reads it. */
  public boolean decodable() {
    return decodable;
  }
}
