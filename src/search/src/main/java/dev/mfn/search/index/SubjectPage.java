package dev.mfn.search.index;

import java.util.List;

/**
 * One page of {@link VectorIndex#subjects}: the subjects of the page, sorted by name, and how many
 * subjects match the filter in all (every page together).
 */
public record SubjectPage(List<SubjectSummary> subjects, long total) {
  public SubjectPage {
    subjects = List.copyOf(subjects);
  }

  public static SubjectPage empty() {
    return new SubjectPage(List.of(), 0);
  }

  /** The lower-case form of a subject filter, stripped; null when it filters nothing (null or blank). */
  static String needle(String filter) {
    return filter == null || filter.isBlank() ? null : filter.strip().toLowerCase(java.util.Locale.ROOT);
  }

  /** Refuses an offset below 0 or a limit below 1 (the backends' shared precondition). */
  static void check(int offset, int limit) {
    if (offset < 0 || limit < 1) {
      throw new IllegalArgumentException("offset is 0 or more and limit 1 or more, not " + offset + " and " + limit);
    }
  }
}
