package dev.mfn.flink.embed;

import dev.mfn.flink.common.DeadLetterSink;
import dev.mfn.flink.common.JobSettings;
import dev.mfn.flink.common.RawImageDeserializer;
import dev.mfn.flink.common.SplitDeadLetters;
import dev.mfn.records.DeadLetter;
import dev.mfn.records.ModelEvent;
import dev.mfn.records.RawImage;
import dev.mfn.search.index.FaceDocument;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.BasicTypeInfo;
import org.apache.flink.api.java.typeutils.EitherTypeInfo;
import org.apache.flink.streaming.api.datastream.AsyncDataStream;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.streaming.api.transformations.PartitionTransformation;
import org.apache.flink.streaming.runtime.partitioner.RebalancePartitioner;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.types.Either;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;

/**
 * The embed job: images.enroll -> decode, detect, align -> embed in batches (one model per task)
 * -> the vector index (Lucene or Elasticsearch) with deterministic ids; every refused record to
 * the dead-letter topic. Source and sinks are injected, as in the ingest job. Following
 * models.events (optional), it switches to each new model and moves searches to it once its index
 * is complete ({@link ModelFollowingEmbedOperator}, {@link IndexMigrationSink}).
 */
public final class EmbedJob {
  /** Operator uids: savepoints map state by them; never change one. */
  public static final String UID_SOURCE = "images-source";
  public static final String UID_MODEL_EVENTS = "model-events-source";
  public static final String UID_EMBED = "detect-align-embed";
  public static final String UID_MIGRATION = "index-migration";
  public static final String UID_GATE = "model-gate";
  public static final String UID_INDEX = "vector-index-sink";
  public static final String UID_DEAD_LETTERS = "dead-letters-sink";

  private final EmbedConfig config;
  private final Source<Either<DeadLetter, RawImage>, ?, ?> source;
  private final Sink<FaceDocument> index;
  private final Sink<DeadLetter> deadLetters;
  private final Source<Either<DeadLetter, ModelEvent>, ?, ?> modelEvents;

  /**
   * @param modelEvents the model announcements to follow, or null for a job that keeps the
   *     configured model
   */
  public EmbedJob(EmbedConfig config, Source<Either<DeadLetter, RawImage>, ?, ?> source,
      Sink<FaceDocument> index, Sink<DeadLetter> deadLetters, Source<Either<DeadLetter, ModelEvent>, ?, ?> modelEvents) {
    this.config = config;
    this.source = source;
    this.index = index;
    this.deadLetters = deadLetters;
    this.modelEvents = modelEvents;
  }

  public static EmbedJob fromConfig(EmbedConfig config) {
    return new EmbedJob(config, kafkaSource(config), new VectorIndexSink(config.index(), config.bootstrap(), config.erasures(),
            dev.mfn.config.MfnSettings.load().getLong("index.visible.millis")),
        DeadLetterSink.create(config.bootstrap(), config.deadLetterTopic()),
        config.followsModels() ? modelEventSource(config) : null);
  }

  /**
   * models.events from where this job's group stopped; a new group starts at the end (the
   * configured model is the starting point, not whatever was announced before).
   */
  public static KafkaSource<Either<DeadLetter, ModelEvent>> modelEventSource(EmbedConfig config) {
    return KafkaSource.<Either<DeadLetter, ModelEvent>>builder()
        .setBootstrapServers(config.bootstrap())
        .setProperties(dev.mfn.config.KafkaSecurity.addTo(new java.util.Properties())) // references, not the password
        .setTopics(config.modelEvents())
        .setGroupId(config.groupId() + "-models")
        .setStartingOffsets(OffsetsInitializer.committedOffsets(OffsetResetStrategy.LATEST))
        .setDeserializer(new ModelEventDeserializer())
        .build();
  }

  public static KafkaSource<Either<DeadLetter, RawImage>> kafkaSource(EmbedConfig config) {
    var builder = KafkaSource.<Either<DeadLetter, RawImage>>builder()
        .setBootstrapServers(config.bootstrap())
        .setProperties(dev.mfn.config.KafkaSecurity.addTo(new java.util.Properties())) // references, not the password
        .setTopics(config.topic())
        .setGroupId(config.groupId())
        // continue where this consumer group stopped (the enroll command runs the job again and
        // again); a new group starts at the beginning, and a replay is harmless (document ids)
        .setStartingOffsets(OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST))
        .setProperty("max.partition.fetch.bytes", String.valueOf(4 << 20))
        .setDeserializer(new RawImageDeserializer("embed"));
    if (config.bounded()) {
      builder.setBounded(OffsetsInitializer.latest());
    }
    return builder.build();
  }

  /** Checkpoints (the Kafka offsets) to files, a few restarts, then the job fails with its cause. */
  public static Configuration flinkConfiguration(EmbedConfig config) {
    return JobSettings.checkpointedWithRestarts(java.nio.file.Path.of(config.checkpointDir()));
  }

  public void build(StreamExecutionEnvironment env) {
    env.setParallelism(config.parallelism());
    env.setMaxParallelism(JobSettings.MAX_PARALLELISM);
    JobSettings.checkpointing(env, config.checkpointMillis());
    SingleOutputStreamOperator<RawImage> images =
        env.fromSource(source, WatermarkStrategy.noWatermarks(), "images").uid(UID_SOURCE)
            .process(new SplitDeadLetters<>(new AvroTypeInfo<>(RawImage.class)))
            .returns(new AvroTypeInfo<>(RawImage.class))
            .name("split-unreadable").uid("split-unreadable");
    SingleOutputStreamOperator<FaceDocument> faces;
    DataStream<DeadLetter> badEvents = null;
    if (modelEvents == null) {
      faces = images.transform("detect-align-embed", TypeInformation.of(FaceDocument.class), new EmbedOperator(config))
          .uid(UID_EMBED);
    } else {
      // the gate (one task, asynchronous) lets through only models that pass the canary; every
      // embed task hears of them (broadcast); one migrator rebuilds and serves their index
      SingleOutputStreamOperator<ModelEvent> announced =
          env.fromSource(modelEvents, WatermarkStrategy.noWatermarks(), "model-events").setParallelism(1)
              .uid(UID_MODEL_EVENTS)
              .process(new SplitDeadLetters<>(new AvroTypeInfo<>(ModelEvent.class)))
              .returns(new AvroTypeInfo<>(ModelEvent.class))
              .setParallelism(1)
              .name("split-unreadable-events").uid("split-unreadable-events");
      SingleOutputStreamOperator<ModelEvent> events =
          AsyncDataStream.orderedWait(announced, new ModelGateFunction(config), 30, TimeUnit.MINUTES, 1)
              .returns(new EitherTypeInfo<>(new AvroTypeInfo<>(DeadLetter.class), new AvroTypeInfo<>(ModelEvent.class)))
              .setParallelism(1).name("model-gate").uid(UID_GATE)
              .process(new SplitDeadLetters<>(new AvroTypeInfo<>(ModelEvent.class)))
              .returns(new AvroTypeInfo<>(ModelEvent.class))
              .setParallelism(1)
              .name("split-refused-models").uid("split-refused-models");
      faces = images.connect(events.broadcast())
          .transform("detect-align-embed", TypeInformation.of(FaceDocument.class), new ModelFollowingEmbedOperator(config))
          .uid(UID_EMBED);
      events.transform("index-migration", BasicTypeInfo.VOID_TYPE_INFO, new IndexMigrator(config))
          .uid(UID_MIGRATION).setParallelism(1)
          .sinkTo(new DiscardingSink<>()).name("index-migration-end").uid("index-migration-end").setParallelism(1);
      badEvents = announced.getSideOutput(SplitDeadLetters.DEAD_LETTERS).union(events.getSideOutput(SplitDeadLetters.DEAD_LETTERS));
    }
    // one Lucene writer per index folder: the embedded index takes a single sink task. The edge to
    // it stays aligned even with unaligned checkpoints: the migrator's commit point (a completed
    // checkpoint after a switch) needs every old-model document written before that checkpoint
    DataStream<FaceDocument> toIndex = faces;
    if (config.index().isLucene()) {
      RebalancePartitioner<FaceDocument> oneWriter = new RebalancePartitioner<>();
      oneWriter.disableUnalignedCheckpoints();
      toIndex = new DataStream<>(env, new PartitionTransformation<>(faces.getTransformation(), oneWriter));
    }
    toIndex.sinkTo(index).name("vector-index").uid(UID_INDEX)
        .setParallelism(config.index().isLucene() ? 1 : config.parallelism());
    DataStream<DeadLetter> refused = images.getSideOutput(SplitDeadLetters.DEAD_LETTERS)
        .union(faces.getSideOutput(SplitDeadLetters.DEAD_LETTERS));
    (badEvents == null ? refused : refused.union(badEvents))
        .map(new dev.mfn.flink.common.CountDeadLetters()).name("count-dead-letters").uid("count-dead-letters")
        .sinkTo(deadLetters)
        .name("dead-letters").uid(UID_DEAD_LETTERS);
  }

  /** Entry point for `flink run` and the Flink Kubernetes operator: arguments in {@link EmbedArguments}. */
  public static void main(String[] args) throws Exception {
    EmbedConfig config = EmbedArguments.parse(args);
    // on a cluster, its configuration decides checkpoint storage and restarts (the FlinkDeployment's
    // flinkConfiguration); the local runs of the CLI set their own (flinkConfiguration(config))
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.getConfig().setGlobalJobParameters(JobSettings.submission(EmbedJob.class, args));
    fromConfig(config).build(env);
    env.execute("mfn embed " + config.topic());
  }
}
