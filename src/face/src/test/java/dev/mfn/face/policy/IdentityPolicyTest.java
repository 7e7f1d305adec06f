package dev.mfn.face.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mfn.face.policy.IdentityPolicy.Tier;
import org.junit.jupiter.api.Test;

class IdentityPolicyTest {

  @Test
  void theSeedsTiersAtTheirBoundaries() {
    IdentityPolicy p = IdentityPolicy.SEED;
    assertThat(p.decide(30)).isEqualTo(new IdentityPolicy.Decision(Tier.DROP, 0, 0));
    assertThat(p.decide(31)).isEqualTo(new IdentityPolicy.Decision(Tier.FULL, 31, 124));
    assertThat(p.decide(90)).isEqualTo(new IdentityPolicy.Decision(Tier.FULL, 90, 360));
    assertThat(p.decide(91)).isEqualTo(new IdentityPolicy.Decision(Tier.OPENING, 91, 182));
    assertThat(p.decide(200)).isEqualTo(new IdentityPolicy.Decision(Tier.OPENING, 200, 400));
    assertThat(p.decide(201)).isEqualTo(new IdentityPolicy.Decision(Tier.KEEP, 201, 201));
    assertThat(p.decide(350)).isEqualTo(new IdentityPolicy.Decision(Tier.KEEP, 350, 350));
    assertThat(p.decide(5000)).isEqualTo(new IdentityPolicy.Decision(Tier.KEEP, 350, 350));
  }

  @Test
  void smallDataSetsConfigureLowerThresholds() {
    // CFP has 14 photos a person: with thresholds 2/6/10 they land in the x4 tier, not "drop".
    IdentityPolicy cfp = new IdentityPolicy(350, 10, 6, 2);
    assertThat(cfp.decide(14).tier()).isEqualTo(Tier.KEEP);
    assertThat(new IdentityPolicy(350, 20, 12, 4).decide(14)).isEqualTo(new IdentityPolicy.Decision(Tier.OPENING, 14, 28));
    assertThat(IdentityPolicy.SEED.decide(14).tier()).isEqualTo(Tier.DROP);
  }

  @Test
  void inconsistentThresholdsAreRefused() {
    assertThatThrownBy(() -> new IdentityPolicy(350, 90, 200, 30)).isInstanceOf(IllegalArgumentException.class);
  }
}
