package dev.mfn.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.apache.flink.api.common.JobExecutionResult;

/** What the benchmarks that start their own services and jobs share when reporting and cleaning up. */
final class BenchCleanup {
  private BenchCleanup() {}

  /** Deletes a folder and everything under it; what cannot be deleted stays (it is under build/tmp). */
  static void deleteTree(Path root) {
    if (root == null || !Files.exists(root)) {
      return;
    }
    try (Stream<Path> all = Files.walk(root)) {
      all.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.deleteIfExists(p);
        } catch (IOException e) {
          // left behind under build/tmp; nothing depends on it
        }
      });
    } catch (IOException e) {
      System.err.printf("could not delete %s: %s%n", root, e);
    }
  }

  /** "running", "succeeded", or the job's failure (its root cause) in one line. */
  static String failure(CompletableFuture<JobExecutionResult> result) {
    if (!result.isDone()) {
      return "running";
    }
    try {
      result.get();
      return "succeeded";
    } catch (Exception e) {
      Throwable root = e;
      while (root.getCause() != null && root.getCause() != root) {
        root = root.getCause();
      }
      return "failed: " + root;
    }
  }
}
