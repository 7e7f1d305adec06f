package dev.mfn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** What the secured-service tests share: a small gallery, and a CA that signed nothing. */
final class TestCertificates {
  private TestCertificates() {}

  /**
   * The first photo of {@code people} LFW people after the first {@code skip}, as identity folders;
   * returns the people. Tests sharing the run's broker pick different people: a deletion's tombstone
   * (subjects.deleted) in one test would keep that person out of another's index.
   */
  static List<Path> gallery(Path lfw, Path gallery, int skip, int people) throws Exception {
    List<Path> chosen;
    try (Stream<Path> all = Files.list(lfw)) {
      chosen = all.sorted().skip(skip).limit(people).toList();
    }
    for (Path person : chosen) {
      try (Stream<Path> photos = Files.list(person)) {
        Path first = photos.sorted().findFirst().orElseThrow();
        Files.createDirectories(gallery.resolve(person.getFileName().toString()));
        Files.copy(first, gallery.resolve(person.getFileName().toString()).resolve("1.jpg"));
      }
    }
    return chosen;
  }

  /** A CA certificate (PEM) of a key pair that issued nothing: keytool, then its export as PEM. */
  static Path otherCa(Path dir) throws Exception {
    String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
    Path store = dir.resolve("other.p12");
    Path pem = dir.resolve("other-ca.pem");
    for (List<String> command : List.of(
        List.of(keytool, "-genkeypair", "-alias", "other", "-keyalg", "EC", "-dname", "CN=127.0.0.1", "-ext", "BC:c=ca:true",
            "-storetype", "PKCS12", "-keystore", store.toString(), "-storepass", "other-pass", "-validity", "2"),
        List.of(keytool, "-exportcert", "-rfc", "-alias", "other", "-keystore", store.toString(), "-storepass", "other-pass",
            "-file", pem.toString()))) {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes());
      assertThat(p.waitFor()).as(out).isZero();
    }
    return pem;
  }
}
