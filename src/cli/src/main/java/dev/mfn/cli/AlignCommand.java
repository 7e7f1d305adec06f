package dev.mfn.cli;

import dev.mfn.config.MfnSettings;
import dev.mfn.face.FaceRejected;
import dev.mfn.face.crop.FaceCrop;
import dev.mfn.face.crop.FaceCropper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.opencv.imgcodecs.Imgcodecs;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** `mfn align IMAGE OUT.png`: the chosen face, aligned to the 112x112 template. */
@Command(
    name = "align",
    mixinStandardHelpOptions = true,
    description = {
      "Detect the faces of a photo, choose the largest and most central one, align it to the",
      "112x112 insightface template with a 5-point similarity transform and write the crop."
    })
final class AlignCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "IMAGE") Path image;

  @Parameters(index = "1", paramLabel = "OUT.png") Path output;

  @Mixin FaceOptions face;
  @Spec CommandSpec spec;
  private final MfnSettings settings;

  AlignCommand(MfnSettings settings) {
    this.settings = settings;
  }

  @Override
  public Integer call() throws Exception {
    try (FaceCropper cropper = face.openCropper(settings)) {
      FaceCrop crop = cropper.cropChosen(dev.mfn.face.decode.PhotoFiles.read(image, cropper.maxBytes()));
      if (output.getParent() != null) {
        Files.createDirectories(output.getParent());
      }
      if (!Imgcodecs.imwrite(output.toString(), crop.aligned().crop())) {
        throw new java.io.IOException("cannot write " + output);
      }
      spec.commandLine().getOut().printf(
          "%s: face score %.3f, alignment residual %.2f px, scale %.3f -> %s%n",
          image, crop.face().score(), crop.aligned().residual(), crop.aligned().scale(), output);
      crop.release();
      return 0;
    } catch (FaceRejected e) {
      spec.commandLine().getErr().println("mfn align: " + image + ": " + e.getMessage());
      return 1;
    }
  }
}
