package dev.mfn.cli;

import dev.mfn.config.MfnSettings;
import dev.mfn.model.export.OnnxExport;
import dev.mfn.model.store.ModelConfig;
import dev.mfn.model.store.ModelStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** `mfn export`: writes model.onnx for model-store versions trained before training wrote it. */
@Command(
    name = "export",
    mixinStandardHelpOptions = true,
    description = {
      "Write model.onnx beside a model-store version's parameters: the same MobileFaceNet with",
      "BatchNorm folded into the convolutions, for ONNX Runtime, which the embedders then use by",
      "default (setting model.runtime). Training writes it already; this is for older versions.",
      "The input normalisation and the checksum of the parameters it came from go into config.json",
      "(\"onnx\"); a version whose parameters change later is served by PyTorch until exported again."
    })
final class ExportCommand implements Callable<Integer> {
  @Option(names = "--model", paramLabel = "MODEL", required = true,
      description = "A model-store version folder (v3), or a whole store with --all (default: one version, the latest).")
  Path model;

  @Option(names = "--all", description = "Export every version of the store MODEL.")
  boolean all;

  @Spec CommandSpec spec;
  private final MfnSettings settings;

  ExportCommand(MfnSettings settings) {
    this.settings = settings;
  }

  @Override
  public Integer call() throws Exception {
    if (!Files.isDirectory(model)) {
      throw new IllegalArgumentException("not a model-store version or store: " + model);
    }
    List<Path> versions = new ArrayList<>();
    if (all) {
      versions.addAll(new ModelStore(model).versions());
      if (versions.isEmpty()) {
        throw new IllegalArgumentException("no versions in " + model);
      }
    } else {
      versions.add(ModelStore.resolve(model));
    }
    var out = spec.commandLine().getOut();
    for (Path version : versions) {
      long start = System.nanoTime();
      ModelConfig config = OnnxExport.export(version);
      Path file = version.resolve(config.onnx().file());
      out.printf(Locale.ROOT, "%s: %s (%.1f MB, opset %d, BatchNorm folded) in %.1f s; input %s%n",
          config.id(), file, Files.size(file) / 1e6, config.onnx().opset(), (System.nanoTime() - start) / 1e9,
          config.onnx().input());
    }
    return 0;
  }
}
