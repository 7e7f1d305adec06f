package dev.mfn.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.mfn.config.MfnSettings;
import dev.mfn.face.crop.FaceCropper;
import dev.mfn.face.decode.ImageDecoder;
import dev.mfn.face.detect.DetectorConfig;
import dev.mfn.face.detect.FaceChooser;
import dev.mfn.flink.embed.EmbedArguments;
import dev.mfn.flink.embed.EmbedConfig;
import dev.mfn.flink.embed.EmbedJob;
import dev.mfn.flink.embed.IndexTarget;
import dev.mfn.flink.ingest.IngestArguments;
import dev.mfn.flink.ingest.IngestConfig;
import dev.mfn.flink.ingest.IngestJob;
import dev.mfn.model.Embedder;
import dev.mfn.model.EmbeddingModels;
import dev.mfn.model.PhotoEmbedder;
import dev.mfn.publish.ImagePublisher;
import dev.mfn.publish.KafkaAccess;
import dev.mfn.publish.PhotoFile;
import dev.mfn.publish.RawImageFactory;
import dev.mfn.search.enroll.FaceEmbedStage;
import dev.mfn.services.LocalServices;
import dev.mfn.services.flink.ClusterJobs;
import dev.mfn.services.flink.ClusterOptions;
import dev.mfn.services.flink.JobSubmission;
import dev.mfn.services.flink.LocalFlinkCluster;
import dev.mfn.services.process.Ports;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.flink.api.common.JobID;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The jobs on a real session cluster (a JobManager and 2 TaskManagers x 1 slot, each its own JVM)
 * next to the local MiniCluster at parallelism 2, on the same photos in the same run, each next to
 * its stage in one thread (the bare per-photo work); then the checkpoints of the ingest job's
 * per-identity state on the cluster (RocksDB, incremental): for CFP's people x 14 photos after the
 * whole topic is in, and for a synthetic set of identities.
 *
 * <p>Needs a running broker ({@code ./mfn services start kafka}); starts and stops its own cluster.
 * Usage: {@code bench/run cluster [--people 100] [--embed-photos 500] [--rounds 2]
 * [--state-people 350] [--synthetic 10000] [--synthetic-photos 14]}
 */
public final class ClusterBench {
  private static final Duration WAIT = Duration.ofMinutes(30);

  public static void main(String[] args) throws Exception {
    int people = 100;
    int statePeople = 350;
    int embedPhotos = 500;
    int rounds = 2;
    int synthetic = 10_000;
    int syntheticPhotos = 14;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--people" -> people = Integer.parseInt(args[++i]);
        case "--state-people" -> statePeople = Integer.parseInt(args[++i]);
        case "--embed-photos" -> embedPhotos = Integer.parseInt(args[++i]);
        case "--rounds" -> rounds = Integer.parseInt(args[++i]);
        case "--synthetic" -> synthetic = Integer.parseInt(args[++i]);
        case "--synthetic-photos" -> syntheticPhotos = Integer.parseInt(args[++i]);
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    MfnSettings settings = MfnSettings.load();
    String bootstrap = settings.kafkaBootstrap();
    String run = Long.toString(System.currentTimeMillis(), 36);
    Path work = Files.createTempDirectory(Files.createDirectories(settings.home().resolve("bench")), "cluster-");
    Path blazeface = new LocalServices(settings).detector().fetch();
    Path shared = settings.repo().resolve("../shared/data").normalize();

    List<PhotoFile> all = ImagePublisher.scan(shared.resolve("cfp/Data/Images"));
    int maxPerson = people;
    List<PhotoFile> cfp = all.stream().filter(p -> Integer.parseInt(p.subject()) <= maxPerson).toList();
    int maxStatePerson = statePeople;
    List<PhotoFile> stateCfp = all.stream().filter(p -> Integer.parseInt(p.subject()) <= maxStatePerson).toList();
    List<PhotoFile> lfw = ImagePublisher.scan(shared.resolve("lfw/images")).stream()
        .sorted(java.util.Comparator.comparing(p -> p.path().toString())).limit(embedPhotos).toList();
    String train = "bench-cluster-train-" + run;
    String enroll = "bench-cluster-enroll-" + run;
    String stateTopic = "bench-cluster-state-" + run;
    for (String t : List.of(train, enroll, stateTopic, train + ".dlq", enroll + ".dlq", stateTopic + ".dlq")) {
      KafkaAccess.prepare(bootstrap, t, 4, 10_000);
    }
    try (Producer<String, byte[]> producer = KafkaAccess.producer(bootstrap, 8L << 20)) {
      RawImageFactory factory = new RawImageFactory(8L << 20, null);
      new ImagePublisher(producer, factory, 64L << 20).publish(cfp, train, f -> {});
      new ImagePublisher(producer, factory, 64L << 20).publish(lfw, enroll, f -> {});
      new ImagePublisher(producer, factory, 64L << 20).publish(stateCfp, stateTopic, f -> {});
    }
    System.out.printf(Locale.ROOT, "%d cores; ingest: %d CFP photos of %d people; embed: %d LFW photos, model %s; state: %d photos of %d people%n",
        Runtime.getRuntime().availableProcessors(), cfp.size(), people, lfw.size(), settings.getPath("model.default"),
        stateCfp.size(), statePeople);

    DetectorConfig detectors = new DetectorConfig(blazeface, null, null, 0.5);
    try (FaceCropper cropper = new FaceCropper(new ImageDecoder(64L << 20, 60_000_000), detectors.open("blazeface"),
        new FaceChooser(0.5, 20));
        Embedder embedder = EmbeddingModels.open(settings.getPath("model.default"))) {
      double crop = stageRate(cfp.subList(0, Math.min(300, cfp.size())), p -> cropper.cropChosen(Files.readAllBytes(p.path())));
      FaceEmbedStage stage = new FaceEmbedStage(cropper, new PhotoEmbedder(cropper, embedder, true, false, 32),
          EmbeddingModels.version(embedder, settings.getPath("model.default")), FaceEmbedStage.Faces.CHOSEN);
      double embed = stageRate(lfw.subList(0, Math.min(200, lfw.size())),
          p -> stage.embed(List.of(new FaceEmbedStage.Photo(p.source(), p.subject(), Files.readAllBytes(p.path())))));
      System.out.printf(Locale.ROOT, "stage in one thread: detect+align %.1f photos/s; detect+align+embed %.1f photos/s%n", crop, embed);
    }

    double labels = LabelThroughput.measure(bootstrap, "bench-labels-" + run, 40_000, 10_000);
    System.out.printf(Locale.ROOT, "label task alone (parallelism 1, 20 KB samples, 10,000 subjects): %.0f samples/s%n", labels);

    LocalFlinkCluster cluster = new LocalFlinkCluster(work.resolve("flink"), new ClusterOptions(2, 1, Ports.free(), 1024, 2048));
    cluster.start(false);
    try (ClusterJobs jobs = new ClusterJobs(cluster.restAddress(), work)) {
      // the real state: every CFP photo in the unbounded job's reservoirs, then checkpoints of it
      // (periodic checkpoints off: the triggered one writes the whole state)
      IngestConfig state = ingest(bootstrap, stateTopic, work.resolve("state"), "bench-state-" + run, false, blazeface);
      JobID id = jobs.submit(new JobSubmission(IngestJob.class.getName(), IngestArguments.of(state), null)
          .withArg("--checkpoint-ms", "3600000"));
      awaitCuratorSettled(jobs, id, (long) (0.9 * stateCfp.size()));
      report(jobs, id, statePeople + " CFP people x 14 photos (" + curatorRecordsIn(jobs, id) + " faces)");
      jobs.cancel(id);

      String trigger = "bench-synthetic-" + run;
      KafkaAccess.prepare(bootstrap, trigger, 1, 10_000);
      IngestConfig synth = ingest(bootstrap, trigger, work.resolve("synthetic"), "bench-synth-" + run, false, blazeface);
      List<String> synthArgs = new ArrayList<>(IngestArguments.of(synth));
      synthArgs.addAll(List.of("--trigger", trigger, "--identities", String.valueOf(synthetic), "--photos", String.valueOf(syntheticPhotos)));
      JobID sid = jobs.submit(new JobSubmission(SyntheticIdentitiesJob.class.getName(), synthArgs, null)
          .withArg("--checkpoint-ms", "3600000"));
      await("the synthetic job to run", () -> running(jobs, sid));
      try (Producer<String, byte[]> producer = KafkaAccess.producer(bootstrap, 1 << 20)) {
        producer.send(new ProducerRecord<>(trigger, "go", "go".getBytes())).get();
      }
      long expected = (long) synthetic * syntheticPhotos;
      await("the curator to read " + expected + " faces", () -> curatorRecordsIn(jobs, sid) >= expected);
      report(jobs, sid, synthetic + " synthetic identities x " + syntheticPhotos + " crops");
      jobs.cancel(sid);

      for (int r = 1; r <= rounds; r++) {
        IngestConfig mini = ingest(bootstrap, train, work.resolve("mini-" + r), "bench-mini-" + run + r, true, blazeface);
        double miniS = timed(() -> {
          StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(IngestJob.flinkConfiguration(mini));
          IngestJob.fromConfig(mini).build(env);
          env.execute("bench ingest minicluster");
        });
        IngestConfig onCluster = ingest(bootstrap, train, work.resolve("cluster-" + r), "bench-cluster-" + run + r, true, blazeface);
        double clusterS = timed(() -> awaitSuccess(jobs, jobs.submit(new JobSubmission(IngestJob.class.getName(),
            IngestArguments.of(onCluster), null))));
        System.out.printf(Locale.ROOT, "round %d ingest (p=2, bounded, submit to end): MiniCluster %.1f photos/s (%.1f s) | cluster %.1f photos/s (%.1f s)%n",
            r, cfp.size() / miniS, miniS, cfp.size() / clusterS, clusterS);

        EmbedConfig miniEmbed = embed(bootstrap, enroll, work.resolve("index-mini-" + r), "bench-emini-" + run + r, blazeface, settings, work);
        double eMini = timed(() -> {
          StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(EmbedJob.flinkConfiguration(miniEmbed));
          EmbedJob.fromConfig(miniEmbed).build(env);
          env.execute("bench embed minicluster");
        });
        EmbedConfig clusterEmbed = embed(bootstrap, enroll, work.resolve("index-cluster-" + r), "bench-ecluster-" + run + r, blazeface, settings, work);
        double eCluster = timed(() -> awaitSuccess(jobs, jobs.submit(new JobSubmission(EmbedJob.class.getName(),
            EmbedArguments.of(clusterEmbed), null))));
        System.out.printf(Locale.ROOT, "round %d embed (p=2, bounded, submit to end): MiniCluster %.1f photos/s (%.1f s) | cluster %.1f photos/s (%.1f s)%n",
            r, lfw.size() / eMini, eMini, lfw.size() / eCluster, eCluster);
      }
    } finally {
      cluster.stop();
    }
  }

  /** Two completed checkpoints after the state is whole: the full one, then an incremental one with no change. */
  private static void report(ClusterJobs jobs, JobID id, String what) throws Exception {
    for (String label : List.of("first after the data is in", "next, nothing changed")) {
      long before = jobs.completedCheckpoints(id);
      jobs.triggerCheckpoint(id);
      await("a checkpoint", () -> {
        try {
          return jobs.completedCheckpoints(id) > before;
        } catch (Exception e) {
          return false;
        }
      });
      JsonNode latest = jobs.get("/jobs/" + id + "/checkpoints").path("latest").path("completed");
      System.out.printf(Locale.ROOT, "checkpoint of %s (%s): state %.1f MB, written %.1f MB, %.1f s end to end%n", what, label,
          latest.path("state_size").asLong() / 1e6, latest.path("checkpointed_size").asLong() / 1e6,
          latest.path("end_to_end_duration").asLong() / 1e3);
    }
  }

  /** Until the curator has read at least {@code atLeast} faces and no more arrive for 10 s. */
  private static void awaitCuratorSettled(ClusterJobs jobs, JobID id, long atLeast) throws InterruptedException {
    long last = -1;
    long since = System.nanoTime();
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (System.nanoTime() < deadline) {
      long n = curatorRecordsIn(jobs, id);
      if (n != last) {
        last = n;
        since = System.nanoTime();
      } else if (n >= atLeast && System.nanoTime() - since > 10_000_000_000L) {
        return;
      }
      TimeUnit.MILLISECONDS.sleep(500);
    }
    throw new IllegalStateException("the curator did not settle at >= " + atLeast + " faces");
  }

  private static long curatorRecordsIn(ClusterJobs jobs, JobID id) {
    try {
      for (JsonNode v : jobs.details(id).path("vertices")) {
        if (v.path("name").asText().contains("identity-policy-augment")) {
          return v.path("metrics").path("read-records").asLong();
        }
      }
    } catch (Exception e) {
      // not yet
    }
    return 0;
  }

  private static boolean running(ClusterJobs jobs, JobID id) {
    try {
      // every task has started (the empty cut stream's tasks may have finished already)
      return jobs.details(id).path("vertices").findValues("status").stream()
          .allMatch(s -> s.asText().equals("RUNNING") || s.asText().equals("FINISHED"));
    } catch (Exception e) {
      return false;
    }
  }

  private static IngestConfig ingest(String bootstrap, String topic, Path out, String group, boolean bounded, Path blazeface) {
    // 14 photos a person: the x2 tier (opening above 8), cap 350; checkpoints every 10 s as the CLI
    return new IngestConfig(bootstrap, topic, topic + ".dlq", group, bounded, out.toAbsolutePath().toString(), 2, 16, 0.005,
        350, 200, 8, 4, null, null, 10_000, "blazeface", blazeface.toString(), null, null, 0.5, 20, 64L << 20,
        60_000_000, false);
  }

  private static EmbedConfig embed(String bootstrap, String topic, Path index, String group, Path blazeface,
      MfnSettings settings, Path work) {
    return new EmbedConfig(bootstrap, topic, topic + ".dlq", null, group, true, 2,
        settings.getPath("model.default").toAbsolutePath().toString(), IndexTarget.lucene(index.toAbsolutePath()), false, 32,
        200, 5_000, work.resolve("embed-checkpoints").toAbsolutePath().toString(), "blazeface", blazeface.toString(), null,
        null, 0.5, 20, 64L << 20, 60_000_000);
  }

  private interface Work {
    void run() throws Exception;
  }

  private interface PhotoWork {
    void run(PhotoFile photo) throws Exception;
  }

  private static double timed(Work work) throws Exception {
    long t0 = System.nanoTime();
    work.run();
    return (System.nanoTime() - t0) / 1e9;
  }

  private static double stageRate(List<PhotoFile> photos, PhotoWork work) throws Exception {
    long t0 = System.nanoTime();
    for (PhotoFile p : photos) {
      try {
        work.run(p);
      } catch (dev.mfn.face.FaceRejected rejected) {
        // counted in the time like the job's dead letters
      }
    }
    return photos.size() / ((System.nanoTime() - t0) / 1e9);
  }

  private static void awaitSuccess(ClusterJobs jobs, JobID id) throws Exception {
    if (!jobs.await(id, WAIT).isSuccess()) {
      throw new IllegalStateException("job " + id + " failed; see the cluster's logs");
    }
  }

  private static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("timed out waiting for " + what);
      }
      TimeUnit.MILLISECONDS.sleep(500);
    }
  }
}
