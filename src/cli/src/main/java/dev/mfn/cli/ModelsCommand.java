package dev.mfn.cli;

import dev.mfn.config.MfnSettings;
import dev.mfn.flink.embed.ModelTimeline;
import dev.mfn.model.EmbeddingModels;
import dev.mfn.model.store.ModelStore;
import dev.mfn.records.ModelEvent;
import dev.mfn.records.ModelEventKind;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** `mfn models`: the model announcements, and the operator's rollback levers. */
@Command(
    name = "models",
    mixinStandardHelpOptions = true,
    description = {
      "The model announcements on the models topic (setting topic.models), which the embed job follows:",
      "  list                      every event (sequence, kind, version, reason) and the version they serve",
      "  retire VERSION            stop serving VERSION: the job goes back to the version served before it",
      "                            (not if it is the only one), re-embeds what VERSION's index has that",
      "                            the other lacks, and serves it again",
      "  promote VERSION|MODEL     serve an announced version again (or a model folder / .onnx file);",
      "                            the embed job's gate checks it first (--force: it does not)",
      "Events are numbered: followers apply only an event numbered above the last one they applied,",
      "so a replayed or older event changes nothing."
    },
    subcommands = {ModelsCommand.ListEvents.class, ModelsCommand.Retire.class, ModelsCommand.Promote.class})
final class ModelsCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** What the subcommands share: the broker and the topic. */
  abstract static class OnTopic implements Callable<Integer> {
    @Option(names = "--bootstrap", paramLabel = "HOST:PORT", description = "Kafka (default: setting kafka.bootstrap).")
    String bootstrap;

    @Option(names = "--topic", paramLabel = "T", description = "The models topic (default: setting topic.models).")
    String topic;

    @Spec CommandSpec spec;
    final MfnSettings settings;

    OnTopic(MfnSettings settings) {
      this.settings = settings;
    }

    @Override
    public Integer call() throws Exception {
      ModelAnnouncer events = new ModelAnnouncer(bootstrap != null ? bootstrap : settings.kafkaBootstrap(),
          topic != null ? topic : settings.topics().models());
      return call(events, events.history(), spec.commandLine().getOut());
    }

    abstract int call(ModelAnnouncer topic, List<ModelEvent> history, PrintWriter out) throws Exception;

    /** The latest announced event of a version (its location and checksum), or null. */
    static ModelEvent announced(List<ModelEvent> history, String version) {
      ModelEvent found = null;
      for (ModelEvent e : history) {
        if (e.getModelVersion().equals(version) && e.getKind() != ModelEventKind.RETIRED) {
          found = e;
        }
      }
      return found;
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "Every model event, and the version they make serve.")
  static final class ListEvents extends OnTopic {
    ListEvents(MfnSettings settings) {
      super(settings);
    }

    @Override
    int call(ModelAnnouncer topic, List<ModelEvent> history, PrintWriter out) {
      out.printf("%-9s %-10s %-28s %s%n", "sequence", "kind", "version", "reason");
      for (ModelEvent e : history) {
        out.printf(Locale.ROOT, "%-9d %-10s %-28s %s%n", e.getSequence(), e.getKind(), e.getModelVersion(),
            e.getReason() == null ? "" : e.getReason());
      }
      ModelTimeline timeline = ModelAnnouncer.timeline(history);
      out.println(timeline.serving()
          ? "serving: " + timeline.current().version() + " (" + timeline.current().location() + ")"
          : "serving: nothing announced on " + topic.topic() + " (the embed job keeps its --model)");
      return 0;
    }
  }

  @Command(name = "retire", mixinStandardHelpOptions = true, description = "Stop serving a version (roll back to the one before it).")
  static final class Retire extends OnTopic {
    @Parameters(index = "0", paramLabel = "VERSION")
    String version;

    @Option(names = "--reason", paramLabel = "TEXT", description = "Why (kept with the event).")
    String reason;

    Retire(MfnSettings settings) {
      super(settings);
    }

    @Override
    int call(ModelAnnouncer topic, List<ModelEvent> history, PrintWriter out) throws Exception {
      ModelEvent known = announced(history, version);
      if (known == null) {
        throw new IllegalArgumentException(version + " was never announced on " + topic.topic() + " (see `mfn models list`)");
      }
      ModelEvent sent = topic.append(sequence -> ModelAnnouncer.about(ModelEventKind.RETIRED, version, known.getLocation(),
          known.getChecksum(), sequence, "retired by an operator" + (reason == null ? "" : ": " + reason)));
      ModelTimeline after = ModelAnnouncer.timeline(topic.history());
      out.printf("retired %s (sequence %d); the topic now serves %s%n", version, sent.getSequence(),
          after.serving() ? after.current().version() : "nothing");
      return 0;
    }
  }

  @Command(name = "promote", mixinStandardHelpOptions = true, description = "Serve an announced version (or a model) again.")
  static final class Promote extends OnTopic {
    @Parameters(index = "0", paramLabel = "VERSION|MODEL", description = "An announced version, or a model folder / .onnx file.")
    String what;

    @Option(names = "--reason", paramLabel = "TEXT", description = "Why (kept with the event).")
    String reason;

    @Option(names = "--force", description = "Skip the embed job's gate for it (recorded as forced).")
    boolean force;

    Promote(MfnSettings settings) {
      super(settings);
    }

    @Override
    int call(ModelAnnouncer topic, List<ModelEvent> history, PrintWriter out) throws Exception {
      ModelEvent known = announced(history, what);
      String version;
      String location;
      String checksum;
      if (known != null) {
        version = known.getModelVersion();
        location = known.getLocation();
        checksum = known.getChecksum();
      } else {
        Path model = Path.of(what);
        if (!java.nio.file.Files.exists(model)) {
          throw new IllegalArgumentException(what + " is neither an announced version nor a model (see `mfn models list`)");
        }
        Path resolved = java.nio.file.Files.isDirectory(model) ? ModelStore.resolve(model) : model;
        version = EmbeddingModels.version(resolved);
        location = resolved.toAbsolutePath().toUri().toString();
        checksum = ModelStore.checksum(resolved);
      }
      String why = "promoted by an operator" + (force ? " (forced past the gate)" : "") + (reason == null ? "" : ": " + reason);
      ModelEvent sent = topic.append(sequence -> {
        ModelEvent event = ModelAnnouncer.about(ModelEventKind.PROMOTED, version, location, checksum, sequence, why);
        event.setForced(force);
        return event;
      });
      out.printf("promoted %s (sequence %d): the embed job checks it with its gate, switches, migrates, then serves it%n",
          version, sent.getSequence());
      return 0;
    }
  }
}
