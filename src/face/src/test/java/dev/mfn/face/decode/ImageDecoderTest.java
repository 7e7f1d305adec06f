package dev.mfn.face.decode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mfn.face.FaceRejected;
import dev.mfn.face.OpenCv;
import dev.mfn.face.RejectReason;
import dev.mfn.testkit.SharedData;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.zip.CRC32;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.core.Scalar;
import org.opencv.imgcodecs.Imgcodecs;

/** Every bad input gets its reason code; good ones of every format come out upright 3-channel BGR. */
class ImageDecoderTest {
  private static byte[] photo;
  private final ImageDecoder decoder = new ImageDecoder();

  @BeforeAll
  static void loadPhoto() throws Exception {
    OpenCv.load();
    photo = Files.readAllBytes(SharedData.require("data/lfw/images/Aaron_Eckhart/Aaron_Eckhart_0001.jpg"));
  }

  @Test
  void decodesARealJpegTo3ChannelBgr() throws Exception {
    Mat m = decoder.decode(photo);
    assertThat(m.cols()).isEqualTo(250);
    assertThat(m.rows()).isEqualTo(250);
    assertThat(m.type()).isEqualTo(CvType.CV_8UC3);
  }

  @Test
  void decodesPngBmpWebpGreyAndAlphaAs3Channels() throws Exception {
    Mat colour = decoder.decode(photo);
    for (String ext : new String[] {".png", ".bmp", ".webp"}) {
      Mat m = decoder.decode(encode(colour, ext));
      assertThat(m.type()).as(ext).isEqualTo(CvType.CV_8UC3);
      assertThat(m.size()).isEqualTo(colour.size());
    }
    Mat grey = new Mat();
    org.opencv.imgproc.Imgproc.cvtColor(colour, grey, org.opencv.imgproc.Imgproc.COLOR_BGR2GRAY);
    assertThat(decoder.decode(encode(grey, ".jpg")).type()).isEqualTo(CvType.CV_8UC3);
    Mat alpha = new Mat();
    org.opencv.imgproc.Imgproc.cvtColor(colour, alpha, org.opencv.imgproc.Imgproc.COLOR_BGR2BGRA);
    assertThat(decoder.decode(encode(alpha, ".png")).type()).isEqualTo(CvType.CV_8UC3);
  }

  @Test
  void appliesExifOrientation() throws Exception {
    // A 200 x 100 JPEG marked "rotate 90 clockwise" (orientation 6) is 100 wide, 200 tall upright.
    Mat wide = new Mat(100, 200, CvType.CV_8UC3, new Scalar(0, 0, 0));
    wide.submat(0, 100, 0, 20).setTo(new Scalar(255, 255, 255)); // white band on the left edge
    byte[] jpeg = withExifOrientation(encode(wide, ".jpg"), 6);
    assertThat(ImageHeader.read(jpeg).orientation()).isEqualTo(6);
    Mat upright = decoder.decode(jpeg);
    assertThat(upright.cols()).isEqualTo(100);
    assertThat(upright.rows()).isEqualTo(200);
    // Rotated clockwise, the left edge becomes the top.
    assertThat(upright.get(5, 50)[0]).isGreaterThan(200);
    assertThat(upright.get(195, 50)[0]).isLessThan(50);
  }

  @Test
  void refusesEmptyAndNonImageBytes() {
    assertReason(new byte[0], RejectReason.EMPTY_INPUT);
    assertReason("just some text, not a photo".getBytes(StandardCharsets.UTF_8), RejectReason.NOT_AN_IMAGE);
    assertReason("GIF89a\1\0\1\0".getBytes(StandardCharsets.ISO_8859_1), RejectReason.UNSUPPORTED_FORMAT);
  }

  @Test
  void refusesTruncatedJpegAndPng() throws Exception {
    assertReason(Arrays.copyOf(photo, photo.length / 2), RejectReason.TRUNCATED);
    byte[] png = encode(decoder.decode(photo), ".png");
    assertReason(Arrays.copyOf(png, png.length - 200), RejectReason.TRUNCATED);
    assertReason(Arrays.copyOf(photo, 40), RejectReason.CORRUPT_HEADER);
  }

  @Test
  void refusesAHugePngFromItsHeaderWithoutAllocating() {
    // Only a header claiming 50,000 x 50,000 pixels (7.5 GB decoded): refused before decoding.
    byte[] header = pngHeader(50_000, 50_000);
    long before = Runtime.getRuntime().totalMemory();
    assertReason(header, RejectReason.TOO_MANY_PIXELS);
    assertThat(Runtime.getRuntime().totalMemory() - before).isLessThan(512L << 20);
  }

  @Test
  void refusesTooManyBytes() {
    assertThatThrownBy(() -> new ImageDecoder(1000, ImageDecoder.DEFAULT_MAX_PIXELS).decode(photo))
        .isInstanceOfSatisfying(FaceRejected.class, e -> assertThat(e.reason()).isEqualTo(RejectReason.TOO_MANY_BYTES));
  }

  @Test
  void corruptDataAfterAValidHeaderIsADecodeFailure() throws Exception {
    byte[] png = encode(decoder.decode(photo), ".png");
    byte[] broken = png.clone();
    for (int i = 60; i < broken.length - 40; i++) {
      broken[i] = (byte) 0x5A; // keep signature, IHDR and IEND; destroy the compressed data
    }
    assertReason(broken, RejectReason.DECODE_FAILED);
  }

  private void assertReason(byte[] bytes, RejectReason reason) {
    assertThatThrownBy(() -> decoder.decode(bytes))
        .isInstanceOfSatisfying(FaceRejected.class, e -> assertThat(e.reason()).isEqualTo(reason));
  }

  static byte[] encode(Mat m, String ext) {
    MatOfByte buf = new MatOfByte();
    assertThat(Imgcodecs.imencode(ext, m, buf)).as("encode " + ext).isTrue();
    return buf.toArray();
  }

  /** Signature + IHDR chunk (with a correct CRC) + IEND: a header that claims any size. */
  static byte[] pngHeader(int width, int height) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A});
    byte[] ihdr = new byte[17];
    System.arraycopy("IHDR".getBytes(StandardCharsets.US_ASCII), 0, ihdr, 0, 4);
    putInt(ihdr, 4, width);
    putInt(ihdr, 8, height);
    ihdr[12] = 8; // bit depth
    ihdr[13] = 2; // truecolour
    out.writeBytes(new byte[] {0, 0, 0, 13});
    out.writeBytes(ihdr);
    CRC32 crc = new CRC32();
    crc.update(ihdr);
    byte[] c = new byte[4];
    putInt(c, 0, (int) crc.getValue());
    out.writeBytes(c);
    out.writeBytes(new byte[] {0, 0, 0, 0, 'I', 'E', 'N', 'D', (byte) 0xAE, 0x42, 0x60, (byte) 0x82});
    return out.toByteArray();
  }

  /** Inserts an APP1 Exif segment with one orientation tag right after the JPEG's SOI marker. */
  static byte[] withExifOrientation(byte[] jpeg, int orientation) {
    byte[] tiff = {
      'M', 'M', 0, 42, 0, 0, 0, 8, // big-endian TIFF header, IFD at offset 8
      0, 1, // one entry
      0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, (byte) orientation, 0, 0, // tag 0x0112, SHORT, 1 value
      0, 0, 0, 0 // no next IFD
    };
    int length = 2 + 6 + tiff.length;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(0xFF);
    out.write(0xD8);
    out.writeBytes(new byte[] {(byte) 0xFF, (byte) 0xE1, (byte) (length >> 8), (byte) length});
    out.writeBytes("Exif\0\0".getBytes(StandardCharsets.ISO_8859_1));
    out.writeBytes(tiff);
    out.write(jpeg, 2, jpeg.length - 2);
    return out.toByteArray();
  }

  private static void putInt(byte[] b, int at, int v) {
    b[at] = (byte) (v >>> 24);
    b[at + 1] = (byte) (v >>> 16);
    b[at + 2] = (byte) (v >>> 8);
    b[at + 3] = (byte) v;
  }
}
