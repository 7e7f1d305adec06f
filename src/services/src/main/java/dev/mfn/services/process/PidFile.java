package dev.mfn.services.process;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * A pid file for a service that outlives the command that started it (`mfn services start`), so a
 * later `stop` or `status` in another process can find it.
 */
public record PidFile(Path path) {

  /**
   * The live process recorded in the file, if the file exists, the process still runs and it is
   * the one that was recorded (it did not start after the file was written).
   */
  public Optional<ProcessHandle> process() {
    try {
      if (!Files.isRegularFile(path)) {
        return Optional.empty();
      }
      long pid = Long.parseLong(Files.readString(path).trim());
      // the file is written just after the process starts; a process that started later only
      // reuses the number (after a reboot) and is not ours to report or stop
      java.time.Instant written = Files.getLastModifiedTime(path).toInstant().plusSeconds(5);
      return ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
          .filter(p -> p.info().startInstant().map(started -> !started.isAfter(written)).orElse(true));
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
  }

  public void write(long pid) throws IOException {
    Files.createDirectories(path.getParent());
    Files.writeString(path, pid + "\n");
  }

  /**
   * Stops the recorded process: a polite SIGTERM, then SIGKILL after {@code grace}. Returns false
   * when nothing was running.
   */
  public boolean stop(Duration grace) throws IOException {
    Optional<ProcessHandle> process = process();
    if (process.isEmpty()) {
      Files.deleteIfExists(path);
      return false;
    }
    ProcessHandle handle = process.get();
    handle.destroy();
    try {
      handle.onExit().get(grace.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      handle.destroyForcibly();
      handle.onExit().join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      handle.destroyForcibly();
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IOException(e);
    }
    Files.deleteIfExists(path);
    return true;
  }
}
