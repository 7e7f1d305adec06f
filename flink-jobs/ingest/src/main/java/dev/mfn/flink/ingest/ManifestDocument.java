package dev.mfn.flink.ingest;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * manifest.json of one shard set, built whole from the cut's decisions (one per identity), the
 * dead-letter totals and the labels its samples carry (from the registry): label map, per-identity n / tier / kept / samples /
 * label, totals with {@code records_in = photos_kept + dead_letters + dropped_by_policy}.
 */
final class ManifestDocument {
  private ManifestDocument() {}

  static Map<String, Object> build(String cut, Iterable<ManifestEntry> decisions, Map<String, Long> deadLetters,
      Map<String, Integer> sampleLabels, IngestConfig config) {
    Map<String, Integer> labels = new TreeMap<>();
    Map<String, Map<String, Object>> identities = new TreeMap<>();
    long recordsIn = 0, kept = 0, dropped = 0, train = 0, validation = 0;
    for (ManifestEntry e : decisions) {
      Map<String, Object> id = new LinkedHashMap<>();
      id.put("n", e.n);
      id.put("tier", e.tier);
      id.put("kept", e.kept);
      id.put("train_samples", e.trainSamples);
      id.put("validation_samples", e.validationSamples);
      int label = sampleLabels.getOrDefault(e.subject, -1);
      id.put("label", label);
      if (label >= 0) {
        labels.put(e.subject, label);
      }
      identities.put(e.subject, id);
      recordsIn += e.n;
      kept += e.kept;
      dropped += e.n - e.kept;
      train += e.trainSamples;
      validation += e.validationSamples;
    }
    long dead = deadLetters.values().stream().mapToLong(Long::longValue).sum();
    Map<String, Object> totals = new LinkedHashMap<>();
    totals.put("records_in", recordsIn + dead);
    totals.put("photos_kept", kept);
    totals.put("dead_letters", dead);
    totals.put("dropped_by_policy", dropped);
    totals.put("train_samples", train);
    totals.put("validation_samples", validation);
    totals.put("identities", identities.size());
    totals.put("identities_kept", labels.size());
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("written", Instant.now().toString());
    doc.put("cut", cut.isEmpty() ? "end-of-input" : cut);
    doc.put("source", Map.of("bootstrap", config.bootstrap(), "topic", config.topic(), "bounded", config.bounded()));
    doc.put("label_registry", config.labelRegistryTopic());
    doc.put("shards_per_split", config.shards());
    doc.put("validation_fraction", config.validationFraction());
    doc.put("policy", Map.of("cap", config.cap(), "keep_above", config.keepAbove(),
        "opening_above", config.openingAbove(), "full_above", config.fullAbove()));
    doc.put("detector", config.detector());
    doc.put("totals", totals);
    doc.put("dead_letters", new TreeMap<>(deadLetters));
    doc.put("labels", labels);
    doc.put("identities", identities);
    return doc;
  }

  /** Writes the manifest atomically (temp file, then rename): a reader sees the old or the new. */
  static void write(Path file, Map<String, Object> doc) throws IOException {
    Files.createDirectories(file.getParent());
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(tmp.toFile(), doc);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }
}
