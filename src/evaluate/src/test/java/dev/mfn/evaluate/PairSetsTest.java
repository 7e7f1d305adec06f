package dev.mfn.evaluate;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mfn.testkit.SharedData;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.Test;

class PairSetsTest {

  @Test
  void lfwHas6000PairsIn10BalancedFoldsOfExistingPhotos() throws Exception {
    List<Pair> pairs = PairSets.lfw(SharedData.require("data/lfw"));
    assertThat(pairs).hasSize(6000);
    for (int k = 0; k < 10; k++) {
      int fold = k;
      assertThat(pairs.stream().filter(p -> p.fold() == fold && p.same()).count()).isEqualTo(300);
      assertThat(pairs.stream().filter(p -> p.fold() == fold && !p.same()).count()).isEqualTo(300);
    }
    assertThat(pairs).allSatisfy(p -> assertThat(Files.isRegularFile(p.first()) && Files.isRegularFile(p.second())).isTrue());
    assertThat(VerificationRun.photos(pairs)).hasSize(7701);
  }

  @Test
  void cfpFrontalProfilePairsAFrontalWithAProfile() throws Exception {
    List<Pair> pairs = PairSets.cfp(SharedData.require("data/cfp"), PairSets.CfpProtocol.FP);
    assertThat(pairs).hasSize(7 * 700);
    assertThat(pairs).allSatisfy(p -> {
      assertThat(p.first().toString()).contains("/frontal/");
      assertThat(p.second().toString()).contains("/profile/");
      assertThat(Files.isRegularFile(p.second())).isTrue();
    });
    // same-person pairs share the identity folder
    assertThat(pairs.stream().filter(Pair::same))
        .allSatisfy(p -> assertThat(p.first().getParent().getParent()).isEqualTo(p.second().getParent().getParent()));
  }
}
