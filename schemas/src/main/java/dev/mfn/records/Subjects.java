package dev.mfn.records;

/**
 * What a subject (a person's name or id, the key of every record about them) may be: 1 to 256
 * characters, no control characters. Any other Unicode is fine (names are names); a subject is
 * only ever data, never a path. Publishing skips other folders (BAD_SUBJECT), and the jobs
 * dead-letter other records with that reason.
 */
public final class Subjects {
  public static final int MAX_LENGTH = 256;

  private Subjects() {}

  /** Why the subject is not acceptable, or null when it is. */
  public static String problem(String subject) {
    if (subject == null || subject.isEmpty()) {
      return "empty subject";
    }
    if (subject.length() > MAX_LENGTH) {
      return "subject of " + subject.length() + " characters (at most " + MAX_LENGTH + ")";
    }
    for (int i = 0; i < subject.length(); i++) {
      if (Character.isISOControl(subject.charAt(i))) {
        return "subject with a control character at " + i;
      }
    }
    return null;
  }
}
