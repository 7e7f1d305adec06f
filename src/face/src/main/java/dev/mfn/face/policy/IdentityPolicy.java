package dev.mfn.face.policy;

import dev.mfn.face.augment.Augmentation;
import java.util.List;

/**
 * The seed's per-identity policy as a pure function of n, the identity's usable photos:
 *
 * <pre>
 *   n > 350          keep a random 350            (cap)
 *   200 < n <= 350   keep all
 *   90 < n <= 200    keep all + opening of each   (x2)
 *   30 < n <= 90     keep all + opening + Gaussian noise + salt-and-pepper  (x4)
 *   n <= 30          drop the identity
 * </pre>
 *
 * The thresholds are configurable (small data sets such as CFP, 14 photos a person, need lower
 * ones); they must satisfy drop < full < opening < keep <= cap.
 */
public record IdentityPolicy(int cap, int keepAbove, int openingAbove, int fullAbove) {

  /** The seed's thresholds. */
  public static final IdentityPolicy SEED = new IdentityPolicy(350, 200, 90, 30);

  public IdentityPolicy {
    if (!(fullAbove >= 0 && fullAbove < openingAbove && openingAbove < keepAbove && keepAbove <= cap)) {
      throw new IllegalArgumentException(
          "thresholds must satisfy 0 <= full < opening < keep <= cap, got " + this);
    }
  }

  /** What happens to an identity. */
  public enum Tier {
    DROP(List.of()),
    KEEP(List.of(Augmentation.NONE)),
    OPENING(List.of(Augmentation.NONE, Augmentation.OPENING)),
    FULL(List.of(Augmentation.NONE, Augmentation.OPENING, Augmentation.GAUSSIAN_NOISE, Augmentation.SALT_AND_PEPPER));

    private final List<Augmentation> variants;

    Tier(List<Augmentation> variants) {
      this.variants = variants;
    }

    /** The samples written per kept photo (NONE = the crop itself). */
    public List<Augmentation> variants() {
      return variants;
    }
  }

  /**
   * The decision for an identity with {@code n} usable photos. {@code samples} counts every kept
   * photo as a training photo; the ingest job writes one sample only for a validation photo.
   */
  public record Decision(Tier tier, int photosKept, int samples) {}

  public Tier tier(int n) {
    if (n <= fullAbove) {
      return Tier.DROP;
    }
    if (n <= openingAbove) {
      return Tier.FULL;
    }
    if (n <= keepAbove) {
      return Tier.OPENING;
    }
    return Tier.KEEP;
  }

  public Decision decide(int n) {
    Tier tier = tier(n);
    int kept = tier == Tier.DROP ? 0 : Math.min(n, cap);
    return new Decision(tier, kept, kept * tier.variants().size());
  }
}
