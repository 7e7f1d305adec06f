package dev.mfn.bench;

import dev.mfn.config.MfnSettings;
import dev.mfn.face.FaceRejected;
import dev.mfn.face.OpenCv;
import dev.mfn.face.decode.ImageDecoder;
import dev.mfn.face.detect.DetectedFace;
import dev.mfn.face.detect.FaceChooser;
import dev.mfn.face.detect.Landmarks;
import dev.mfn.face.detect.blazeface.BlazeFaceDetector;
import dev.mfn.face.detect.blazeface.BlazeFaceDetector.Options;
import dev.mfn.face.detect.blazeface.BlazeFaceDetector.Passes;
import dev.mfn.services.LocalServices;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.opencv.core.Core;
import org.opencv.core.Mat;

/**
 * When BlazeFace needs its second network. Every photo goes through the detector in four modes:
 * the full-range model alone, the short-range model alone, both on every photo (ALWAYS_BOTH) and
 * the gated default. Per dataset (LFW; CFP's frontal and profile folders; the demo's sample
 * photos): the faces each mode finds, which pass the face chosen in ALWAYS_BOTH comes from
 * (FaceChooser with the settings' thresholds, as the pipeline chooses), how often GATED chooses
 * another face or landmarks more than 2 px away (the farthest of the five points), how often
 * GATED ran the second pass, and ms per photo of detection alone (decode excluded, OpenCV on one
 * thread as in the jobs, median over repeats). A second table says where the second pass changes
 * the chosen face, by what the full-range pass saw: that is where the gate's thresholds go.
 *
 * <p>Options: --photos N per dataset (default 1000, spread evenly over the sorted files), --repeats
 * R (3), --data DIR (default ../shared/data), --confident-score S and --close-up-fraction F (the
 * gate's thresholds; default the detector's own).
 */
public final class DetectPassesBench {
  private static final Passes[] MODES = {Passes.FULL_ONLY, Passes.SHORT_ONLY, Passes.ALWAYS_BOTH, Passes.GATED};
  private static final int FULL = 0;
  private static final int SHORT = 1;
  private static final int BOTH = 2;
  private static final int GATED = 3;

  /** Landmarks farther apart than this (pixels, the farthest of the five points) count as moved. */
  static final double AGREE_PX = 2.0;

  public static void main(String[] args) throws Exception {
    MfnSettings settings = MfnSettings.load();
    Path data = settings.repo().resolve("../shared/data").normalize();
    int perDataset = 1000;
    int repeats = 3;
    Options gate = Options.DEFAULT;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--photos" -> perDataset = Integer.parseInt(args[++i]);
        case "--repeats" -> repeats = Math.max(1, Integer.parseInt(args[++i]));
        case "--data" -> data = Path.of(args[++i]);
        case "--confident-score" -> gate = gate.withConfidentScore(Double.parseDouble(args[++i]));
        case "--close-up-fraction" -> gate = gate.withCloseUpFraction(Double.parseDouble(args[++i]));
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    OpenCv.load();
    Core.setNumThreads(1);
    double minScore = settings.getDouble("detector.min.score");
    FaceChooser chooser = new FaceChooser(minScore, settings.getDouble("detector.min.face.size"));
    LocalServices services = new LocalServices(settings);
    Map<String, List<Path>> datasets = new LinkedHashMap<>();
    datasets.put("LFW", jpegs(data.resolve("lfw/images"), null, perDataset));
    datasets.put("CFP frontal", jpegs(data.resolve("cfp/Data/Images"), "frontal", perDataset));
    datasets.put("CFP profile", jpegs(data.resolve("cfp/Data/Images"), "profile", perDataset));
    try {
      datasets.put("samples", services.demoPhotos().fetch());
    } catch (IOException e) {
      System.out.println("sample photos skipped: " + e.getMessage());
    }
    System.out.printf(Locale.ROOT,
        "BlazeFace passes: up to %d photos per dataset from %s, %d repeats, OpenCV on 1 thread; "
            + "gate: confident score %.2f, close-up fraction %.2f; landmarks moved = more than %.0f px%n%n",
        perDataset, data, repeats, gate.confidentScore(), gate.closeUpFraction(), AGREE_PX);

    Path blazeface = services.detector().fetch();
    List<BlazeFaceDetector> detectors = new ArrayList<>();
    for (Passes p : MODES) {
      detectors.add(new BlazeFaceDetector(blazeface, minScore, gate.withPasses(p)));
    }
    List<Result> results = new ArrayList<>();
    for (Map.Entry<String, List<Path>> e : datasets.entrySet()) {
      if (e.getValue().isEmpty()) {
        System.out.println(e.getKey() + " skipped: no photos under " + data);
        continue;
      }
      results.add(measure(e.getKey(), e.getValue(), detectors, chooser, repeats));
    }
    detectors.forEach(BlazeFaceDetector::close);
    printPasses(results);
    printWhereItMatters(results, gate.confidentScore());
  }

  static Result measure(
      String name, List<Path> files, List<BlazeFaceDetector> detectors, FaceChooser chooser, int repeats)
      throws IOException {
    ImageDecoder decoder = new ImageDecoder();
    for (Path file : files.subList(0, Math.min(5, files.size()))) { // warm-up
      detectAll(decoder, file, detectors, null);
    }
    BlazeFaceDetector.Counts before = detectors.get(GATED).counts();
    Result result = new Result(name);
    long[][] nanos = new long[repeats][MODES.length];
    int decoded = 0;
    for (int r = 0; r < repeats; r++) {
      decoded = 0;
      for (Path file : files) {
        Detections d = detectAll(decoder, file, detectors, nanos[r]);
        if (d != null) {
          decoded++;
          if (r == 0) {
            result.add(d, chooser);
          }
        }
      }
    }
    BlazeFaceDetector.Counts after = detectors.get(GATED).counts();
    result.closeUpShare =
        (double) (after.closeUpPasses() - before.closeUpPasses()) / Math.max(1, after.photos() - before.photos());
    for (int m = 0; m < MODES.length; m++) {
      double[] ms = new double[repeats];
      for (int r = 0; r < repeats; r++) {
        ms[r] = nanos[r][m] / 1e6 / Math.max(1, decoded);
      }
      Arrays.sort(ms);
      result.ms[m] = ms[repeats / 2];
    }
    return result;
  }

  /** One photo's faces in each mode. */
  record Detections(List<List<DetectedFace>> faces, int width, int height) {}

  /** Decodes a photo and runs every mode on it, adding each mode's time to {@code nanos}; null if unreadable. */
  static Detections detectAll(ImageDecoder decoder, Path file, List<BlazeFaceDetector> detectors, long[] nanos)
      throws IOException {
    Mat image;
    try {
      image = decoder.decode(Files.readAllBytes(file));
    } catch (FaceRejected unreadable) {
      return null;
    }
    try {
      List<List<DetectedFace>> faces = new ArrayList<>();
      for (int m = 0; m < MODES.length; m++) {
        long start = System.nanoTime();
        faces.add(detectors.get(m).detect(image));
        if (nanos != null) {
          nanos[m] += System.nanoTime() - start;
        }
      }
      return new Detections(faces, image.cols(), image.rows());
    } finally {
      image.release();
    }
  }

  enum Difference { SAME, LANDMARKS, OTHER_FACE }

  /**
   * What the full-range pass saw on a photo (its best score, its largest face's longer side over
   * the photo's longer side) and whether adding the short-range pass changed the chosen face.
   */
  record Signal(boolean found, double bestScore, double largest, boolean changed) {}

  /** One dataset's tallies, from the first repeat (the detections do not change between repeats). */
  static final class Result {
    final String name;
    int photos;
    final long[] faces = new long[MODES.length];
    final int[] noFace = new int[MODES.length];
    int fromFull;
    int fromShort;
    int fromBothPasses;
    int otherFace;
    int movedLandmarks;
    double closeUpShare;
    final double[] ms = new double[MODES.length];
    final List<Signal> signals = new ArrayList<>();

    Result(String name) {
      this.name = name;
    }

    void add(Detections d, FaceChooser chooser) {
      photos++;
      DetectedFace[] chosen = new DetectedFace[MODES.length];
      for (int m = 0; m < MODES.length; m++) {
        faces[m] += d.faces().get(m).size();
        chosen[m] = choose(chooser, d.faces().get(m), d.width(), d.height());
        if (chosen[m] == null) {
          noFace[m]++;
        }
      }
      DetectedFace both = chosen[BOTH];
      if (both != null) {
        boolean inFull = overlaps(both, d.faces().get(FULL));
        boolean inShort = overlaps(both, d.faces().get(SHORT));
        if (inFull && inShort) {
          fromBothPasses++;
        } else if (inShort) {
          fromShort++;
        } else {
          fromFull++; // the full-range pass includes the tiles
        }
      }
      switch (difference(both, chosen[GATED])) {
        case OTHER_FACE -> otherFace++;
        case LANDMARKS -> movedLandmarks++;
        case SAME -> { }
      }
      List<DetectedFace> full = d.faces().get(FULL);
      double best = 0;
      double largest = 0;
      for (DetectedFace f : full) {
        best = Math.max(best, f.score());
        largest = Math.max(largest, Math.max(f.box().width(), f.box().height()));
      }
      signals.add(new Signal(!full.isEmpty(), best, largest / Math.max(d.width(), d.height()),
          difference(both, chosen[FULL]) != Difference.SAME));
    }
  }

  static DetectedFace choose(FaceChooser chooser, List<DetectedFace> faces, int width, int height) {
    try {
      return chooser.choose(faces, width, height);
    } catch (FaceRejected none) {
      return null;
    }
  }

  /** Whether one of {@code faces} overlaps {@code face} as much as WeightedNms merges (IoU 0.3). */
  static boolean overlaps(DetectedFace face, List<DetectedFace> faces) {
    return faces.stream().anyMatch(f -> f.box().intersectionOverUnion(face.box()) > 0.3);
  }

  static Difference difference(DetectedFace a, DetectedFace b) {
    if (a == null || b == null) {
      return a == b ? Difference.SAME : Difference.OTHER_FACE;
    }
    if (a.box().intersectionOverUnion(b.box()) < 0.5) {
      return Difference.OTHER_FACE;
    }
    return maxDistance(a.landmarks(), b.landmarks()) > AGREE_PX ? Difference.LANDMARKS : Difference.SAME;
  }

  /** The farthest any of the five points moved, in pixels. */
  static double maxDistance(Landmarks a, Landmarks b) {
    double d = 0;
    for (int i = 0; i < Landmarks.COUNT; i++) {
      d = Math.max(d, Math.hypot(a.x(i) - b.x(i), a.y(i) - b.y(i)));
    }
    return d;
  }

  static void printPasses(List<Result> results) {
    System.out.println("| dataset | photos | faces (photos with no chosen face): full / short / both / gated "
        + "| chosen face in both from: full / short / both passes | gated vs both: other face / landmarks moved "
        + "| gated ran the short range | ms/photo: full / short / both / gated |");
    System.out.println("|---|---|---|---|---|---|---|");
    for (Result r : results) {
      String faces = IntStream.range(0, MODES.length)
          .mapToObj(m -> r.faces[m] + " (" + r.noFace[m] + ")").collect(Collectors.joining(" / "));
      String ms = Arrays.stream(r.ms)
          .mapToObj(v -> String.format(Locale.ROOT, "%.2f", v)).collect(Collectors.joining(" / "));
      System.out.printf(Locale.ROOT, "| %s | %d | %s | %d / %d / %d | %d / %d | %.1f%% | %s |%n",
          r.name, r.photos, faces, r.fromFull, r.fromShort, r.fromBothPasses, r.otherFace, r.movedLandmarks,
          100 * r.closeUpShare, ms);
    }
  }

  record Bucket(String label, Predicate<Signal> test) {}

  /** Photos whose chosen face the short-range pass changes (both vs full alone), by what the full-range pass saw. */
  static void printWhereItMatters(List<Result> results, double confident) {
    List<Bucket> buckets = new ArrayList<>();
    buckets.add(new Bucket("all photos", s -> true));
    buckets.add(new Bucket("full range found no face", s -> !s.found()));
    double[] scores = {0, 0.6, 0.7, 0.8, 0.9, Double.POSITIVE_INFINITY};
    for (int i = 0; i + 1 < scores.length; i++) {
      double lo = scores[i];
      double hi = scores[i + 1];
      buckets.add(new Bucket("best score " + range(lo, hi),
          s -> s.found() && s.bestScore() >= lo && s.bestScore() < hi));
    }
    double[] sizes = {0, 0.3, 0.4, 0.5, 0.6, 0.7, Double.POSITIVE_INFINITY};
    for (int i = 0; i + 1 < sizes.length; i++) {
      double lo = sizes[i];
      double hi = sizes[i + 1];
      buckets.add(new Bucket(
          String.format(Locale.ROOT, "best score >= %.2f, largest face %s of the longer side", confident, range(lo, hi)),
          s -> s.found() && s.bestScore() >= confident && s.largest() >= lo && s.largest() < hi));
    }
    System.out.println();
    System.out.println("Photos where adding the short-range pass changes the chosen face or moves its landmarks"
        + " (both vs full range alone): changed / photos");
    System.out.println();
    System.out.println("| full-range pass saw | " + results.stream().map(r -> r.name).collect(Collectors.joining(" | ")) + " |");
    System.out.println("|---|" + "---|".repeat(results.size()));
    for (Bucket b : buckets) {
      StringBuilder row = new StringBuilder("| " + b.label() + " |");
      for (Result r : results) {
        long photos = r.signals.stream().filter(b.test()).count();
        long changed = r.signals.stream().filter(b.test()).filter(Signal::changed).count();
        row.append(' ').append(changed).append(" / ").append(photos).append(" |");
      }
      System.out.println(row);
    }
  }

  private static String range(double lo, double hi) {
    if (lo == 0) {
      return String.format(Locale.ROOT, "< %.1f", hi);
    }
    if (Double.isInfinite(hi)) {
      return String.format(Locale.ROOT, ">= %.1f", lo);
    }
    return String.format(Locale.ROOT, "%.1f-%.1f", lo, hi);
  }

  /** Up to {@code limit} .jpg files under {@code root} (in folders named {@code folder} when given), spread evenly. */
  static List<Path> jpegs(Path root, String folder, int limit) throws IOException {
    if (!Files.isDirectory(root)) {
      return List.of();
    }
    List<Path> all;
    try (Stream<Path> s = Files.walk(root)) {
      all = s.filter(p -> p.toString().endsWith(".jpg"))
          .filter(p -> folder == null || p.getParent().getFileName().toString().equals(folder))
          .sorted()
          .toList();
    }
    return spread(all, limit);
  }

  /** {@code limit} items taken at even steps through the list (every person, not the first few). */
  static <T> List<T> spread(List<T> all, int limit) {
    if (all.size() <= limit) {
      return all;
    }
    List<T> picked = new ArrayList<>();
    for (int i = 0; i < limit; i++) {
      picked.add(all.get((int) ((long) i * all.size() / limit)));
    }
    return picked;
  }
}
