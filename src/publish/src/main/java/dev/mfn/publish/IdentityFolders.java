package dev.mfn.publish;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** Walks a folder of identity folders: {@code ROOT/<subject>/.../<photo>}. */
public final class IdentityFolders {
  private IdentityFolders() {}

  /**
   * Every file under {@code root}, in a stable (sorted) order; files directly in root get a null
   * subject. Symbolic links are followed. Devices, FIFOs and broken links are listed too, so that
   * publishing counts them as skipped (not a regular file) instead of leaving them out unsaid.
   */
  public static List<PhotoFile> list(Path root) throws IOException {
    if (!Files.isDirectory(root)) {
      throw new IOException("not a folder: " + root);
    }
    try (Stream<Path> files = Files.walk(root, java.nio.file.FileVisitOption.FOLLOW_LINKS)) {
      return files
          .filter(p -> !Files.isDirectory(p))
          .map(root::relativize)
          .sorted()
          .map(
              rel ->
                  new PhotoFile(
                      root.resolve(rel),
                      rel.getNameCount() > 1 ? rel.getName(0).toString() : null,
                      rel.toString().replace('\\', '/')))
          .toList();
    }
  }
}
