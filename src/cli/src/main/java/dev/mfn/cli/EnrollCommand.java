package dev.mfn.cli;

import dev.mfn.config.MfnSettings;
import dev.mfn.face.RejectReason;
import dev.mfn.face.crop.FaceCropper;
import dev.mfn.flink.embed.EmbedConfig;
import dev.mfn.flink.embed.EmbedJob;
import dev.mfn.flink.embed.EmbedArguments;
import dev.mfn.services.flink.ClusterJobs;
import dev.mfn.services.flink.JobSubmission;
import org.apache.flink.api.common.JobID;
import dev.mfn.model.Embedder;
import dev.mfn.publish.ImagePublisher;
import dev.mfn.publish.KafkaAccess;
import dev.mfn.publish.PhotoFile;
import dev.mfn.publish.PublishSummary;
import dev.mfn.publish.RawImageFactory;
import dev.mfn.search.enroll.FaceEmbedStage;
import dev.mfn.search.index.VectorIndex;
import dev.mfn.services.LocalServices;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.producer.Producer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** `mfn enroll DIR`: identity folders into the vector index, through Kafka and the embed job. */
@Command(
    name = "enroll",
    mixinStandardHelpOptions = true,
    description = {
      "Enroll identity folders (DIR/<subject>/<photos>) into the vector index (embedded, or --es): the photos",
      "are published to the enroll topic, then the Flink embed job (on the local cluster, bounded)",
      "reads what this consumer group has not read yet, detects, aligns and embeds the faces in",
      "batches and writes them with their subject, box and aligned crop. Ids are image + face +",
      "model version, so enrolling again replaces instead of duplicating. Photos without a usable",
      "face go to the dead-letter topic. --direct does the same in this process, without Kafka.",
      "--json prints the summary as one JSON document: ok, mode (direct, streaming or following), dir;",
      "direct: photos, faces_enrolled, model, index, index_faces, not_enrolled {REASON: n}; streaming: topic,",
      "photos_published, cluster (null: in this process), records_read, seconds, model, index, index_faces,",
      "dead_letter_topic; following (printed when the job starts): topic, photos_published, cluster, job_id, models_topic."
    })
final class EnrollCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "DIR", description = "One folder per identity.")
  Path dir;

  @Option(names = "--direct", description = "Embed in this process instead of Kafka + the embed job.")
  boolean direct;

  @Option(names = "--all-faces", description = "Index every face of a photo, not only the chosen one.")
  boolean allFaces;

  @Option(names = "--bootstrap", paramLabel = "HOST:PORT", description = "Kafka (default: setting kafka.bootstrap).")
  String bootstrap;

  @Option(names = "--topic", paramLabel = "T", description = "Enroll topic (default: setting topic.enroll).")
  String topic;

  @Option(names = "--parallelism", paramLabel = "P", defaultValue = "1", description = "Embed tasks, one model each (default: ${DEFAULT-VALUE}).")
  int parallelism;

  @Option(names = "--no-progress", description = "No progress bar.")
  boolean noProgress;

  @Option(names = "--json", description = JsonOutput.HELP)
  boolean json;

  @Mixin FlinkOption flink;

  @Option(names = "--follow", description = {
      "Keep the embed job running after the photos of DIR: it embeds whatever arrives on the enroll",
      "topic, and follows the model announcements (topic.models): on a new version it embeds with",
      "it, rebuilds that version's index from the stored crops and then serves it. Ctrl-C stops."})
  boolean follow;

  @Option(names = "--gate-pairs", paramLabel = "DIR", description = {
      "With --follow: the pairs (LFW layout) an announced model must verify on, against the model",
      "serving, before the job switches to it (default: the pairs its training evaluated)."})
  Path gatePairs;

  @Option(names = "--gate-tolerance", paramLabel = "F", defaultValue = "0.01", description = "With --follow: accuracy an announced model may lose against the serving one (default: ${DEFAULT-VALUE}).")
  double gateTolerance;

  @Mixin IndexOptions indexOptions;
  @Mixin FaceOptions face;
  @Spec CommandSpec spec;
  private final MfnSettings settings;

  EnrollCommand(MfnSettings settings) {
    this.settings = settings;
  }

  @Override
  public Integer call() throws Exception {
    if (!Files.isDirectory(dir)) {
      throw new IllegalArgumentException("not a folder: " + dir);
    }
    List<PhotoFile> photos = ImagePublisher.scan(dir);
    AuditTopic.recordCli(settings, bootstrap != null ? bootstrap : settings.kafkaBootstrap(), "enroll",
        dir.toAbsolutePath().toString(), photos.size() + " files" + (direct ? ", direct" : ""), spec.commandLine().getErr());
    return direct ? direct(photos) : streaming(photos);
  }

  private int streaming(List<PhotoFile> photos) throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    String servers = bootstrap != null ? bootstrap : settings.kafkaBootstrap();
    String in = topic != null ? topic : settings.topics().enroll();
    try {
      KafkaAccess.prepare(servers, in, settings.getInt("kafka.partitions"), 10_000);
      KafkaAccess.prepare(servers, settings.topics().deadLetters(), settings.getInt("kafka.partitions"), 10_000);
    } catch (KafkaAccess.BrokerUnreachableException e) {
      spec.commandLine().getErr().println("mfn enroll: " + e.getMessage() + " (or use --direct)");
      if (json) {
        JsonOutput.error(out, e.getMessage() + " (or use --direct)", "BROKER_UNREACHABLE");
      }
      return Mfn.EXIT_USAGE;
    }
    long limit = settings.getLong("publish.inline.limit.bytes");
    PublishSummary published;
    try (Producer<String, byte[]> producer = KafkaAccess.producer(servers, limit + 64 * 1024)) {
      published = new ImagePublisher(producer, new RawImageFactory(limit, settings.blobDir()), settings.getLong("publish.max.image.bytes"))
          .publish(photos, in, f -> {});
    }
    Path model = Models.resolve(indexOptions.model, settings).toAbsolutePath();
    EmbedConfig config = embedConfig(settings, face, servers, in, model, indexOptions.target(settings), allFaces, !follow,
        follow ? settings.topics().models() : null, parallelism)
        .withGate(new EmbedConfig.GateSettings(gatePairs == null ? null : gatePairs.toAbsolutePath().toString(), gateTolerance));
    String group = config.groupId();
    long before = IngestCommand.committed(servers, group);
    long end = IngestCommand.endOffsets(servers, in).values().stream().mapToLong(Long::longValue).sum();
    String cluster = flink.address(settings);
    if (cluster != null && follow) {
      KafkaAccess.prepare(servers, settings.topics().models(), 1, 10_000);
      try (ClusterJobs jobs = FlinkOption.connect(cluster, settings)) {
        JobID id = BoundedJobRun.submit(jobs, new JobSubmission(EmbedJob.class.getName(), EmbedArguments.of(config), null));
        if (json) {
          Map<String, Object> doc = streamed("following", published, in, cluster);
          doc.put("job_id", id.toString());
          doc.put("models_topic", settings.topics().models());
          JsonOutput.print(out, doc);
          return 0;
        }
        out.printf("published %d photos to %s; submitted the embed job %s to %s, following %s%n",
            published.sent(), in, id, cluster, settings.topics().models());
        out.printf("  stop, resume: ./mfn jobs stop %s --savepoint DIR; ./mfn jobs resume --from SAVEPOINT%n", id);
      }
      return 0;
    }
    double seconds;
    if (cluster != null) {
      try (ClusterJobs jobs = FlinkOption.connect(cluster, settings)) {
        seconds = BoundedJobRun.runOnCluster(jobs, new JobSubmission(EmbedJob.class.getName(), EmbedArguments.of(config), null),
            servers, group, before, end, "embed", noProgress);
      }
      report(out, published, in, end - before, seconds, cluster);
      return 0;
    }
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(EmbedJob.flinkConfiguration(config));
    EmbedJob.fromConfig(config).build(env);
    if (follow) {
      KafkaAccess.prepare(servers, settings.topics().models(), 1, 10_000);
      if (json) { // printed before the job runs (until Ctrl-C): the document says it is running
        Map<String, Object> doc = streamed("following", published, in, null);
        doc.put("models_topic", settings.topics().models());
        JsonOutput.print(out, doc);
      } else {
        out.printf("published %d photos to %s; the embed job keeps running (following %s; Ctrl-C stops)%n",
            published.sent(), in, settings.topics().models());
      }
      out.flush();
      env.execute("mfn enroll --follow " + in);
      return 0;
    }
    seconds = BoundedJobRun.run(env, "mfn enroll " + in, servers, group, before, end, "embed", noProgress);
    report(out, published, in, end - before, seconds, null);
    return 0;
  }

  /**
   * The embed job's settings as this command makes them (also for `mfn demo --serve`, which runs
   * the job beside the service): consumer group mfn-embed-TOPIC (a later run goes on where the
   * last stopped), dead letters to topic.dlq, checkpoints under the home, the settings' detector
   * and limits, the tombstones of topic.deleted honoured, referenced photos read under blob.roots.
   *
   * @param modelEvents the models topic to follow, or null: the job keeps {@code model}
   */
  static EmbedConfig embedConfig(MfnSettings settings, FaceOptions face, String servers, String in, Path model,
      dev.mfn.flink.embed.IndexTarget target, boolean allFaces, boolean bounded, String modelEvents, int parallelism)
      throws java.io.IOException {
    String detector = face.detectorName(settings);
    Path blazeface = detector.equals("blazeface") ? new LocalServices(settings).detector().fetch() : null;
    return new EmbedConfig(servers, in, settings.topics().deadLetters(), modelEvents, "mfn-embed-" + in, bounded, parallelism,
        model.toString(), target, allFaces,
        settings.getInt("embed.batch.size"), 200, 5_000, settings.home().resolve("embed-checkpoints").toAbsolutePath().toString(),
        detector, blazeface == null ? null : blazeface.toString(),
        settings.getPath("detector.yunet.model").toString(), settings.getPath("detector.mtcnn.dir").toString(),
        face.minScore != null ? face.minScore : settings.getDouble("detector.min.score"),
        settings.getDouble("detector.min.face.size"), settings.getLong("decode.max.bytes"), settings.getLong("decode.max.pixels"))
        .withErasures(settings.topics().deleted())
        .withBlobRoots(settings.blobRoots());
  }

  private void report(PrintWriter out, PublishSummary published, String in, long records, double seconds, String cluster)
      throws Exception {
    try (Embedder embedder = Models.open(indexOptions.model, settings);
        VectorIndex index = indexOptions.openIndex(settings, IndexOptions.version(embedder, indexOptions.model, settings))) {
      if (index instanceof dev.mfn.search.index.ElasticsearchVectorIndex es) {
        es.refresh(); // the job's last writes (overwrites are a delete and an add) visible to the count
      }
      String version = IndexOptions.version(embedder, indexOptions.model, settings);
      if (json) {
        Map<String, Object> doc = streamed("streaming", published, in, cluster);
        doc.put("records_read", records);
        doc.put("seconds", JsonOutput.number(seconds));
        doc.put("model", version);
        doc.put("index", indexOptions.describe(settings, version));
        doc.put("index_faces", index.count());
        doc.put("dead_letter_topic", settings.topics().deadLetters());
        JsonOutput.print(out, doc);
        return;
      }
      out.printf("published %d photos to %s; the embed job read %d records in %.1f s; index %s holds %d faces%n",
          published.sent(), in, records, seconds, indexOptions.describe(settings, version), index.count());
    }
    out.printf("  photos without a usable face: see the dead-letter topic %s%n", settings.topics().deadLetters());
  }

  /** The fields every --json document of the streaming path starts with. */
  private Map<String, Object> streamed(String mode, PublishSummary published, String in, String cluster) {
    Map<String, Object> doc = JsonOutput.document();
    doc.put("ok", true);
    doc.put("mode", mode);
    doc.put("dir", dir.toString());
    doc.put("topic", in);
    doc.put("photos_published", published.sent());
    doc.put("cluster", cluster); // null: Flink's local cluster in this process
    return doc;
  }

  private int direct(List<PhotoFile> photos) throws Exception {
    int batch = settings.getInt("embed.batch.size");
    long enrolled = 0;
    Map<RejectReason, Integer> rejected = new TreeMap<>();
    String version;
    String where;
    long count;
    try (FaceCropper cropper = face.openCropper(settings);
        Embedder embedder = Models.open(indexOptions.model, settings)) {
      version = IndexOptions.version(embedder, indexOptions.model, settings);
      where = indexOptions.describe(settings, version);
      FaceEmbedStage stage = IndexOptions.stage(cropper, embedder, version,
          allFaces ? FaceEmbedStage.Faces.ALL : FaceEmbedStage.Faces.CHOSEN, batch);
      try (VectorIndex index = indexOptions.openIndex(settings, version)) {
        // the bar is closed (its line ended) before the summary below is printed
        try (ProgressBar bar = Progress.bar("enroll", photos.size(), "photos", noProgress)) {
          for (int from = 0; from < photos.size(); from += batch) {
            List<FaceEmbedStage.Photo> chunk = new ArrayList<>();
            for (PhotoFile p : photos.subList(from, Math.min(photos.size(), from + batch))) {
              byte[] bytes;
              try {
                bytes = dev.mfn.face.decode.PhotoFiles.read(p.path(), cropper.maxBytes());
              } catch (dev.mfn.face.FaceRejected e) {
                rejected.merge(e.reason(), 1, Integer::sum);
                continue;
              }
              // the same image id the publisher gives, so both paths write the same documents
              String sha = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
              chunk.add(new FaceEmbedStage.Photo(RawImageFactory.imageId(p.subject(), p.source(), sha), p.subject(), bytes, p.source()));
            }
            FaceEmbedStage.Result result = stage.embed(chunk);
            index.upsert(result.documents());
            enrolled += result.documents().size();
            result.rejected().values().forEach(r -> rejected.merge(r, 1, Integer::sum));
            bar.stepTo(Math.min(photos.size(), from + batch));
          }
        }
        count = index.count();
      }
    }
    PrintWriter out = spec.commandLine().getOut();
    if (json) {
      Map<String, Object> doc = JsonOutput.document();
      doc.put("ok", true);
      doc.put("mode", "direct");
      doc.put("dir", dir.toString());
      doc.put("photos", photos.size());
      doc.put("faces_enrolled", enrolled);
      doc.put("model", version);
      doc.put("index", where);
      doc.put("index_faces", count);
      Map<String, Integer> notEnrolled = new java.util.LinkedHashMap<>();
      rejected.forEach((reason, n) -> notEnrolled.put(reason.name(), n));
      doc.put("not_enrolled", notEnrolled);
      JsonOutput.print(out, doc);
      return 0;
    }
    out.printf("enrolled %d faces from %d photos into %s (model %s); index holds %d%n",
        enrolled, photos.size(), where, version, count);
    if (!rejected.isEmpty()) {
      out.println("  not enrolled: " + rejected);
    }
    return 0;
  }
}
