package dev.mfn.model;

import ai.djl.MalformedModelException;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ModelNotFoundException;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.translate.NoopTranslator;
import ai.djl.translate.TranslateException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import dev.mfn.model.store.ModelConfig;
import java.util.List;
import org.opencv.core.Mat;

/**
 * An embedding model in ONNX format run by DJL's ONNX Runtime engine, fed whole batches: the crops
 * become one [N,3,112,112] tensor and one forward pass.
 */
public final class OnnxEmbedder implements Embedder {
  private static final int SIZE = 112;

  private final Path file;
  private final CropTensor preprocessing;
  private final ModelConfig config;
  private final ZooModel<NDList, NDList> model;
  private final Predictor<NDList, NDList> predictor;
  private int dimension = -1;

  public OnnxEmbedder(Path file, CropTensor preprocessing) throws IOException {
    this(file, preprocessing, null, 0);
  }

  /**
   * @param config the model-store version the file was exported from, or null for a bare .onnx
   * @param threads ONNX Runtime's intra-op threads (0: its default, one per core); inter-op work is
   *     one thread, since MobileFaceNet is one chain of operators
   */
  public OnnxEmbedder(Path file, CropTensor preprocessing, ModelConfig config, int threads) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new IOException("model file not found: " + file);
    }
    this.file = file;
    this.preprocessing = preprocessing;
    this.config = config;
    Criteria.Builder<NDList, NDList> builder =
        Criteria.builder()
            .setTypes(NDList.class, NDList.class)
            .optModelPath(file)
            .optEngine("OnnxRuntime")
            .optOption("interOpNumThreads", "1")
            .optTranslator(new NoopTranslator());
    if (threads > 0) {
      builder.optOption("intraOpNumThreads", Integer.toString(threads));
    }
    Criteria<NDList, NDList> criteria = builder.build();
    try {
      this.model = criteria.loadModel();
    } catch (ModelNotFoundException | MalformedModelException e) {
      throw new IOException("cannot load ONNX model " + file + ": " + e.getMessage(), e);
    }
    this.predictor = model.newPredictor();
  }

  @Override
  public float[][] embed(List<Mat> crops) {
    if (crops.isEmpty()) {
      return new float[0][];
    }
    float[] input = preprocessing.pack(crops, SIZE);
    try (NDManager manager = model.getNDManager().newSubManager()) {
      NDArray x = manager.create(input, new Shape(crops.size(), 3, SIZE, SIZE));
      NDList out = predictor.predict(new NDList(x));
      float[] flat = out.get(0).toFloatArray();
      int dim = flat.length / crops.size();
      dimension = dim;
      float[][] vectors = new float[crops.size()][];
      for (int n = 0; n < crops.size(); n++) {
        float[] v = new float[dim];
        System.arraycopy(flat, n * dim, v, 0, dim);
        vectors[n] = Embedder.normalize(v);
      }
      out.close();
      return vectors;
    } catch (TranslateException e) {
      throw new IllegalStateException("inference failed on " + file + ": " + e.getMessage(), e);
    }
  }

  @Override
  public int dimension() {
    return dimension;
  }

  @Override
  public String runtime() {
    return "ONNX Runtime";
  }

  @Override
  public java.util.Optional<ModelConfig> storeConfig() {
    return java.util.Optional.ofNullable(config);
  }

  @Override
  public String describe() {
    return (config != null ? config.version() + " (" + file + ", " : file.getFileName() + " (") + "ONNX Runtime via DJL)";
  }

  @Override
  public void close() {
    predictor.close();
    model.close();
  }
}
