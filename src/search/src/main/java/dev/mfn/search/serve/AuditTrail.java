package dev.mfn.search.serve;

/**
 * Where the service records who changed what: enrolments, deletions and retrain requests (who: the
 * key id; what; when; the outcome). The CLI's implementation writes JSON records to the audit topic
 * (setting {@code topic.audit}). A change whose record cannot be written is not made: the caller
 * gets 503.
 */
@FunctionalInterface
public interface AuditTrail {
  AuditTrail NONE = (keyId, action, target, detail) -> {};

  /**
   * @param keyId the caller's key id ("static" for the single configured key, "cli:USER" for the CLI)
   * @param action "delete", "retrain", "enroll"
   * @param target the subject, or the request id
   * @param detail a short free text (the reason given), never a secret
   */
  void record(String keyId, String action, String target, String detail) throws Exception;
}
