package dev.mfn.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.mfn.model.net.MobileFaceNet;
import dev.mfn.model.net.ParameterFiles;
import dev.mfn.model.store.ModelConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The training loop on a tiny shard set made from real CFP photos (8 people, 10 photos each). */
class FaceTrainerTest {
  @TempDir static Path shared;
  static Path shards;

  @BeforeAll
  static void shards() throws IOException {
    shards = TinyShards.write(shared.resolve("shards"), 8, 10, 2);
  }

  private static TrainingOptions tiny(Integer arcFaceEpoch, int epochs) {
    return TrainingOptions.defaults(shards)
        .withBudget(epochs, null)
        .withBatch(16, 0.05f, 5)
        .withPhases(arcFaceEpoch, 16f, 0.3f)
        .withDevice("cpu", 2);
  }

  @Test
  void lossFallsInAFewSteps(@TempDir Path run) throws IOException {
    List<Float> losses = new ArrayList<>();
    TrainingResult result =
        new FaceTrainer(tiny(null, 8), run, new TrainingListener() {
              @Override
              public void onStep(TrainingState state, float loss, float lr) {
                losses.add(loss);
              }
            })
            .train();
    assertThat(losses).hasSizeGreaterThanOrEqualTo(20);
    double first = losses.subList(0, 4).stream().mapToDouble(Float::doubleValue).average().orElseThrow();
    double last =
        losses.subList(losses.size() - 4, losses.size()).stream().mapToDouble(Float::doubleValue).average().orElseThrow();
    assertThat(last).as("mean loss of the last 4 steps vs the first 4").isLessThan(first * 0.7);
    assertThat(result.state().step()).isEqualTo(losses.size());
    assertThat(run.resolve(ModelConfig.PARAMETERS)).isRegularFile();
    assertThat(MetricsLog.read(run.resolve("metrics.jsonl")))
        .anySatisfy(r -> assertThat(r.path("type").asText()).isEqualTo("epoch"));
  }

  @Test
  void resumeAfterACrashContinuesFromTheSameStepWithTheSameWeights(@TempDir Path straight, @TempDir Path crashed)
      throws IOException {
    // softmax for epoch 1, ArcFace from epoch 2: the crash and the resume happen in the ArcFace phase
    TrainingOptions options = tiny(1, 3);
    new FaceTrainer(options, straight, new TrainingListener() {}).train();

    List<Long> stepsAfterCheckpoint = new ArrayList<>();
    RuntimeException crash = new RuntimeException("simulated crash");
    assertThatThrownBy(
            () ->
                new FaceTrainer(options, crashed, new TrainingListener() {
                      @Override
                      public void onStep(TrainingState state, float loss, float lr) {
                        if (state.epoch() == 1 && state.step() == state.arcFaceStartStep() + 2) {
                          throw crash;
                        }
                      }
                    })
                    .train())
        .isSameAs(crash);
    TrainingState saved = Checkpoint.state(crashed).orElseThrow();
    assertThat(saved.epoch()).isEqualTo(1);
    assertThat(saved.phase()).isEqualTo(Phase.ARCFACE);

    TrainingResult resumed =
        new FaceTrainer(options, crashed, new TrainingListener() {
              @Override
              public void onStep(TrainingState state, float loss, float lr) {
                stepsAfterCheckpoint.add(state.step());
              }
            })
            .train();
    assertThat(stepsAfterCheckpoint.get(0)).isEqualTo(saved.step() + 1);
    assertThat(resumed.state().step()).isEqualTo(Checkpoint.state(straight).orElseThrow().step());

    // resuming a finished run (say it crashed while evaluating) takes no further step
    List<Long> extra = new ArrayList<>();
    TrainingResult again =
        new FaceTrainer(options, crashed, new TrainingListener() {
              @Override
              public void onStep(TrainingState state, float loss, float lr) {
                extra.add(state.step());
              }
            })
            .train();
    assertThat(extra).isEmpty();
    assertThat(again.state().step()).isEqualTo(resumed.state().step());

    // the same batches, the same momentum, the same schedule: the same weights (up to float noise)
    assertThat(differences(straight.resolve(ModelConfig.PARAMETERS), crashed.resolve(ModelConfig.PARAMETERS)))
        .isEmpty();
  }

  @Test
  void theGpuPathSaysClearlyThatThereIsNoGpu(@TempDir Path run) {
    assertThatThrownBy(() -> new FaceTrainer(tiny(null, 1).withDevice("gpu", 2), run, new TrainingListener() {}))
        .isInstanceOf(Devices.NoGpuException.class)
        .hasMessageContaining("GPU")
        .hasMessageContaining("--device cpu");
  }

  /** Parameters (BatchNorm statistics included) that differ by more than 1e-4 between two files. */
  private static List<String> differences(Path a, Path b) throws IOException {
    try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
      var first = MobileFaceNet.body();
      first.initialize(manager, DataType.FLOAT32, MobileFaceNet.inputShape(1));
      ParameterFiles.load(first, manager, a);
      var second = MobileFaceNet.body();
      second.initialize(manager, DataType.FLOAT32, MobileFaceNet.inputShape(1));
      ParameterFiles.load(second, manager, b);
      var pa = first.getParameters();
      var pb = second.getParameters();
      List<String> differ = new ArrayList<>();
      for (int i = 0; i < pa.size(); i++) {
        float d = pa.valueAt(i).getArray().sub(pb.valueAt(i).getArray()).abs().max().getFloat();
        if (d > 1e-4) {
          differ.add(pa.keyAt(i) + " by " + d);
        }
      }
      assertThat(pa.size()).isEqualTo(pb.size()).isGreaterThan(100);
      return differ;
    }
  }
}
