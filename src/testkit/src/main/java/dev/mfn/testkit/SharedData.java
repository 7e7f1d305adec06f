package dev.mfn.testkit;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The shared face data (LFW, CFP) and model files that live beside the repository in ../shared,
 * never inside it. Tests that need them skip, with a message saying what is missing, where absent;
 * CI sets MFN_SHARED_REQUIRED=1 (.ci/run), and there a missing file fails the test instead.
 */
public final class SharedData {
  private SharedData() {}

  /** ../shared next to the repository root (the build passes the root as mfn.repo). */
  public static Path root() {
    Path repo = Path.of(System.getProperty("mfn.repo", ".")).toAbsolutePath().normalize();
    return repo.resolveSibling("shared");
  }

  /** Resolves a path under ../shared, skipping the calling test when it is not there. */
  public static Path require(String relative) {
    Path p = root().resolve(relative);
    if ("1".equals(System.getenv("MFN_SHARED_REQUIRED")) && !Files.exists(p)) {
      throw new AssertionError("shared data required (MFN_SHARED_REQUIRED=1) but not found at " + p);
    }
    assumeTrue(Files.exists(p), () -> "skipped: shared data not found at " + p);
    return p;
  }

  /** CFP's identity folders: Data/Images/NNN/{frontal,profile}/*.jpg (4,900 photos). */
  public static Path cfpImages() {
    return require("data/cfp/Data/Images");
  }
}
