package dev.mfn.services.elasticsearch;

import dev.mfn.services.process.Commands;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.List;

/** The dedicated non-root system user that Elasticsearch runs as when we are root. */
final class ServiceUser {
  private ServiceUser() {}

  static void ensure(String user) throws IOException {
    if (Commands.run(List.of("id", "-u", user), null, 10).exitCode() == 0) {
      return;
    }
    Commands.check(
        List.of("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user),
        null,
        30);
  }

  /**
   * The service user must be able to walk down to its folders. A folder under a private home
   * (mode 700) is not reachable, and Elasticsearch would fail with an obscure error much later.
   */
  static void requireReachable(String user, Path... folders) throws IOException {
    for (Path folder : folders) {
      for (Path p = folder.getParent(); p != null; p = p.getParent()) {
        if (Files.isDirectory(p)
            && !Files.getPosixFilePermissions(p).contains(PosixFilePermission.OTHERS_EXECUTE)) {
          throw new IOException(
              "user "
                  + user
                  + " cannot reach "
                  + folder
                  + " ("
                  + p
                  + " is private); choose a data folder elsewhere with --data or MFN_HOME");
        }
      }
    }
  }
}
