package dev.mfn.training.report;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mfn.model.store.ModelConfig;
import dev.mfn.training.TrainingOptions;
import dev.mfn.training.TrainingResult;
import dev.mfn.training.TrainingState;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The card's numbers are written for people: a float option prints as its shortest decimal form. */
class ModelCardTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void aFloatIsItsShortestDecimalNotTheWidenedDouble() throws Exception {
    // widening gives 0.05000000074505806 and 3.9999998989515007E-4
    assertThat((double) 0.05f).isNotEqualTo(0.05);
    assertThat(ModelCard.human(0.05f)).isEqualTo(0.05);
    assertThat(ModelCard.human(4e-4f)).isEqualTo(4e-4);
    assertThat(ModelCard.human(0.9f)).isEqualTo(0.9);
    assertThat(ModelCard.human(64f)).isEqualTo(64.0);
    assertThat(ModelCard.human((Float) null)).isNull();

    ObjectNode node = JSON.createObjectNode();
    node.put("lr", ModelCard.human(0.05f));
    node.put("decay", ModelCard.human(4e-4f));
    node.put("momentum", ModelCard.human(0.9f));
    String text = JSON.writeValueAsString(node);
    assertThat(text).contains("\"lr\":0.05,").doesNotContain("0.0500000");
    assertThat(text).containsAnyOf("\"decay\":4.0E-4", "\"decay\":0.0004").doesNotContain("3.99999");
    assertThat(text).contains("\"momentum\":0.9}").doesNotContain("0.8999");
  }

  @Test
  void theJsonAndMarkdownCardsCarryTheOptionsShortest() throws Exception {
    TrainingOptions options = TrainingOptions.defaults(Path.of("shards"));
    ModelConfig config = ModelConfig.mobileFaceNet("v1", "2026-01-01T00:00:00Z", null);
    TrainingResult result = new TrainingResult(TrainingState.start(10), null, 0, 1);
    ModelCard.Context context = new ModelCard.Context(
        "2026-01-01T00:00:00Z", "test machine", "mfn train", 0, 1, JSON.createObjectNode(), 10);
    ObjectNode card = ModelCard.json(config, options, result, List.of(), context);

    String json = JSON.writeValueAsString(card);
    String md = ModelCard.markdown(card);
    for (float option : new float[] {options.learningRate(), options.momentum(), options.bodyDecay(), options.headDecay()}) {
      String shortest = Float.toString(option);
      String widened = Double.toString(option);
      assertThat(json).contains(":" + shortest);
      // the Markdown card writes plain decimals: 0.0004, not 4.0E-4
      assertThat(md).contains(new java.math.BigDecimal(shortest).stripTrailingZeros().toPlainString());
      if (!widened.equals(shortest)) {
        assertThat(json).doesNotContain(widened);
        assertThat(md).doesNotContain(widened);
      }
    }
    assertThat(md).doesNotContainPattern("[0-9]E-[0-9]");
    assertThat(card.path("training").path("learning_rate").asDouble())
        .isEqualTo(Double.parseDouble(Float.toString(options.learningRate())));
  }

  @Test
  void aWeightAverageShowsTheDecayTheWarmUpReached() throws Exception {
    TrainingOptions options = TrainingOptions.defaults(Path.of("shards")).withAverage(0.999);
    ModelConfig config = ModelConfig.mobileFaceNet("v1", "2026-01-01T00:00:00Z", null);
    TrainingState state = TrainingState.start(10);
    for (int i = 0; i < 699; i++) {
      state = state.stepped(32, 1.0);
    }
    ObjectNode card = ModelCard.json(config, options, new TrainingResult(state, null, 0, 1), List.of(),
        new ModelCard.Context("2026-01-01T00:00:00Z", "test machine", "mfn train", 0, 1, JSON.createObjectNode(), 10));
    // 699 steps: min(0.999, 700 / 709) = 0.9873, not the 0.999 asked for
    assertThat(card.path("training").path("weight_average_decay").asDouble()).isEqualTo(0.999);
    assertThat(card.path("training").path("weight_average_final_decay").asDouble()).isEqualTo(0.9873);
    assertThat(ModelCard.markdown(card)).contains("decay 0.999 warmed up as").contains("0.9873 at the last step");
  }

  /** The card of a one-step run made with {@code options}. */
  private static ObjectNode oneStepCard(TrainingOptions options) {
    return card(options, new TrainingResult(TrainingState.start(10).stepped(32, 1.0), null, 0, 1));
  }

  @Test
  void theCropJitterIsOnTheCardOnlyWhenOn() throws Exception {
    TrainingOptions plain = TrainingOptions.defaults(Path.of("shards"));
    ObjectNode without = oneStepCard(plain);
    assertThat(without.path("training").has("crop_jitter")).isFalse();
    assertThat(ModelCard.markdown(without)).doesNotContain("crop jitter");
    ObjectNode with = oneStepCard(plain.withJitter(true));
    assertThat(with.path("training").path("crop_jitter").asText()).contains("shift +-6 px").contains("rotation +-10 deg");
    assertThat(ModelCard.markdown(with)).contains("| crop jitter | on the fly: shift +-6 px");
    assertThat(with.path("training").path("crop_jitter").asText()).doesNotContain("erasing");
    ObjectNode erased = oneStepCard(plain.withJitter(true).withErase(0.25));
    assertThat(erased.path("training").path("crop_jitter").asText())
        .contains("shift +-6 px").endsWith("erasing 2-25% of the crop (p 0.5)");
    ObjectNode eraseOnly = oneStepCard(plain.withErase(0.25));
    assertThat(eraseOnly.path("training").path("crop_jitter").asText()).isEqualTo("on the fly: erasing 2-25% of the crop (p 0.5)");
  }

  @Test
  void labelSmoothingAndDropoutAreOnTheCardOnlyWhenUsed() {
    TrainingOptions plain = TrainingOptions.defaults(Path.of("shards"));
    ObjectNode without = oneStepCard(plain);
    assertThat(without.path("training").has("label_smoothing")).isFalse();
    assertThat(ModelCard.markdown(without)).doesNotContain("label smoothing");
    ObjectNode with = oneStepCard(plain.withLabelSmoothing(0.1f));
    assertThat(with.path("training").path("label_smoothing").asText()).isEqualTo("0.1");
    assertThat(ModelCard.markdown(with)).contains("| label smoothing (both phases) | 0.1 |");
    assertThat(without.path("training").has("dropout_before_embedding")).isFalse();
    assertThat(ModelCard.markdown(without)).doesNotContain("dropout");
    ObjectNode dropped = oneStepCard(plain.withDropout(0.2f));
    assertThat(ModelCard.markdown(dropped)).contains("| dropout before the embedding (training) | 0.2 |");
  }

  @Test
  void aJitterStrengthIsOnTheCardWithTheRangesItGave() {
    TrainingOptions jitter = TrainingOptions.defaults(Path.of("shards")).withJitter(true);
    assertThat(oneStepCard(jitter).path("training").has("crop_jitter_strength")).isFalse();
    ObjectNode strong = oneStepCard(jitter.withJitterStrength(1.5));
    assertThat(strong.path("training").path("crop_jitter_strength").asText()).isEqualTo("1.5");
    assertThat(strong.path("training").path("crop_jitter").asText()).startsWith("on the fly: shift +-9 px, scale +-15%");
  }

  @Test
  void theCardNamesTheMarginLossTheRunUsed() {
    TrainingOptions plain = TrainingOptions.defaults(Path.of("shards")).withPhases(1, 32f, 0.5f);
    TrainingResult arcFaceRun =
        new TrainingResult(TrainingState.start(10).stepped(32, 1.0).epochDone(1.0).toArcFace().stepped(32, 1.0), null, 0, 1);
    ObjectNode arcFace = card(plain, arcFaceRun);
    assertThat(arcFace.path("training").has("cosine_margin")).isFalse();
    assertThat(ModelCard.markdown(arcFace)).contains("then ArcFace (s=32, m=0.5) from epoch 2");
    ObjectNode cosFace = card(plain.withPhases(1, 32f, 0f).withCosMargin(0.35f), arcFaceRun);
    assertThat(cosFace.path("training").path("cosine_margin").asText()).isEqualTo("0.35");
    assertThat(ModelCard.markdown(cosFace)).contains("then CosFace (s=32, m=0.35) from epoch 2");
    ObjectNode combined = card(plain.withPhases(1, 32f, 0.3f).withCosMargin(0.2f), arcFaceRun);
    assertThat(ModelCard.markdown(combined)).contains("then combined margin (s=32, m2=0.3, m3=0.2) from epoch 2");
  }

  private static ObjectNode card(TrainingOptions options, TrainingResult result) {
    ModelConfig config = ModelConfig.mobileFaceNet("v1", "2026-01-01T00:00:00Z", null);
    ModelCard.Context context =
        new ModelCard.Context("2026-01-01T00:00:00Z", "test machine", "mfn train", 0, 1, JSON.createObjectNode(), 10);
    return ModelCard.json(config, options, result, List.of(), context);
  }
}
