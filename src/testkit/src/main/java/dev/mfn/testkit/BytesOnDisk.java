package dev.mfn.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * Looks for bytes in every file under a folder, as a forensic check would: erasure is proven on
 * disk (an index's segment files, translogs), not through the API that may only hide a document.
 */
public final class BytesOnDisk {
  private BytesOnDisk() {}

  /** The files under {@code root} whose content holds {@code needle}. */
  public static List<Path> filesHolding(Path root, byte[] needle) {
    try (Stream<Path> files = Files.walk(root)) {
      return files.filter(Files::isRegularFile).filter(f -> holds(f, needle)).toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A window from the middle of {@code bytes}: distinctive, and away from format headers. */
  public static byte[] middle(byte[] bytes, int length) {
    int from = Math.max(0, bytes.length / 2 - length / 2);
    return java.util.Arrays.copyOfRange(bytes, from, Math.min(bytes.length, from + length));
  }

  private static boolean holds(Path file, byte[] needle) {
    byte[] data;
    try {
      data = Files.readAllBytes(file);
    } catch (IOException e) {
      return false; // a file removed while we walk (a merge) holds nothing any more
    }
    outer:
    for (int i = 0; i + needle.length <= data.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (data[i + j] != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }
}
