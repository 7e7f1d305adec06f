package dev.mfn.flink.ingest;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Folds the decisions, label assignments and dead letters into manifest.json next to the shards:
 * the label map, per-identity n and tier, totals, dead letters by reason, dropped by policy. One
 * instance; its entries live in checkpointed state. Written at the end of a bounded run (the final
 * watermark fires its timer) and, in unbounded mode, every {@code idleMillis}.
 */
public final class ManifestWriter extends KeyedProcessFunction<Integer, ManifestEntry, Void> {
  private final IngestConfig config;
  private transient ListState<ManifestEntry> entries;

  public ManifestWriter(IngestConfig config) {
    this.config = config;
  }

  @Override
  public void open(OpenContext context) {
    entries = getRuntimeContext().getListState(new ListStateDescriptor<>("entries", Types.POJO(ManifestEntry.class)));
  }

  @Override
  public void processElement(ManifestEntry entry, Context ctx, Collector<Void> out) throws Exception {
    entries.add(entry);
    if (config.bounded()) {
      ctx.timerService().registerEventTimeTimer(Long.MAX_VALUE);
    } else {
      long now = ctx.timerService().currentProcessingTime();
      ctx.timerService().registerProcessingTimeTimer(now - now % config.idleMillis() + config.idleMillis());
    }
  }

  @Override
  public void onTimer(long timestamp, OnTimerContext ctx, Collector<Void> out) throws Exception {
    write(Path.of(config.outDir()).resolve("manifest.json"), entries.get(), config);
  }

  /** Writes the manifest atomically (temp file, then rename). */
  static void write(Path file, Iterable<ManifestEntry> all, IngestConfig config) throws Exception {
    Map<String, Integer> labels = new TreeMap<>();
    Map<String, Map<String, Object>> identities = new TreeMap<>();
    Map<String, Long> deadLetters = new TreeMap<>();
    long recordsIn = 0, kept = 0, dropped = 0, train = 0, validation = 0, dead = 0;
    for (ManifestEntry e : all) {
      switch (e.kind) {
        case LABEL -> labels.put(e.subject, e.label);
        case DEAD_LETTER -> {
          deadLetters.merge(e.reason, 1L, Long::sum);
          dead++;
          recordsIn++;
        }
        case DECISION -> {
          Map<String, Object> id = new LinkedHashMap<>();
          id.put("n", e.n);
          id.put("tier", e.tier);
          id.put("kept", e.kept);
          id.put("train_samples", e.trainSamples);
          id.put("validation_samples", e.validationSamples);
          identities.put(e.subject, id);
          recordsIn += e.n;
          kept += e.kept;
          dropped += e.n - e.kept;
          train += e.trainSamples;
          validation += e.validationSamples;
        }
      }
    }
    identities.forEach((subject, id) -> id.put("label", labels.getOrDefault(subject, -1)));
    Map<String, Object> totals = new LinkedHashMap<>();
    totals.put("records_in", recordsIn);
    totals.put("photos_kept", kept);
    totals.put("dead_letters", dead);
    totals.put("dropped_by_policy", dropped);
    totals.put("train_samples", train);
    totals.put("validation_samples", validation);
    totals.put("identities", identities.size());
    totals.put("identities_kept", labels.size());
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("written", Instant.now().toString());
    doc.put("source", Map.of("bootstrap", config.bootstrap(), "topic", config.topic(), "bounded", config.bounded()));
    doc.put("shards_per_split", config.shards());
    doc.put("validation_fraction", config.validationFraction());
    doc.put("policy", Map.of("cap", config.cap(), "keep_above", config.keepAbove(),
        "opening_above", config.openingAbove(), "full_above", config.fullAbove()));
    doc.put("detector", config.detector());
    doc.put("totals", totals);
    doc.put("dead_letters", deadLetters);
    doc.put("labels", labels);
    doc.put("identities", identities);
    Files.createDirectories(file.getParent());
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(tmp.toFile(), doc);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }
}
