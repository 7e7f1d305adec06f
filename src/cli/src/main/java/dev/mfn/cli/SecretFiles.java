package dev.mfn.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Passwords of the local secured services: the configured secret when there is one, else a random
 * one generated once into a file only its owner can read (mode 600), which clients then name with
 * a {@code *.file} setting. Never printed, never on a command line.
 */
final class SecretFiles {
  private SecretFiles() {}

  static String configuredOrGenerated(String configured, Path file) throws IOException {
    if (configured != null && !configured.isBlank()) {
      return configured;
    }
    if (Files.exists(file)) {
      return Files.readString(file).strip();
    }
    byte[] random = new byte[18];
    new SecureRandom().nextBytes(random);
    String password = HexFormat.of().formatHex(random);
    Files.createDirectories(file.getParent());
    Path tmp = Files.createTempFile(file.getParent(), ".secret-", ".tmp",
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.writeString(tmp, password); // no newline: Kafka's DirectoryConfigProvider reads the file as it is
    Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    return password;
  }

  /** Where a generated secret of a service lives, from its CA file (data/config/certs/ca/ca.crt). */
  static Path generatedPath(Path caCertificate, String name) {
    return caCertificate.getParent().getParent().getParent().getParent().resolve("secrets").resolve(name);
  }
}
