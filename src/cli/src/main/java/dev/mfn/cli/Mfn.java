package dev.mfn.cli;

import dev.mfn.config.MfnSettings;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The `mfn` command line: one entry point, a subcommand per capability. */
@Command(
    name = "mfn",
    mixinStandardHelpOptions = true,
    versionProvider = Mfn.Version.class,
    description = {
      "MobileFaceNet face recognition as a streaming pipeline: photos on Kafka, Flink jobs that",
      "detect, align and embed faces, training with DJL, search in a vector index.",
      "",
      "Settings come from mfn.properties at the repository root (or MFN_CONFIG), MFN_* environment",
      "variables and -Dmfn.* properties; run-time files live in the build folder (MFN_HOME)."
    },
    subcommands = {
      DemoCommand.class,
      ServicesCommand.class,
      PublishCommand.class,
      DetectCommand.class,
      AlignCommand.class,
      EmbedCommand.class,
      EvalCommand.class,
      IngestCommand.class,
      ShardsCommand.class,
      JobsCommand.class,
      TrainCommand.class,
      VerifyCommand.class,
      EnrollCommand.class,
      SearchCommand.class,
      DeleteCommand.class,
      ServeCommand.class,
      KeysCommand.class,
      ReindexCommand.class,
      ModelsCommand.class,
      ExportCommand.class,
      RetrainCommand.class,
      RetrainControllerCommand.class,
      CommandLine.HelpCommand.class
    })
public final class Mfn implements Runnable {
  /** Exit code for a failure a person can fix (service down, bad argument). */
  static final int EXIT_USAGE = 2;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  public static void main(String[] args) {
    System.exit(run(MfnSettings.load(), new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
  }

  /** Runs a command line; the tests call this with their own writers. */
  public static int run(MfnSettings settings, PrintWriter out, PrintWriter err, String... args) {
    CommandLine cli = new CommandLine(new Mfn(), new SettingsFactory(settings));
    cli.setOut(out);
    cli.setErr(err);
    cli.setUsageHelpWidth(110);
    // A person at the CLI gets one clear line, not a stack trace (MFN_DEBUG=1 shows it); a script
    // that asked for --json gets that line as a document on stdout too, so it always has one to parse.
    cli.setExecutionExceptionHandler(
        (e, commandLine, parseResult) -> {
          String line = commandLine.getCommandSpec().qualifiedName() + ": " + oneLine(e);
          commandLine.getErr().println(line);
          if (System.getenv("MFN_DEBUG") != null) {
            e.printStackTrace(commandLine.getErr());
          }
          if (wantsJson(commandLine, parseResult)) {
            JsonOutput.error(commandLine.getOut(), line, reason(e));
          }
          return EXIT_USAGE;
        });
    // a command line picocli cannot parse (a missing photo, an unknown flag): its usage as before,
    // and for a script that asked for --json one document on stdout saying what was wrong
    CommandLine.IParameterExceptionHandler usage = cli.getParameterExceptionHandler();
    cli.setParameterExceptionHandler((e, badArgs) -> {
      int code = usage.handleParseException(e, badArgs);
      CommandLine failed = e.getCommandLine();
      if (failed.getCommandSpec().findOption("--json") != null && asksForJson(badArgs)) {
        JsonOutput.error(failed.getOut(), failed.getCommandSpec().qualifiedName() + ": " + e.getMessage(), "USAGE");
      }
      return code;
    });
    return cli.execute(args);
  }

  /** Whether --json is on the line as an option (not after "--", where every word is a parameter). */
  private static boolean asksForJson(String[] args) {
    for (String a : args) {
      if (a.equals("--")) {
        return false;
      }
      if (a.equals("--json")) {
        return true;
      }
    }
    return false;
  }

  /** Whether the failed command was asked for --json (its option matched, or the word is on the line). */
  private static boolean wantsJson(CommandLine failed, CommandLine.ParseResult whole) {
    CommandLine.ParseResult own = failed.getParseResult();
    if (own != null && own.hasMatchedOption("--json")) {
      return true;
    }
    return whole != null && whole.originalArgs().contains("--json");
  }

  /**
   * A stable name for why a command failed, for --json's "reason": what a script can branch on
   * (the message is for people and may change).
   */
  static String reason(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof dev.mfn.publish.KafkaAccess.BrokerUnreachableException) {
        return "BROKER_UNREACHABLE";
      }
      if (t instanceof java.nio.file.NoSuchFileException) {
        return "FILE_NOT_FOUND";
      }
      if (t instanceof java.nio.file.AccessDeniedException) {
        return "ACCESS_DENIED";
      }
      if (t instanceof dev.mfn.face.FaceRejected rejected) {
        return rejected.reason().name();
      }
      if (t instanceof dev.mfn.training.FaceTrainer.DivergedException) {
        return "TRAINING_DIVERGED";
      }
    }
    if (e instanceof IllegalArgumentException) {
      return "BAD_ARGUMENT";
    }
    if (e instanceof IllegalStateException) {
      return "PRECONDITION_FAILED";
    }
    return "EXIT_" + EXIT_USAGE;
  }

  static String oneLine(Throwable e) {
    String message = e.getMessage();
    if (message == null || message.isBlank()) {
      message = e.getClass().getSimpleName();
    }
    return message.lines().findFirst().orElse(message);
  }

  /** Gives every command that asks for it the process's {@link MfnSettings}. */
  static final class SettingsFactory implements CommandLine.IFactory {
    private final MfnSettings settings;
    private final CommandLine.IFactory fallback = CommandLine.defaultFactory();

    SettingsFactory(MfnSettings settings) {
      this.settings = settings;
    }

    @Override
    public <K> K create(Class<K> type) throws Exception {
      try {
        return type.getDeclaredConstructor(MfnSettings.class).newInstance(settings);
      } catch (NoSuchMethodException e) {
        return fallback.create(type);
      }
    }
  }

  /** Prints the project version and the pinned versions of the services it runs. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Mfn.class.getPackage().getImplementationVersion();
      return new String[] {
        "mfn " + (v == null ? "development build" : v),
        "Kafka " + MfnSettings.pinnedVersion("kafka.version"),
        "Elasticsearch " + MfnSettings.pinnedVersion("elasticsearch.version"),
        "BlazeFace (npm @mediapipe/face_detection) "
            + MfnSettings.pinnedVersion("mediapipe.face_detection.version")
      };
    }
  }
}
