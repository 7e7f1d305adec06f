package dev.mfn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** --json: every scripted command offers it, and what it prints is one JSON document. */
class JsonOutputTest {
  private static final ObjectMapper STRICT = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  /** Stdout parsed as exactly one JSON document (anything after it fails the test). */
  static JsonNode single(String stdout) throws IOException {
    return STRICT.readTree(stdout);
  }

  @ParameterizedTest
  @ValueSource(strings = {"search", "verify", "enroll", "delete", "ingest", "train"})
  void theHelpOfEveryScriptedCommandExplainsJson(String command) {
    MfnCliTest.Run run = MfnCliTest.mfn(command, "--help");
    assertThat(run.exit()).as(run.err()).isZero();
    assertThat(run.out()).startsWith("Usage: mfn " + command).contains("--json").contains(JsonOutput.HELP.substring(0, 30));
  }

  /**
   * A failure the command does not report itself (it throws; picocli's handler prints the line):
   * with --json, stdout still holds exactly one document, {ok: false, error: that line, reason};
   * without it, nothing goes to stdout. An unknown detector fails before any model, broker or
   * photo is touched.
   */
  @Test
  void aFailureTheHandlerReportsIsOneJsonDocumentWithJson(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    java.nio.file.Path photo = java.nio.file.Files.write(dir.resolve("photo.jpg"), new byte[] {1, 2, 3});
    for (List<String> args : List.of(
        List.of("verify", dir.resolve("a.jpg").toString(), dir.resolve("b.jpg").toString(), "--detector", "nonesuch", "--json"),
        List.of("search", photo.toString(), "--json", "--detector", "nonesuch", "--index", dir.resolve("index").toString()))) {
      MfnCliTest.Run run = MfnCliTest.mfn(args.toArray(String[]::new));
      assertThat(run.exit()).as(run.err()).isEqualTo(Mfn.EXIT_USAGE);
      String line = "mfn " + args.get(0) + ": unknown detector 'nonesuch' (choose blazeface, mtcnn or yunet)";
      assertThat(run.err()).contains(line);
      JsonNode doc = single(run.out());
      List<String> names = new ArrayList<>();
      doc.fieldNames().forEachRemaining(names::add);
      assertThat(names).as(run.out()).containsExactly("ok", "error", "reason");
      assertThat(doc.get("ok").asBoolean()).isFalse();
      assertThat(doc.get("error").asText()).isEqualTo(line);
      assertThat(doc.get("reason").asText()).isEqualTo("BAD_ARGUMENT");

      MfnCliTest.Run plain = MfnCliTest.mfn(args.stream().filter(a -> !a.equals("--json")).toArray(String[]::new));
      assertThat(plain.exit()).isEqualTo(Mfn.EXIT_USAGE);
      assertThat(plain.err()).contains(line);
      assertThat(plain.out()).as("stdout without --json").isEmpty();
    }
  }

  /**
   * A command line that does not parse (a missing photo, an unknown flag) gives its usage on
   * stderr as always, and with --json one document on stdout with reason USAGE; without --json
   * stdout stays empty.
   */
  @Test
  void aCommandLineThatDoesNotParseIsOneJsonDocumentWithJson() throws Exception {
    for (List<String> args : List.of(List.of("search", "--json"), List.of("verify", "a.jpg", "b.jpg", "--json", "--no-such-flag"),
        List.of("enroll", "--json", "--k", "x"))) {
      MfnCliTest.Run run = MfnCliTest.mfn(args.toArray(String[]::new));
      assertThat(run.exit()).as(run.err()).isEqualTo(Mfn.EXIT_USAGE);
      assertThat(run.err()).contains("Usage: mfn " + args.get(0));
      JsonNode doc = single(run.out());
      assertThat(doc.get("ok").asBoolean()).isFalse();
      assertThat(doc.get("reason").asText()).isEqualTo("USAGE");
      assertThat(doc.get("error").asText()).startsWith("mfn " + args.get(0) + ": ");

      MfnCliTest.Run plain = MfnCliTest.mfn(args.stream().filter(a -> !a.equals("--json")).toArray(String[]::new));
      assertThat(plain.exit()).isEqualTo(Mfn.EXIT_USAGE);
      assertThat(plain.out()).as("stdout without --json").isEmpty();
    }
    // a command without --json (the word is then an unknown option), or the word after "--": no document
    for (List<String> args : List.of(List.of("serve", "--json"), List.of("search", "--k", "x", "--", "--json"))) {
      MfnCliTest.Run run = MfnCliTest.mfn(args.toArray(String[]::new));
      assertThat(run.exit()).as(run.err()).isEqualTo(Mfn.EXIT_USAGE);
      assertThat(run.out()).as(String.join(" ", args)).isEmpty();
    }
  }

  @Test
  void aDocumentIsOneParseableValueInItsFieldOrder() throws Exception {
    StringWriter text = new StringWriter();
    Map<String, Object> doc = JsonOutput.document();
    doc.put("ok", true);
    doc.put("similarity", 0.5);
    doc.put("accuracy", JsonOutput.number(Double.NaN));
    JsonOutput.print(new PrintWriter(text), doc);
    JsonNode node = single(text.toString());
    List<String> names = new ArrayList<>();
    node.fieldNames().forEachRemaining(names::add);
    assertThat(names).containsExactly("ok", "similarity", "accuracy");
    assertThat(node.get("similarity").isNumber()).isTrue();
    assertThat(node.get("accuracy").isNull()).isTrue(); // NaN is no JSON number

    StringWriter error = new StringWriter();
    JsonOutput.error(new PrintWriter(error), "NO_FACE: blank.png", "NO_FACE");
    JsonNode e = single(error.toString());
    assertThat(e.get("ok").asBoolean()).isFalse();
    assertThat(e.get("error").asText()).isEqualTo("NO_FACE: blank.png");
    assertThat(e.get("reason").asText()).isEqualTo("NO_FACE");
  }
}
