package dev.mfn.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mfn.config.MfnSettings;
import dev.mfn.publish.KafkaAccess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** `mfn shards cut`: ask a running unbounded ingest job for a shard set of its identities as they stand. */
@Command(
    name = "shards",
    mixinStandardHelpOptions = true,
    description = "Shard sets of an unbounded ingest job.",
    subcommands = {ShardsCommand.Cut.class})
final class ShardsCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  @Command(
      name = "cut",
      mixinStandardHelpOptions = true,
      description = {
        "Send a cut request to the unbounded ingest job reading --topic: every identity it holds is",
        "written as it stands now (the seed's policy on its whole count, its reservoir, its label)",
        "into OUT/cuts/NAME/ with a manifest. With --out, wait for that manifest and summarise it.",
        "Train on it with `mfn train --shards OUT/cuts/NAME` (or OUT: its newest cut)."
      })
  static final class Cut implements Callable<Integer> {
    @Option(names = "--topic", paramLabel = "T", description = "The job's input topic (default: setting topic.train); the request goes to T.cuts.")
    String topic;

    @Option(names = "--name", paramLabel = "NAME", description = "The cut's name (default: the UTC time, yyyyMMdd-HHmmss).")
    String name;

    @Option(names = "--out", paramLabel = "DIR", description = "The job's output folder: wait for the cut's manifest there.")
    Path out;

    @Option(names = "--wait-s", paramLabel = "S", defaultValue = "300", description = "How long to wait with --out (default: ${DEFAULT-VALUE}).")
    long waitSeconds;

    @Option(names = "--bootstrap", paramLabel = "HOST:PORT", description = "Kafka (default: setting kafka.bootstrap).")
    String bootstrap;

    @Spec CommandSpec spec;
    private final MfnSettings settings;

    Cut(MfnSettings settings) {
      this.settings = settings;
    }

    @Override
    public Integer call() throws Exception {
      String servers = bootstrap != null ? bootstrap : settings.kafkaBootstrap();
      String cuts = (topic != null ? topic : settings.topics().train()) + ".cuts";
      String cut = name != null ? name : DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC).format(Instant.now());
      if (!dev.mfn.flink.ingest.CutSample.validName(cut)) {
        throw new IllegalArgumentException("a cut's name is a folder name: letters, digits, '.', '_' or '-'");
      }
      try {
        KafkaAccess.prepare(servers, cuts, 1, 10_000);
      } catch (KafkaAccess.BrokerUnreachableException e) {
        spec.commandLine().getErr().println("mfn shards cut: " + e.getMessage());
        return Mfn.EXIT_USAGE;
      }
      try (Producer<String, byte[]> producer = KafkaAccess.producer(servers, 1 << 20)) {
        producer.send(new ProducerRecord<>(cuts, cut, cut.getBytes(java.nio.charset.StandardCharsets.UTF_8))).get(30, TimeUnit.SECONDS);
      }
      var o = spec.commandLine().getOut();
      o.printf("asked for cut %s on %s%n", cut, cuts);
      if (out == null) {
        return 0;
      }
      Path manifest = out.resolve("cuts").resolve(cut).resolve("manifest.json");
      Instant deadline = Instant.now().plus(Duration.ofSeconds(waitSeconds));
      while (!Files.isRegularFile(manifest)) {
        if (Instant.now().isAfter(deadline)) {
          spec.commandLine().getErr().printf("mfn shards cut: no %s after %d s (is an unbounded ingest job reading %s?)%n",
              manifest, waitSeconds, cuts.substring(0, cuts.length() - 5));
          return 1;
        }
        TimeUnit.MILLISECONDS.sleep(500);
      }
      JsonNode t = new ObjectMapper().readTree(manifest.toFile()).get("totals");
      o.printf("cut %s: %d identities (%d kept), %d photos kept, %d train + %d validation samples -> %s%n", cut,
          t.get("identities").asLong(), t.get("identities_kept").asLong(), t.get("photos_kept").asLong(),
          t.get("train_samples").asLong(), t.get("validation_samples").asLong(), manifest.getParent());
      return 0;
    }
  }
}
