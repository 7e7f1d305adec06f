package dev.mfn.cli;

import dev.mfn.config.MfnSettings;
import dev.mfn.publish.ImagePublisher;
import dev.mfn.publish.KafkaAccess;
import dev.mfn.publish.PhotoFile;
import dev.mfn.publish.PublishSummary;
import dev.mfn.publish.RawImageFactory;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import org.apache.kafka.clients.producer.Producer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** `mfn publish DIR`: one RawImage per photo of a folder of identity folders. */
@Command(
    name = "publish",
    mixinStandardHelpOptions = true,
    description = {
      "Publish a folder of identity folders to Kafka, one Avro RawImage per photo.",
      "The identity (subject, also the record key) is the top folder under DIR; photos may sit",
      "deeper (DIR/001/frontal/01.jpg has subject 001). Image types are recognised from their",
      "bytes. A photo whose record would exceed the inline limit goes by reference (file:// URI).",
      "Files that are not images, empty, unreadable, too large or outside an identity folder are",
      "skipped and counted. Exit code: 0 when every photo was acknowledged, 1 when some failed,",
      "2 when the broker cannot be reached."
    })
final class PublishCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "DIR", description = "Folder of identity folders.")
  Path dir;

  @Option(names = "--topic", paramLabel = "TOPIC", description = "Topic (default: ${DEFAULT-VALUE}).")
  String topic;

  @Option(names = "--bootstrap", paramLabel = "HOST:PORT", description = "Kafka bootstrap servers (default: the local broker, setting kafka.bootstrap).")
  String bootstrap;

  @Option(names = "--partitions", description = "Partitions when the topic is created (default: setting kafka.partitions).")
  Integer partitions;

  @Option(names = "--inline-limit", paramLabel = "BYTES", description = "Largest record with the photo inline (default: setting publish.inline.limit.bytes = 1 MiB).")
  Long inlineLimit;

  @Option(names = "--max-image-bytes", paramLabel = "BYTES", description = "Skip photos larger than this (default: setting publish.max.image.bytes = 64 MiB).")
  Long maxImageBytes;

  @Option(names = "--blob-dir", paramLabel = "DIR", description = "Copy photos that go by reference into this folder (content-addressed; default: the first local folder of setting blob.roots, build/blobs). The jobs read photos by reference only under blob.roots.")
  Path blobDir;

  @Option(names = "--no-progress", description = "No progress bar (for logs and scripts).")
  boolean noProgress;

  @Spec CommandSpec spec;
  private final MfnSettings settings;

  PublishCommand(MfnSettings settings) {
    this.settings = settings;
  }

  @Override
  public Integer call() throws Exception {
    String topicName = topic != null ? topic : settings.topics().train();
    String servers = bootstrap != null ? bootstrap : settings.kafkaBootstrap();
    long limit = inlineLimit != null ? inlineLimit : settings.getLong("publish.inline.limit.bytes");
    long maxBytes =
        maxImageBytes != null ? maxImageBytes : settings.getLong("publish.max.image.bytes");
    int parts = partitions != null ? partitions : settings.getInt("kafka.partitions");

    List<PhotoFile> files = ImagePublisher.scan(dir);
    try {
      KafkaAccess.prepare(servers, topicName, parts, 10_000);
    } catch (KafkaAccess.BrokerUnreachableException e) {
      spec.commandLine().getErr().println("mfn publish: " + e.getMessage());
      return Mfn.EXIT_USAGE;
    }
    PublishSummary summary;
    try (Producer<String, byte[]> producer = KafkaAccess.producer(servers, limit);
        ProgressBar bar = progressBar(files.size())) {
      ImagePublisher publisher =
          new ImagePublisher(producer, new RawImageFactory(limit, blobDir != null ? blobDir : settings.blobDir()), maxBytes);
      summary = publisher.publish(files, topicName, f -> bar.step());
    }
    spec.commandLine().getOut().print(summary.report(topicName));
    spec.commandLine().getOut().flush();
    return summary.failed() > 0 ? 1 : 0;
  }

  private ProgressBar progressBar(int total) {
    return Progress.bar("publish", total, "images", noProgress);
  }

}
