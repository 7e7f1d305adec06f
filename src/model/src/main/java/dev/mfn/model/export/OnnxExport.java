package dev.mfn.model.export;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.djl.nn.LambdaBlock;
import ai.djl.nn.ParallelBlock;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.norm.BatchNorm;
import dev.mfn.model.net.ChannelPrelu;
import dev.mfn.model.net.MobileFaceNet;
import dev.mfn.model.net.ParameterFiles;
import dev.mfn.model.store.ModelConfig;
import dev.mfn.model.store.ModelStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes a model-store version's MobileFaceNet as {@code model.onnx}, for serving with ONNX
 * Runtime: the same graph as {@link MobileFaceNet#body()}, from the version's parameters, with every
 * BatchNorm folded into the convolution before it (inference uses the running statistics, so
 * {@code BN(W * x) = (W * scale) * x + (beta - mean * scale)}, scale = gamma / sqrt(var + eps)).
 * The input normalisation stays outside the graph, as for the PyTorch path, and is recorded in
 * {@code config.json} ({@link ModelConfig.OnnxFile}), with the checksum of the parameters it came
 * from, so a stale export is never served.
 *
 * <p>DJL cannot export a Block to ONNX (its PyTorch engine has no exporter), hence this walk over
 * the blocks MobileFaceNet is made of: sequences, convolution + BatchNorm pairs, per-channel PReLU,
 * residual sums (a two-branch ParallelBlock: the bottleneck and the identity) and the final flatten.
 * Any other block is refused rather than guessed at.
 */
public final class OnnxExport {
  private static final Logger LOG = LoggerFactory.getLogger(OnnxExport.class);

  public static final String FILE = "model.onnx";
  /**
   * The exporter's version, recorded with each export: raise it when the graph this class writes
   * changes, so exports made by an older exporter are no longer served (written again by mfn export).
   */
  public static final int EXPORTER = 1;
  static final String INPUT = "crops";
  static final String OUTPUT = "embedding";

  private final OnnxGraph graph = new OnnxGraph();

  private OnnxExport() {}

  /**
   * Exports the version in {@code folder} (a model-store version with config.json and parameters)
   * to {@code model.onnx} beside them, atomically, and records it in config.json. Returns the
   * updated config.
   */
  public static ModelConfig export(Path folder) throws IOException {
    ModelConfig config = ModelConfig.read(folder);
    Path parameters = folder.resolve(config.parameters());
    String parametersSha = ModelStore.checksum(parameters);
    byte[] bytes;
    Block body = MobileFaceNet.body();
    try (Model model = Model.newInstance("export", Device.cpu(), "PyTorch")) {
      model.setBlock(body);
      body.initialize(model.getNDManager(), DataType.FLOAT32, MobileFaceNet.inputShape(1));
      ParameterFiles.load(body, model.getNDManager(), parameters);
      bytes = new OnnxExport().write(body, config, parametersSha);
    }
    Path file = folder.resolve(FILE);
    writeDurably(file, bytes);
    ModelConfig updated = config.withOnnx(new ModelConfig.OnnxFile(FILE, ModelStore.checksum(file), parametersSha,
        OnnxGraph.OPSET, true, inputDescription(config), OUTPUT + ": float32 [N, " + config.embeddingSize()
            + "], not normalised (the embedders scale it to unit length)", EXPORTER));
    updated.write(folder);
    return updated;
  }

  /**
   * The version's ONNX file when it can be served: recorded in config.json, present, and made from
   * the parameters the version holds now (else empty, and the log says why).
   */
  public static Optional<Path> usable(Path folder, ModelConfig config) throws IOException {
    ModelConfig.OnnxFile onnx = config.onnx();
    if (onnx == null) {
      return Optional.empty();
    }
    Path file = folder.resolve(onnx.file());
    if (!Files.isRegularFile(file)) {
      LOG.warn("{}: config.json names {} but it is missing; using the PyTorch path", folder, onnx.file());
      return Optional.empty();
    }
    String parameters = ModelStore.checksum(folder.resolve(config.parameters()));
    String why = null;
    if (!parameters.equals(onnx.parametersSha256())) {
      why = "was exported from other parameters than " + config.parameters() + " holds now";
    } else if (!ModelStore.checksum(file).equals(onnx.sha256())) {
      why = "is not the file that was exported (its SHA-256 differs from config.json's)";
    } else if (onnx.exporter() != EXPORTER) {
      why = "was written by exporter " + onnx.exporter() + ", this build's is " + EXPORTER;
    }
    if (why != null) {
      LOG.warn("{}: {} {}; using the PyTorch path (mfn export --model {} writes it again)", folder, onnx.file(), why, folder);
      return Optional.empty();
    }
    return Optional.of(file);
  }

  static String inputDescription(ModelConfig config) {
    return String.format(Locale.ROOT, "%s: float32 [N, 3, %d, %d], %s channel order, (pixel - %s) / %s",
        INPUT, config.inputSize(), config.inputSize(), config.channelOrder(), trim(config.mean()), trim(config.std()));
  }

  private static String trim(float v) {
    return v == Math.rint(v) ? String.valueOf((long) v) : String.valueOf(v);
  }

  private byte[] write(Block body, ModelConfig config, String parametersSha) {
    String out = emit(body, INPUT);
    return graph.toModel(
        "mobilefacenet",
        INPUT,
        new long[] {3, config.inputSize(), config.inputSize()},
        out,
        new long[] {config.embeddingSize()},
        metadata(config, parametersSha),
        "MobileFaceNet " + config.id() + " exported by mfn, BatchNorm folded into the convolutions");
  }

  /** In a fixed order (Map.of's changes from one JVM to the next): the same parameters, the same bytes. */
  private static Map<String, String> metadata(ModelConfig config, String parametersSha) {
    Map<String, String> m = new java.util.LinkedHashMap<>();
    m.put("mfn.version", config.id());
    m.put("mfn.parameters_sha256", parametersSha);
    m.put("mfn.input", inputDescription(config));
    return m;
  }

  /** Emits {@code block} applied to the tensor named {@code x}; returns its output's name. */
  private String emit(Block block, String x) {
    if (block instanceof SequentialBlock sequence) {
      List<Block> children = sequence.getChildren().values();
      for (int i = 0; i < children.size(); i++) {
        Block child = children.get(i);
        if (child instanceof Conv2d conv && i + 1 < children.size() && children.get(i + 1) instanceof BatchNorm bn) {
          x = convolutionWithBatchNorm(conv, bn, x);
          i++;
        } else {
          x = emit(child, x);
        }
      }
      return x;
    }
    if (block instanceof ParallelBlock residual) {
      List<Block> branches = residual.getChildren().values();
      if (branches.size() != 2 || !(branches.get(1) instanceof LambdaBlock)) {
        throw new IllegalArgumentException("not a residual block (branch + identity): " + residual);
      }
      return graph.node("Add", emit(branches.get(0), x), x);
    }
    if (block instanceof ChannelPrelu prelu) {
      float[] slope = values(prelu, "alpha");
      String name = graph.weight("prelu_" + x, slope, slope.length, 1, 1);
      return graph.node("PRelu", x, name);
    }
    if (block instanceof LambdaBlock) {
      // the only other lambda in MobileFaceNet: batchFlatten, [N,128,1,1] -> [N,128]
      return graph.namedNode(OUTPUT, "Flatten", OnnxGraph.attributes("axis", 1L), x);
    }
    throw new IllegalArgumentException("no ONNX export for " + block.getClass().getSimpleName()
        + " (a convolution must be followed by its BatchNorm)");
  }

  private String convolutionWithBatchNorm(Conv2d conv, BatchNorm bn, String x) {
    if (conv.isIncludeBias()) {
      throw new IllegalArgumentException("MobileFaceNet's convolutions have no bias; this one has");
    }
    NDArray weightArray = conv.getParameters().get("weight").getArray();
    long[] shape = weightArray.getShape().getShape();
    float[] weight = weightArray.toFloatArray();
    float[] gamma = values(bn, "gamma");
    float[] beta = values(bn, "beta");
    float[] mean = values(bn, "runningMean");
    float[] variance = values(bn, "runningVar");
    int filters = (int) shape[0];
    int perFilter = weight.length / filters;
    float[] bias = new float[filters];
    for (int c = 0; c < filters; c++) {
      double scale = gamma[c] / Math.sqrt(variance[c] + (double) MobileFaceNet.BATCH_NORM_EPSILON);
      for (int j = 0; j < perFilter; j++) {
        weight[c * perFilter + j] = (float) (weight[c * perFilter + j] * scale);
      }
      bias[c] = (float) (beta[c] - mean[c] * scale);
    }
    String id = "conv_" + x;
    String w = graph.weight(id + "_w", weight, shape);
    String b = graph.weight(id + "_b", bias, filters);
    long kernel = conv.getKernelShape().get(0);
    long stride = conv.getStride().get(0);
    long pad = conv.getPadding().get(0);
    return graph.node("Conv", OnnxGraph.attributes(
        "group", (long) conv.getGroups(),
        "kernel_shape", new long[] {kernel, kernel},
        "pads", new long[] {pad, pad, pad, pad},
        "strides", new long[] {stride, stride},
        "dilations", new long[] {1, 1}), x, w, b);
  }

  private static float[] values(Block block, String parameter) {
    return block.getParameters().get(parameter).getArray().toFloatArray();
  }

  /** Temporary file, fsync, atomic rename, fsync of the folder: a crash leaves the old file or the new one. */
  public static void writeDurably(Path file, byte[] bytes) throws IOException {
    dev.mfn.model.store.DurableFiles.write(file, bytes);
  }

}
