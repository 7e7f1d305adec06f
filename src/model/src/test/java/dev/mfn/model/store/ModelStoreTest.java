package dev.mfn.model.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelStoreTest {
  @Test
  void versionsAreNumberedNeverReusedAndOnlyFinishedOnesCount(@TempDir Path root) throws IOException {
    ModelStore store = new ModelStore(root.resolve("store"));
    assertThat(store.versions()).isEmpty();
    Path v1 = store.reserveNext();
    Path v2 = store.reserveNext();
    assertThat(v1.getFileName()).hasToString("v1");
    assertThat(v2.getFileName()).hasToString("v2");
    // a reserved folder without config.json is a run in progress, not a version
    assertThat(store.versions()).isEmpty();
    ModelConfig.mobileFaceNet("v1", "2026-11-28T00:00:00Z", null).withThreshold(0.31f).write(v1);
    // a config alone is not enough: the run may still be evaluating (no threshold, no card yet)
    assertThat(ModelStore.incomplete(v1)).isTrue();
    assertThat(store.versions()).isEmpty();
    assertThat(store.latest()).isEmpty();
    ModelStore.complete(v1);
    assertThat(store.versions()).containsExactly(v1);
    assertThat(ModelStore.resolve(store.root())).isEqualTo(v1);
    assertThat(ModelStore.resolve(v1)).isEqualTo(v1);
    assertThat(ModelConfig.read(v1).threshold()).isEqualTo(0.31f);
    assertThat(ModelConfig.read(v1).preprocessing().std()).isEqualTo(128f);
    // a deleted version's name is never issued again: "v2" keeps meaning the model it was
    Files.delete(v2.resolve(ModelStore.INCOMPLETE));
    Files.delete(v2);
    assertThat(store.reserveNext().getFileName()).hasToString("v3");
    Files.delete(root.resolve("store/v3").resolve(ModelStore.INCOMPLETE));
    Files.delete(root.resolve("store/v3"));
    assertThat(new ModelStore(root.resolve("store")).reserveNext().getFileName()).hasToString("v4");

    // two stores' v1 never name the same index: a version's id carries its store's id
    String id = store.id();
    assertThat(id).matches("[0-9a-f]{8}").isEqualTo(new ModelStore(root.resolve("store")).id());
    assertThat(new ModelStore(root.resolve("other")).id()).isNotEqualTo(id);
    ModelConfig.mobileFaceNet("v1", "2026-11-28T00:00:00Z", null).withStoreId(id).write(v1);
    assertThat(ModelConfig.read(v1).id()).isEqualTo("v1-" + id);
    assertThat(ModelConfig.mobileFaceNet("v1", "2026-11-28T00:00:00Z", null).id()).as("a version from before store ids").isEqualTo("v1");
  }

  @Test
  void somethingThatIsNotAModelIsOneClearMessage(@TempDir Path root) {
    assertThatThrownBy(() -> ModelStore.resolve(root))
        .hasMessageContaining("not a model")
        .hasMessageContaining("model store");
  }
}
