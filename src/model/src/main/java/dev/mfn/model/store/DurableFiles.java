package dev.mfn.model.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.UUID;

/**
 * Writes that survive a crash or a power cut: data reaches the disk (fsync) before the rename that
 * makes it visible, and the folder holding the rename is synced after it. Without the first, a
 * renamed file can be empty after a power cut; without the second, the rename itself can be lost.
 */
public final class DurableFiles {
  private DurableFiles() {}

  /** Temporary file, fsync, atomic rename, fsync of the folder: a crash leaves the old file or the new one. */
  public static void write(Path file, byte[] bytes) throws IOException {
    // a name of its own, so two writers (an export beside a training run's config) never share one
    Path partial = file.resolveSibling(file.getFileName() + "." + UUID.randomUUID() + ".partial");
    try (FileChannel channel = FileChannel.open(partial, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      ByteBuffer buffer = ByteBuffer.wrap(bytes);
      while (buffer.hasRemaining()) {
        channel.write(buffer);
      }
      channel.force(true);
    }
    Files.move(partial, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    syncFolder(file.toAbsolutePath().getParent());
  }

  /** Forces a file already written (by a library that does not sync) to the disk. */
  public static void syncFile(Path file) throws IOException {
    // a read-only descriptor syncs the file's data as well on Linux and works on read-only files
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      channel.force(true);
    }
  }

  /** Forces a folder's entries (creations, renames, deletions) to the disk. */
  public static void syncFolder(Path folder) throws IOException {
    try (FileChannel dir = FileChannel.open(folder, StandardOpenOption.READ)) {
      dir.force(true);
    } catch (IOException e) {
      // some file systems cannot sync a folder; the rename itself is still atomic
    }
  }
}
