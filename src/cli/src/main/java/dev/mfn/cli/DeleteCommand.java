package dev.mfn.cli;

import dev.mfn.config.MfnSettings;
import dev.mfn.search.index.VectorIndex;
import picocli.CommandLine.Mixin;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** `mfn delete --subject S`: a person leaves every index version. */
@Command(
    name = "delete",
    mixinStandardHelpOptions = true,
    description = {
      "Remove a subject from every version of the index (embedded, or Elasticsearch with --es): vectors,",
      "boxes and stored crops; deleted documents are merged away at once, not at some later merge.",
      "Prints what it removed from each version."
    })
final class DeleteCommand implements Callable<Integer> {
  @Option(names = "--subject", paramLabel = "S", required = true, description = "The subject to remove.")
  String subject;

  @Mixin IndexOptions indexOptions;

  @Spec CommandSpec spec;
  private final MfnSettings settings;

  DeleteCommand(MfnSettings settings) {
    this.settings = settings;
  }

  @Override
  public Integer call() throws Exception {
    List<String> versions = indexOptions.versions(settings);
    long total = 0;
    for (String version : versions) {
      try (VectorIndex idx = indexOptions.openIndex(settings, version)) {
        long removed = idx.deleteSubject(subject);
        total += removed;
        spec.commandLine().getOut().printf("%s: removed %d face(s) of %s%n", version, removed, subject);
      }
    }
    spec.commandLine().getOut().printf("removed %d face(s) of %s (vectors and stored crops) from %d index version(s)%n",
        total, subject, versions.size());
    return 0;
  }
}
