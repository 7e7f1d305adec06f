package dev.mfn.bench;

import dev.mfn.config.MfnSettings;
import dev.mfn.face.crop.FaceCrop;
import dev.mfn.face.crop.FaceCropper;
import dev.mfn.face.decode.ImageDecoder;
import dev.mfn.face.detect.DetectorConfig;
import dev.mfn.face.detect.FaceChooser;
import dev.mfn.model.Embedder;
import dev.mfn.model.EmbeddingModels;
import dev.mfn.model.PhotoEmbedder;
import dev.mfn.search.enroll.FaceEmbedStage;
import dev.mfn.search.index.FaceDocument;
import dev.mfn.search.index.ElasticsearchVectorIndex;
import dev.mfn.search.index.LuceneVectorIndex;
import dev.mfn.search.index.VectorIndex;
import dev.mfn.services.elasticsearch.ElasticsearchServer;
import dev.mfn.services.process.Ports;
import co.elastic.clients.elasticsearch.ElasticsearchClient;
import dev.mfn.search.index.SearchHit;
import dev.mfn.services.LocalServices;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.opencv.core.Mat;

/**
 * Search, stage by stage, on LFW:
 *
 * <ol>
 *   <li>embedding throughput at batch B: the bare embedder on ready 112x112 crops, next to our
 *       FaceEmbedStage (decode, detect, align, embed crop + mirror) on the photos;
 *   <li>rank-1 identification: gallery = the first photo of every LFW person with >= 2 photos,
 *       probes = their other photos, embedded Lucene index;
 *   <li>recall@10 of the HNSW index against exact search, and query latency p50/p99, at N vectors:
 *       the real gallery embeddings plus Gaussian-perturbed copies of them to reach N (said so).
 * </ol>
 *
 * <p>Both backends in the same run: the embedded Lucene index, and Elasticsearch (a local node of
 * the pinned version, started by this benchmark with a 2 GB heap; documents bulk-loaded without a
 * refresh per request, one refresh at the end). Scale documents carry no crop.
 *
 * <p>Usage: {@code bench/run search --model MODEL [--people 400] [--vectors 100000,1000000]
 * [--batch 32] [--backend lucene|elasticsearch|both] [--skip-embedding] [--candidates 100,160,400]}
 */
public final class SearchBench {
  public static void main(String[] args) throws Exception {
    Path model = null;
    int people = 400;
    List<Integer> scales = List.of(100_000);
    int batch = 32;
    List<Integer> candidateCounts = List.of(VectorIndex.MIN_CANDIDATES);
    String backend = "both";
    boolean skipEmbedding = false;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--model" -> model = Path.of(args[++i]);
        case "--people" -> people = Integer.parseInt(args[++i]);
        case "--vectors" -> scales = Arrays.stream(args[++i].split(",")).map(Integer::valueOf).toList();
        case "--backend" -> backend = args[++i];
        case "--skip-embedding" -> skipEmbedding = true;
        case "--batch" -> batch = Integer.parseInt(args[++i]);
        case "--candidates" -> candidateCounts = Arrays.stream(args[++i].split(",")).map(Integer::valueOf).toList();
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    MfnSettings settings = MfnSettings.load();
    if (model == null) {
      model = settings.getPath("model.default");
    }
    Path lfw = settings.repo().resolve("../shared/data/lfw/images").normalize();
    List<Path> persons;
    try (Stream<Path> all = Files.list(lfw)) {
      persons = all.sorted().filter(p -> photos(p).size() >= 2).limit(people).toList();
    }
    DetectorConfig detectors = new DetectorConfig(new LocalServices(settings).detector().fetch(),
        settings.getPath("detector.yunet.model"), settings.getPath("detector.mtcnn.dir"), 0.5);
    Path tmp = Files.createTempDirectory(Files.createDirectories(settings.home().resolve("bench")), "search-");
    List<String> backends = backend.equals("both") ? List.of("lucene", "elasticsearch") : List.of(backend);
    ElasticsearchServer es = null;
    ElasticsearchClient esClient = null;
    if (backends.contains("elasticsearch")) {
      es = new ElasticsearchServer(MfnSettings.pinnedVersion("elasticsearch.version"), settings.home().resolve("elasticsearch"),
          Files.createTempDirectory(settings.home().resolve("bench"), "es-"), Ports.free(), settings.get("elasticsearch.user"), "2g");
      es.start();
      esClient = new ElasticsearchVectorIndex.Connection(es.url(), null, null, null, null).client();
      System.out.println("Elasticsearch " + MfnSettings.pinnedVersion("elasticsearch.version") + " started at " + es.url());
    }
    try (FaceCropper cropper = new FaceCropper(new ImageDecoder(64L << 20, 60_000_000), detectors.open("blazeface"), new FaceChooser(0.5, 20));
        Embedder embedder = EmbeddingModels.open(model)) {
      String version = EmbeddingModels.name(model);
      System.out.printf("model %s, %d people, batch %d, %d cores%n", version, persons.size(), batch, Runtime.getRuntime().availableProcessors());
      PhotoEmbedder photoEmbedder = new PhotoEmbedder(cropper, embedder, true, false, batch);
      FaceEmbedStage stage = new FaceEmbedStage(cropper, photoEmbedder, version, FaceEmbedStage.Faces.CHOSEN);

      // 1. throughput
      if (!skipEmbedding) {
      List<byte[]> sample = new ArrayList<>();
      for (Path p : persons.subList(0, Math.min(persons.size(), 200))) {
        sample.add(Files.readAllBytes(photos(p).get(0)));
      }
      List<Mat> crops = new ArrayList<>();
      for (byte[] b : sample) {
        FaceCrop c = cropper.cropChosenOrCenter(b);
        crops.add(c.aligned().crop());
      }
      for (int r = 0; r < 3; r++) {
        long t0 = System.nanoTime();
        for (int i = 0; i < crops.size(); i += batch) {
          embedder.embed(crops.subList(i, Math.min(crops.size(), i + batch)));
        }
        double bare = crops.size() / ((System.nanoTime() - t0) / 1e9);
        t0 = System.nanoTime();
        for (int i = 0; i < crops.size(); i += batch) {
          photoEmbedder.embedCrops(crops.subList(i, Math.min(crops.size(), i + batch)));
        }
        double flip = crops.size() / ((System.nanoTime() - t0) / 1e9);
        t0 = System.nanoTime();
        int faces = 0;
        for (int i = 0; i < sample.size(); i += batch) {
          List<FaceEmbedStage.Photo> chunk = new ArrayList<>();
          for (int j = i; j < Math.min(sample.size(), i + batch); j++) {
            chunk.add(new FaceEmbedStage.Photo("p" + j, "s", sample.get(j)));
          }
          faces += stage.embed(chunk).documents().size();
        }
        double full = faces / ((System.nanoTime() - t0) / 1e9);
        System.out.printf(Locale.ROOT, "round %d: bare embedder %.1f crops/s | crop+mirror %.1f faces/s | FaceEmbedStage (photo in) %.1f faces/s%n",
            r + 1, bare, flip, full);
      }
      }

      // 2. rank-1 identification
      List<FaceDocument> gallery = new ArrayList<>();
      List<FaceEmbedStage.Photo> probes = new ArrayList<>();
      for (Path p : persons) {
        String name = p.getFileName().toString();
        List<Path> files = photos(p);
        gallery.addAll(stage.embed(List.of(new FaceEmbedStage.Photo(name + "/0", name, Files.readAllBytes(files.get(0))))).documents());
        for (int i = 1; i < files.size(); i++) {
          probes.add(new FaceEmbedStage.Photo(name + "/" + i, name, Files.readAllBytes(files.get(i))));
        }
      }
      List<FaceDocument> probeFaces = new ArrayList<>();
      for (int i = 0; i < probes.size(); i += batch) {
        probeFaces.addAll(stage.embed(probes.subList(i, Math.min(probes.size(), i + batch))).documents());
      }
      for (String b : backends) {
        try (VectorIndex index = open(b, tmp, "rank1", esClient)) {
          index.upsert(gallery);
          int correct = 0;
          for (FaceDocument d : probeFaces) {
            List<SearchHit> hits = index.search(d.vector(), 1);
            if (!hits.isEmpty() && hits.get(0).subject().equals(d.subject())) {
              correct++;
            }
          }
          System.out.printf(Locale.ROOT, "rank-1 (%s): %d / %d probes = %.2f%% (gallery %d people, one photo each; %d probes without a face)%n",
              b, correct, probeFaces.size(), 100.0 * correct / probeFaces.size(), gallery.size(), probes.size() - probeFaces.size());
        }
      }

      // 3. recall@10 and latency at N vectors
      for (int vectors : scales) {
        Random rng = new Random(1);
        List<FaceDocument> many = new ArrayList<>(vectors);
        for (int i = 0; i < vectors; i++) {
          float[] base = gallery.get(i % gallery.size()).vector();
          float[] v = Arrays.copyOf(base, base.length);
          if (i >= gallery.size()) {
            for (int d = 0; d < v.length; d++) {
              v[d] += (float) (rng.nextGaussian() * 0.05);
            }
            Embedder.normalize(v);
          }
          many.add(new FaceDocument("v" + i, 0, "s" + (i % gallery.size()), "scale", v, null, null));
        }
        int queries = 200;
        List<float[]> asked = new ArrayList<>();
        List<Set<String>> exact = new ArrayList<>();
        for (int q = 0; q < queries; q++) {
          float[] query = many.get(rng.nextInt(many.size())).vector().clone();
          for (int d = 0; d < query.length; d++) {
            query[d] += (float) (rng.nextGaussian() * 0.05);
          }
          asked.add(Embedder.normalize(query));
          exact.add(exactTop10(many, query));
        }
        for (String b : backends) {
          try (VectorIndex index = open(b, tmp, "scale-" + vectors, esClient)) {
            long t0 = System.nanoTime();
            for (int i = 0; i < many.size(); i += 5_000) {
              List<FaceDocument> part = many.subList(i, Math.min(many.size(), i + 5_000));
              if (index instanceof ElasticsearchVectorIndex e) {
                e.load(part);
              } else {
                index.upsert(part);
              }
            }
            if (index instanceof ElasticsearchVectorIndex e) {
              e.refresh();
            }
            System.out.printf(Locale.ROOT, "indexed %d vectors (%s) in %.1f s%n", vectors, b, (System.nanoTime() - t0) / 1e9);
            System.out.printf(Locale.ROOT, "memory: JVM heap used %d MB after the load%s%n", usedHeapMb(),
                index instanceof LuceneVectorIndex l ? String.format(Locale.ROOT, "; index on disk %d MB", diskMb(l.folder())) : "");
            for (int candidates : candidateCounts) {
              for (int warm = 0; warm < 20; warm++) {
                index.search(asked.get(warm), 10, candidates);
              }
              double recall = 0;
              long[] latency = new long[queries];
              for (int q = 0; q < queries; q++) {
                t0 = System.nanoTime();
                List<SearchHit> hits = index.search(asked.get(q), 10, candidates);
                latency[q] = System.nanoTime() - t0;
                Set<String> truth = exact.get(q);
                recall += hits.stream().filter(h -> truth.contains(h.id())).count() / 10.0;
              }
              Arrays.sort(latency);
              System.out.printf(Locale.ROOT, "%s at %d vectors, %d candidates: recall@10 %.4f, latency p50 %.2f ms, p99 %.2f ms (%d queries, 20 warm-up)%n",
                  b, vectors, candidates, recall / queries, latency[queries / 2] / 1e6, latency[(int) (queries * 0.99)] / 1e6, queries);
            }
          }
        }
      }
    } finally {
      if (esClient != null) {
        esClient.close();
      }
      if (es != null) {
        es.stop();
      }
    }
  }

  private static VectorIndex open(String backend, Path tmp, String name, ElasticsearchClient client) throws java.io.IOException {
    return backend.equals("lucene") ? new LuceneVectorIndex(tmp, name)
        : new ElasticsearchVectorIndex(client, name + "-" + Long.toString(System.currentTimeMillis(), 36));
  }

  private static long usedHeapMb() {
    System.gc();
    Runtime r = Runtime.getRuntime();
    return (r.totalMemory() - r.freeMemory()) >> 20;
  }

  private static long diskMb(Path folder) throws java.io.IOException {
    try (Stream<Path> files = Files.walk(folder)) {
      return files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum() >> 20;
    }
  }

  private static Set<String> exactTop10(List<FaceDocument> all, float[] q) {
    double[] best = new double[10];
    String[] ids = new String[10];
    Arrays.fill(best, -2);
    for (FaceDocument d : all) {
      double s = 0;
      float[] v = d.vector();
      for (int i = 0; i < v.length; i++) {
        s += v[i] * q[i];
      }
      if (s > best[9]) {
        int j = 9;
        while (j > 0 && best[j - 1] < s) {
          best[j] = best[j - 1];
          ids[j] = ids[j - 1];
          j--;
        }
        best[j] = s;
        ids[j] = d.id();
      }
    }
    return new HashSet<>(Arrays.asList(ids));
  }

  private static List<Path> photos(Path person) {
    try (Stream<Path> files = Files.list(person)) {
      return files.sorted().toList();
    } catch (java.io.IOException e) {
      return List.of();
    }
  }
}
