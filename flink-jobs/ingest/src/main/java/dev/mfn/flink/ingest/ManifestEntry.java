package dev.mfn.flink.ingest;

/**
 * One fact for the manifest, from any operator: an identity's decision, a label assignment, or a
 * dead letter. A Flink POJO; the manifest writer folds them together.
 */
public class ManifestEntry {
  public enum Kind {
    DECISION,
    LABEL,
    DEAD_LETTER
  }

  public Kind kind;
  public String subject;
  /** DECISION: usable photos, photos kept, samples written in each split, tier. */
  public long n;
  public long kept;
  public long trainSamples;
  public long validationSamples;
  public String tier;
  /** LABEL: the subject's class index. */
  public int label;
  /** DEAD_LETTER: its reason code. */
  public String reason;

  public ManifestEntry() {}

  public static ManifestEntry decision(String subject, long n, long kept, String tier, long train, long validation) {
    ManifestEntry e = new ManifestEntry();
    e.kind = Kind.DECISION;
    e.subject = subject;
    e.n = n;
    e.kept = kept;
    e.tier = tier;
    e.trainSamples = train;
    e.validationSamples = validation;
    return e;
  }

  public static ManifestEntry label(String subject, int label) {
    ManifestEntry e = new ManifestEntry();
    e.kind = Kind.LABEL;
    e.subject = subject;
    e.label = label;
    return e;
  }

  public static ManifestEntry deadLetter(String reason) {
    ManifestEntry e = new ManifestEntry();
    e.kind = Kind.DEAD_LETTER;
    e.reason = reason;
    return e;
  }
}
