package dev.mfn.search.verify;

/** 1:1 verification: the cosine similarity of two faces against the model's threshold. */
public record Verdict(double similarity, double threshold) {
  public boolean samePerson() {
    return similarity >= threshold;
  }
}
