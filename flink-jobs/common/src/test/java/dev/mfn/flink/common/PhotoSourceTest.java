package dev.mfn.flink.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.mfn.face.FaceRejected;
import dev.mfn.face.RejectReason;
import dev.mfn.records.RawImage;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A record's URI is written by any producer: these are the ways it once let one read any file of a
 * TaskManager, or stopped a job for good (/dev/zero was an OutOfMemoryError, replayed forever).
 */
class PhotoSourceTest {
  private static final long LIMIT = 1_000;
  @TempDir Path dir;
  private Path root;
  private PhotoSource source;

  @BeforeEach
  void roots() throws Exception {
    root = Files.createDirectories(dir.resolve("blobs"));
    Files.write(root.resolve("photo.jpg"), new byte[] {1, 2, 3});
    Files.createDirectories(root.resolve("sub"));
    Files.write(root.resolve("sub/nested.jpg"), new byte[] {4});
    Files.write(dir.resolve("secret.txt"), "outside".getBytes());
    Files.createDirectories(dir.resolve("blobs-other"));
    Files.write(dir.resolve("blobs-other/x.jpg"), new byte[] {9});
    source = new PhotoSource(List.of(root.toString()), LIMIT);
  }

  @Test
  void readsAPhotoUnderARootAndInlineBytes() throws Exception {
    assertThat(source.read(root.resolve("photo.jpg").toUri().toString())).containsExactly(1, 2, 3);
    assertThat(source.read(root.resolve("sub/nested.jpg").toUri().toString())).containsExactly(4);
    RawImage inline = RawImage.newBuilder(image(null)).setData(ByteBuffer.wrap(new byte[] {7})).build();
    assertThat(source.bytes(inline)).containsExactly(7);
  }

  @Test
  void refusesWhatIsOutsideTheRoots() throws Exception {
    assertReason(dir.resolve("secret.txt").toUri().toString(), RejectReason.SOURCE_FORBIDDEN);
    assertReason("file:///etc/passwd", RejectReason.SOURCE_FORBIDDEN);
    // a sibling whose name starts like the root's is not under it
    assertReason(dir.resolve("blobs-other/x.jpg").toUri().toString(), RejectReason.SOURCE_FORBIDDEN);
    // '..' out of the root, plain and percent-encoded
    assertReason(root.toUri() + "../secret.txt", RejectReason.SOURCE_FORBIDDEN);
    assertReason(root.toUri() + "%2e%2e/secret.txt", RejectReason.SOURCE_FORBIDDEN);
    assertReason(root.toString() + "/photo.jpg", RejectReason.SOURCE_FORBIDDEN); // no scheme
    assertReason("http://127.0.0.1:1/photo.jpg", RejectReason.SOURCE_FORBIDDEN);
    assertReason("not a uri at all \u0000", RejectReason.SOURCE_FORBIDDEN);
    assertReason("x".repeat(100_000), RejectReason.SOURCE_FORBIDDEN);
    // no roots at all: nothing is read by reference
    FaceRejected none = catchThrowableOfType(FaceRejected.class,
        () -> new PhotoSource(List.of(), LIMIT).read(root.resolve("photo.jpg").toUri().toString()));
    assertThat(none.reason()).isEqualTo(RejectReason.SOURCE_FORBIDDEN);
  }

  @Test
  void refusesASymbolicLinkOutOfTheRootButFollowsOneInside() throws Exception {
    Files.createSymbolicLink(root.resolve("escape.jpg"), dir.resolve("secret.txt"));
    Files.createSymbolicLink(root.resolve("alias.jpg"), root.resolve("photo.jpg"));
    Files.createSymbolicLink(root.resolve("etc"), Path.of("/etc"));
    assertReason(root.resolve("escape.jpg").toUri().toString(), RejectReason.SOURCE_FORBIDDEN);
    assertReason(root.resolve("etc/passwd").toUri().toString(), RejectReason.SOURCE_FORBIDDEN);
    assertThat(source.read(root.resolve("alias.jpg").toUri().toString())).containsExactly(1, 2, 3);
  }

  @Test
  void refusesDevicesFifosAndFoldersWithoutOpeningThem() throws Exception {
    // a root that holds a device by a link: /dev/zero never ends, a FIFO blocks its reader
    Files.createSymbolicLink(root.resolve("zero.jpg"), Path.of("/dev/zero"));
    PhotoSource devRoot = new PhotoSource(List.of(root.toString(), "/dev"), LIMIT);
    assertReasonFrom(devRoot, "file:///dev/zero", RejectReason.SOURCE_FORBIDDEN);
    assertReasonFrom(devRoot, root.resolve("zero.jpg").toUri().toString(), RejectReason.SOURCE_FORBIDDEN);
    Path fifo = root.resolve("pipe.jpg");
    Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).start();
    assertThat(mkfifo.waitFor()).isZero();
    assertReason(fifo.toUri().toString(), RejectReason.SOURCE_FORBIDDEN);
    assertReason(root.resolve("sub").toUri().toString(), RejectReason.SOURCE_FORBIDDEN);
  }

  @Test
  void enforcesTheByteLimitAndSaysWhatIsMissing() throws Exception {
    Files.write(root.resolve("huge.jpg"), new byte[(int) LIMIT + 1]);
    Files.write(root.resolve("exact.jpg"), new byte[(int) LIMIT]);
    assertReason(root.resolve("huge.jpg").toUri().toString(), RejectReason.TOO_MANY_BYTES);
    assertThat(source.read(root.resolve("exact.jpg").toUri().toString())).hasSize((int) LIMIT);
    assertReason(root.resolve("gone.jpg").toUri().toString(), RejectReason.SOURCE_UNAVAILABLE);
    RawImage inlineHuge = RawImage.newBuilder(image(null)).setData(ByteBuffer.wrap(new byte[(int) LIMIT + 1])).build();
    assertThat(catchThrowableOfType(FaceRejected.class, () -> source.bytes(inlineHuge)).reason())
        .isEqualTo(RejectReason.TOO_MANY_BYTES);
    assertThat(catchThrowableOfType(FaceRejected.class, () -> source.bytes(image(null))).reason())
        .isEqualTo(RejectReason.EMPTY_INPUT);
  }

  @Test
  void anObjectStoreSchemeWithoutItsPluginIsUnavailableNotACrash() throws Exception {
    PhotoSource s3 = new PhotoSource(List.of("s3://photos/in/"), LIMIT);
    assertReasonFrom(s3, "s3://photos/other/x.jpg", RejectReason.SOURCE_FORBIDDEN);
    assertReasonFrom(s3, "s3://photos/in/x.jpg", RejectReason.SOURCE_UNAVAILABLE);
    assertThat(s3.rootsSetting()).isEqualTo("s3://photos/in/");
  }

  private void assertReason(String uri, RejectReason reason) {
    assertReasonFrom(source, uri, reason);
  }

  private static void assertReasonFrom(PhotoSource source, String uri, RejectReason reason) {
    FaceRejected rejected = catchThrowableOfType(FaceRejected.class, () -> source.bytes(image(uri)));
    assertThat(rejected).as(uri.length() > 80 ? uri.substring(0, 80) : uri).isNotNull();
    assertThat(rejected.reason()).as(rejected.getMessage()).isEqualTo(reason);
    assertThat(rejected.getMessage().length()).isLessThan(1_000);
  }

  private static RawImage image(String uri) {
    return RawImage.newBuilder().setId("i").setSubject("s").setSource("s/x.jpg").setContentType("image/jpeg")
        .setSizeBytes(1).setSha256("00").setUri(uri).setTimestamp(Instant.now()).build();
  }
}
