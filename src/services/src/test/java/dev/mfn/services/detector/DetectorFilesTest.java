package dev.mfn.services.detector;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mfn.config.MfnSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Fetches the real BlazeFace files with npm and checks the cache and the checksum guard. */
class DetectorFilesTest {

  @Test
  void fetchesVerifiesAndCaches(@TempDir Path build) throws Exception {
    DetectorFiles files =
        new DetectorFiles(MfnSettings.pinnedVersion("mediapipe.face_detection.version"), build);
    assertThat(files.present()).isFalse();

    files.fetch();
    assertThat(files.present()).isTrue();
    assertThat(DetectorFiles.sha256(files.shortRange()))
        .isEqualTo(DetectorFiles.SHA256.get(DetectorFiles.SHORT_RANGE));
    assertThat(Files.size(files.fullRange())).isGreaterThan(1_000_000);

    // A corrupted cache is noticed and fetched again.
    Files.write(files.shortRange(), new byte[] {0, 1, 2});
    assertThat(files.present()).isFalse();
    files.fetch();
    assertThat(files.present()).isTrue();
  }
}
