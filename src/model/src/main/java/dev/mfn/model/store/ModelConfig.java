package dev.mfn.model.store;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.mfn.model.CropTensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code config.json} of a model-store version: what an embedder needs to rebuild the network and
 * feed it (architecture, parameter file, input normalisation) and the verification threshold the
 * evaluation calibrated for it (null until evaluated).
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ModelConfig(
    @JsonProperty("version") String version,
    @JsonProperty("architecture") String architecture,
    @JsonProperty("embedding_size") int embeddingSize,
    @JsonProperty("input_size") int inputSize,
    @JsonProperty("channel_order") String channelOrder,
    @JsonProperty("mean") float mean,
    @JsonProperty("std") float std,
    @JsonProperty("parameters") String parameters,
    @JsonProperty("threshold") Float threshold,
    @JsonProperty("created") String created,
    @JsonProperty("parent") String parent,
    @JsonProperty("threshold_far") Float thresholdAtFar,
    @JsonProperty("target_far") Double targetFar,
    @JsonProperty("checksum") String checksum,
    @JsonProperty("eval_pairs") String evalPairs,
    @JsonProperty("store_id") String storeId,
    @JsonProperty("onnx") OnnxFile onnx) {
  /**
   * The version's export for ONNX Runtime ({@code mfn export}, or the training run): its file and
   * checksum, the checksum of the parameters it was made from (a mismatch means stale: not served),
   * and what it expects and gives.
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record OnnxFile(
      @JsonProperty("file") String file,
      @JsonProperty("sha256") String sha256,
      @JsonProperty("parameters_sha256") String parametersSha256,
      @JsonProperty("opset") int opset,
      @JsonProperty("batchnorm_folded") boolean batchNormFolded,
      @JsonProperty("input") String input,
      @JsonProperty("output") String output,
      @JsonProperty("exporter") int exporter) {}

  public static final String FILE = "config.json";
  public static final String ARCHITECTURE = "MobileFaceNet";
  public static final String PARAMETERS = "mobilefacenet.params";

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /** A config for a freshly trained MobileFaceNet with our training normalisation. */
  public static ModelConfig mobileFaceNet(String version, String created, String parent) {
    CropTensor t = CropTensor.TRAINED;
    return new ModelConfig(
        version, ARCHITECTURE, 128, 112, t.rgb() ? "RGB" : "BGR", t.mean(), t.std(), PARAMETERS,
        null, created, parent, null, null, null, null, null, null);
  }

  public ModelConfig withThreshold(Float value) {
    return new ModelConfig(
        version, architecture, embeddingSize, inputSize, channelOrder, mean, std, parameters, value,
        created, parent, thresholdAtFar, targetFar, checksum, evalPairs, storeId, onnx);
  }

  /**
   * The 1:N threshold: the similarity above which a false accept happens at most at rate {@code far}
   * on the evaluation's impostor pairs. Search uses it for "unknown"; verification keeps the
   * best-accuracy {@link #threshold()}.
   */
  public ModelConfig withThresholdAtFar(Float value, Double far) {
    return new ModelConfig(
        version, architecture, embeddingSize, inputSize, channelOrder, mean, std, parameters, threshold,
        created, parent, value, far, checksum, evalPairs, storeId, onnx);
  }

  /** The same version, marked with the store that issued it (see {@link #id()}). */
  public ModelConfig withStoreId(String id) {
    return new ModelConfig(
        version, architecture, embeddingSize, inputSize, channelOrder, mean, std, parameters, threshold,
        created, parent, thresholdAtFar, targetFar, checksum, evalPairs, id, onnx);
  }

  /**
   * What names this version's index and documents and its model events: {@code v3-<store id>}, so
   * two model stores' "v3" never share an index in one cluster ({@code v3} alone for a version made
   * before stores had ids, like the committed default model).
   */
  public String id() {
    return storeId == null || storeId.isBlank() ? version : version + "-" + storeId;
  }

  /**
   * The pair set (an LFW-layout folder) the training run evaluated on: the default canary of the
   * model gate when the deployment configures none.
   */
  public ModelConfig withEvalPairs(String folder) {
    return new ModelConfig(
        version, architecture, embeddingSize, inputSize, channelOrder, mean, std, parameters, threshold,
        created, parent, thresholdAtFar, targetFar, checksum, folder, storeId, onnx);
  }

  /** The SHA-256 of the parameter file, announced with the model and checked by whoever loads it. */
  public ModelConfig withChecksum(String sha256) {
    return new ModelConfig(
        version, architecture, embeddingSize, inputSize, channelOrder, mean, std, parameters, threshold,
        created, parent, thresholdAtFar, targetFar, sha256, evalPairs, storeId, onnx);
  }

  /** The same version with its ONNX export recorded. */
  public ModelConfig withOnnx(OnnxFile file) {
    return new ModelConfig(
        version, architecture, embeddingSize, inputSize, channelOrder, mean, std, parameters, threshold,
        created, parent, thresholdAtFar, targetFar, checksum, evalPairs, storeId, file);
  }

  public CropTensor preprocessing() {
    return new CropTensor(mean, std, "RGB".equalsIgnoreCase(channelOrder));
  }

  public static ModelConfig read(Path folder) throws IOException {
    Path file = folder.resolve(FILE);
    if (!Files.isRegularFile(file)) {
      throw new IOException("not a model-store version (no " + FILE + "): " + folder);
    }
    ModelConfig config = JSON.readValue(file.toFile(), ModelConfig.class);
    if (!ARCHITECTURE.equals(config.architecture())) {
      throw new IOException("unsupported architecture '" + config.architecture() + "' in " + file);
    }
    return config;
  }

  /** Written aside, synced and renamed: a reader (or a crash) sees the old config or the new one. */
  public void write(Path folder) throws IOException {
    Files.createDirectories(folder);
    dev.mfn.model.export.OnnxExport.writeDurably(folder.resolve(FILE), JSON.writeValueAsBytes(this));
  }
}
