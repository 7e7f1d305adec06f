package dev.mfn.search.serve;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/**
 * What an API key may do. A {@code search} key (a kiosk's) cannot delete, enrol, retrain, or list
 * who is enrolled: browsing the gallery, the models and the pipeline is a scope of its own.
 */
public enum Scope {
  /** POST /search and GET /faces/{id}/crop (the crops of the matches it returned). */
  SEARCH,
  /**
   * What the console lists for an operator: GET /subjects (every name), GET /subjects/{s}/faces,
   * GET /models (the cards) and their plots, GET /training/runs, GET /pipeline (jobs, lag, dead letters and their
   * photos' thumbnails).
   */
  BROWSE,
  /** POST /verify. */
  VERIFY,
  /** Enrolment into the gallery: POST /enroll and GET /enroll/{id} (the console's Enrol tab). */
  ENROLL,
  /** DELETE /subjects/{s}. */
  DELETE,
  /** POST /retrain. */
  RETRAIN;

  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** "search,verify" or "all". */
  public static Set<Scope> parse(String text) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException("give scopes: all, or a comma-separated list of search, browse, verify, enroll, delete, retrain");
    }
    if (text.trim().equalsIgnoreCase("all")) {
      return EnumSet.allOf(Scope.class);
    }
    Set<Scope> scopes = EnumSet.noneOf(Scope.class);
    for (String part : text.split(",")) {
      try {
        scopes.add(Scope.valueOf(part.trim().toUpperCase(Locale.ROOT)));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("unknown scope '" + part.trim() + "' (search, browse, verify, enroll, delete, retrain, all)");
      }
    }
    return scopes;
  }
}
