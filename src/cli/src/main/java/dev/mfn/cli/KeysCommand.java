package dev.mfn.cli;

import dev.mfn.config.MfnSettings;
import dev.mfn.search.serve.ApiKeys;
import dev.mfn.search.serve.Scope;
import java.nio.file.Path;
import java.util.Locale;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** `mfn keys create|list|revoke`: the REST service's scoped API keys. */
@Command(
    name = "keys",
    mixinStandardHelpOptions = true,
    subcommands = {KeysCommand.Create.class, KeysCommand.List.class, KeysCommand.Revoke.class},
    description = {
      "The REST service's API keys. Each key has scopes: search (POST /search, crops), verify,",
      "enroll, delete (DELETE /subjects), retrain (POST /retrain), or all. Keys are stored hashed",
      "in the keys file (setting serve.keys.file, default build/serve/keys.json; mode 600): a key",
      "is shown once, when created. A running `mfn serve` sees new and revoked keys within a second."
    })
final class KeysCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  static ApiKeys keys(MfnSettings settings, Path file) {
    return ApiKeys.file(file != null ? file : settings.getPath("serve.keys.file"));
  }

  @Command(name = "create", mixinStandardHelpOptions = true, description = "Create a key and print it (once).")
  static final class Create implements Callable<Integer> {
    @Option(names = "--name", required = true, paramLabel = "NAME", description = "Who or what uses it (shown by list).")
    String name;

    @Option(names = "--scopes", required = true, paramLabel = "S1,S2", description = "search (search, crops), browse (the console's subject, model and pipeline listings), verify, enroll, delete, retrain, or all.")
    String scopes;

    @Option(names = "--keys-file", paramLabel = "FILE", description = "Default: setting serve.keys.file.")
    Path file;

    @Spec CommandSpec spec;
    private final MfnSettings settings;

    Create(MfnSettings settings) {
      this.settings = settings;
    }

    @Override
    public Integer call() throws Exception {
      var scopeSet = Scope.parse(scopes);
      ApiKeys.Created created = keys(settings, file).create(name, scopeSet);
      var out = spec.commandLine().getOut();
      out.println(created.key());
      spec.commandLine().getErr().printf(Locale.ROOT, "key %s (%s) for %s; shown once: store it now%n",
          created.entry().id(), String.join(",", new TreeSet<>(scopeSet.stream().map(Scope::label).toList())), name);
      return 0;
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "List the keys (ids, names, scopes; never the keys).")
  static final class List implements Callable<Integer> {
    @Option(names = "--keys-file", paramLabel = "FILE", description = "Default: setting serve.keys.file.")
    Path file;

    @Spec CommandSpec spec;
    private final MfnSettings settings;

    List(MfnSettings settings) {
      this.settings = settings;
    }

    @Override
    public Integer call() {
      var out = spec.commandLine().getOut();
      out.printf(Locale.ROOT, "%-12s  %-16s  %-34s  %-20s  %s%n", "ID", "NAME", "SCOPES", "CREATED", "REVOKED");
      for (ApiKeys.Entry e : keys(settings, file).entries()) {
        out.printf(Locale.ROOT, "%-12s  %-16s  %-34s  %-20s  %s%n", e.id(), e.name(),
            String.join(",", new TreeSet<>(e.scopes().stream().map(Scope::label).toList())),
            e.created().toString().substring(0, 19), e.revoked() == null ? "-" : e.revoked().toString().substring(0, 19));
      }
      return 0;
    }
  }

  @Command(name = "revoke", mixinStandardHelpOptions = true, description = "Revoke a key by its id; it stops working at once.")
  static final class Revoke implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "ID")
    String id;

    @Option(names = "--keys-file", paramLabel = "FILE", description = "Default: setting serve.keys.file.")
    Path file;

    @Spec CommandSpec spec;
    private final MfnSettings settings;

    Revoke(MfnSettings settings) {
      this.settings = settings;
    }

    @Override
    public Integer call() throws Exception {
      if (!keys(settings, file).revoke(id)) {
        spec.commandLine().getErr().println("mfn keys revoke: no active key with id " + id + " (see mfn keys list)");
        return Mfn.EXIT_USAGE;
      }
      spec.commandLine().getOut().println("revoked " + id);
      return 0;
    }
  }
}
