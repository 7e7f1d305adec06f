package dev.mfn.bench;

import dev.mfn.config.MfnSettings;
import dev.mfn.face.crop.FaceCrop;
import dev.mfn.face.crop.FaceCropper;
import dev.mfn.face.decode.ImageDecoder;
import dev.mfn.face.detect.DetectorConfig;
import dev.mfn.face.detect.FaceChooser;
import dev.mfn.flink.embed.EmbedConfig;
import dev.mfn.flink.embed.EmbedJob;
import dev.mfn.flink.embed.IndexTarget;
import dev.mfn.model.Embedder;
import dev.mfn.model.EmbeddingModels;
import dev.mfn.model.PhotoEmbedder;
import dev.mfn.publish.ImagePublisher;
import dev.mfn.publish.KafkaAccess;
import dev.mfn.publish.PhotoFile;
import dev.mfn.publish.RawImageFactory;
import dev.mfn.search.enroll.FaceEmbedStage;
import dev.mfn.services.LocalServices;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.producer.Producer;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.store.FSDirectory;
import org.opencv.core.Mat;

/**
 * The Flink embed job against what it wraps, at the same batch size, one task, on the same LFW
 * photos (first N in name order), in one process:
 *
 * <ol>
 *   <li>the bare embedder on ready 112x112 crops (the model alone);
 *   <li>FaceEmbedStage in this thread: the job's per-photo work (decode, detect, align, embed crop
 *       + mirror) without Kafka or Flink;
 *   <li>the embed job on the local cluster: Kafka source -> the same stage in batches -> Lucene.
 *       Reported twice: from submission to the end (job start and model loading included), and
 *       steady, from the first face in the index to the last.
 * </ol>
 *
 * Needs a running broker ({@code ./mfn services start kafka}). Usage:
 * {@code bench/run embed [--model MODEL] [--photos 1000] [--batch 32] [--rounds 3] [--parallelism 1]}
 */
public final class EmbedJobBench {
  public static void main(String[] args) throws Exception {
    MfnSettings settings = MfnSettings.load();
    Path model = settings.getPath("model.default");
    int count = 1000;
    int batch = 32;
    int rounds = 3;
    int parallelism = 1;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--model" -> model = Path.of(args[++i]);
        case "--photos" -> count = Integer.parseInt(args[++i]);
        case "--batch" -> batch = Integer.parseInt(args[++i]);
        case "--rounds" -> rounds = Integer.parseInt(args[++i]);
        case "--parallelism" -> parallelism = Integer.parseInt(args[++i]);
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    model = model.toAbsolutePath();
    String bootstrap = settings.kafkaBootstrap();
    Path lfw = settings.repo().resolve("../shared/data/lfw/images").normalize();
    List<PhotoFile> photos = ImagePublisher.scan(lfw).stream()
        .sorted(java.util.Comparator.comparing(p -> p.path().toString())).limit(count).toList();
    Path blazeface = new LocalServices(settings).detector().fetch();
    DetectorConfig detectors = new DetectorConfig(blazeface, settings.getPath("detector.yunet.model"), settings.getPath("detector.mtcnn.dir"), 0.5);
    Path tmp = Files.createTempDirectory(Files.createDirectories(settings.home().resolve("bench")), "embed-");
    String run = Long.toString(System.currentTimeMillis(), 36);
    String topic = "bench-embed-" + run;
    KafkaAccess.prepare(bootstrap, topic, parallelism, 10_000); // a partition per source task
    KafkaAccess.prepare(bootstrap, topic + "-dlq", 1, 10_000);
    try (Producer<String, byte[]> producer = KafkaAccess.producer(bootstrap, 8L << 20)) {
      new ImagePublisher(producer, new RawImageFactory(8L << 20, null), 64L << 20).publish(photos, topic, f -> {});
    }
    List<byte[]> bytes = new ArrayList<>();
    for (PhotoFile p : photos) {
      bytes.add(Files.readAllBytes(p.path()));
    }
    System.out.printf(Locale.ROOT, "model %s, %d LFW photos, batch %d, job parallelism %d, %d cores, broker %s%n",
        EmbeddingModels.name(model), photos.size(), batch, parallelism, Runtime.getRuntime().availableProcessors(), bootstrap);
    try (FaceCropper cropper = new FaceCropper(new ImageDecoder(64L << 20, 60_000_000), detectors.open("blazeface"), new FaceChooser(0.5, 20));
        Embedder embedder = EmbeddingModels.open(model)) {
      String version = EmbeddingModels.version(embedder, model);
      FaceEmbedStage stage = new FaceEmbedStage(cropper, new PhotoEmbedder(cropper, embedder, true, false, batch), version, FaceEmbedStage.Faces.CHOSEN);
      List<Mat> crops = new ArrayList<>();
      for (byte[] b : bytes) {
        FaceCrop c = cropper.cropChosenOrCenter(b);
        crops.add(c.aligned().crop());
      }
      for (int r = 1; r <= rounds; r++) {
        long t0 = System.nanoTime();
        for (int i = 0; i < crops.size(); i += batch) {
          embedder.embed(crops.subList(i, Math.min(crops.size(), i + batch)));
        }
        double bare = crops.size() / seconds(t0);

        t0 = System.nanoTime();
        int faces = 0;
        for (int i = 0; i < bytes.size(); i += batch) {
          List<FaceEmbedStage.Photo> chunk = new ArrayList<>();
          for (int j = i; j < Math.min(bytes.size(), i + batch); j++) {
            chunk.add(new FaceEmbedStage.Photo("p" + j, "s", bytes.get(j)));
          }
          faces += stage.embed(chunk).documents().size();
        }
        double plain = faces / seconds(t0);

        Path index = tmp.resolve("round-" + r);
        EmbedConfig config = new EmbedConfig(bootstrap, topic, topic + "-dlq", null, "bench-embed-" + run + "-" + r, true, parallelism,
            model.toString(), IndexTarget.lucene(index), false, batch, 200, 5_000, tmp.resolve("checkpoints-" + r).toString(),
            "blazeface", blazeface.toString(), null, null, 0.5, 20, 64L << 20, 60_000_000);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(EmbedJob.flinkConfiguration(config));
        EmbedJob.fromConfig(config).build(env);
        t0 = System.nanoTime();
        JobClient job = env.executeAsync("bench embed " + r);
        Path folder = index.resolve(version);
        long firstAt = 0;
        long firstCount = 0;
        while (!job.getJobExecutionResult().isDone()) {
          if (firstAt == 0) {
            long n = count(folder);
            if (n > 0) {
              firstAt = System.nanoTime();
              firstCount = n;
            }
          }
          Thread.sleep(50);
        }
        job.getJobExecutionResult().get();
        long end = System.nanoTime();
        long indexed = count(folder);
        double total = indexed / ((end - t0) / 1e9);
        double steady = (indexed - firstCount) / ((end - firstAt) / 1e9);
        System.out.printf(Locale.ROOT,
            "round %d: bare embedder %.1f crops/s | FaceEmbedStage %.1f faces/s (%d) | embed job %.1f faces/s submit-to-end, %.1f steady (%d faces; %.0f%% of the stage)%n",
            r, bare, plain, faces, total, steady, indexed, 100 * steady / plain);
      }
    }
  }

  private static double seconds(long t0) {
    return (System.nanoTime() - t0) / 1e9;
  }

  private static long count(Path folder) throws java.io.IOException {
    if (!Files.isDirectory(folder) || !DirectoryReader.indexExists(FSDirectory.open(folder))) {
      return 0;
    }
    try (DirectoryReader reader = DirectoryReader.open(FSDirectory.open(folder))) {
      return reader.numDocs();
    }
  }
}
