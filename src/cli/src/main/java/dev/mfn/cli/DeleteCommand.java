package dev.mfn.cli;

import dev.mfn.cli.pipeline.PhotoRetention;
import dev.mfn.config.MfnSettings;
import dev.mfn.publish.KafkaAccess;
import dev.mfn.records.SubjectErasure;
import dev.mfn.search.index.VectorIndex;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
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
      "before the deletion stay refused). --json prints one JSON document instead: ok, action (delete or",
      "clear), subject, topic, deleted_at; for delete also versions [{version, removed, held_by_job}],",
      "removed, index_versions, versions_held_by_job, photo_topics, retention [{topic, retention_ms, retention_days}]",
      "(retention_ms -1: forever) and retention_error when the topics could not be read."
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

  @Option(names = "--json", description = JsonOutput.HELP)
  boolean json;

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
      if (json) {
        Map<String, Object> doc = JsonOutput.document();
        doc.put("ok", true);
        doc.put("action", "clear");
        doc.put("subject", subject);
        doc.put("topic", tombstones.topic());
        doc.put("deleted_at", String.valueOf(erased.getDeletedAt()));
        JsonOutput.print(out, doc);
        return 0;
      }
      out.printf("cleared the tombstone of %s on %s: photos published after %s may be enrolled again; older ones stay refused%n",
          subject, tombstones.topic(), erased.getDeletedAt());
      return 0;
    }
    SubjectErasure tombstone = tombstones.erase(subject, reason, by);
    // with --json the lines go nowhere: the document below says the same
    PrintWriter lines = json ? new PrintWriter(java.io.Writer.nullWriter()) : out;
    lines.printf("tombstone for %s on %s (deleted at %s): the embed job, migrations and re-indexing refuse the subject from now on%n",
        subject, tombstones.topic(), tombstone.getDeletedAt());
    List<String> versions = indexOptions.versions(settings);
    long total = 0;
    List<String> heldByJob = new ArrayList<>();
    List<Map<String, Object>> perVersion = new ArrayList<>();
    for (String version : versions) {
      Map<String, Object> v = JsonOutput.document();
      v.put("version", version);
      try (VectorIndex idx = indexOptions.openForServing(settings, version)) {
        long removed = idx.deleteSubject(subject);
        idx.expungeDeletes(); // also what an earlier deletion could not merge out yet
        total += removed;
        v.put("removed", removed);
        v.put("held_by_job", false);
        lines.printf("%s: removed %d face(s) (vectors, boxes and crops; merged out of the files)%n", version, removed);
      } catch (java.io.IOException e) {
        if (e.getCause() instanceof org.apache.lucene.store.LockObtainFailedException) {
          heldByJob.add(version);
          v.put("removed", null); // the running job removes them
          v.put("held_by_job", true);
          lines.printf("%s: held by a running embed job, which removes the subject itself (it follows %s)%n", version, tombstones.topic());
        } else {
          throw e;
        }
      }
      perVersion.add(v);
    }
    lines.printf("removed %d face(s) of %s from %d index version(s)%s%n", total, subject, versions.size(),
        heldByJob.isEmpty() ? "" : "; " + heldByJob.size() + " more cleaned by the running job");
    var topicNames = settings.topics();
    PhotoRetention retention = PhotoRetention.read(servers,
        photoTopics != null ? photoTopics : List.of(topicNames.enroll(), topicNames.train(), topicNames.deadLetters()));
    if (json) {
      Map<String, Object> doc = JsonOutput.document();
      doc.put("ok", true);
      doc.put("action", "delete");
      doc.put("subject", subject);
      doc.put("topic", tombstones.topic());
      doc.put("deleted_at", String.valueOf(tombstone.getDeletedAt()));
      doc.put("versions", perVersion);
      doc.put("removed", total);
      doc.put("index_versions", versions.size());
      doc.put("versions_held_by_job", heldByJob);
      doc.put("photo_topics", retention.names());
      doc.put("retention", retention.json());
      if (retention.error() != null) {
        doc.put("retention_error", retention.error());
      }
      JsonOutput.print(out, doc);
      return 0;
    }
    printRetention(out, retention);
    return 0;
  }

  private static void printRetention(PrintWriter out, PhotoRetention retention) {
    if (retention.topics() == null) {
      out.println("could not read the topics' retention: " + retention.error());
      return;
    }
    out.println("photos of the subject may still be in these topics until their retention ends (Kafka is the last copy):");
    for (PhotoRetention.Topic t : retention.topics()) {
      long ms = t.ms();
      out.printf(Locale.ROOT, "  %s: retention %s%s%n", t.topic(),
          ms < 0 ? "forever (retention.ms=-1)" : String.format(Locale.ROOT, "%.1f days", ms / 86_400_000.0),
          t.compacted() ? "; compacted: a record stays until a newer one with its key replaces it" : "");
    }
    if (retention.topics().isEmpty()) {
      out.println("  (none of " + retention.names() + " exists)");
    }
  }
}
