package dev.mfn.bench;

import dev.mfn.face.OpenCv;
import dev.mfn.flink.common.JobSettings;
import dev.mfn.flink.ingest.CroppedFace;
import dev.mfn.flink.ingest.CutSample;
import dev.mfn.flink.ingest.IdentityCurator;
import dev.mfn.flink.ingest.IngestArguments;
import dev.mfn.flink.ingest.IngestConfig;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichFlatMapFunction;
import org.apache.flink.api.common.serialization.SimpleStringSchema;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.util.Collector;
import org.apache.flink.util.ParameterTool;
import org.opencv.core.Core;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.core.Scalar;
import org.opencv.imgcodecs.Imgcodecs;

/**
 * The ingest job's per-identity state at a size no photo folder here reaches: a record on
 * {@code --trigger} makes it generate {@code --identities} x {@code --photos} aligned-crop-sized
 * faces (a 112x112 noisy PNG, ~20 KB like a real crop) into the real {@link IdentityCurator}
 * (unbounded: the state stays), on the cluster's state backend. The job keeps running (its source
 * is an unbounded Kafka topic), so checkpoints of the full state can be measured. For
 * {@code bench/run cluster}; arguments: the ingest job's (for the curator's config) plus those.
 */
public final class SyntheticIdentitiesJob {
  private SyntheticIdentitiesJob() {}

  public static void main(String[] args) throws Exception {
    ParameterTool p = ParameterTool.fromArgs(args);
    IngestConfig config = IngestArguments.parse(args);
    int identities = p.getInt("identities", 10_000);
    int photos = p.getInt("photos", 14);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.getConfig().setGlobalJobParameters(JobSettings.submission(SyntheticIdentitiesJob.class, args));
    env.setParallelism(config.parallelism());
    env.setMaxParallelism(JobSettings.MAX_PARALLELISM);
    env.enableCheckpointing(config.checkpointMillis());
    KafkaSource<String> trigger = KafkaSource.<String>builder()
        .setBootstrapServers(config.bootstrap()).setTopics(p.getRequired("trigger")).setGroupId(config.groupId())
        .setStartingOffsets(OffsetsInitializer.earliest())
        .setDeserializer(KafkaRecordDeserializationSchema.valueOnly(new SimpleStringSchema())).build();
    env.fromSource(trigger, WatermarkStrategy.noWatermarks(), "trigger").setParallelism(1)
        .flatMap(new Generate(identities, photos)).returns(Types.POJO(CroppedFace.class)).setParallelism(1)
        .name("synthetic-faces")
        .keyBy(f -> f.subject, Types.STRING)
        .connect(env.fromData("").filter(s -> !s.isEmpty()).broadcast(IdentityCurator.CUTS))
        .process(new IdentityCurator(config)).returns(Types.POJO(CutSample.class))
        .name("identity-policy-augment").uid("identity-curator")
        .sinkTo(new DiscardingSink<>());
    env.execute("bench synthetic identities " + identities + " x " + photos);
  }

  /** One trigger record -> identities x photos faces, identity-major like a publisher's order. */
  static final class Generate extends RichFlatMapFunction<String, CroppedFace> {
    private final int identities;
    private final int photos;
    private transient byte[] png;

    Generate(int identities, int photos) {
      this.identities = identities;
      this.photos = photos;
    }

    @Override
    public void open(OpenContext context) {
      OpenCv.load();
      Mat crop = new Mat(112, 112, CvType.CV_8UC3, new Scalar(120, 110, 100));
      Mat noise = new Mat(112, 112, CvType.CV_8UC3);
      Core.randn(noise, 0, 12);
      Core.add(crop, noise, crop);
      MatOfByte out = new MatOfByte();
      Imgcodecs.imencode(".png", crop, out);
      png = out.toArray();
    }

    @Override
    public void flatMap(String ignored, Collector<CroppedFace> out) {
      float[] landmarks = {38, 52, 74, 52, 56, 72, 42, 92, 70, 92};
      for (int i = 0; i < identities; i++) {
        for (int j = 0; j < photos; j++) {
          out.collect(new CroppedFace("synthetic-" + i + "-" + j, "s" + i, png, landmarks, "synthetic", 0.9f, 0.01f));
        }
      }
    }
  }
}
