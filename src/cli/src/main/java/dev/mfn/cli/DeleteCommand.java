package dev.mfn.cli;

import dev.mfn.config.MfnSettings;
import dev.mfn.search.index.LuceneVectorIndex;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** `mfn delete --subject S`: a person leaves every index version. */
@Command(
    name = "delete",
    mixinStandardHelpOptions = true,
    description = {
      "Remove a subject from every version of the embedded index: vectors, boxes and stored crops",
      "(deleted documents are merged away at once, not at some later merge). Prints what it removed."
    })
final class DeleteCommand implements Callable<Integer> {
  @Option(names = "--subject", paramLabel = "S", required = true, description = "The subject to remove.")
  String subject;

  @Option(names = "--index", paramLabel = "DIR", description = "Embedded index folder (default: setting index.dir).")
  Path index;

  @Spec CommandSpec spec;
  private final MfnSettings settings;

  DeleteCommand(MfnSettings settings) {
    this.settings = settings;
  }

  @Override
  public Integer call() throws Exception {
    Path root = index != null ? index : settings.getPath("index.dir");
    List<Path> versions;
    try (Stream<Path> children = Files.isDirectory(root) ? Files.list(root) : Stream.empty()) {
      versions = children.filter(Files::isDirectory).sorted().toList();
    }
    long total = 0;
    for (Path version : versions) {
      try (LuceneVectorIndex idx = new LuceneVectorIndex(root, version.getFileName().toString())) {
        long removed = idx.deleteSubject(subject);
        total += removed;
        spec.commandLine().getOut().printf("%s: removed %d face(s) of %s%n", version.getFileName(), removed, subject);
      }
    }
    spec.commandLine().getOut().printf("removed %d face(s) of %s from %d index version(s) in %s%n", total, subject, versions.size(), root);
    return 0;
  }
}
