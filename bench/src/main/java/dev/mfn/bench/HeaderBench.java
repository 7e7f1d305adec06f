package dev.mfn.bench;

import com.drew.imaging.ImageMetadataReader;
import com.drew.imaging.ImageProcessingException;
import com.drew.metadata.Directory;
import com.drew.metadata.Metadata;
import com.drew.metadata.bmp.BmpHeaderDirectory;
import com.drew.metadata.exif.ExifIFD0Directory;
import com.drew.metadata.jpeg.JpegDirectory;
import com.drew.metadata.png.PngDirectory;
import com.drew.metadata.webp.WebpDirectory;
import dev.mfn.config.MfnSettings;
import dev.mfn.face.FaceRejected;
import dev.mfn.face.decode.ImageHeader;
import dev.mfn.face.decode.WebpEncoder;
import dev.mfn.testkit.HostileCorpus;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.stream.Stream;

/**
 * Our image header parser ({@link ImageHeader}: format, size, EXIF orientation, completeness)
 * against the well-kept library made for the job, metadata-extractor, on the same bytes in the same
 * run: speed on real LFW JPEGs, agreement on them, what each makes of the hostile corpus, and
 * robustness on 30,000 mutated files (an exception outside the parser's contract is a crash:
 * FaceRejected for ours, ImageProcessingException/IOException/MetadataException for the library).
 *
 * <p>Usage: bench/run header [--photos N] [--rounds R]
 */
public final class HeaderBench {
  private record Parsed(int width, int height, int orientation) {}

  public static void main(String[] args) throws Exception {
    int photos = intArg(args, "--photos", 2000);
    int rounds = intArg(args, "--rounds", 5);
    MfnSettings settings = MfnSettings.load();
    Path lfw = settings.repo().resolve("../shared/data/lfw/images").normalize();
    List<byte[]> real = new ArrayList<>();
    try (Stream<Path> files = Files.walk(lfw)) {
      for (Path p : files.filter(f -> f.toString().endsWith(".jpg")).sorted().limit(photos).toList()) {
        real.add(Files.readAllBytes(p));
      }
    }
    System.out.printf(Locale.ROOT, "header parsing: %d LFW JPEGs, %d rounds; %s, %d cores%n", real.size(), rounds,
        System.getProperty("java.version"), Runtime.getRuntime().availableProcessors());

    // speed
    double[] ours = new double[rounds];
    double[] theirs = new double[rounds];
    for (int r = 0; r < rounds; r++) {
      long t0 = System.nanoTime();
      for (byte[] b : real) {
        ours(b);
      }
      long t1 = System.nanoTime();
      for (byte[] b : real) {
        theirs(b);
      }
      long t2 = System.nanoTime();
      ours[r] = (t1 - t0) / 1e3 / real.size();
      theirs[r] = (t2 - t1) / 1e3 / real.size();
    }
    System.out.printf(Locale.ROOT, "ImageHeader (ours):        %s us per photo (min/median/max)%n", range(ours));
    System.out.printf(Locale.ROOT, "metadata-extractor 2.19.0: %s us per photo%n", range(theirs));

    // agreement on real photos
    int agree = 0;
    for (byte[] b : real) {
      Object a = ours(b);
      Object c = theirs(b);
      if (a.equals(c)) {
        agree++;
      }
    }
    System.out.printf(Locale.ROOT, "same width, height and orientation on %d of %d real photos%n", agree, real.size());

    // the hostile corpus
    System.out.println();
    System.out.println("| kind | ImageHeader | metadata-extractor |");
    System.out.println("|---|---|---|");
    List<HostileCorpus.Kind> corpus = HostileCorpus.build(lfw.resolve("Aaron_Eckhart/Aaron_Eckhart_0001.jpg"), WebpEncoder::encode);
    for (HostileCorpus.Kind k : corpus) {
      System.out.printf(Locale.ROOT, "| %s | %s | %s |%n", k.name(), describe(ours(k.bytes())), describe(theirs(k.bytes())));
    }

    // robustness: mutated files
    Random random = new Random(20261129);
    List<byte[]> seeds = corpus.stream().filter(k -> k.faceExpected() && k.bytes().length < 2_000_000).map(HostileCorpus.Kind::bytes).toList();
    int n = 30_000;
    int[] crashes = new int[2];
    List<String> examples = new ArrayList<>();
    long oursNanos = 0;
    long theirsNanos = 0;
    for (int i = 0; i < n; i++) {
      byte[] m = HostileCorpus.mutate(seeds.get(i % seeds.size()), random);
      long t0 = System.nanoTime();
      Object a = ours(m);
      long t1 = System.nanoTime();
      Object c = theirs(m);
      long t2 = System.nanoTime();
      oursNanos += t1 - t0;
      theirsNanos += t2 - t1;
      if (a instanceof Throwable) {
        crashes[0]++;
      }
      if (c instanceof Throwable t) {
        crashes[1]++;
        if (examples.size() < 5) {
          examples.add(t.getClass().getSimpleName() + ": " + t.getMessage());
        }
      }
    }
    System.out.println();
    System.out.printf(Locale.ROOT, "%d mutated files: ImageHeader %d crashes (%.1f us each); metadata-extractor %d crashes (%.1f us each)%n",
        n, crashes[0], oursNanos / 1e3 / n, crashes[1], theirsNanos / 1e3 / n);
    examples.forEach(e -> System.out.println("  metadata-extractor: " + e));
  }

  /** Parsed, a reason code (String), or the Throwable that escaped. */
  private static Object ours(byte[] b) {
    try {
      ImageHeader h = ImageHeader.read(b);
      return new Parsed(h.width(), h.height(), h.orientation());
    } catch (FaceRejected e) {
      return e.reason().name();
    } catch (Throwable t) {
      return t;
    }
  }

  private static Object theirs(byte[] b) {
    try {
      Metadata m = ImageMetadataReader.readMetadata(new ByteArrayInputStream(b), b.length);
      int width = 0;
      int height = 0;
      int orientation = 1;
      for (Directory d : m.getDirectories()) {
        if (d instanceof JpegDirectory j && j.containsTag(JpegDirectory.TAG_IMAGE_WIDTH)) {
          width = j.getImageWidth();
          height = j.getImageHeight();
        } else if (d instanceof PngDirectory p && p.containsTag(PngDirectory.TAG_IMAGE_WIDTH)) {
          width = p.getInt(PngDirectory.TAG_IMAGE_WIDTH);
          height = p.getInt(PngDirectory.TAG_IMAGE_HEIGHT);
        } else if (d instanceof WebpDirectory w && w.containsTag(WebpDirectory.TAG_IMAGE_WIDTH)) {
          width = w.getInt(WebpDirectory.TAG_IMAGE_WIDTH);
          height = w.getInt(WebpDirectory.TAG_IMAGE_HEIGHT);
        } else if (d instanceof BmpHeaderDirectory bmp && bmp.containsTag(BmpHeaderDirectory.TAG_IMAGE_WIDTH)) {
          width = bmp.getInt(BmpHeaderDirectory.TAG_IMAGE_WIDTH);
          height = bmp.getInt(BmpHeaderDirectory.TAG_IMAGE_HEIGHT);
        } else if (d instanceof ExifIFD0Directory e && e.containsTag(ExifIFD0Directory.TAG_ORIENTATION)) {
          orientation = e.getInt(ExifIFD0Directory.TAG_ORIENTATION);
        }
      }
      return width > 0 ? new Parsed(width, height, orientation) : "no size";
    } catch (ImageProcessingException | java.io.IOException | com.drew.metadata.MetadataException e) {
      return e.getClass().getSimpleName();
    } catch (Throwable t) {
      return t;
    }
  }

  private static String describe(Object o) {
    if (o instanceof Parsed p) {
      return p.width() + "x" + p.height() + (p.orientation() != 1 ? " orientation " + p.orientation() : "");
    }
    if (o instanceof Throwable t) {
      return "CRASH " + t.getClass().getSimpleName();
    }
    return String.valueOf(o);
  }

  private static String range(double[] values) {
    double[] v = values.clone();
    Arrays.sort(v);
    return String.format(Locale.ROOT, "%.1f / %.1f / %.1f", v[0], v[v.length / 2], v[v.length - 1]);
  }

  private static int intArg(String[] args, String name, int fallback) {
    for (int i = 0; i + 1 < args.length; i++) {
      if (args[i].equals(name)) {
        return Integer.parseInt(args[i + 1]);
      }
    }
    return fallback;
  }
}
