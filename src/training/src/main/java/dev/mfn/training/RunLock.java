package dev.mfn.training;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;

/**
 * One process trains a run folder at a time: an OS file lock on {@code .training.lock} in it, held
 * from the moment a command picks the folder until the version is complete. Two processes writing
 * one run would interleave checkpoints and metrics, and one's pruning would delete the other's
 * checkpoint in progress. The OS drops the lock when the process dies, so a crashed run can be
 * resumed at once.
 */
public final class RunLock implements AutoCloseable {
  static final String FILE = ".training.lock";

  private final FileChannel channel;
  private final FileLock lock;

  private RunLock(FileChannel channel, FileLock lock) {
    this.channel = channel;
    this.lock = lock;
  }

  /** The lock of {@code run}, or empty when another process (or this one) holds it. */
  public static Optional<RunLock> tryAcquire(Path run) throws IOException {
    FileChannel channel =
        FileChannel.open(run.resolve(FILE), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    try {
      FileLock lock = channel.tryLock();
      if (lock == null) {
        channel.close();
        return Optional.empty();
      }
      return Optional.of(new RunLock(channel, lock));
    } catch (OverlappingFileLockException e) {
      channel.close();
      return Optional.empty();
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e;
    }
  }

  @Override
  public void close() throws IOException {
    try {
      lock.release();
    } finally {
      channel.close();
    }
  }
}
