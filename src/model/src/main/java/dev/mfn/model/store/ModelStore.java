package dev.mfn.model.store;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A folder of model versions {@code v1, v2, ...}, each a folder with {@code config.json}, the
 * parameters, the model card, metrics and plots. Versions are never overwritten: a training run
 * takes the next number.
 */
public final class ModelStore {
  private static final Pattern VERSION = Pattern.compile("v(\\d+)");
  /** The highest version number ever issued by this store. */
  public static final String LEDGER = "LAST_VERSION";
  /** This store's id (random, made once): part of every version's {@link ModelConfig#id()}. */
  public static final String ID_FILE = "STORE_ID";

  private final Path root;

  public ModelStore(Path root) {
    this.root = root;
  }

  public Path root() {
    return root;
  }

  /**
   * A version folder being made holds this file: it is created with the folder and removed by
   * {@link #complete} once parameters, config (with its threshold) and card are on disk, so a
   * crash during training or evaluation never leaves a version that {@link #latest} would serve.
   */
  public static final String INCOMPLETE = "INCOMPLETE";

  /** Complete version folders holding a config, oldest first. */
  public List<Path> versions() throws IOException {
    if (!Files.isDirectory(root)) {
      return List.of();
    }
    try (Stream<Path> children = Files.list(root)) {
      return children
          .filter(p -> number(p) >= 0 && Files.isRegularFile(p.resolve(ModelConfig.FILE)) && !incomplete(p))
          .sorted(Comparator.comparingInt(ModelStore::number))
          .toList();
    }
  }

  public Optional<Path> latest() throws IOException {
    List<Path> all = versions();
    return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1));
  }

  /** True while the version in {@code folder} is being made (see {@link #INCOMPLETE}). */
  public static boolean incomplete(Path folder) {
    return Files.exists(folder.resolve(INCOMPLETE));
  }

  /** Makes a version visible: removes its {@link #INCOMPLETE} marker, durably. */
  public static void complete(Path folder) throws IOException {
    // every file on disk before the marker goes: a power cut must not leave a visible version
    // with a truncated parameter file or card (most writers do not sync)
    try (Stream<Path> files = Files.walk(folder)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        DurableFiles.syncFile(f);
      }
    }
    Files.deleteIfExists(folder.resolve(INCOMPLETE));
    DurableFiles.syncFolder(folder);
  }

  /** Reserves the next version folder (created, marked {@link #INCOMPLETE}) and returns it. */
  public synchronized Path reserveNext() throws IOException {
    Files.createDirectories(root);
    try (var lock = lock()) {
      return reserveNextLocked();
    }
  }

  /** Two processes sharing a store (two training runs) take turns: a file lock on the store. */
  private StoreLock lock() throws IOException {
    var channel = java.nio.channels.FileChannel.open(root.resolve(".lock"),
        java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
    try {
      return new StoreLock(channel, channel.lock());
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e;
    }
  }

  private record StoreLock(java.nio.channels.FileChannel channel, java.nio.channels.FileLock lock) implements AutoCloseable {
    @Override
    public void close() throws IOException {
      try {
        lock.release();
      } finally {
        channel.close();
      }
    }
  }

  private Path reserveNextLocked() throws IOException {
    int next = 1;
    try (Stream<Path> children = Files.list(root)) {
      next += Math.max(children.mapToInt(ModelStore::number).max().orElse(0), lastIssued());
    }
    while (true) {
      Path folder = root.resolve("v" + next);
      try {
        Files.createDirectory(folder);
        Files.createFile(folder.resolve(INCOMPLETE));
        DurableFiles.syncFolder(folder);
        Path tmp = Files.writeString(root.resolve(LEDGER + ".next"), next + "\n");
        Files.move(tmp, root.resolve(LEDGER), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
            java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        return folder;
      } catch (java.nio.file.FileAlreadyExistsException e) {
        next++;
      }
    }
  }

  /** This store's id: 8 random hex digits, made at first use and kept in {@value #ID_FILE}. */
  public synchronized String id() throws IOException {
    Path file = root.resolve(ID_FILE);
    if (Files.isRegularFile(file)) {
      return Files.readString(file).strip();
    }
    Files.createDirectories(root);
    try (var lock = lock()) {
      if (!Files.isRegularFile(file)) { // another process may have made it while we waited
        byte[] random = new byte[4];
        new java.security.SecureRandom().nextBytes(random);
        Path tmp = Files.writeString(root.resolve(ID_FILE + ".next"), java.util.HexFormat.of().formatHex(random) + "\n");
        Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      }
    }
    return Files.readString(file).strip();
  }

  private int lastIssued() throws IOException {
    Path ledger = root.resolve(LEDGER);
    if (!Files.isRegularFile(ledger)) {
      return 0;
    }
    try {
      return Integer.parseInt(Files.readString(ledger).strip());
    } catch (NumberFormatException e) {
      throw new IOException("model store ledger " + ledger + " is not a number: refusing to guess the next version", e);
    }
  }

  /** The number of a version name ("v12" -> 12), or -1 for a name that is not one. */
  public static int versionNumber(String version) {
    Matcher m = VERSION.matcher(version == null ? "" : version);
    return m.matches() ? Integer.parseInt(m.group(1)) : -1;
  }

  /** SHA-256 (hex) of a version's parameter file, or of a model file: what events announce. */
  public static String checksum(Path model) throws IOException {
    Path file = Files.isDirectory(model) ? model.resolve(ModelConfig.read(model).parameters()) : model;
    try (var in = Files.newInputStream(file)) {
      var digest = java.security.MessageDigest.getInstance("SHA-256");
      byte[] buffer = new byte[1 << 16];
      for (int n; (n = in.read(buffer)) > 0; ) {
        digest.update(buffer, 0, n);
      }
      return java.util.HexFormat.of().formatHex(digest.digest());
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * The version folder a user meant: a version folder itself, or a store (its latest version).
   */
  public static Path resolve(Path given) throws IOException {
    if (Files.isRegularFile(given.resolve(ModelConfig.FILE))) {
      return given;
    }
    Optional<Path> latest = new ModelStore(given).latest();
    if (latest.isPresent()) {
      return latest.get();
    }
    throw new IOException(
        "not a model: " + given + " (expected an .onnx file, a model-store version folder with "
            + ModelConfig.FILE + ", or a model store holding v1, v2, ...)");
  }

  private static int number(Path p) {
    Matcher m = VERSION.matcher(p.getFileName().toString());
    return m.matches() ? Integer.parseInt(m.group(1)) : -1;
  }
}
