package dev.mfn.training.loader;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A shard set written by the ingest job: {@code manifest.json} plus {@code train/shard-NNN/} and {@code
 * validation/shard-NNN/} folders of Avro FaceSample files. Only committed part files are read
 * (Flink's in-progress files start with a dot).
 */
public final class ShardSet {
  public enum Split {
    TRAIN("train"),
    VALIDATION("validation");

    final String folder;

    Split(String folder) {
      this.folder = folder;
    }
  }

  private final Path root;
  private final JsonNode manifest;

  private ShardSet(Path root, JsonNode manifest) {
    this.root = root;
    this.manifest = manifest;
  }

  /**
   * The shard set at {@code root}: a bounded ingest run's output, one cut of an unbounded run
   * ({@code OUT/cuts/NAME}), or an unbounded run's output folder, which means its newest cut.
   */
  public static ShardSet open(Path root) throws IOException {
    if (!Files.isRegularFile(root.resolve("manifest.json")) && Files.isDirectory(root.resolve("cuts"))) {
      try (Stream<Path> cuts = Files.list(root.resolve("cuts"))) {
        var newest = cuts.filter(c -> Files.isRegularFile(c.resolve("manifest.json")))
            .max(java.util.Comparator.comparing(c -> {
              try {
                return Files.getLastModifiedTime(c.resolve("manifest.json"));
              } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
              }
            }));
        if (newest.isPresent()) {
          root = newest.get();
        }
      }
    }
    Path file = root.resolve("manifest.json");
    if (!Files.isRegularFile(file)) {
      throw new IOException(
          "not a shard folder (no manifest.json): " + root + " — write one with `mfn ingest --out DIR`");
    }
    return new ShardSet(root, new ObjectMapper().readTree(file.toFile()));
  }

  public Path root() {
    return root;
  }

  /**
   * Classes = highest label in the manifest's label map + 1. Labels come from a registry shared by
   * every run over a topic and are never reused, so a shard set may leave some classes empty
   * (subjects another run kept): their weights simply go unused.
   */
  public int classes() {
    int max = -1;
    for (Iterator<Map.Entry<String, JsonNode>> it = manifest.path("labels").fields(); it.hasNext(); ) {
      max = Math.max(max, it.next().getValue().asInt());
    }
    return max + 1;
  }

  /** The people (subject ids, as in the photos' folders) with samples in these shards. */
  public java.util.SortedSet<String> identities() {
    java.util.SortedSet<String> ids = new java.util.TreeSet<>();
    manifest.path("identities").fields().forEachRemaining(e -> {
      if (e.getValue().path("train_samples").asLong() + e.getValue().path("validation_samples").asLong() > 0) {
        ids.add(e.getKey());
      }
    });
    return ids;
  }

  public long samples(Split split) {
    return manifest.path("totals").path(split.folder + "_samples").asLong();
  }

  /** The manifest's totals (records in, kept, dead letters, ...) for the model card. */
  public JsonNode totals() {
    return manifest.path("totals");
  }

  /**
   * What a checkpoint records to know it is resumed on the same data: SHA-256 over the manifest
   * and every sample file's path and size: a shard added, removed or rewritten to another size
   * changes it, a copy of the folder elsewhere does not. (A rewrite to the very same size is not
   * seen: hashing every byte of a large shard set at each start was judged too slow.)
   */
  public String fingerprint() throws IOException {
    java.security.MessageDigest sha;
    try {
      sha = java.security.MessageDigest.getInstance("SHA-256");
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    sha.update(Files.readAllBytes(root.resolve("manifest.json")));
    for (Split split : Split.values()) {
      for (Path file : files(split)) {
        String entry = root.relativize(file).toString().replace('\\', '/') + "\t" + Files.size(file) + "\n";
        sha.update(entry.getBytes(java.nio.charset.StandardCharsets.UTF_8));
      }
    }
    return java.util.HexFormat.of().formatHex(sha.digest());
  }

  public List<Path> files(Split split) throws IOException {
    Path dir = root.resolve(split.folder);
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> all = Files.walk(dir)) {
      return all.filter(Files::isRegularFile)
          .filter(p -> !p.getFileName().toString().startsWith("."))
          .filter(p -> p.getFileName().toString().endsWith(".avro"))
          .sorted()
          .toList();
    }
  }
}
