package dev.mfn.training.optim;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.LocalParameterServer;
import ai.djl.training.ParameterServer;
import ai.djl.util.PairList;
import dev.mfn.model.net.FaceClassifier;
import dev.mfn.model.net.MobileFaceNet;
import java.nio.file.Path;
import java.util.IdentityHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The optimiser through DJL's own parameter server, the code path of a multi-GPU step: gradients
 * reduced, then {@code update} once per device copy. This machine has one device, so the copies
 * live on the CPU and the optimiser is told which copy an array is (a fake split); everything else
 * is the real code.
 */
class GroupedSgdTest {
  private static final float LR = 0.1f;
  private static final float MOMENTUM = 0.9f;
  private static final float DECAY = 0.01f;

  @Test
  void twoDeviceCopiesStepExactlyAsOneDeviceWithTheSummedGradient(@TempDir Path dir) throws Exception {
    try (NDManager m = NDManager.newBaseManager("PyTorch")) {
      Parameter p = Parameter.builder().setName("weight").setType(Parameter.Type.WEIGHT).build();
      PairList<String, Parameter> params = new PairList<>();
      params.add("01body_01Conv2d_weight", p);
      float[] start = {1f, -2f, 0.5f, 3f};
      float[][] half1 = {{0.2f, -0.1f, 0.4f, 1f}, {-0.3f, 0.2f, 0.1f, 0.5f}, {0.05f, 0.05f, -0.2f, 0.3f}};
      float[][] half2 = {{0.1f, 0.3f, -0.2f, 0.5f}, {0.4f, -0.1f, 0.2f, -0.5f}, {0.15f, -0.35f, 0.1f, 0.2f}};

      // one device: the whole batch's gradient (the sum of the halves)
      NDArray single = m.create(start);
      GroupedSgd one = GroupedSgd.create(params, name -> DECAY, MOMENTUM);
      ParameterServer server1 = new LocalParameterServer(one);
      // two devices: two copies of the weight, each with its half's gradient
      NDArray copy0 = m.create(start);
      NDArray copy1 = m.create(start);
      Map<NDArray, String> device = new IdentityHashMap<>();
      device.put(copy0, "gpu(0)");
      device.put(copy1, "gpu(1)");
      GroupedSgd two = GroupedSgd.create(params, name -> DECAY, MOMENTUM, device::get);
      ParameterServer server2 = new LocalParameterServer(two);

      for (int step = 0; step < 3; step++) {
        one.setLearningRate(LR);
        two.setLearningRate(LR);
        NDArray sum = m.create(half1[step]).add(m.create(half2[step]));
        server1.update(p.getId(), new NDArray[] {sum}, new NDArray[] {single});
        server2.update(p.getId(), new NDArray[] {m.create(half1[step]), m.create(half2[step])},
            new NDArray[] {copy0, copy1});
        assertThat(copy0.toFloatArray()).as("copy on device 0 after step %d", step + 1)
            .containsExactly(single.toFloatArray(), org.assertj.core.data.Offset.offset(1e-6f));
        assertThat(copy1.toFloatArray()).as("copy on device 1 after step %d", step + 1)
            .containsExactly(single.toFloatArray(), org.assertj.core.data.Offset.offset(1e-6f));
        if (step == 0) {
          // a checkpoint after the first step holds one velocity per device copy; a fresh optimiser
          // restored from it continues exactly as the one that kept running
          assertThat(two.velocities().stream().map(NDArray::getName))
              .containsExactly("01body_01Conv2d_weight@gpu(0)", "01body_01Conv2d_weight@gpu(1)");
          two.save(dir.resolve("momentum.ndlist"));
          GroupedSgd restored = GroupedSgd.create(params, name -> DECAY, MOMENTUM, device::get);
          restored.load(dir.resolve("momentum.ndlist"), m);
          two = restored;
          server2 = new LocalParameterServer(restored);
        }
      }
      // and the velocity is really there: a restored optimiser without it would have diverged
      assertThat(two.velocities().get(0).abs().sum().getFloat()).isGreaterThan(0.1f);
    }
  }

  @Test
  void decayFollowsThePaperAndSparesBatchNormAndPrelu() {
    try (NDManager m = NDManager.newBaseManager("PyTorch")) {
      FaceClassifier net = new FaceClassifier(MobileFaceNet.body(), Linear.builder().setUnits(10).build());
      net.initialize(m, DataType.FLOAT32, MobileFaceNet.inputShape(2));
      DecayGroups groups = DecayGroups.of(net);
      // after the global operator: GDConv (7x7 depthwise), the 1x1 to 128, the classifier
      assertThat(groups.names(DecayGroups.Group.LATE))
          .containsExactly("01body_25Conv2d_weight", "01body_27Conv2d_weight", "02head_weight");
      assertThat(net.getParameters().get("01body_25Conv2d_weight").getArray().getShape().toString())
          .isEqualTo("(512, 1, 7, 7)");
      assertThat(groups.names(DecayGroups.Group.NONE))
          .contains("01body_02BatchNorm_gamma", "01body_02BatchNorm_beta", "01body_03ChannelPrelu_alpha", "02head_bias")
          .allMatch(n -> !n.endsWith("_weight"));
      assertThat(groups.of("01body_01Conv2d_weight")).isEqualTo(DecayGroups.Group.BODY);

      // a step with zero gradient shows the decay each parameter gets
      DecayGroups.Rates rates = new DecayGroups.Rates(4e-5f, 4e-4f);
      GroupedSgd sgd = GroupedSgd.create(net.getParameters(), n -> rates.of(groups.of(n)), MOMENTUM);
      sgd.setLearningRate(LR);
      for (String name : new String[] {"01body_01Conv2d_weight", "01body_25Conv2d_weight", "02head_weight",
          "01body_03ChannelPrelu_alpha", "01body_02BatchNorm_gamma"}) {
        Parameter p = net.getParameters().get(name);
        NDArray w = p.getArray();
        float[] before = w.toFloatArray();
        sgd.update(p.getId(), w, w.zerosLike());
        float expected = 1 - LR * rates.of(groups.of(name));
        float[] after = w.toFloatArray();
        int i = indexOfLargest(before);
        assertThat(after[i] / before[i]).as(name).isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-7f));
      }
      assertThat(rates.of(groups.of("01body_03ChannelPrelu_alpha"))).isZero();
    }
  }

  @Test
  void aGradientScaleReachesOnlyTheNamedParametersAndTheDecayIsAddedAfterIt() {
    try (NDManager m = NDManager.newBaseManager("PyTorch")) {
      Parameter body = Parameter.builder().setName("weight").setType(Parameter.Type.WEIGHT).build();
      Parameter head = Parameter.builder().setName("weight").setType(Parameter.Type.WEIGHT).build();
      PairList<String, Parameter> params = new PairList<>();
      params.add("01body_01Conv2d_weight", body);
      params.add("02head_weight", head);
      GroupedSgd sgd = GroupedSgd.create(params, name -> DECAY, 0f); // no momentum: one step is the update
      sgd.setLearningRate(LR);
      sgd.setGradientScale(0.25f, java.util.Set.of(body.getId()));
      NDArray wb = m.create(new float[] {1f, -2f});
      NDArray wh = m.create(new float[] {1f, -2f});
      float[] g = {4f, 8f};
      sgd.update(body.getId(), wb, m.create(g));
      sgd.update(head.getId(), wh, m.create(g));
      // torch: clip_grad_norm_ scales the gradient, then SGD adds decay * w: w - lr (s g + d w)
      assertThat(wb.toFloatArray()).containsExactly(new float[] {1f - LR * (0.25f * 4f + DECAY * 1f),
          -2f - LR * (0.25f * 8f + DECAY * -2f)}, org.assertj.core.data.Offset.offset(1e-6f));
      assertThat(wh.toFloatArray()).as("not named: the whole gradient").containsExactly(
          new float[] {1f - LR * (4f + DECAY * 1f), -2f - LR * (8f + DECAY * -2f)}, org.assertj.core.data.Offset.offset(1e-6f));
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> sgd.setGradientScale(0f, java.util.Set.of()))
          .isInstanceOf(IllegalArgumentException.class);
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> sgd.setGradientScale(Float.NaN, java.util.Set.of()))
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  private static int indexOfLargest(float[] a) {
    int best = 0;
    for (int i = 1; i < a.length; i++) {
      if (Math.abs(a[i]) > Math.abs(a[best])) {
        best = i;
      }
    }
    return best;
  }

}
