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
    @JsonProperty("parent") String parent) {
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
        null, created, parent);
  }

  public ModelConfig withThreshold(Float value) {
    return new ModelConfig(
        version, architecture, embeddingSize, inputSize, channelOrder, mean, std, parameters, value,
        created, parent);
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

  public void write(Path folder) throws IOException {
    Files.createDirectories(folder);
    JSON.writeValue(folder.resolve(FILE).toFile(), this);
  }
}
