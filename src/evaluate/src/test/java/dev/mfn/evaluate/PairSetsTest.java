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

  @Test
  void cfpSplitSevenIsPeople301To350AloneDealtInto10BalancedFolds() throws Exception {
    var cfp = SharedData.require("data/cfp");
    for (PairSets.CfpProtocol protocol : PairSets.CfpProtocol.values()) {
      List<Pair> split = PairSets.cfpSplit(cfp, protocol, 7);
      assertThat(split).hasSize(700);
      for (int k = 0; k < 10; k++) {
        int fold = k;
        assertThat(split.stream().filter(p -> p.fold() == fold && p.same()).count()).isEqualTo(35);
        assertThat(split.stream().filter(p -> p.fold() == fold && !p.same()).count()).isEqualTo(35);
      }
      // a fold's same-person pairs are its own people's (its different-person pairs cannot all be)
      for (int k = 0; k < 10; k++) {
        int fold = k;
        var inFold = PairSets.cfpPeople(split.stream().filter(p -> p.same() && p.fold() == fold).toList());
        var elsewhere = PairSets.cfpPeople(split.stream().filter(p -> p.same() && p.fold() != fold).toList());
        assertThat(inFold).as("fold %d", fold).hasSize(5).doesNotContainAnyElementsOf(elsewhere);
      }
      // the held-out test of a model trained on 001-300: split 7 has exactly people 301-350,
      // and no other split shows any of them
      var people = PairSets.cfpPeople(split);
      assertThat(people).hasSize(50);
      assertThat(people.first()).isEqualTo("301");
      assertThat(people.last()).isEqualTo("350");
      List<Pair> others = PairSets.cfp(cfp, protocol).stream().filter(p -> p.fold() != 6).toList();
      assertThat(PairSets.cfpPeople(others)).doesNotContainAnyElementsOf(people);
      // the same pairs as fold 7 of the whole protocol, in the same order
      List<Pair> whole = PairSets.cfp(cfp, protocol).stream().filter(p -> p.fold() == 6).toList();
      assertThat(split.stream().map(p -> p.first() + "|" + p.second() + "|" + p.same()).toList())
          .isEqualTo(whole.stream().map(p -> p.first() + "|" + p.second() + "|" + p.same()).toList());
    }
  }

  @Test
  void aCfpSplitThatIsNotThereIsOneClearErrorNamingThoseThatAre() {
    var cfp = SharedData.require("data/cfp");
    for (int split : new int[] {0, -1, 8, 42}) {
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> PairSets.cfpSplit(cfp, PairSets.CfpProtocol.FP, split))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("no CFP split " + split)
          .hasMessageContaining("(there are 01, 02, 03, 04, 05, 06, 07)");
    }
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> PairSets.cfpSplit(SharedData.require("data/lfw"), PairSets.CfpProtocol.FF, 7))
        .hasMessageStartingWith("not a CFP folder (no Protocol/Split/FF)");
  }
}
