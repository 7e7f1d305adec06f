package dev.mfn.bench;

import dev.mfn.cli.Mfn;
import dev.mfn.config.MfnSettings;
import dev.mfn.face.crop.FaceCropper;
import dev.mfn.face.decode.ImageDecoder;
import dev.mfn.face.detect.DetectorConfig;
import dev.mfn.face.detect.FaceChooser;
import dev.mfn.model.Embedder;
import dev.mfn.model.EmbeddingModels;
import dev.mfn.model.PhotoEmbedder;
import dev.mfn.model.TorchEmbedder;
import dev.mfn.search.FaceSearch;
import dev.mfn.search.enroll.FaceEmbedStage;
import dev.mfn.search.index.FaceDocument;
import dev.mfn.search.index.LuceneVectorIndex;
import dev.mfn.search.index.SearchHit;
import dev.mfn.search.index.VectorIndex;
import dev.mfn.services.LocalServices;
import dev.mfn.services.process.Ports;
import dev.mfn.testkit.SearchLoad;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;

/**
 * The model lifecycle, measured:
 *
 * <ol>
 *   <li><b>switch</b>: `mfn serve` (in this JVM, over HTTP) under a concurrent /search load while
 *       the index's SERVING file moves from our committed model (v1) to the reference model, as the
 *       embed job's migrator does: requests/s and latency p50/p99 before, during (the 10 s after the
 *       move) and after, errors, and whether every answer came from one version's model and index.
 *       Next to it, the bare library: FaceSearch in-process on the same queries, one at a time.
 *   <li><b>open-set</b>: LFW search where most probes are people who are NOT enrolled: the false
 *       accepts (an impostor's best match at or above the threshold) with our model's 1:N threshold
 *       (FAR 1e-4 on LFW pairs) and with its 1:1 best-accuracy one, at gallery sizes 100 and 1,000;
 *       and the identification rate of enrolled people's other photos at the same thresholds.
 * </ol>
 *
 * <p>Usage: {@code bench/run lifecycle [--what switch|open-set|both] [--people 100] [--workers 2]
 * [--seconds 60] [--impostors 1000]}
 */
public final class LifecycleBench {
  public static void main(String[] args) throws Exception {
    String what = "both";
    int people = 100;
    int workers = 2;
    int seconds = 60;
    int impostors = 1000;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--what" -> what = args[++i];
        case "--people" -> people = Integer.parseInt(args[++i]);
        case "--workers" -> workers = Integer.parseInt(args[++i]);
        case "--seconds" -> seconds = Integer.parseInt(args[++i]);
        case "--impostors" -> impostors = Integer.parseInt(args[++i]);
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    MfnSettings settings = MfnSettings.load();
    Path repo = Path.of(System.getProperty("mfn.repo", "."));
    Path lfw = repo.resolve("../shared/data/lfw").normalize();
    Path reference = repo.resolve("../shared/models/reference/MobileFaceNet_paddlex.onnx").normalize();
    Path ours = repo.resolve("models/default").toAbsolutePath().normalize();
    Path work = Files.createTempDirectory(Files.createDirectories(repo.resolve("build/tmp")), "lifecycle-bench-");
    System.out.printf("lifecycle bench %s: %s, java %s, %d cores%n", java.time.LocalDate.now(), System.getProperty("os.name"),
        System.getProperty("java.version"), Runtime.getRuntime().availableProcessors());
    try (FaceCropper cropper = new FaceCropper(new ImageDecoder(64L << 20, 60_000_000),
        new DetectorConfig(new LocalServices(settings).detector().fetch(), null, null, 0.5).open("blazeface"), new FaceChooser(0.5, 20))) {
      if (!what.equals("open-set")) {
        switchUnderLoad(settings, cropper, lfw, ours, reference, work, people, workers, seconds);
      }
      if (!what.equals("switch")) {
        openSet(cropper, lfw, ours, impostors);
      }
    }
  }

  private static void switchUnderLoad(MfnSettings settings, FaceCropper cropper, Path lfw, Path ours, Path reference, Path work,
      int people, int workers, int seconds) throws Exception {
    List<Path> persons = persons(lfw, 2).subList(0, people);
    Path index = work.resolve("index");
    List<SearchLoad.Query> queries = new ArrayList<>();
    for (Path p : persons) {
      queries.add(new SearchLoad.Query(p.getFileName().toString(), Files.readAllBytes(photos(p).get(1))));
    }
    String next = reference.getFileName().toString();
    String old = EmbeddingModels.version(ours); // the committed model's id, which names its index
    FaceSearch bare = null;
    for (Path model : List.of(ours, reference)) {
      try (Embedder embedder = EmbeddingModels.open(model)) {
        String version = EmbeddingModels.version(embedder, model);
        FaceEmbedStage stage = new FaceEmbedStage(cropper, new PhotoEmbedder(cropper, embedder, true, false, 16), version,
            FaceEmbedStage.Faces.CHOSEN);
        List<FaceEmbedStage.Photo> gallery = new ArrayList<>();
        for (Path p : persons) {
          gallery.add(new FaceEmbedStage.Photo(p.getFileName() + "/1", p.getFileName().toString(), Files.readAllBytes(photos(p).get(0))));
        }
        try (VectorIndex idx = new LuceneVectorIndex(index, version)) {
          idx.upsert(stage.embed(gallery).documents());
          if (model.equals(ours)) {
            idx.serve(ours.toUri().toString());
            // the bare library on the same queries: FaceSearch in-process, one at a time
            bare = new FaceSearch(stage, idx, 0.35);
            long start = System.nanoTime();
            List<Long> micros = new ArrayList<>();
            for (SearchLoad.Query q : queries) {
              long t = System.nanoTime();
              bare.search(q.photo(), 1);
              micros.add((System.nanoTime() - t) / 1000);
            }
            double secs = (System.nanoTime() - start) / 1e9;
            System.out.printf(Locale.ROOT, "bare FaceSearch (%s, in-process, 1 thread): %d searches, %.1f/s, p50 %.0f ms, p99 %.0f ms%n",
                version, queries.size(), queries.size() / secs, pct(micros, 50) / 1000, pct(micros, 99) / 1000);
          }
        }
      }
    }
    int port = Ports.free();
    String key = "lifecycle-bench-key-0123456789";
    Path keyFile = Files.writeString(Files.createTempFile("lifecycle-key", ""), key);
    CompletableFuture<Integer> serve = CompletableFuture.supplyAsync(() -> Mfn.run(settings,
        new PrintWriter(System.out, true), new PrintWriter(System.err, true), "serve", "--index", index.toString(),
        "--port", String.valueOf(port), "--api-key-file", keyFile.toString(), "--rate", "0", "--threshold", "0.35", "--follow-ms", "500",
        "--for-seconds", String.valueOf(seconds + 60)));
    String base = "http://127.0.0.1:" + port;
    dev.mfn.testkit.Await.until("the service", Duration.ofMinutes(2), () -> {
      try {
        return java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(base + "/health")).build(),
            java.net.http.HttpResponse.BodyHandlers.ofString()).statusCode() == 200;
      } catch (Exception e) {
        return false;
      }
    });
    SearchLoad.run(base, key, queries.subList(0, Math.min(10, queries.size())), workers, Duration.ofSeconds(5)); // warm-up
    long switchAt = seconds * 1000L / 2;
    CompletableFuture<Long> moved = CompletableFuture.supplyAsync(() -> {
      try {
        long t0 = System.nanoTime();
        Thread.sleep(switchAt);
        try (var v = LuceneVectorIndex.readOnly(index, next)) {
          v.serve(reference.toUri().toString());
        }
        return (System.nanoTime() - t0) / 1_000_000;
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    List<SearchLoad.Answer> answers = SearchLoad.run(base, key, queries, workers, Duration.ofSeconds(seconds));
    moved.get();
    long errors = answers.stream().filter(a -> a.status() != 200).count();
    long inconsistent = answers.stream().filter(a -> a.status() == 200 && !List.of(old, next).contains(a.model())).count();
    long firstNew = answers.stream().filter(a -> next.equals(a.model())).mapToLong(SearchLoad.Answer::startedMillis).min().orElse(-1);
    long lastOld = answers.stream().filter(a -> old.equals(a.model())).mapToLong(SearchLoad.Answer::startedMillis).max().orElse(-1);
    System.out.printf(Locale.ROOT, "switch under load: %d workers, %d s, %d requests, errors %d, answers from neither version %d;"
        + " SERVING moved at %d ms, first answer of the new model asked at %d ms, last of the old at %d ms%n",
        workers, seconds, answers.size(), errors, inconsistent, switchAt, firstNew, lastOld);
    Map<String, long[]> windows = new LinkedHashMap<>();
    windows.put("before", new long[] {0, switchAt});
    windows.put("during (10 s from the move)", new long[] {switchAt, switchAt + 10_000});
    windows.put("after", new long[] {switchAt + 10_000, seconds * 1000L});
    for (var w : windows.entrySet()) {
      List<Long> lat = answers.stream().filter(a -> a.startedMillis() >= w.getValue()[0] && a.startedMillis() < w.getValue()[1])
          .map(SearchLoad.Answer::latencyMicros).toList();
      double span = (w.getValue()[1] - w.getValue()[0]) / 1000.0;
      System.out.printf(Locale.ROOT, "  %-28s %6d requests  %6.1f req/s  p50 %6.0f ms  p99 %6.0f ms%n", w.getKey(), lat.size(),
          lat.size() / span, pct(lat, 50) / 1000, pct(lat, 99) / 1000);
    }
    long top1 = answers.stream().filter(a -> a.status() == 200 && a.expected().equals(a.subject())).count();
    System.out.printf(Locale.ROOT, "  rank-1 of the answers (second photos against the first): %.1f%%%n", 100.0 * top1 / answers.size());
    serve.cancel(true);
  }

  private static void openSet(FaceCropper cropper, Path lfw, Path ours, int impostorCount) throws Exception {
    List<Path> enrolable = persons(lfw, 2);
    List<Path> singles = persons(lfw, 1).stream().filter(p -> photos(p).size() == 1).toList();
    List<Path> impostors = singles.subList(0, Math.min(impostorCount, singles.size()));
    try (TorchEmbedder embedder = new TorchEmbedder(ours)) {
      double far = embedder.config().thresholdAtFar();
      double oneToOne = embedder.config().threshold();
      PhotoEmbedder photos = new PhotoEmbedder(cropper, embedder, true, false, 32);
      List<Path> gallery = enrolable.subList(0, 1000);
      long start = System.nanoTime();
      Map<Path, float[]> enrolled = vectors(photos, gallery.stream().map(p -> photos(p).get(0)).toList());
      Map<Path, float[]> genuine = vectors(photos, gallery.stream().map(p -> photos(p).get(1)).toList());
      Map<Path, float[]> strangers = vectors(photos, impostors.stream().map(p -> photos(p).get(0)).toList());
      System.out.printf(Locale.ROOT, "open-set LFW with our model (%s): embedded %d photos in %.0f s; thresholds: 1:N %.4f (FAR %.0e on LFW pairs), 1:1 %.4f%n",
          embedder.config().id(), enrolled.size() + genuine.size() + strangers.size(), (System.nanoTime() - start) / 1e9,
          far, embedder.config().targetFar(), oneToOne);
      for (int size : List.of(100, 1000)) {
        Path dir = Files.createTempDirectory("open-set-");
        try (LuceneVectorIndex index = new LuceneVectorIndex(dir, "v1")) {
          List<FaceDocument> docs = new ArrayList<>();
          for (Path person : gallery.subList(0, size)) {
            float[] v = enrolled.get(photos(person).get(0));
            if (v != null) {
              docs.add(new FaceDocument(person.getFileName().toString(), 0, person.getFileName().toString(), "v1", v, null, null));
            }
          }
          index.upsert(docs);
          for (double t : new double[] {far, oneToOne}) {
            int falseAccepts = 0;
            int asked = 0;
            for (float[] v : strangers.values()) {
              List<SearchHit> hits = index.search(v, 1);
              asked++;
              if (!hits.isEmpty() && hits.get(0).similarity() >= t) {
                falseAccepts++;
              }
            }
            int identified = 0;
            int probes = 0;
            for (Path person : gallery.subList(0, size)) {
              float[] v = genuine.get(photos(person).get(1));
              if (v == null) {
                continue;
              }
              probes++;
              List<SearchHit> hits = index.search(v, 1);
              if (!hits.isEmpty() && hits.get(0).similarity() >= t && hits.get(0).subject().equals(person.getFileName().toString())) {
                identified++;
              }
            }
            System.out.printf(Locale.ROOT, "  gallery %4d, threshold %.4f (%s): false accepts %4d / %d impostors = %5.2f%%; identified %4d / %d enrolled = %5.1f%%%n",
                docs.size(), t, t == far ? "1:N, FAR" : "1:1", falseAccepts, asked, 100.0 * falseAccepts / asked,
                identified, probes, 100.0 * identified / probes);
          }
        }
      }
    }
  }

  private static Map<Path, float[]> vectors(PhotoEmbedder embedder, List<Path> files) {
    var embedded = embedder.embedFiles(files, n -> {});
    Map<Path, float[]> out = new LinkedHashMap<>();
    for (int i = 0; i < files.size(); i++) {
      if (embedded.get(i).ok()) {
        out.put(files.get(i), embedded.get(i).vector());
      }
    }
    return out;
  }

  private static List<Path> persons(Path lfw, int minPhotos) throws Exception {
    try (Stream<Path> all = Files.list(lfw.resolve("images"))) {
      return all.sorted().filter(p -> photos(p).size() >= minPhotos).toList();
    }
  }

  private static List<Path> photos(Path person) {
    try (Stream<Path> files = Files.list(person)) {
      return files.sorted().toList();
    } catch (java.io.IOException e) {
      return List.of();
    }
  }

  private static double pct(List<Long> values, int p) {
    if (values.isEmpty()) {
      return Double.NaN;
    }
    long[] sorted = values.stream().mapToLong(Long::longValue).sorted().toArray();
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p / 100.0 * sorted.length) - 1)];
  }
}
