package dev.mfn.services.elasticsearch;

import dev.mfn.services.process.Commands;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpClient;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * What a secured node needs, made with the distribution's own tools: a configuration folder of
 * its own (ES_PATH_CONF under the data folder: certificates must live in it), a CA and a node
 * certificate for 127.0.0.1 from {@code elasticsearch-certutil}, and a user with a password in
 * the file realm from {@code elasticsearch-users} (stored hashed by Elasticsearch).
 */
final class SecureSetup {
  private final Path home;
  private final Path conf;
  private final Path jdk;

  SecureSetup(Path home, Path dataDir, Path jdk) {
    this.home = home;
    this.conf = dataDir.resolve("config");
    this.jdk = jdk;
  }

  Path conf() {
    return conf;
  }

  /** The CA certificate clients trust (setting index.es.ca). */
  Path caCertificate() {
    return conf.resolve("certs/ca/ca.crt");
  }

  /** Creates the configuration folder and the certificates once, and (re)sets the user's password. */
  void prepare(String user, String password) throws IOException {
    if (!Files.exists(conf.resolve("elasticsearch.yml"))) {
      copyTree(home.resolve("config"), conf);
    }
    Path certs = Files.createDirectories(conf.resolve("certs"));
    if (!Files.exists(caCertificate())) {
      tool("elasticsearch-certutil", "ca", "--pem", "--silent", "--out", certs.resolve("ca.zip").toString());
      unzip(certs.resolve("ca.zip"), certs);
      tool("elasticsearch-certutil", "cert", "--pem", "--silent", "--ca-cert", caCertificate().toString(),
          "--ca-key", certs.resolve("ca/ca.key").toString(), "--name", "node", "--ip", "127.0.0.1", "--dns", "localhost",
          "--out", certs.resolve("node.zip").toString());
      unzip(certs.resolve("node.zip"), certs);
      // the CA's key signs nothing more: gone, so nobody can mint certificates clients would trust
      Files.delete(certs.resolve("ca/ca.key"));
    }
    ownerOnly(certs.resolve("node/node.key"));
    Commands.run(withEnv(List.of(home.resolve("bin/elasticsearch-users").toString(), "userdel", user)), home, 120);
    // the password on standard input (the tool asks twice), never on its command line
    List<String> add = withEnv(List.of(home.resolve("bin/elasticsearch-users").toString(), "useradd", user, "-r", "superuser"));
    Commands.Result r = Commands.run(add, home, 180, password + "\n" + password + "\n");
    if (r.exitCode() != 0) {
      throw new IOException("elasticsearch-users useradd failed (exit " + r.exitCode() + "): " + r.output().strip());
    }
  }

  private static void ownerOnly(Path file) throws IOException {
    Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
  }

  /** The settings of a node that serves HTTPS only and asks every request for a user. */
  List<String> settings() {
    return List.of(
        "-E", "xpack.security.enabled=true",
        "-E", "xpack.security.enrollment.enabled=false",
        "-E", "xpack.security.http.ssl.enabled=true",
        "-E", "xpack.security.http.ssl.key=certs/node/node.key",
        "-E", "xpack.security.http.ssl.certificate=certs/node/node.crt",
        "-E", "xpack.security.http.ssl.certificate_authorities=certs/ca/ca.crt",
        "-E", "xpack.security.transport.ssl.enabled=false");
  }

  /** An HTTP client that trusts this node's CA (for the health check). */
  HttpClient client() throws IOException {
    try (InputStream in = Files.newInputStream(caCertificate())) {
      KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
      trust.load(null, null);
      trust.setCertificateEntry("mfn-ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      SSLContext ssl = SSLContext.getInstance("TLS");
      ssl.init(null, tmf.getTrustManagers(), null);
      return HttpClient.newBuilder().sslContext(ssl).connectTimeout(java.time.Duration.ofSeconds(2)).build();
    } catch (java.security.GeneralSecurityException e) {
      throw new IOException("cannot read the CA certificate " + caCertificate(), e);
    }
  }

  private void tool(String name, String... args) throws IOException {
    List<String> command = new ArrayList<>(List.of(home.resolve("bin").resolve(name).toString()));
    command.addAll(List.of(args));
    Commands.Result r = Commands.run(withEnv(command), home, 180);
    if (r.exitCode() != 0) {
      // never echo the command: it may hold the password
      throw new IOException(name + " " + args[0] + " failed (exit " + r.exitCode() + "): " + r.output().strip());
    }
  }

  private List<String> withEnv(List<String> command) {
    List<String> full = new ArrayList<>(List.of("env", "-u", "CLASSPATH", "-u", "JAVA_TOOL_OPTIONS", "-u", "_JAVA_OPTIONS",
        "ES_JAVA_HOME=" + jdk, "ES_PATH_CONF=" + conf));
    full.addAll(command);
    return full;
  }

  private static void unzip(Path zip, Path into) throws IOException {
    try (ZipInputStream in = new ZipInputStream(Files.newInputStream(zip))) {
      for (ZipEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
        Path target = into.resolve(e.getName()).normalize();
        if (!target.startsWith(into)) {
          throw new IOException("zip entry outside its folder: " + e.getName());
        }
        if (e.isDirectory()) {
          Files.createDirectories(target);
        } else {
          Files.createDirectories(target.getParent());
          Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
    Files.delete(zip);
  }

  private static void copyTree(Path from, Path to) throws IOException {
    Files.walkFileTree(from, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
        Files.createDirectories(to.resolve(from.relativize(dir).toString()));
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        Files.copy(file, to.resolve(from.relativize(file).toString()), StandardCopyOption.REPLACE_EXISTING);
        return FileVisitResult.CONTINUE;
      }
    });
  }
}
