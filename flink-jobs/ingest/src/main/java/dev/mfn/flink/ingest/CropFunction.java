package dev.mfn.flink.ingest;

import dev.mfn.face.FaceRejected;
import dev.mfn.face.crop.FaceCropper;
import dev.mfn.face.decode.ImageDecoder;
import dev.mfn.face.detect.FaceChooser;
import dev.mfn.flink.common.DeadLetters;
import dev.mfn.flink.common.SplitDeadLetters;
import dev.mfn.records.DeadLetter;
import dev.mfn.records.RawImage;
import dev.mfn.records.kafka.AvroSerde;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Decode, detect, choose and align, one detector per parallel task (opened once in open()). A
 * photo that cannot become a face goes to the dead-letter side output with its reason code and the
 * original record; it never fails the job.
 */
public final class CropFunction extends ProcessFunction<RawImage, CroppedFace> {

  private final IngestConfig config;
  private transient FaceCropStage stage;
  private transient AvroSerde<RawImage> serde;
  private transient Counter recordsIn;
  private transient Counter faces;
  private transient Histogram latencyMicros;

  public CropFunction(IngestConfig config) {
    this.config = config;
  }

  @Override
  public void open(OpenContext context) {
    stage =
        new FaceCropStage(
            new FaceCropper(
                new ImageDecoder(config.maxBytes(), config.maxPixels()),
                config.detectorConfig().open(config.detector()),
                new FaceChooser(config.minScore(), config.minFaceSize())),
            config.photoSource());
    serde = new AvroSerde<>(RawImage.class);
    var metrics = getRuntimeContext().getMetricGroup();
    recordsIn = metrics.counter("recordsIn");
    faces = metrics.counter("facesAligned");
    latencyMicros = metrics.histogram("detectAlignMicros", new DescriptiveStatisticsHistogram(1000));
  }

  @Override
  public void processElement(RawImage image, Context ctx, Collector<CroppedFace> out) {
    recordsIn.inc();
    long start = System.nanoTime();
    try {
      CroppedFace face = stage.crop(image);
      latencyMicros.update((System.nanoTime() - start) / 1000);
      faces.inc();
      out.collect(face);
    } catch (FaceRejected e) {
      ctx.output(SplitDeadLetters.DEAD_LETTERS, deadLetter(image, e));
    }
  }

  private DeadLetter deadLetter(RawImage image, FaceRejected e) {
    return DeadLetters.forImage("ingest", config.topic(), image, e.reason(), e.getMessage(), serde);
  }

  @Override
  public void close() {
    if (stage != null) {
      stage.close();
    }
  }
}
