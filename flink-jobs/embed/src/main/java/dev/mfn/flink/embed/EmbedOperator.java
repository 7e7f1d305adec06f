package dev.mfn.flink.embed;

import dev.mfn.face.FaceRejected;
import dev.mfn.face.RejectReason;
import dev.mfn.face.crop.FaceCropper;
import dev.mfn.face.decode.ImageDecoder;
import dev.mfn.face.detect.FaceChooser;
import dev.mfn.flink.common.DeadLetters;
import dev.mfn.flink.common.PhotoSource;
import dev.mfn.flink.common.SplitDeadLetters;
import dev.mfn.model.Embedder;
import dev.mfn.model.EmbeddingModels;
import dev.mfn.model.PhotoEmbedder;
import dev.mfn.records.DeadLetter;
import dev.mfn.records.RawImage;
import dev.mfn.records.kafka.AvroSerde;
import dev.mfn.search.enroll.FaceEmbedStage;
import dev.mfn.search.index.FaceDocument;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

/**
 * Photos in, face documents out, embedded in batches: photos wait in a buffer until their faces
 * fill a batch, or {@code batchMillis} pass, and the buffer is always emptied before a checkpoint
 * barrier and at the end of input, so it never needs to be in state (nothing is lost on failure:
 * the source replays from the last checkpoint). One detector and one model per parallel task,
 * opened once. A photo without a usable face goes to the dead-letter side output with its reason.
 */
public class EmbedOperator extends AbstractStreamOperator<FaceDocument>
    implements OneInputStreamOperator<RawImage, FaceDocument>, BoundedOneInput {
  protected final EmbedConfig config;
  private transient FaceCropper cropper;
  private transient Embedder embedder;
  private transient FaceEmbedStage stage;
  private transient Path model;
  private transient String modelVersion;
  private transient List<RawImage> buffer;
  private transient boolean timerSet;
  private transient AvroSerde<RawImage> serde;
  private transient Counter facesEmbedded;
  private transient Histogram batchFill;
  private transient Erasures erasures;
  private transient long lastCatchUp;
  private transient PhotoSource photoSource;

  public EmbedOperator(EmbedConfig config) {
    this.config = config;
  }

  @Override
  public void open() throws Exception {
    super.open();
    cropper = new FaceCropper(new ImageDecoder(config.maxBytes(), config.maxPixels()),
        config.detectorConfig().open(config.detector()), new FaceChooser(config.minScore(), config.minFaceSize()));
    buffer = new ArrayList<>();
    photoSource = config.photoSource();
    erasures = Erasures.forJob(config);
    // the whole table before the first photo: a replay right after a start must see every tombstone
    erasures.catchUp(java.time.Duration.ofSeconds(60));
    lastCatchUp = System.nanoTime();
    useModel(startingModel());
    serde = new AvroSerde<>(RawImage.class);
    var metrics = getRuntimeContext().getMetricGroup();
    facesEmbedded = metrics.counter("facesEmbedded");
    metrics.meter("facesEmbeddedPerSecond", new org.apache.flink.metrics.MeterView(facesEmbedded));
    batchFill = metrics.histogram("batchFill", new DescriptiveStatisticsHistogram(1000));
  }

  /** The model the task opens first: the configured one (a model follower may know a newer one). */
  protected Path startingModel() {
    return Path.of(config.model());
  }

  /**
   * Embeds from now on with this model (opened once), into its version's index. Photos already
   * buffered are embedded with the previous model first.
   */
  protected final void useModel(Path next) throws java.io.IOException {
    Embedder opened = EmbeddingModels.open(next);
    FaceEmbedStage nextStage;
    String nextVersion;
    try {
      nextVersion = EmbeddingModels.version(opened, next);
      org.slf4j.LoggerFactory.getLogger(EmbedOperator.class).info("embedding with {}", opened.describe());
      nextStage = new FaceEmbedStage(cropper, new PhotoEmbedder(cropper, opened, true, false, config.batchSize()),
          nextVersion, config.allFaces() ? FaceEmbedStage.Faces.ALL : FaceEmbedStage.Faces.CHOSEN);
      flush(); // what is buffered goes out with the model it arrived under
    } catch (RuntimeException | java.io.IOException e) {
      opened.close();
      throw e;
    }
    Embedder old = embedder;
    embedder = opened;
    model = next;
    modelVersion = nextVersion;
    stage = nextStage;
    if (old != null) {
      old.close();
    }
  }

  protected final Path model() {
    return model;
  }

  protected final String modelVersion() {
    return modelVersion;
  }

  @Override
  public void processElement(StreamRecord<RawImage> element) throws Exception {
    buffer.add(element.getValue());
    if (buffer.size() >= config.batchSize()) {
      flush();
    } else if (!timerSet) {
      timerSet = true;
      long due = getProcessingTimeService().getCurrentProcessingTime() + config.batchMillis();
      getProcessingTimeService().registerTimer(due, time -> {
        timerSet = false;
        flush();
      });
    }
  }

  @Override
  public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
    flush(); // the barrier must not overtake buffered photos
  }

  @Override
  public void endInput() throws Exception {
    flush();
  }

  protected final void flush() {
    if (buffer.isEmpty()) {
      return;
    }
    if (System.nanoTime() - lastCatchUp > 1_000_000_000L) {
      try {
        erasures.catchUp(java.time.Duration.ofSeconds(30)); // tombstones up to now, at most once a second
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e); // fails the task: better than indexing an erased person
      }
      lastCatchUp = System.nanoTime();
    }
    List<FaceEmbedStage.Photo> photos = new ArrayList<>(buffer.size());
    Map<String, RawImage> byId = new HashMap<>();
    for (RawImage image : buffer) {
      byId.put(image.getId(), image);
      if (erasures.erased(image.getSubject(), image.getTimestamp().toEpochMilli())) {
        erased(image);
        continue;
      }
      try {
        String badSubject = image.getSubject() == null ? null : dev.mfn.records.Subjects.problem(image.getSubject());
        if (badSubject != null) {
          throw new FaceRejected(dev.mfn.face.RejectReason.BAD_SUBJECT, badSubject);
        }
        // the photo's source travels with its faces: the index keeps no photo, so the console shows
        // this name to say which photo a face came from
        photos.add(new FaceEmbedStage.Photo(image.getId(), image.getSubject(), photoSource.bytes(image), displaySource(image)));
      } catch (FaceRejected e) {
        deadLetter(image, e.reason(), e.getMessage());
      }
    }
    buffer.clear();
    FaceEmbedStage.Result result = stage.embed(photos);
    batchFill.update(result.documents().size());
    for (FaceDocument d : result.documents()) {
      RawImage source = byId.get(d.imageId());
      // the photo's publication time travels with it: the index sink checks it against deletions
      output.collect(new StreamRecord<>(source == null ? d : d.withPublishedAt(source.getTimestamp().toEpochMilli())));
    }
    facesEmbedded.inc(result.documents().size());
    result.rejected().forEach((id, reason) -> deadLetter(byId.get(id), reason, "no usable face"));
  }

  /**
   * A photo of an erased subject (or older than its deletion) is not embedded. Its dead letter
   * carries no photo: the point is that no copy of it is made.
   */
  private void erased(RawImage image) {
    output.collect(SplitDeadLetters.DEAD_LETTERS, new StreamRecord<>(DeadLetter.newBuilder()
        .setStage("embed").setReason("SUBJECT_ERASED")
        .setMessage("the subject was deleted (subjects.deleted); photos published before the deletion are never indexed")
        .setImageId(image.getId()).setSubject(image.getSubject()).setOriginalTopic(config.topic())
        .setJob("embed").setTimestamp(java.time.Instant.now()).build()));
  }

  /**
   * The photo's source as the console shows it: with the file name its sender gave, where the
   * publisher kept one in the attribute {@code filename} (uploads through POST /enroll all have
   * the source "upload", so that a photo's id is its subject's and its bytes').
   */
  static String displaySource(RawImage image) {
    String filename = image.getAttributes() == null ? null : image.getAttributes().get("filename");
    return filename == null || filename.isBlank() ? image.getSource() : image.getSource() + ": " + filename;
  }

  private void deadLetter(RawImage image, RejectReason reason, String message) {
    DeadLetter letter = DeadLetters.forImage("embed", config.topic(), image, reason, message, serde);
    output.collect(SplitDeadLetters.DEAD_LETTERS, new StreamRecord<>(letter));
  }

  @Override
  public void close() throws Exception {
    if (embedder != null) {
      embedder.close();
    }
    if (cropper != null) {
      cropper.close();
    }
    if (erasures != null) {
      erasures.close();
    }
    super.close();
  }
}
