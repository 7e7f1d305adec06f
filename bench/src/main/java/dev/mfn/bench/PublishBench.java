package dev.mfn.bench;

import dev.mfn.config.MfnSettings;
import dev.mfn.publish.ImagePublisher;
import dev.mfn.publish.KafkaAccess;
import dev.mfn.publish.PhotoFile;
import dev.mfn.publish.RawImageFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Publishing a folder to Kafka: our ImagePublisher (sniff, Avro RawImage, headers) next to the bare
 * Kafka producer sending each file's bytes as they are, same producer settings, same broker, same
 * run. Each round goes to a fresh topic. Options: --bootstrap H:P --dir DIR --repeats R.
 * Needs a running broker (./mfn services start kafka).
 */
public final class PublishBench {
  public static void main(String[] args) throws Exception {
    MfnSettings settings = MfnSettings.load();
    String bootstrap = settings.kafkaBootstrap();
    Path dir = settings.repo().resolve("../shared/data/cfp/Data/Images").normalize();
    int repeats = 3;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--bootstrap" -> bootstrap = args[++i];
        case "--dir" -> dir = Path.of(args[++i]);
        case "--repeats" -> repeats = Integer.parseInt(args[++i]);
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    List<PhotoFile> files = ImagePublisher.scan(dir);
    long bytes = 0;
    for (PhotoFile f : files) {
      bytes += Files.size(f.path());
    }
    System.out.printf("%d files, %.1f MB from %s to %s, %d repeats (warm page cache)%n",
        files.size(), bytes / 1e6, dir, bootstrap, repeats);
    long limit = settings.getLong("publish.inline.limit.bytes");
    double[] bare = new double[repeats];
    double[] ours = new double[repeats];
    String run = Long.toString(System.currentTimeMillis(), 36);
    for (int r = 0; r < repeats; r++) {
      // alternate the order so neither side always runs on a warmer JVM
      for (boolean oursFirst : new boolean[] {r % 2 == 0, r % 2 != 0}) {
        String topic = "bench-" + run + "-" + r + (oursFirst ? "-ours" : "-bare");
        KafkaAccess.prepare(bootstrap, topic, 4, 10_000);
        try (Producer<String, byte[]> producer = KafkaAccess.producer(bootstrap, limit)) {
          long start = System.nanoTime();
          if (oursFirst) {
            new ImagePublisher(producer, new RawImageFactory(limit, null), 64L << 20).publish(files, topic, f -> {});
          } else {
            for (PhotoFile f : files) {
              producer.send(new ProducerRecord<>(topic, f.subject(), Files.readAllBytes(f.path())));
            }
            producer.flush();
          }
          double rate = files.size() / ((System.nanoTime() - start) / 1e9);
          (oursFirst ? ours : bare)[r] = rate;
        }
      }
    }
    Arrays.sort(bare);
    Arrays.sort(ours);
    System.out.printf("%-28s images/s min / median / max%n", "stage");
    System.out.printf("%-28s %.0f / %.0f / %.0f%n", "bare KafkaProducer (bytes)", bare[0], bare[repeats / 2], bare[repeats - 1]);
    System.out.printf("%-28s %.0f / %.0f / %.0f%n", "ImagePublisher (RawImage)", ours[0], ours[repeats / 2], ours[repeats - 1]);
    System.out.printf("MB/s at the median: bare %.1f, ours %.1f%n",
        bare[repeats / 2] * bytes / files.size() / 1e6, ours[repeats / 2] * bytes / files.size() / 1e6);
  }
}
