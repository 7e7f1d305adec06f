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
import dev.mfn.search.index.LuceneVectorIndex;
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
 * Usage: {@code bench/run search --model MODEL [--people 400] [--vectors 100000] [--batch 32]}
 */
public final class SearchBench {
  public static void main(String[] args) throws Exception {
    Path model = null;
    int people = 400;
    int vectors = 100_000;
    int batch = 32;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--model" -> model = Path.of(args[++i]);
        case "--people" -> people = Integer.parseInt(args[++i]);
        case "--vectors" -> vectors = Integer.parseInt(args[++i]);
        case "--batch" -> batch = Integer.parseInt(args[++i]);
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
    try (FaceCropper cropper = new FaceCropper(new ImageDecoder(64L << 20, 60_000_000), detectors.open("blazeface"), new FaceChooser(0.5, 20));
        Embedder embedder = EmbeddingModels.open(model)) {
      String version = EmbeddingModels.name(model);
      System.out.printf("model %s, %d people, batch %d, %d cores%n", version, persons.size(), batch, Runtime.getRuntime().availableProcessors());
      PhotoEmbedder photoEmbedder = new PhotoEmbedder(cropper, embedder, true, false, batch);
      FaceEmbedStage stage = new FaceEmbedStage(cropper, photoEmbedder, version, FaceEmbedStage.Faces.CHOSEN);

      // 1. throughput
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
      try (LuceneVectorIndex index = new LuceneVectorIndex(tmp, "rank1")) {
        index.upsert(gallery);
        int correct = 0;
        int asked = 0;
        for (int i = 0; i < probes.size(); i += batch) {
          for (FaceDocument d : stage.embed(probes.subList(i, Math.min(probes.size(), i + batch))).documents()) {
            asked++;
            List<SearchHit> hits = index.search(d.vector(), 1);
            if (!hits.isEmpty() && hits.get(0).subject().equals(d.subject())) {
              correct++;
            }
          }
        }
        System.out.printf(Locale.ROOT, "rank-1 (Lucene): %d / %d probes = %.2f%% (gallery %d people, one photo each)%n",
            correct, asked, 100.0 * correct / asked, gallery.size());
      }

      // 3. recall@10 and latency at N vectors
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
      try (LuceneVectorIndex index = new LuceneVectorIndex(tmp, "scale")) {
        long t0 = System.nanoTime();
        for (int i = 0; i < many.size(); i += 10_000) {
          index.upsert(many.subList(i, Math.min(many.size(), i + 10_000)));
        }
        System.out.printf(Locale.ROOT, "indexed %d vectors (Lucene HNSW) in %.1f s%n", vectors, (System.nanoTime() - t0) / 1e9);
        int queries = 200;
        double recall = 0;
        long[] latency = new long[queries];
        for (int q = 0; q < queries; q++) {
          float[] query = many.get(rng.nextInt(many.size())).vector().clone();
          for (int d = 0; d < query.length; d++) {
            query[d] += (float) (rng.nextGaussian() * 0.05);
          }
          Embedder.normalize(query);
          t0 = System.nanoTime();
          List<SearchHit> hits = index.search(query, 10);
          latency[q] = System.nanoTime() - t0;
          Set<String> exact = exactTop10(many, query);
          recall += hits.stream().filter(h -> exact.contains(h.id())).count() / 10.0;
        }
        Arrays.sort(latency);
        System.out.printf(Locale.ROOT, "Lucene at %d vectors: recall@10 %.4f, latency p50 %.2f ms, p99 %.2f ms (%d queries)%n",
            vectors, recall / queries, latency[queries / 2] / 1e6, latency[(int) (queries * 0.99)] / 1e6, queries);
      }
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
