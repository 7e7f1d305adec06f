package dev.mfn.training;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mfn.config.MfnSettings;
import dev.mfn.face.FaceRejected;
import dev.mfn.face.crop.FaceCrop;
import dev.mfn.face.crop.FaceCropper;
import dev.mfn.face.decode.ImageDecoder;
import dev.mfn.face.detect.DetectorConfig;
import dev.mfn.face.detect.FaceChooser;
import dev.mfn.records.Augmentation;
import dev.mfn.records.CropFormat;
import dev.mfn.records.FaceSample;
import dev.mfn.records.Split;
import dev.mfn.testkit.DetectorFiles;
import dev.mfn.testkit.SharedData;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.file.DataFileWriter;
import org.apache.avro.specific.SpecificDatumWriter;
import org.opencv.core.MatOfByte;
import org.opencv.imgcodecs.Imgcodecs;

/**
 * A small shard folder in the ingest job's layout, made from real CFP photos with the real face
 * core (without running the Flink job, which has its own tests): the first {@code identities} CFP
 * subjects, frontal photos, the last {@code validation} of each subject in the validation split.
 */
final class TinyShards {
  private TinyShards() {}

  static Path write(Path out, int identities, int photos, int validation) throws IOException {
    Path cfp = SharedData.cfpImages();
    MfnSettings settings = MfnSettings.load();
    DetectorConfig config =
        new DetectorConfig(
            DetectorFiles.blazefaceDir(), settings.getPath("detector.yunet.model"),
            settings.getPath("detector.mtcnn.dir"), 0.5);
    List<FaceSample> train = new ArrayList<>();
    List<FaceSample> valid = new ArrayList<>();
    ObjectNode manifest = new ObjectMapper().createObjectNode();
    ObjectNode labels = manifest.putObject("labels");
    try (FaceCropper cropper =
        new FaceCropper(new ImageDecoder(50_000_000, 100_000_000), config.open("blazeface"), new FaceChooser(0.5, 20))) {
      for (int s = 1; s <= identities; s++) {
        String subject = String.format("%03d", s);
        labels.put(subject, s - 1);
        for (int p = 1; p <= photos; p++) {
          Path photo = cfp.resolve(subject).resolve("frontal").resolve(String.format("%02d.jpg", p));
          FaceCrop crop;
          try {
            crop = cropper.cropChosenOrCenter(Files.readAllBytes(photo));
          } catch (FaceRejected e) {
            continue;
          }
          MatOfByte png = new MatOfByte();
          Imgcodecs.imencode(".png", crop.aligned().crop(), png);
          crop.release();
          boolean isValidation = p > photos - validation;
          FaceSample sample =
              FaceSample.newBuilder()
                  .setId(subject + "/" + p)
                  .setImageId(subject + "/" + p)
                  .setSubject(subject)
                  .setLabel(s - 1)
                  .setSplit(isValidation ? Split.VALIDATION : Split.TRAIN)
                  .setAugmentation(Augmentation.NONE)
                  .setCropFormat(CropFormat.PNG)
                  .setCrop(ByteBuffer.wrap(png.toArray()))
                  .setTimestamp(java.time.Instant.now())
                  .build();
          (isValidation ? valid : train).add(sample);
        }
      }
    }
    // three training shards, each a mix of identities (as the ingest job's hash placement does)
    for (int shard = 0; shard < 3; shard++) {
      List<FaceSample> part = new ArrayList<>();
      for (int i = shard; i < train.size(); i += 3) {
        part.add(train.get(i));
      }
      writeAvro(out.resolve("train/shard-00" + shard + "/part-0-0.avro"), part);
    }
    writeAvro(out.resolve("validation/shard-000/part-0-0.avro"), valid);
    ObjectNode totals = manifest.putObject("totals");
    totals.put("train_samples", train.size()).put("validation_samples", valid.size());
    totals.put("identities", identities);
    new ObjectMapper().writeValue(out.resolve("manifest.json").toFile(), manifest);
    return out;
  }

  private static void writeAvro(Path file, List<FaceSample> samples) throws IOException {
    Files.createDirectories(file.getParent());
    try (DataFileWriter<FaceSample> w = new DataFileWriter<>(new SpecificDatumWriter<>(FaceSample.class))) {
      w.create(FaceSample.getClassSchema(), file.toFile());
      for (FaceSample s : samples) {
        w.append(s);
      }
    }
  }
}
