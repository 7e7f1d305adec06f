package dev.mfn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mfn.config.MfnSettings;
import dev.mfn.services.kafka.KafkaBroker;
import dev.mfn.services.process.Ports;
import dev.mfn.testkit.LocalKafka;
import dev.mfn.testkit.PhotoFolders;
import dev.mfn.testkit.TopicReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The CLI as a person uses it: help, clear errors, and a publish run's report. */
@ExtendWith(LocalKafka.class)
class MfnCliTest {

  /** Output of one CLI run. */
  record Run(int exit, String out, String err) {}

  static Run mfn(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit =
        Mfn.run(MfnSettings.load(), new PrintWriter(out, true), new PrintWriter(err, true), args);
    return new Run(exit, out.toString(), err.toString());
  }

  @Test
  void helpListsTheCommands() {
    Run run = mfn("--help");
    assertThat(run.exit()).isZero();
    assertThat(run.out()).contains("services", "publish");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "services", "services start", "services stop", "services status",
        "services fetch-detector", "publish", "detect", "align", "embed", "eval"
      })
  void everyCommandHasHelp(String command) {
    String[] args = (command + " --help").split(" ");
    Run run = mfn(args);
    assertThat(run.exit()).isZero();
    assertThat(run.out()).startsWith("Usage: mfn " + command);
  }

  /**
   * picocli formats every help line with String.format: a bare % (as "a few %)" was in train's
   * --minutes) makes it print "[picocli WARN] Could not format" three times above the help and
   * show the raw text. The warning goes to a stream picocli took at class loading, and the
   * formatted text is the raw one when formatting fails, so the check formats the raw annotation
   * text itself, as picocli does (${...} variables expanded first). Every line of every command.
   */
  @Test
  void everyHelpLineOfEveryCommandFormats() {
    picocli.CommandLine root = new picocli.CommandLine(new Mfn(), new Mfn.SettingsFactory(MfnSettings.load()));
    java.util.List<String> broken = new java.util.ArrayList<>();
    java.util.ArrayDeque<picocli.CommandLine> todo = new java.util.ArrayDeque<>(java.util.List.of(root));
    int lines = 0;
    int optionsRead = 0;
    while (!todo.isEmpty()) {
      picocli.CommandLine cl = todo.pop();
      todo.addAll(cl.getSubcommands().values());
      var spec = cl.getCommandSpec();
      java.util.Map<String, String[]> texts = new java.util.LinkedHashMap<>();
      texts.put(spec.qualifiedName() + " description", spec.usageMessage().description());
      for (var option : spec.options()) {
        if (option.userObject() instanceof java.lang.reflect.AnnotatedElement element
            && element.getAnnotation(picocli.CommandLine.Option.class) != null) {
          texts.put(spec.qualifiedName() + " " + option.longestName(),
              element.getAnnotation(picocli.CommandLine.Option.class).description());
          optionsRead++;
        }
      }
      for (var text : texts.entrySet()) {
        for (String line : text.getValue()) {
          lines++;
          try {
            String.format(line.replaceAll("\\$\\{[^}]*}", "x"));
          } catch (java.util.IllegalFormatException e) {
            broken.add(text.getKey() + ": " + e.getMessage() + " in: " + line);
          }
        }
      }
    }
    assertThat(optionsRead).as("options whose raw description was read").isGreaterThan(150);
    assertThat(lines).as("help lines checked").isGreaterThan(300);
    assertThat(broken).isEmpty();
  }

  @Test
  void anUnreachableBrokerIsOneClearLineAndANonZeroExit(@TempDir Path dir) throws Exception {
    Path photos = PhotoFolders.mixed(dir.resolve("photos"));
    int nobody = Ports.free();
    Run run = mfn("publish", photos.toString(), "--bootstrap", "127.0.0.1:" + nobody, "--no-progress");
    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err().strip().lines()).hasSize(1);
    assertThat(run.err()).startsWith("mfn publish: cannot reach a Kafka broker at 127.0.0.1:" + nobody);
  }

  @Test
  void aMissingFolderIsOneClearLine() {
    Run run = mfn("publish", "/no/such/folder", "--no-progress");
    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err().strip()).isEqualTo("mfn publish: not a folder: /no/such/folder");
  }

  @Test
  void publishReportsEveryKindOfFile(KafkaBroker broker, @TempDir Path dir) throws Exception {
    Path photos = PhotoFolders.mixed(dir.resolve("photos"));
    Run run =
        mfn(
            "publish", photos.toString(),
            "--topic", "cli-mixed",
            "--bootstrap", broker.bootstrapServers(),
            "--no-progress");
    assertThat(run.exit()).as(run.err()).isZero();
    assertThat(run.out())
        .contains("published 2 of 5 files to cli-mixed")
        .contains("sent inline:       1")
        .contains("sent by reference: 1")
        .contains("skipped, not an image: 1 (e.g. alice/notes.txt)")
        .contains("skipped, empty file: 1 (e.g. bob/empty.jpg)")
        .contains("skipped, not inside an identity folder: 1 (e.g. README.txt)")
        .doesNotContain("FAILED");
    assertThat(TopicReader.readAll(broker.bootstrapServers(), "cli-mixed")).hasSize(2);
  }
}
