package dev.mfn.flink.common;

import dev.mfn.face.FaceRejected;
import dev.mfn.face.RejectReason;
import dev.mfn.records.RawImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.flink.core.fs.FileStatus;
import org.apache.flink.core.fs.FileSystem;

/**
 * The bytes of a {@link RawImage}: inline, or read from the URI it refers to, safely. A record's
 * URI is input from any producer, so it is only read when it lies under one of the configured
 * roots (setting {@code blob.roots}: {@code file:} folders, or {@code s3://bucket/prefix/} where
 * the cluster has Flink's S3 plugin); anything else is {@link RejectReason#SOURCE_FORBIDDEN}.
 *
 * <p>Files are read through Flink's {@link FileSystem} (so a cluster's object storage works the
 * same way), with the byte limit enforced while reading (a file that grows, or a device that never
 * ends, stops at the limit). Local paths are checked after resolving symbolic links (a link out of
 * the root is refused) and must be regular files: {@code /dev/zero}, a FIFO or a folder is
 * refused before it is opened. A path with {@code ..} is refused outright.
 */
public final class PhotoSource implements Serializable {
  private static final long serialVersionUID = 1L;
  private final List<String> roots;
  private final long maxBytes;

  /**
   * @param roots where referenced photos may be read: folders (paths or {@code file:} URIs) or
   *     object-storage prefixes ({@code s3://bucket/prefix/}); none: no photo is read by reference
   * @param maxBytes the most bytes read from one photo (setting {@code decode.max.bytes})
   */
  public PhotoSource(List<String> roots, long maxBytes) {
    List<String> normalised = new ArrayList<>();
    for (String root : roots) {
      if (!root.isBlank()) {
        normalised.add(rootUri(root.trim()));
      }
    }
    this.roots = List.copyOf(normalised);
    this.maxBytes = maxBytes;
  }

  /** Roots as one comma-separated setting value ({@code blob.roots}). */
  public static PhotoSource of(String rootsSetting, long maxBytes) {
    return new PhotoSource(rootsSetting == null ? List.of() : Arrays.asList(rootsSetting.split(",")), maxBytes);
  }

  /** The roots as the comma-separated setting value (for job arguments). */
  public String rootsSetting() {
    return String.join(",", roots);
  }

  public List<String> roots() {
    return roots;
  }

  public long maxBytes() {
    return maxBytes;
  }

  /** The photo's bytes: the record's own, or read from its URI (see the class comment). */
  public byte[] bytes(RawImage image) throws FaceRejected {
    if (image.getData() != null) {
      ByteBuffer data = image.getData().duplicate();
      if (data.remaining() > maxBytes) {
        throw new FaceRejected(RejectReason.TOO_MANY_BYTES, data.remaining() + " bytes > limit " + maxBytes);
      }
      byte[] bytes = new byte[data.remaining()];
      data.get(bytes);
      return bytes;
    }
    if (image.getUri() == null || image.getUri().isBlank()) {
      throw new FaceRejected(RejectReason.EMPTY_INPUT, "record has neither data nor uri");
    }
    return read(image.getUri());
  }

  /** Reads one referenced photo, refusing what lies outside the roots. */
  public byte[] read(String uriText) throws FaceRejected {
    URI uri;
    try {
      uri = new URI(uriText);
    } catch (java.net.URISyntaxException e) {
      throw forbidden(uriText, "not a URI");
    }
    if (uri.getScheme() == null || uri.isOpaque()) {
      throw forbidden(uriText, "not an absolute URI (file:/... or s3://...)");
    }
    String path = uri.getPath() == null ? "" : uri.getPath();
    if (path.contains("/../") || path.endsWith("/..") || path.contains("/./") || path.contains("//")) {
      throw forbidden(uriText, "path with '..', '.' or '//' segments");
    }
    return "file".equalsIgnoreCase(uri.getScheme()) ? readLocal(uriText, uri) : readRemote(uriText, uri);
  }

  private byte[] readLocal(String text, URI uri) throws FaceRejected {
    Path file;
    try {
      file = Path.of(uri).normalize();
    } catch (IllegalArgumentException | java.nio.file.FileSystemNotFoundException e) {
      throw forbidden(text, "not a local file URI");
    }
    Path root = null;
    for (String r : roots) {
      URI rootUri = URI.create(r);
      if ("file".equals(rootUri.getScheme()) && file.startsWith(Path.of(rootUri))) {
        root = Path.of(rootUri);
        break;
      }
    }
    if (root == null) {
      throw forbidden(text, "outside the blob roots " + roots);
    }
    Path real;
    BasicFileAttributes attributes;
    try {
      real = file.toRealPath();
      if (!real.startsWith(root.toRealPath())) {
        throw forbidden(text, "a symbolic link out of the blob root " + root);
      }
      attributes = Files.readAttributes(real, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      throw new FaceRejected(RejectReason.SOURCE_UNAVAILABLE, text + ": no such file");
    } catch (IOException e) {
      throw new FaceRejected(RejectReason.SOURCE_UNAVAILABLE, text + ": " + e.getMessage());
    }
    if (!attributes.isRegularFile()) {
      // a device, FIFO or folder: opening a FIFO blocks and /dev/zero never ends
      throw forbidden(text, "not a regular file");
    }
    if (attributes.size() > maxBytes) {
      throw new FaceRejected(RejectReason.TOO_MANY_BYTES, attributes.size() + " bytes > limit " + maxBytes);
    }
    return readCapped(text, new org.apache.flink.core.fs.Path(real.toUri()));
  }

  private byte[] readRemote(String text, URI uri) throws FaceRejected {
    String normalised = uri.normalize().toString();
    if (roots.stream().noneMatch(normalised::startsWith)) {
      throw forbidden(text, "outside the blob roots " + roots);
    }
    org.apache.flink.core.fs.Path path = new org.apache.flink.core.fs.Path(uri);
    try {
      FileStatus status = path.getFileSystem().getFileStatus(path);
      if (status.isDir()) {
        throw forbidden(text, "a folder, not an object");
      }
      if (status.getLen() > maxBytes) {
        throw new FaceRejected(RejectReason.TOO_MANY_BYTES, status.getLen() + " bytes > limit " + maxBytes);
      }
    } catch (java.io.FileNotFoundException e) {
      throw new FaceRejected(RejectReason.SOURCE_UNAVAILABLE, text + ": no such object");
    } catch (IOException e) {
      // includes "no file system for scheme s3" where the cluster lacks the plugin
      throw new FaceRejected(RejectReason.SOURCE_UNAVAILABLE, text + ": " + e.getMessage());
    }
    return readCapped(text, path);
  }

  /** Reads at most maxBytes: one byte more is a refusal, whatever the file system said its length was. */
  private byte[] readCapped(String text, org.apache.flink.core.fs.Path path) throws FaceRejected {
    try (InputStream in = path.getFileSystem().open(path)) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      byte[] buffer = new byte[64 * 1024];
      long total = 0;
      int n;
      while ((n = in.read(buffer, 0, (int) Math.min(buffer.length, maxBytes + 1 - total))) > 0) {
        out.write(buffer, 0, n);
        total += n;
        if (total > maxBytes) {
          throw new FaceRejected(RejectReason.TOO_MANY_BYTES, "more than " + maxBytes + " bytes at " + text);
        }
      }
      return out.toByteArray();
    } catch (IOException e) {
      throw new FaceRejected(RejectReason.SOURCE_UNAVAILABLE, text + ": " + e.getMessage());
    }
  }

  private static FaceRejected forbidden(String uri, String why) {
    return new FaceRejected(RejectReason.SOURCE_FORBIDDEN, shorten(uri) + ": " + why);
  }

  /** A hostile URI can be megabytes long: dead letters quote its start only. */
  private static String shorten(String uri) {
    return uri.length() <= 200 ? uri : uri.substring(0, 200) + "...";
  }

  /** A root as a URI that ends with '/', so that /data/blobs does not admit /data/blobs-other. */
  private static String rootUri(String root) {
    URI uri = root.contains("://") || root.startsWith("file:")
        ? URI.create(root)
        : Path.of(root).toAbsolutePath().normalize().toUri();
    String text = uri.normalize().toString();
    if ("file".equals(uri.getScheme())) {
      text = Path.of(uri).toAbsolutePath().normalize().toUri().toString();
    }
    return text.endsWith("/") ? text : text + "/";
  }
}
