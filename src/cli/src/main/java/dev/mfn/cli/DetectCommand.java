package dev.mfn.cli;

import dev.mfn.config.MfnSettings;
import dev.mfn.face.FaceRejected;
import dev.mfn.face.decode.ImageDecoder;
import dev.mfn.face.detect.DetectedFace;
import dev.mfn.face.detect.FaceDetector;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.opencv.core.Mat;
import org.opencv.core.Point;
import org.opencv.core.Scalar;
import org.opencv.imgcodecs.Imgcodecs;
import org.opencv.imgproc.Imgproc;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** `mfn detect IMAGE`: every face with box, score and five landmarks. */
@Command(
    name = "detect",
    mixinStandardHelpOptions = true,
    description = {
      "Detect every face in a photo: box, score and five landmarks (eyes, nose, mouth corners,",
      "image-left first). A photo that cannot be read gives one line with its reason code."
    })
final class DetectCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "IMAGE") Path image;

  @Option(names = "--json", description = "Print JSON instead of a table.")
  boolean json;

  @Option(names = "--draw", paramLabel = "OUT.png", description = "Also write the photo with boxes and landmarks drawn.")
  Path draw;

  @Mixin FaceOptions face;
  @Spec CommandSpec spec;
  private final MfnSettings settings;

  DetectCommand(MfnSettings settings) {
    this.settings = settings;
  }

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    Mat bgr;
    try {
      bgr = new ImageDecoder(settings.getLong("decode.max.bytes"), settings.getLong("decode.max.pixels"))
          .decode(dev.mfn.face.decode.PhotoFiles.read(image, settings.getLong("decode.max.bytes")));
    } catch (FaceRejected e) {
      spec.commandLine().getErr().println("mfn detect: " + image + ": " + e.getMessage());
      return 1;
    }
    List<DetectedFace> faces;
    try (FaceDetector detector = face.openDetector(settings)) {
      faces = detector.detect(bgr);
    }
    if (json) {
      List<Map<String, Object>> list = new ArrayList<>();
      for (DetectedFace f : faces) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("box", List.of(f.box().x(), f.box().y(), f.box().width(), f.box().height()));
        m.put("score", f.score());
        m.put("landmarks", f.landmarks().xy());
        m.put("estimated_points", f.estimatedPoints());
        list.add(m);
      }
      Map<String, Object> doc = new LinkedHashMap<>();
      doc.put("image", image.toString());
      doc.put("width", bgr.cols());
      doc.put("height", bgr.rows());
      doc.put("detector", face.detectorName(settings));
      doc.put("faces", list);
      JsonOutput.print(out, doc);
    } else {
      out.printf("%s: %dx%d, %d face(s) [%s]%n", image, bgr.cols(), bgr.rows(), faces.size(), face.detectorName(settings));
      for (int i = 0; i < faces.size(); i++) {
        DetectedFace f = faces.get(i);
        double[] p = f.landmarks().xy();
        out.printf(
            "  #%d score %.3f box x=%.0f y=%.0f w=%.0f h=%.0f eyes (%.0f,%.0f) (%.0f,%.0f) nose (%.0f,%.0f) mouth (%.0f,%.0f) (%.0f,%.0f)%n",
            i, f.score(), f.box().x(), f.box().y(), f.box().width(), f.box().height(),
            p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9]);
      }
    }
    if (draw != null) {
      for (DetectedFace f : faces) {
        Imgproc.rectangle(bgr, new Point(f.box().x(), f.box().y()),
            new Point(f.box().x() + f.box().width(), f.box().y() + f.box().height()), new Scalar(0, 255, 0), 2);
        double[] p = f.landmarks().xy();
        for (int k = 0; k < 5; k++) {
          Imgproc.circle(bgr, new Point(p[2 * k], p[2 * k + 1]), 2, new Scalar(0, 0, 255), -1);
        }
      }
      Imgcodecs.imwrite(draw.toString(), bgr);
    }
    bgr.release();
    return 0;
  }
}
