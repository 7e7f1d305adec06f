package dev.mfn.cli;

import dev.mfn.config.MfnSettings;
import dev.mfn.publish.KafkaAccess;
import dev.mfn.records.SubjectErasure;
import dev.mfn.search.index.VectorIndex;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.config.ConfigResource;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** `mfn delete --subject S`: a person leaves every index version, for good. */
@Command(
    name = "delete",
    mixinStandardHelpOptions = true,
    description = {
      "Erase a subject. First a tombstone goes on the compacted topic subjects.deleted (setting",
      "topic.deleted), acknowledged before anything else: from then on the embed job, index migrations",
      "and re-indexing refuse the person, so a replay of the enroll topic, a consumer-group reset or a",
      "migration never brings them back. Then every version of the index (embedded, or Elasticsearch",
      "with --es) loses the subject's vectors, boxes and stored crops, merged out of the files at once",
      "(an embedded index held by a running embed job is cleaned by the job itself, within a checkpoint).",
      "Prints what it removed, and which topics may still hold the subject's photos until their",
      "retention: Kafka retention is the last copy. --clear allows re-enrolment (photos published",
      "before the deletion stay refused)."
    })
final class DeleteCommand implements Callable<Integer> {
  @Option(names = "--subject", paramLabel = "S", required = true, description = "The subject to remove.")
  String subject;

  @Option(names = "--reason", paramLabel = "TEXT", description = "Why (e.g. the request's reference); kept with the tombstone.")
  String reason;

  @Option(names = "--clear", description = "Re-enrolment: clear the subject's tombstone instead (new photos may be enrolled again).")
  boolean clear;

  @Option(names = "--bootstrap", paramLabel = "HOST:PORT", description = "Kafka (default: setting kafka.bootstrap).")
  String bootstrap;

  @Option(names = "--photo-topics", paramLabel = "T", split = ",", description = "Topics that carry photos, for the retention report (default: the enroll, train and dead-letter topics of the settings).")
  List<String> photoTopics;

  @Mixin IndexOptions indexOptions;

  @Spec CommandSpec spec;
  private final MfnSettings settings;

  DeleteCommand(MfnSettings settings) {
    this.settings = settings;
  }

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    String servers = bootstrap != null ? bootstrap : settings.kafkaBootstrap();
    Tombstones tombstones = new Tombstones(servers, settings.topics().deleted());
    String by = "cli:" + System.getProperty("user.name", "?");
    AuditTopic.recordCli(settings, servers, clear ? "clear-deletion" : "delete", subject, reason, spec.commandLine().getErr());
    if (clear) {
      SubjectErasure erased = tombstones.find(subject)
          .orElseThrow(() -> new IllegalArgumentException(subject + " has no tombstone on " + tombstones.topic() + ": nothing to clear"));
      tombstones.clear(erased, reason, by);
      out.printf("cleared the tombstone of %s on %s: photos published after %s may be enrolled again; older ones stay refused%n",
          subject, tombstones.topic(), erased.getDeletedAt());
      return 0;
    }
    SubjectErasure tombstone = tombstones.erase(subject, reason, by);
    out.printf("tombstone for %s on %s (deleted at %s): the embed job, migrations and re-indexing refuse the subject from now on%n",
        subject, tombstones.topic(), tombstone.getDeletedAt());
    List<String> versions = indexOptions.versions(settings);
    long total = 0;
    List<String> heldByJob = new ArrayList<>();
    for (String version : versions) {
      try (VectorIndex idx = indexOptions.openForServing(settings, version)) {
        long removed = idx.deleteSubject(subject);
        idx.expungeDeletes(); // also what an earlier deletion could not merge out yet
        total += removed;
        out.printf("%s: removed %d face(s) (vectors, boxes and crops; merged out of the files)%n", version, removed);
      } catch (java.io.IOException e) {
        if (e.getCause() instanceof org.apache.lucene.store.LockObtainFailedException) {
          heldByJob.add(version);
          out.printf("%s: held by a running embed job, which removes the subject itself (it follows %s)%n", version, tombstones.topic());
        } else {
          throw e;
        }
      }
    }
    out.printf("removed %d face(s) of %s from %d index version(s)%s%n", total, subject, versions.size(),
        heldByJob.isEmpty() ? "" : "; " + heldByJob.size() + " more cleaned by the running job");
    printRetention(out, servers);
    return 0;
  }

  /** Where copies of the photos may remain: the photo topics, until their retention ends. */
  private void printRetention(PrintWriter out, String servers) {
    var topics = settings.topics();
    List<String> names = photoTopics != null ? photoTopics : List.of(topics.enroll(), topics.train(), topics.deadLetters());
    Properties p = new Properties();
    dev.mfn.config.KafkaSecurity.addTo(p);
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, servers);
    try (Admin admin = Admin.create(p)) {
      var existing = admin.listTopics().names().get(10, TimeUnit.SECONDS);
      List<ConfigResource> resources = names.stream().filter(existing::contains)
          .map(n -> new ConfigResource(ConfigResource.Type.TOPIC, n)).toList();
      var configs = admin.describeConfigs(resources).all().get(10, TimeUnit.SECONDS);
      out.println("photos of the subject may still be in these topics until their retention ends (Kafka is the last copy):");
      for (ConfigResource r : resources) {
        var retention = configs.get(r).get("retention.ms");
        long ms = retention == null ? -1 : Long.parseLong(retention.value());
        out.printf(Locale.ROOT, "  %s: retention %s%n", r.name(), ms < 0 ? "forever (retention.ms=-1)" : String.format(Locale.ROOT, "%.1f days", ms / 86_400_000.0));
      }
      if (resources.isEmpty()) {
        out.println("  (none of " + names + " exists)");
      }
    } catch (Exception e) {
      out.println("could not read the topics' retention: " + e.getMessage());
    }
  }
}
