package dev.mfn.flink.ingest;

import dev.mfn.flink.common.DeadLetterSink;
import dev.mfn.flink.common.JobSettings;
import dev.mfn.flink.common.RawImageDeserializer;
import dev.mfn.flink.common.SplitDeadLetters;
import dev.mfn.records.DeadLetter;
import dev.mfn.records.FaceSample;
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
import org.apache.flink.formats.avro.AvroWriters;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.filesystem.OutputFileConfig;
import org.apache.flink.streaming.api.functions.sink.filesystem.rollingpolicies.OnCheckpointRollingPolicy;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.types.Either;

/**
 * The ingest job: images.train -> decode, detect, align -> per identity: reservoir, policy,
 * augmentations -> labels -> training shards (Avro, exactly-once through FileSink and checkpoints)
 * and manifest.json; every rejected record to the dead-letter topic.
 *
 * <p>Like the flink-training exercises, the source and the two sinks are injected, so a test can
 * hand in its own; {@link #kafkaSource}, {@link #shardSink} and {@link DeadLetterSink} are the
 * production ones.
 */
public final class IngestJob {
  private final IngestConfig config;
  private final Source<Either<DeadLetter, RawImage>, ?, ?> source;
  private final Sink<FaceSample> samples;
  private final Sink<DeadLetter> deadLetters;
  private MapFunction<CroppedFace, CroppedFace> faceTap;

  public IngestJob(
      IngestConfig config,
      Source<Either<DeadLetter, RawImage>, ?, ?> source,
      Sink<FaceSample> samples,
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

  public static FileSink<FaceSample> shardSink(IngestConfig config) {
    return FileSink.forBulkFormat(new Path(config.outDir()), AvroWriters.forSpecificRecord(FaceSample.class))
        .withBucketAssigner(new ShardAssigner(config.shards()))
        .withRollingPolicy(OnCheckpointRollingPolicy.build())
        .withOutputFileConfig(OutputFileConfig.builder().withPartPrefix("part").withPartSuffix(".avro").build())
        .build();
  }

  /**
   * The Flink settings the job needs; create the environment with them
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
    env.setParallelism(config.parallelism());
    env.enableCheckpointing(config.checkpointMillis());

    SingleOutputStreamOperator<RawImage> images =
        env.fromSource(source, WatermarkStrategy.noWatermarks(), "images")
            .process(new SplitDeadLetters<>(new AvroTypeInfo<>(RawImage.class)))
            .returns(new AvroTypeInfo<>(RawImage.class))
            .name("split-unreadable");
    SingleOutputStreamOperator<CroppedFace> faces =
        images.process(new CropFunction(config)).returns(Types.POJO(CroppedFace.class)).name("decode-detect-align");
    DataStream<CroppedFace> tapped =
        faceTap == null ? faces : faces.map(faceTap).returns(Types.POJO(CroppedFace.class)).name("tap");
    SingleOutputStreamOperator<FaceSample> curated =
        tapped
            .keyBy(f -> f.subject, Types.STRING)
            .process(new IdentityCurator(config))
            .returns(new AvroTypeInfo<>(FaceSample.class))
            .name("identity-policy-augment");
    SingleOutputStreamOperator<FaceSample> labelled =
        curated
            .keyBy(s -> 0, Types.INT)
            .process(new LabelAssigner())
            .returns(new AvroTypeInfo<>(FaceSample.class))
            .setParallelism(1)
            .name("labels");
    labelled.sinkTo(samples).name("shards");

    DataStream<DeadLetter> allDeadLetters =
        images.getSideOutput(SplitDeadLetters.DEAD_LETTERS).union(faces.getSideOutput(SplitDeadLetters.DEAD_LETTERS));
    allDeadLetters.sinkTo(deadLetters).name("dead-letters");

    DataStream<ManifestEntry> manifest =
        curated.getSideOutput(IdentityCurator.DECISIONS)
            .union(
                labelled.getSideOutput(LabelAssigner.LABELS),
                allDeadLetters
                    .map(d -> ManifestEntry.deadLetter(d.getReason()))
                    .returns(Types.POJO(ManifestEntry.class)));
    manifest
        .keyBy(e -> 0, Types.INT)
        .process(new ManifestWriter(config))
        .returns(Types.VOID)
        .setParallelism(1)
        .name("manifest")
        .sinkTo(new DiscardingSink<>());
  }

  /** Entry point for `flink run`: arguments as documented in the README. */
  public static void main(String[] args) throws Exception {
    IngestConfig config = IngestArguments.parse(args);
    // on a cluster, its configuration decides checkpoint storage and restarts (the FlinkDeployment's
    // flinkConfiguration); the local runs of the CLI set their own (flinkConfiguration(config))
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    fromConfig(config).build(env);
    env.execute("mfn ingest " + config.topic() + " -> " + config.outDir());
  }
}
