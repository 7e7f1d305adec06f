package dev.mfn.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a command prints with --json: exactly one JSON document on its out writer (scripts parse
 * stdout; people and progress bars use stderr). Documents are maps in insertion order
 * ({@link #document()}), so the fields keep a stable order; names are snake_case.
 */
final class JsonOutput {
  /** The option's help line, the same for every command that has it. */
  static final String HELP =
      "Print the result as one JSON document on stdout (nothing else goes there; progress and notes go to stderr).";

  private static final ObjectMapper MAPPER = new ObjectMapper();

  private JsonOutput() {}

  /** An empty document whose fields keep the order they are put in. */
  static Map<String, Object> document() {
    return new LinkedHashMap<>();
  }

  /** Prints one document (pretty-printed, as `mfn detect --json`) and flushes. */
  static void print(PrintWriter out, Object document) {
    try {
      out.println(MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(document));
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
    out.flush();
  }

  /**
   * The document of a command that failed in a way it reports itself: {"ok": false, "error": the
   * message a person reads, "reason": a stable code (a photo's RejectReason, BROKER_UNREACHABLE...)}.
   */
  static void error(PrintWriter out, String error, String reason) {
    Map<String, Object> doc = document();
    doc.put("ok", false);
    doc.put("error", error);
    doc.put("reason", reason);
    print(out, doc);
  }

  /** A number for JSON: NaN and infinities (no value) become null. */
  static Double number(double value) {
    return Double.isFinite(value) ? value : null;
  }
}
