package dev.mfn.flink.ingest;

/**
 * One fact for the manifest: an identity's decision in a cut, a curator task's "cut done" mark,
 * the label its samples carry, or a dead letter. A Flink POJO; the manifest writer folds them together.
 */
public class ManifestEntry {
  public enum Kind {
    DECISION,
    CUT_DONE,
    LABEL,
    DEAD_LETTER,
    /** The manifest writer's own: the checkpoint (n) that first held a whole cut. */
    HELD
  }

  public Kind kind;
  /** DECISION and CUT_DONE: the shard set ({@link CutSample#END_OF_INPUT} for a bounded run). */
  public String cut;
  public String subject;
  /** DECISION: usable photos, photos kept, samples written in each split, tier. */
  public long n;
  public long kept;
  public long trainSamples;
  public long validationSamples;
  public String tier;
  /** LABEL: the subject's class label, as stamped on its samples of the cut. */
  public int label;
  /** CUT_DONE: which curator task finished the cut, of how many. */
  public int subtask;
  public int parallelism;
  /** DEAD_LETTER: its reason code (n = how many, when the writer keeps a total). */
  public String reason;

  public ManifestEntry() {}

  public static ManifestEntry decision(
      String cut, String subject, long n, long kept, String tier, long train, long validation) {
    ManifestEntry e = new ManifestEntry();
    e.kind = Kind.DECISION;
    e.cut = cut;
    e.subject = subject;
    e.n = n;
    e.kept = kept;
    e.tier = tier;
    e.trainSamples = train;
    e.validationSamples = validation;
    return e;
  }

  public static ManifestEntry cutDone(String cut, int subtask, int parallelism) {
    ManifestEntry e = new ManifestEntry();
    e.kind = Kind.CUT_DONE;
    e.cut = cut;
    e.subtask = subtask;
    e.parallelism = parallelism;
    return e;
  }

  public static ManifestEntry label(String cut, String subject, int label) {
    ManifestEntry e = new ManifestEntry();
    e.kind = Kind.LABEL;
    e.cut = cut;
    e.subject = subject;
    e.label = label;
    return e;
  }

  public static ManifestEntry held(String cut, long checkpoint) {
    ManifestEntry e = new ManifestEntry();
    e.kind = Kind.HELD;
    e.cut = cut;
    e.n = checkpoint;
    return e;
  }

  public static ManifestEntry deadLetter(String reason, long n) {
    ManifestEntry e = new ManifestEntry();
    e.kind = Kind.DEAD_LETTER;
    e.reason = reason;
    e.n = n;
    return e;
  }
}
