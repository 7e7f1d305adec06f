package dev.mfn.publish;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ImageTypeTest {

  @Test
  void recognisesFormatsByTheirBytes() {
    assertThat(ImageType.sniff(bytes(0xFF, 0xD8, 0xFF, 0xE0))).hasValue("image/jpeg");
    assertThat(ImageType.sniff(bytes(0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A)))
        .hasValue("image/png");
    assertThat(ImageType.sniff("RIFF\0\0\0\0WEBPVP8 ".getBytes(StandardCharsets.ISO_8859_1)))
        .hasValue("image/webp");
    assertThat(ImageType.sniff("BM\0\0\0\0\0\0\0\0\0\0\0\0".getBytes(StandardCharsets.ISO_8859_1)))
        .hasValue("image/bmp");
  }

  @Test
  void refusesTextAndTruncatedHeaders() {
    assertThat(ImageType.sniff("hello, world".getBytes(StandardCharsets.UTF_8))).isEmpty();
    assertThat(ImageType.sniff(bytes(0xFF, 0xD8))).isEmpty();
    assertThat(ImageType.sniff("RIFF\0\0\0\0WAVEfmt ".getBytes(StandardCharsets.ISO_8859_1)))
        .isEmpty();
    assertThat(ImageType.sniff(new byte[0])).isEmpty();
  }

  private static byte[] bytes(int... values) {
    byte[] b = new byte[values.length];
    for (int i = 0; i < values.length; i++) {
      b[i] = (byte) values[i];
    }
    return b;
  }
}
