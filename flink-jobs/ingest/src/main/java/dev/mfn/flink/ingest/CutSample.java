package dev.mfn.flink.ingest;

import dev.mfn.records.FaceSample;

/**
 * A training sample on its way to the shards, with the shard set it belongs to: the cut's name, or
 * {@link #END_OF_INPUT} for a bounded run's one shard set at the root of the output folder.
 */
public class CutSample {
  /** The bounded run's shard set: written at the end of the input, at the output's root. */
  public static final String END_OF_INPUT = "";

  public String cut;
  public FaceSample sample;

  public CutSample() {}

  public CutSample(String cut, FaceSample sample) {
    this.cut = cut;
    this.sample = sample;
  }

  /** A cut's name is a folder name: letters, digits, '.', '_' and '-', not "." or "..". */
  public static boolean validName(String name) {
    return name != null && name.matches("[A-Za-z0-9._-]{1,100}") && !name.equals(".") && !name.equals("..");
  }

  /** The folder of the cut under the output folder: "" (the root) or "cuts/NAME/". */
  public static String folder(String cut) {
    return cut == null || cut.isEmpty() ? "" : "cuts/" + cut + "/";
  }
}
