package dev.mfn.publish;

import dev.mfn.records.RawImage;
import dev.mfn.records.kafka.AvroSerde;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Map;

/**
 * Turns a photo's bytes into a RawImage: inline when the whole Kafka record fits the inline limit,
 * otherwise by reference (a file:// URI), so a large photo never exceeds the topic's message size.
 */
public final class RawImageFactory {
  /**
   * Room for the key, headers and Kafka's record and batch framing: the broker's default limit
   * (message.max.bytes) applies to the whole batch, not just our value.
   */
  static final int FRAMING_BYTES = 1024;

  private final long inlineLimitBytes;
  private final Path blobDir;
  private final AvroSerde<RawImage> serde = new AvroSerde<>(RawImage.class);

  /**
   * @param inlineLimitBytes largest Kafka record we produce (default 1 MiB, Kafka's default)
   * @param blobDir where to copy photos that go by reference; null to point at the original file
   */
  public RawImageFactory(long inlineLimitBytes, Path blobDir) {
    this.inlineLimitBytes = inlineLimitBytes;
    this.blobDir = blobDir;
  }

  /** The record, and its encoded value (so the caller does not encode twice). */
  public record Built(RawImage image, byte[] value, boolean inline) {}

  public Built build(PhotoFile photo, byte[] bytes, String contentType, Instant now)
      throws IOException {
    return build(photo, bytes, contentType, now, Map.of());
  }

  /**
   * {@link #build(PhotoFile, byte[], String, Instant)} with the record's free-form attributes
   * (counted in the record's size, so the inline decision includes them).
   */
  public Built build(PhotoFile photo, byte[] bytes, String contentType, Instant now, Map<String, String> attributes)
      throws IOException {
    String sha = hex(sha256().digest(bytes));
    RawImage.Builder builder =
        RawImage.newBuilder()
            .setId(imageId(photo.subject(), photo.source(), sha))
            .setSubject(photo.subject())
            .setSource(photo.source())
            .setContentType(contentType)
            .setSizeBytes(bytes.length)
            .setSha256(sha)
            .setTimestamp(now)
            .setAttributes(Map.copyOf(attributes));
    RawImage inline = builder.setData(ByteBuffer.wrap(bytes)).setUri(null).build();
    byte[] value = serde.encode(inline);
    if (value.length + FRAMING_BYTES <= inlineLimitBytes) {
      return new Built(inline, value, true);
    }
    RawImage byReference =
        builder.setData(null).setUri(externalCopy(photo.path(), bytes, sha).toUri().toString()).build();
    return new Built(byReference, serde.encode(byReference), false);
  }

  /**
   * Stable id: the same file of the same subject always gets the same id, so re-publishing is
   * harmless downstream (deterministic document ids, idempotent shard writes).
   */
  public static String imageId(String subject, String source, String sha256) {
    String key = (subject == null ? "" : subject) + '\0' + source + '\0' + sha256;
    return hex(sha256().digest(key.getBytes(StandardCharsets.UTF_8))).substring(0, 32);
  }

  /**
   * Writes the bytes already read (and checked), never the path again: a file swapped for a
   * device or a larger one after the check must not reach the blob root.
   */
  private Path externalCopy(Path original, byte[] bytes, String sha) throws IOException {
    if (blobDir == null) {
      return original.toAbsolutePath().normalize();
    }
    String name = original.getFileName().toString();
    int dot = name.lastIndexOf('.');
    Path target = blobDir.resolve(sha + (dot >= 0 ? name.substring(dot) : ""));
    if (!Files.exists(target)) {
      Files.createDirectories(blobDir);
      Path tmp = Files.createTempFile(blobDir, ".incoming-", ".tmp");
      Files.write(tmp, bytes);
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
    }
    return target.toAbsolutePath().normalize();
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String hex(byte[] bytes) {
    return HexFormat.of().formatHex(bytes);
  }
}
