package dev.mfn.flink.ingest;

import dev.mfn.flink.common.DeadLetterSink;
import dev.mfn.flink.common.JobSettings;
import dev.mfn.flink.common.KafkaTopics;
import dev.mfn.flink.common.RawImageDeserializer;
import dev.mfn.flink.common.SplitDeadLetters;
import dev.mfn.records.DeadLetter;
import dev.mfn.records.RawImage;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.connector.file.sink.FileSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.core.fs.Path;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.filesystem.OutputFileConfig;
import org.apache.flink.streaming.api.functions.sink.filesystem.rollingpolicies.OnCheckpointRollingPolicy;
import org.apache.flink.streaming.api.datastream.BroadcastStream;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.configuration.StateRecoveryOptions;
import java.nio.file.Files;
import java.util.stream.Stream;
import org.apache.flink.types.Either;

/**
 * The ingest job: images.train -> decode, detect, align -> per identity: count and reservoir,
 * kept as long as the identity -> at the end of the input (bounded) or at each cut (unbounded):
 * policy, augmentations -> labels from the persistent registry -> training shards (Avro,
 * exactly-once through FileSink and checkpoints) and the shard set's manifest.json; every rejected
 * record to the dead-letter topic.
 *
 * <p>Every stateful operator has a fixed uid and the job a fixed max parallelism, so a savepoint
 * restores into a rescaled or changed job.
 *
 * <p>Like the flink-training exercises, the source and the two sinks are injected, so a test can
 * hand in its own; {@link #kafkaSource}, {@link #shardSink} and {@link DeadLetterSink} are the
 * production ones.
 */
public final class IngestJob {
  /** Operator uids: savepoints map state by them; never change one. */
  public static final String UID_SOURCE = "images-source";
  public static final String UID_CUTS = "cut-requests-source";
  public static final String UID_CURATOR = "identity-curator";
  public static final String UID_LABELS = "labels";
  public static final String UID_SHARDS = "shards-sink";
  public static final String UID_DEAD_LETTERS = "dead-letters-sink";
  public static final String UID_MANIFEST = "manifest-writer";

  private final IngestConfig config;
  private final Source<Either<DeadLetter, RawImage>, ?, ?> source;
  private final Sink<CutSample> samples;
  private final Sink<DeadLetter> deadLetters;
  private MapFunction<CroppedFace, CroppedFace> faceTap;

  public IngestJob(
      IngestConfig config,
      Source<Either<DeadLetter, RawImage>, ?, ?> source,
      Sink<CutSample> samples,
      Sink<DeadLetter> deadLetters) {
    this.config = config;
    this.source = source;
    this.samples = samples;
    this.deadLetters = deadLetters;
  }

  /**
   * A function applied to every aligned face before the curator; tests use it to fail the job on
   * purpose mid-way (and to slow it so checkpoints happen first).
   */
  IngestJob withFaceTap(MapFunction<CroppedFace, CroppedFace> tap) {
    this.faceTap = tap;
    return this;
  }

  /** The production job: Kafka in, shards and the dead-letter topic out. */
  public static IngestJob fromConfig(IngestConfig config) {
    return new IngestJob(
        config,
        kafkaSource(config),
        shardSink(config),
        DeadLetterSink.create(config.bootstrap(), config.deadLetterTopic()));
  }

  /** Bounded: from the earliest offsets up to those at start (a dataset snapshot); else unbounded. */
  public static KafkaSource<Either<DeadLetter, RawImage>> kafkaSource(IngestConfig config) {
    var builder =
        KafkaSource.<Either<DeadLetter, RawImage>>builder()
            .setBootstrapServers(config.bootstrap())
            .setProperties(dev.mfn.config.KafkaSecurity.addTo(new java.util.Properties())) // references, not the password
            .setTopics(config.topic())
            .setGroupId(config.groupId())
            .setStartingOffsets(OffsetsInitializer.earliest())
            .setProperty("max.partition.fetch.bytes", String.valueOf(4 << 20))
            .setDeserializer(new RawImageDeserializer("ingest"));
    if (config.bounded()) {
      builder.setBounded(OffsetsInitializer.latest());
    }
    return builder.build();
  }

  /**
   * Unbounded mode: cut requests (the record's value is the cut's name) made from now on; a
   * restored job continues from its checkpointed offsets, so a cut is never lost or made twice.
   */
  public static KafkaSource<String> cutSource(IngestConfig config) {
    return KafkaSource.<String>builder()
        .setBootstrapServers(config.bootstrap())
        .setProperties(dev.mfn.config.KafkaSecurity.addTo(new java.util.Properties())) // references, not the password
        .setTopics(config.cutRequestTopic())
        .setGroupId(config.groupId() + "-cuts")
        .setStartingOffsets(OffsetsInitializer.timestamp(System.currentTimeMillis()))
        .setDeserializer(new CutRequestDeserializer())
        .build();
  }

  public static FileSink<CutSample> shardSink(IngestConfig config) {
    return FileSink.forBulkFormat(new Path(config.outDir()), new CutSampleWriter())
        .withBucketAssigner(new ShardAssigner(config.shards()))
        .withRollingPolicy(OnCheckpointRollingPolicy.build())
        .withOutputFileConfig(OutputFileConfig.builder().withPartPrefix("part").withPartSuffix(".avro").build())
        .build();
  }

  /**
   * The Flink settings the job needs on the local cluster; create the environment with them
   * ({@code StreamExecutionEnvironment.getExecutionEnvironment(flinkConfiguration(config))}).
   * The reservoirs hold aligned crops (~20 KB each), far beyond the 5 MB a memory-backed checkpoint
   * allows, so checkpoints go to files next to the shards. A few restarts absorb passing faults; a
   * job that keeps failing ends with its cause instead of restarting forever.
   */
  public static Configuration flinkConfiguration(IngestConfig config) {
    return JobSettings.checkpointedWithRestarts(java.nio.file.Path.of(config.outDir()).resolve("_checkpoints"));
  }

  /** Adds the job's operators to {@code env}. */
  public void build(StreamExecutionEnvironment env) {
    refuseForeignOutput(env);
    env.setParallelism(config.parallelism());
    env.setMaxParallelism(JobSettings.MAX_PARALLELISM);
    JobSettings.checkpointing(env, config.checkpointMillis());
    // the same cut stream shape in both modes (the operator is one); bounded runs get no cuts
    DataStream<String> cutRequests = config.bounded()
        ? env.fromData("").filter(s -> !s.isEmpty()).name("no-cuts")
        : env.fromSource(cutSource(config), WatermarkStrategy.noWatermarks(), "cut-requests").uid(UID_CUTS)
            .setParallelism(1);
    BroadcastStream<String> cuts = cutRequests.broadcast(IdentityCurator.CUTS);

    SingleOutputStreamOperator<RawImage> images =
        env.fromSource(source, WatermarkStrategy.noWatermarks(), "images").uid(UID_SOURCE)
            .process(new SplitDeadLetters<>(new AvroTypeInfo<>(RawImage.class)))
            .returns(new AvroTypeInfo<>(RawImage.class))
            .name("split-unreadable").uid("split-unreadable");
    SingleOutputStreamOperator<CroppedFace> faces =
        images.process(new CropFunction(config)).returns(Types.POJO(CroppedFace.class))
            .name("decode-detect-align").uid("decode-detect-align");
    DataStream<CroppedFace> tapped =
        faceTap == null ? faces : faces.map(faceTap).returns(Types.POJO(CroppedFace.class)).name("tap");
    SingleOutputStreamOperator<CutSample> curated =
        tapped
            .keyBy(f -> f.subject, Types.STRING)
            .connect(cuts)
            .process(new IdentityCurator(config))
            .returns(Types.POJO(CutSample.class))
            .name("identity-policy-augment").uid(UID_CURATOR);
    SingleOutputStreamOperator<CutSample> labelled =
        curated
            .transform("labels", Types.POJO(CutSample.class),
                new LabelAssigner(config.bootstrap(), config.labelRegistryTopic()))
            .setParallelism(1)
            .name("labels").uid(UID_LABELS);
    labelled.sinkTo(samples).name("shards").uid(UID_SHARDS);

    DataStream<DeadLetter> allDeadLetters =
        images.getSideOutput(SplitDeadLetters.DEAD_LETTERS).union(faces.getSideOutput(SplitDeadLetters.DEAD_LETTERS));
    allDeadLetters.map(new dev.mfn.flink.common.CountDeadLetters()).name("count-dead-letters").uid("count-dead-letters")
        .sinkTo(deadLetters).name("dead-letters").uid(UID_DEAD_LETTERS);

    DataStream<ManifestEntry> manifest =
        curated.getSideOutput(IdentityCurator.DECISIONS)
            .union(
                labelled.getSideOutput(LabelAssigner.LABELS),
                allDeadLetters
                    .map(d -> ManifestEntry.deadLetter(d.getReason(), 1))
                    .returns(Types.POJO(ManifestEntry.class))
                    .name("dead-letter-counts").uid("dead-letter-counts"));
    manifest
        .transform("manifest", Types.VOID, new ManifestWriter(config))
        .setParallelism(1)
        // (max parallelism stays the job's: at parallelism 1 the sink after it is chained to it,
        // and a chain takes its head's max parallelism, which must match the savepoint's)
        .uid(UID_MANIFEST)
        .sinkTo(new DiscardingSink<>()).name("manifest-done").uid("manifest-done");
  }

  /**
   * A run into a folder that already holds a shard set would renumber nothing (labels come from the
   * registry) but would mix its samples and manifest with another run's: refused, unless this job
   * continues its own (a restore from a checkpoint or savepoint, or {@code --resume}).
   */
  private void refuseForeignOutput(StreamExecutionEnvironment env) {
    boolean restoring = env.getConfiguration().getOptional(StateRecoveryOptions.SAVEPOINT_PATH).isPresent();
    if (config.resume() || restoring || !holdsShardSet(config.outDir())) {
      return;
    }
    throw new ExistingShardSetException(config.outDir());
  }

  /** True when the folder has a manifest, a split or a cut (local paths; others are not checked). */
  static boolean holdsShardSet(String outDir) {
    Path path = new Path(outDir);
    String scheme = path.toUri().getScheme();
    if (scheme != null && !scheme.equals("file")) {
      return false;
    }
    java.nio.file.Path dir = java.nio.file.Path.of(path.toUri().getPath());
    for (String entry : new String[] {"manifest.json", "train", "validation", "cuts"}) {
      if (Files.exists(dir.resolve(entry))) {
        return true;
      }
    }
    return false;
  }

  /** Entry point for `flink run`: arguments as documented in {@link IngestArguments}. */
  public static void main(String[] args) throws Exception {
    IngestConfig config = IngestArguments.parse(args);
    // on a cluster, its configuration decides checkpoint storage, state backend and restarts
    // (config.yaml, the FlinkDeployment's flinkConfiguration); the CLI's local runs set their own
    if (!config.bounded()) {
      // a source subscribed to a missing topic fails the job over and over: create it first
      KafkaTopics.ensure(config.bootstrap(), config.cutRequestTopic(), 1, java.util.Map.of());
    }
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.getConfig().setGlobalJobParameters(JobSettings.submission(IngestJob.class, args));
    fromConfig(config).build(env);
    env.execute("mfn ingest " + config.topic() + " -> " + config.outDir());
  }
}
