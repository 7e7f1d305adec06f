package dev.mfn.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mfn.config.MfnSettings;
import dev.mfn.flink.ingest.IngestConfig;
import dev.mfn.flink.ingest.IngestJob;
import dev.mfn.publish.KafkaAccess;
import dev.mfn.services.LocalServices;
import dev.mfn.services.flink.ClusterJobs;
import dev.mfn.services.flink.JobSubmission;
import dev.mfn.flink.ingest.IngestArguments;
import org.apache.flink.api.common.JobID;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** `mfn ingest`: the ingest job on Flink's local cluster, from a topic to training shards. */
@Command(
    name = "ingest",
    mixinStandardHelpOptions = true,
    description = {
      "Run the ingest job on Flink's local cluster: read RawImage records, detect and align the",
      "chosen face of each, keep a uniform sample of at most CAP photos per identity, apply the",
      "identity policy (drop / keep / +opening / x4 with noise), split 0.5%% for validation by image",
      "id, and write Avro shards (OUT/train/shard-NNN, OUT/validation/shard-NNN) with",
      "OUT/manifest.json. Rejected records go to the dead-letter topic with their reason.",
      "Bounded by default: reads the topic up to the offsets at start, then finishes.",
      "--unbounded: keeps running and keeps every identity's count and reservoir; `mfn shards cut`",
      "writes a shard set of the identities as they stand into OUT/cuts/NAME/.",
      "Labels come from a registry (the compacted topic <topic>.labels): a subject keeps its label",
      "in every run. A folder that holds another run's shard set is refused.",
      "--flink HOST:PORT runs the job on a Flink session cluster instead of inside this command.",
      "--json prints the summary as one JSON document: ok, mode (bounded or unbounded), topic, out, cluster",
      "(null: in this process); when the job ends: records_in, seconds, records_per_second, photos_kept,",
      "dropped_by_policy, dead_letters, dead_letter_reasons {REASON: n}, train_samples, validation_samples,",
      "identities, identities_by_tier {TIER: n}, identities_kept (labelled), manifest; --unbounded --flink: job_id."
    })
final class IngestCommand implements Callable<Integer> {
  @Option(names = "--out", paramLabel = "DIR", required = true, description = "Folder for the shards and manifest.json.")
  Path out;

  @Option(names = "--topic", paramLabel = "T", description = "Input topic (default: setting topic.train).")
  String topic;

  @Option(names = "--bootstrap", paramLabel = "HOST:PORT", description = "Kafka (default: setting kafka.bootstrap).")
  String bootstrap;

  @Option(names = "--parallelism", paramLabel = "P", defaultValue = "1", description = "Parallel tasks, one detector each (default: ${DEFAULT-VALUE}).")
  int parallelism;

  @Option(names = "--shards", paramLabel = "N", defaultValue = "16", description = "Shards per split (default: ${DEFAULT-VALUE}).")
  int shards;

  @Option(names = "--policy", paramLabel = "CAP,KEEP,OPENING,FULL", defaultValue = "350,200,90,30", split = ",",
      description = "Identity policy thresholds (default: the seed's ${DEFAULT-VALUE}): n > KEEP keep (at most CAP), n > OPENING x2, n > FULL x4, else drop.")
  int[] policy;

  @Option(names = "--validation-fraction", paramLabel = "F", defaultValue = "0.005", description = "Share of photos held out (default: ${DEFAULT-VALUE}).")
  double validationFraction;

  @Option(names = "--unbounded", description = "Keep running; shard sets are cut on request (`mfn shards cut --topic T`).")
  boolean unbounded;

  @Option(names = "--labels-topic", paramLabel = "T", description = "The subject -> label registry (default: <topic>.labels).")
  String labelsTopic;

  @Mixin FlinkOption flink;

  @Option(names = "--no-progress", description = "No progress bar.")
  boolean noProgress;

  @Option(names = "--json", description = JsonOutput.HELP)
  boolean json;

  @Mixin FaceOptions face;
  @Spec CommandSpec spec;
  private final MfnSettings settings;

  IngestCommand(MfnSettings settings) {
    this.settings = settings;
  }

  @Override
  public Integer call() throws Exception {
    if (policy.length != 4) {
      throw new IllegalArgumentException("--policy takes four numbers: CAP,KEEP,OPENING,FULL");
    }
    String servers = bootstrap != null ? bootstrap : settings.kafkaBootstrap();
    String in = topic != null ? topic : settings.topics().train();
    try {
      KafkaAccess.prepare(servers, settings.topics().deadLetters(), settings.getInt("kafka.partitions"), 10_000);
    } catch (KafkaAccess.BrokerUnreachableException e) {
      spec.commandLine().getErr().println("mfn ingest: " + e.getMessage());
      if (json) {
        JsonOutput.error(spec.commandLine().getOut(), e.getMessage(), "BROKER_UNREACHABLE");
      }
      return Mfn.EXIT_USAGE;
    }
    String detector = face.detectorName(settings);
    Path blazeface = detector.equals("blazeface") ? new LocalServices(settings).detector().fetch() : null;
    String group = "mfn-ingest-" + Long.toString(System.currentTimeMillis(), 36);
    IngestConfig config =
        new IngestConfig(
            servers, in, settings.topics().deadLetters(), group, !unbounded, out.toAbsolutePath().toString(),
            parallelism, shards, validationFraction, policy[0], policy[1], policy[2], policy[3],
            labelsTopic, null, 10_000, detector, blazeface == null ? null : blazeface.toString(),
            settings.getPath("detector.yunet.model").toString(), settings.getPath("detector.mtcnn.dir").toString(),
            face.minScore != null ? face.minScore : settings.getDouble("detector.min.score"),
            settings.getDouble("detector.min.face.size"),
            settings.getLong("decode.max.bytes"), settings.getLong("decode.max.pixels"), false)
        .withBlobRoots(settings.blobRoots());
    config.policy(); // refuses inconsistent thresholds before anything starts

    if (unbounded) {
      KafkaAccess.prepare(servers, config.cutRequestTopic(), 1, 10_000);
    }
    long total = endOffsets(servers, in).values().stream().mapToLong(Long::longValue).sum();
    String cluster = flink.address(settings);
    if (cluster != null) {
      return onCluster(cluster, config, servers, group, total);
    }
    StreamExecutionEnvironment env =
        StreamExecutionEnvironment.getExecutionEnvironment(IngestJob.flinkConfiguration(config));
    IngestJob.fromConfig(config).build(env);
    double seconds = BoundedJobRun.run(env, "mfn ingest " + in + " -> " + out, servers, group, 0, total, "ingest", noProgress);
    summary(spec.commandLine().getOut(), in, null, seconds);
    return 0;
  }

  private int onCluster(String cluster, IngestConfig config, String servers, String group, long total) throws Exception {
    PrintWriter o = spec.commandLine().getOut();
    JobSubmission job = new JobSubmission(IngestJob.class.getName(), IngestArguments.of(config), null);
    try (ClusterJobs jobs = FlinkOption.connect(cluster, settings)) {
      if (unbounded) {
        JobID id = BoundedJobRun.submit(jobs, job);
        if (json) {
          Map<String, Object> doc = JsonOutput.document();
          doc.put("ok", true);
          doc.put("mode", "unbounded");
          doc.put("topic", config.topic());
          doc.put("out", out.toString());
          doc.put("cluster", cluster);
          doc.put("job_id", id.toString());
          JsonOutput.print(o, doc);
          return 0;
        }
        o.printf("submitted the unbounded ingest job %s to %s (web UI http://%s/)%n", id, cluster, cluster);
        o.printf("  cut a shard set:   ./mfn shards cut --topic %s --out %s%n", config.topic(), out);
        o.printf("  stop, resume:      ./mfn jobs stop %s --savepoint DIR; ./mfn jobs resume --from SAVEPOINT%n", id);
        return 0;
      }
      double seconds = BoundedJobRun.runOnCluster(jobs, job, servers, group, 0, total, "ingest", noProgress);
      summary(o, config.topic(), cluster, seconds);
      return 0;
    }
  }

  /** The bounded run's summary, from its manifest: lines, or with --json one document. */
  private void summary(PrintWriter o, String in, String cluster, double seconds) throws Exception {
    Path manifestFile = out.resolve("manifest.json");
    if (!json) {
      printSummary(o, manifestFile, seconds);
      return;
    }
    JsonNode manifest = new ObjectMapper().readTree(manifestFile.toFile());
    JsonNode t = manifest.get("totals");
    long records = t.get("records_in").asLong();
    Map<String, Object> doc = JsonOutput.document();
    doc.put("ok", true);
    doc.put("mode", unbounded ? "unbounded" : "bounded");
    doc.put("topic", in);
    doc.put("out", out.toString());
    doc.put("cluster", cluster); // null: Flink's local cluster in this process
    doc.put("records_in", records);
    doc.put("seconds", JsonOutput.number(seconds));
    doc.put("records_per_second", JsonOutput.number(records / seconds));
    doc.put("photos_kept", t.get("photos_kept").asLong());
    doc.put("dropped_by_policy", t.get("dropped_by_policy").asLong());
    doc.put("dead_letters", t.get("dead_letters").asLong());
    Map<String, Long> reasons = new java.util.LinkedHashMap<>();
    manifest.get("dead_letters").fields().forEachRemaining(e -> reasons.put(e.getKey(), e.getValue().asLong()));
    doc.put("dead_letter_reasons", reasons);
    doc.put("train_samples", t.get("train_samples").asLong());
    doc.put("validation_samples", t.get("validation_samples").asLong());
    doc.put("identities", t.get("identities").asLong());
    Map<String, Integer> tiers = new java.util.TreeMap<>();
    manifest.get("identities").forEach(id -> tiers.merge(id.get("tier").asText(), 1, Integer::sum));
    doc.put("identities_by_tier", tiers);
    doc.put("identities_kept", t.get("identities_kept").asLong());
    doc.put("manifest", manifestFile.toString());
    JsonOutput.print(o, doc);
  }

  static void printSummary(PrintWriter o, Path manifestFile, double seconds) throws Exception {
    JsonNode manifest = new ObjectMapper().readTree(manifestFile.toFile());
    JsonNode t = manifest.get("totals");
    long in = t.get("records_in").asLong();
    o.printf("ingested %d records in %.1f s (%.1f records/s)%n", in, seconds, in / seconds);
    o.printf("  photos kept:        %d (samples before augmentation)%n", t.get("photos_kept").asLong());
    o.printf("  dropped by policy:  %d%n", t.get("dropped_by_policy").asLong());
    o.printf("  dead letters:       %d%s%n", t.get("dead_letters").asLong(), reasons(manifest.get("dead_letters")));
    o.printf("  samples written:    %d train, %d validation%n", t.get("train_samples").asLong(), t.get("validation_samples").asLong());
    Map<String, Integer> tiers = new java.util.TreeMap<>();
    manifest.get("identities").forEach(id -> tiers.merge(id.get("tier").asText(), 1, Integer::sum));
    o.printf("  identities:         %d (%s), %d labelled%n", t.get("identities").asLong(), tiers, t.get("identities_kept").asLong());
    o.printf("  shards and manifest: %s%n", manifestFile.getParent());
  }

  private static String reasons(JsonNode deadLetters) {
    if (deadLetters.isEmpty()) {
      return "";
    }
    StringBuilder b = new StringBuilder(" (");
    deadLetters.fields().forEachRemaining(e -> b.append(b.length() > 2 ? ", " : "").append(e.getKey()).append(' ').append(e.getValue().asLong()));
    return b.append(')').toString();
  }

  private static Admin admin(String servers) {
    Properties p = new Properties();
    dev.mfn.config.KafkaSecurity.addTo(p);
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, servers);
    return Admin.create(p);
  }

  static Map<TopicPartition, Long> endOffsets(String servers, String topic) throws Exception {
    try (Admin admin = admin(servers)) {
      var description = admin.describeTopics(List.of(topic)).allTopicNames().get(10, TimeUnit.SECONDS).get(topic);
      Map<TopicPartition, OffsetSpec> request = new java.util.HashMap<>();
      description.partitions().forEach(p -> request.put(new TopicPartition(topic, p.partition()), OffsetSpec.latest()));
      Map<TopicPartition, Long> ends = new java.util.HashMap<>();
      admin.listOffsets(request).all().get(10, TimeUnit.SECONDS).forEach((tp, info) -> ends.put(tp, info.offset()));
      return ends;
    }
  }

  /** Offsets the job's source committed (on each checkpoint): how far it has read. */
  static long committed(String servers, String group) {
    return KafkaAccess.committed(servers, group);
  }

}
