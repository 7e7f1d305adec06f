package dev.mfn.bench;

import dev.mfn.config.MfnSettings;
import dev.mfn.face.FaceRejected;
import dev.mfn.face.crop.FaceCrop;
import dev.mfn.face.crop.FaceCropper;
import dev.mfn.face.decode.ImageDecoder;
import dev.mfn.face.detect.DetectorConfig;
import dev.mfn.face.detect.FaceChooser;
import dev.mfn.face.detect.blazeface.BlazeFaceDetector;
import dev.mfn.model.Embedder;
import dev.mfn.model.EmbeddingModels;
import dev.mfn.model.PhotoEmbedder;
import dev.mfn.services.LocalServices;
import dev.mfn.training.loader.OutsideFill;
import java.io.BufferedWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.Scalar;
import org.opencv.imgproc.Imgproc;

/**
 * How much of each aligned 112x112 crop lies outside its photo. The template puts the eyes at
 * about row 52 and leaves room for the forehead and hair above them; a photo cropped tightly
 * around the face (CFP's are) has nothing there, and the aligner fills what falls outside the photo
 * with black. Training crops and the crops a model is scored on (LFW: 250x250 photos with the face
 * in the middle) then differ in what their top rows and sides show.
 *
 * <p>{@code bench/run coverage LIST [LIST ...]}: one line per list of photo paths (as {@code
 * bench/ensemble.sh} writes them): photos, center fallbacks (not counted), the share of crops with
 * any pixel outside the photo, the mean share of a crop's pixels outside, and the share of crops
 * whose top 10 / 20 rows, or a side's 5 / 10 columns, lie wholly outside; how often the black that
 * {@code mfn train --fill-outside} finds ({@link OutsideFill#blackFromEdge}: exact black joined to the
 * crop's edge) reaches into the photo itself; and how many crops are enlarged from their photo (a
 * wider seam of blended pixels than the fill's one-pixel widening). Exact, from each crop's
 * similarity transform ({@code FaceCrop.outsidePhoto}), not from pixel colours.
 *
 * <p>{@code bench/run coverage --mask-top N --model MODEL --out CSV LIST}: the photos' embeddings
 * (with the mirror, center fallback: as {@code mfn eval --lfw}) after painting the top N rows of
 * every crop black, as {@code mfn embed} writes them, for {@code bench/lfw_pairs.py}: does a model
 * trained on crops mostly black there lose or gain when its test crops are made so too?
 *
 * <p>{@code --shrink F} (both modes): each crop is first shrunk to a side of F of its own and
 * enlarged back ({@code CropJitter.shrinkAndRestore}, what {@code mfn train --low-res} does to half
 * the training crops): how sharp the crops are then, and what a model makes of blurrier test crops.
 * Each line also gives the crops' scale (crop pixels per photo pixel) and sharpness (the variance
 * of the Laplacian over the face's centre) as quartiles.
 */
public final class CropCoverage {
  private static final int SIZE = 112;

  /** --shrink F: the sharpness is measured after {@code CropJitter.shrinkAndRestore(F)} (1: as aligned). */
  private static double shrink = 1;

  private CropCoverage() {}

  public static void main(String[] args) throws Exception {
    int maskTop = -1;
    Path model = null;
    Path out = null;
    List<Path> lists = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--shrink" -> {
          shrink = Double.parseDouble(args[++i]);
          if (!(shrink > 0.05 && shrink <= 1)) {
            System.err.println("--shrink F: the side kept, in (0.05, 1] (1: as aligned)");
            System.exit(2);
          }
        }
        case "--mask-top" -> maskTop = Integer.parseInt(args[++i]);
        case "--model" -> model = Path.of(args[++i]);
        case "--out" -> out = Path.of(args[++i]);
        default -> lists.add(Path.of(args[i]));
      }
    }
    if (lists.isEmpty() || (maskTop >= 0) != (model != null && out != null) || (maskTop >= 0 && lists.size() != 1)) {
      System.err.println(
          "usage: bench/run coverage [--shrink F] LIST [LIST ...]\n"
              + "       bench/run coverage --mask-top N [--shrink F] --model MODEL --out CSV LIST");
      System.exit(2);
    }
    MfnSettings settings = MfnSettings.load();
    try (FaceCropper cropper = openCropper(settings)) {
      if (maskTop >= 0) {
        embedMasked(cropper, photos(lists.get(0)), maskTop, model, out, settings);
      } else {
        for (Path list : lists) {
          System.out.println(list.getFileName() + ": " + coverage(cropper, photos(list)));
        }
      }
    }
  }

  private static FaceCropper openCropper(MfnSettings settings) throws Exception {
    LocalServices services = new LocalServices(settings);
    services.detector().fetch();
    double minScore = settings.getDouble("detector.min.score");
    DetectorConfig config =
        new DetectorConfig(
            services.detector().cacheDir(),
            settings.getPath("detector.yunet.model"),
            settings.getPath("detector.mtcnn.dir"),
            minScore,
            BlazeFaceDetector.Options.DEFAULT);
    return new FaceCropper(
        new ImageDecoder(settings.getLong("decode.max.bytes"), settings.getLong("decode.max.pixels")),
        config.open(settings.get("detector")),
        new FaceChooser(minScore, settings.getDouble("detector.min.face.size")));
  }

  private static List<Path> photos(Path list) throws Exception {
    return Files.readAllLines(list).stream().map(String::strip).filter(l -> !l.isEmpty()).map(Path::of).toList();
  }

  private static String coverage(FaceCropper cropper, List<Path> photos) throws Exception {
    int crops = 0;
    int fallbacks = 0;
    int rejected = 0;
    int anyOutside = 0;
    double outsideShare = 0;
    int top10 = 0;
    int top20 = 0;
    int side5 = 0;
    int side10 = 0;
    int spilled = 0; // crops where the black found from the edge (OutsideFill) reaches into the photo
    long spilledPixels = 0;
    int upscaled = 0; // crop pixels larger than the photo's: the seam of black and photo is wider
    double largestScale = 0;
    List<Double> scales = new ArrayList<>();
    List<Double> sharpness = new ArrayList<>();
    int noCentre = 0; // crops with too little of the centre inside the photo to measure its sharpness
    for (Path photo : photos) {
      FaceCrop crop;
      try {
        crop = cropper.cropChosen(Files.readAllBytes(photo));
      } catch (FaceRejected e) {
        rejected++;
        continue;
      }
      try {
        if (crop.fallback()) {
          fallbacks++;
          continue;
        }
        boolean[][] outside = outside(crop);
        byte[] pixels = new byte[SIZE * SIZE * 3];
        crop.aligned().crop().get(0, 0, pixels);
        int spill = spill(OutsideFill.blackFromEdge(pixels), outside);
        spilled += spill > 0 ? 1 : 0;
        spilledPixels += spill;
        double scale = crop.aligned().scale();
        upscaled += scale > 1 ? 1 : 0;
        largestScale = Math.max(largestScale, scale);
        scales.add(scale);
        Mat soft = shrunk(pixels);
        try {
          double sharp = centreSharpness(soft, outside);
          if (Double.isNaN(sharp)) {
            noCentre++;
          } else {
            sharpness.add(sharp);
          }
        } finally {
          soft.release();
        }
        int n = 0;
        for (boolean[] row : outside) {
          for (boolean o : row) {
            n += o ? 1 : 0;
          }
        }
        crops++;
        anyOutside += n > 0 ? 1 : 0;
        outsideShare += (double) n / (SIZE * SIZE);
        top10 += rowsOutside(outside, 10) ? 1 : 0;
        top20 += rowsOutside(outside, 20) ? 1 : 0;
        side5 += sideOutside(outside, 5) ? 1 : 0;
        side10 += sideOutside(outside, 10) ? 1 : 0;
      } finally {
        crop.release();
      }
    }
    double c = Math.max(1, crops);
    return String.format(
        Locale.ROOT,
        "%d photos, %d crops (%d without a face, %d center fallbacks left out): some pixels outside the photo"
            + " %.1f%%, mean share outside %.1f%%; top 10 rows wholly outside %.1f%%, top 20 %.1f%%;"
            + " a side's 5 columns wholly outside %.1f%%, 10 columns %.1f%%; the fill's black found inside the"
            + " photo (more than a pixel from the outside) in %.1f%% of crops, %d pixels in all; crops enlarged from"
            + " their photo %.1f%% (largest scale %.2f crop px per photo px); scale quartiles %s;"
            + " sharpness%s (variance of the Laplacian of the grey centre, rows 30-100, columns 20-92, pixels"
            + " inside the photo only) quartiles %s, 95th percentile %s (%d crops with under half their centre inside"
            + " the photo left out)",
        photos.size(), crops, rejected, fallbacks, 100 * anyOutside / c, 100 * outsideShare / c,
        100 * top10 / c, 100 * top20 / c, 100 * side5 / c, 100 * side10 / c, 100 * spilled / c, spilledPixels,
        100 * upscaled / c, largestScale, quartiles(scales, "%.2f"),
        shrink < 1 ? String.format(Locale.ROOT, " after shrinking to %.2f of the side and back", shrink) : "",
        quartiles(sharpness, "%.0f"), percentile(sharpness, 95, "%.0f"), noCentre);
  }

  /**
   * How much fine detail the face itself has: the variance of the Laplacian (the usual focus measure)
   * over the central region (rows 30-100, columns 20-92), counting only pixels farther from the
   * outside of the photo than the Laplacian's reach plus the blur of {@code --shrink}: the edge
   * between the aligner's black and the photo would otherwise count as detail. A crop shrunk from a
   * large, sharp face scores high; one enlarged from a small JPEG face scores low. NaN when under
   * half the centre is left to measure.
   */
  private static double centreSharpness(Mat crop, boolean[][] outside) {
    Mat grey = new Mat();
    Mat lap = new Mat();
    try {
      Imgproc.cvtColor(crop, grey, Imgproc.COLOR_BGR2GRAY);
      Imgproc.Laplacian(grey, lap, CvType.CV_64F);
      double[] values = new double[SIZE * SIZE];
      lap.get(0, 0, values);
      // 1 px of the 3x3 Laplacian, 1 of the bilinear seam, and the shrink's blur (1 / F crop pixels)
      int margin = 2 + (int) Math.ceil(1 / shrink);
      double sum = 0;
      double squares = 0;
      int n = 0;
      int all = 0;
      for (int y = 30; y < 100; y++) {
        for (int x = 20; x < 92; x++) {
          all++;
          if (!nearOutside(outside, x, y, margin)) {
            double v = values[y * SIZE + x];
            sum += v;
            squares += v * v;
            n++;
          }
        }
      }
      if (n < all / 2) {
        return Double.NaN;
      }
      double mean = sum / n;
      return squares / n - mean * mean;
    } finally {
      grey.release();
      lap.release();
    }
  }

  private static boolean nearOutside(boolean[][] outside, int x, int y, int margin) {
    for (int dy = -margin; dy <= margin; dy++) {
      for (int dx = -margin; dx <= margin; dx++) {
        int nx = x + dx;
        int ny = y + dy;
        if (nx >= 0 && ny >= 0 && nx < SIZE && ny < SIZE && outside[ny][nx]) {
          return true;
        }
      }
    }
    return false;
  }

  /** The value at the given percentile (nearest rank, the lower one), with the format. */
  private static String percentile(List<Double> values, int p, String format) {
    if (values.isEmpty()) {
      return "-";
    }
    double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    return String.format(Locale.ROOT, format, sorted[p * (sorted.length - 1) / 100]);
  }

  private static Mat shrunk(byte[] pixels) {
    byte[] copy = pixels.clone();
    dev.mfn.training.loader.CropJitter.shrinkAndRestore(copy, shrink);
    Mat m = new Mat(SIZE, SIZE, CvType.CV_8UC3);
    m.put(0, 0, copy);
    return m;
  }

  /** "q1 / median / q3" of the values (nearest rank, the lower one), each with the format. */
  private static String quartiles(List<Double> values, String format) {
    if (values.isEmpty()) {
      return "-";
    }
    double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    java.util.function.IntFunction<String> at =
        q -> String.format(Locale.ROOT, format, sorted[q * (sorted.length - 1) / 4]);
    return at.apply(1) + " / " + at.apply(2) + " / " + at.apply(3);
  }

  /** outside[y][x]: crop pixel (x, y) samples a point outside the photo. */
  private static boolean[][] outside(FaceCrop crop) {
    boolean[] flat = crop.outsidePhoto();
    boolean[][] out = new boolean[SIZE][SIZE];
    for (int y = 0; y < SIZE; y++) {
      System.arraycopy(flat, y * SIZE, out[y], 0, SIZE);
    }
    return out;
  }

  /** Pixels the fill takes for black that lie inside the photo, more than one pixel from its edge. */
  private static int spill(byte[] black, boolean[][] outside) {
    int n = 0;
    for (int y = 0; y < SIZE; y++) {
      for (int x = 0; x < SIZE; x++) {
        if (black[y * SIZE + x] == 1 && !nearOutside(outside, x, y)) {
          n++;
        }
      }
    }
    return n;
  }

  private static boolean nearOutside(boolean[][] outside, int x, int y) {
    for (int dy = -1; dy <= 1; dy++) {
      for (int dx = -1; dx <= 1; dx++) {
        int nx = x + dx;
        int ny = y + dy;
        if (nx >= 0 && ny >= 0 && nx < SIZE && ny < SIZE && outside[ny][nx]) {
          return true;
        }
      }
    }
    return false;
  }

  private static boolean rowsOutside(boolean[][] outside, int rows) {
    for (int y = 0; y < rows; y++) {
      for (boolean o : outside[y]) {
        if (!o) {
          return false;
        }
      }
    }
    return true;
  }

  private static boolean sideOutside(boolean[][] outside, int columns) {
    boolean left = true;
    boolean right = true;
    for (boolean[] row : outside) {
      for (int x = 0; x < columns; x++) {
        left &= row[x];
        right &= row[SIZE - 1 - x];
      }
    }
    return left || right;
  }

  private static void embedMasked(
      FaceCropper cropper, List<Path> photos, int top, Path model, Path out, MfnSettings settings)
      throws Exception {
    int batch = settings.getInt("embed.batch.size");
    try (Embedder embedder = EmbeddingModels.open(model);
        BufferedWriter w = Files.newBufferedWriter(out)) {
      PhotoEmbedder photoEmbedder = new PhotoEmbedder(cropper, embedder, true, true, batch);
      List<Mat> crops = new ArrayList<>();
      List<Path> names = new ArrayList<>();
      for (int i = 0; i < photos.size(); i++) {
        FaceCrop crop = cropper.cropChosenOrCenter(Files.readAllBytes(photos.get(i)));
        Mat masked = crop.aligned().crop().clone();
        crop.release();
        if (top > 0) {
          Mat band = masked.submat(0, top, 0, SIZE);
          band.setTo(new Scalar(0, 0, 0));
          band.release();
        }
        if (shrink < 1) {
          byte[] pixels = new byte[SIZE * SIZE * 3];
          masked.get(0, 0, pixels);
          dev.mfn.training.loader.CropJitter.shrinkAndRestore(pixels, shrink);
          masked.put(0, 0, pixels);
        }
        crops.add(masked);
        names.add(photos.get(i));
        if (crops.size() == batch || i == photos.size() - 1) {
          float[][] vectors = photoEmbedder.embedCrops(crops);
          for (int k = 0; k < vectors.length; k++) {
            StringBuilder line = new StringBuilder(names.get(k).toString());
            for (float v : vectors[k]) {
              line.append(',').append(v);
            }
            w.write(line.toString());
            w.newLine();
          }
          crops.forEach(Mat::release);
          crops.clear();
          names.clear();
        }
      }
    }
    System.out.printf("%d photos embedded with the top %d rows black%s into %s%n", photos.size(), top,
        shrink < 1 ? String.format(Locale.ROOT, ", shrunk to %.2f of the side and back,", shrink) : "", out);
  }
}
