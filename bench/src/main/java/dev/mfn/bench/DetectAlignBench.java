package dev.mfn.bench;

import dev.mfn.config.MfnSettings;
import dev.mfn.face.FaceRejected;
import dev.mfn.face.OpenCv;
import dev.mfn.face.crop.FaceCropper;
import dev.mfn.face.decode.ImageDecoder;
import dev.mfn.face.detect.DetectorConfig;
import dev.mfn.face.detect.FaceChooser;
import dev.mfn.services.LocalServices;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.opencv.core.Core;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.core.Size;
import org.opencv.imgcodecs.Imgcodecs;
import org.opencv.objdetect.FaceDetectorYN;

/**
 * Detect + align throughput of the face core per detector, next to the bare OpenCV call under it,
 * on the same photos in the same run: one worker and two workers (OpenCV itself single-threaded),
 * and one worker with OpenCV's own threads. Each configuration is repeated; min / median / max of
 * images per second are printed.
 *
 * <p>"bare" = imdecode + the library's detector call only (YuNet: FaceDetectorYN.detect; BlazeFace:
 * OpenCV DNN forward of the full-range model on the letterboxed photo). MTCNN has no library call
 * under it (our code drives three Caffe nets), so it has no bare row.
 */
public final class DetectAlignBench {
  public static void main(String[] args) throws Exception {
    MfnSettings settings = MfnSettings.load();
    Path images = settings.repo().resolve("../shared/data/lfw/images").normalize();
    int limit = 600;
    int repeats = 3;
    List<String> detectors = List.of("blazeface", "mtcnn", "yunet");
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--images" -> images = Path.of(args[++i]);
        case "--limit" -> limit = Integer.parseInt(args[++i]);
        case "--repeats" -> repeats = Integer.parseInt(args[++i]);
        case "--detectors" -> detectors = List.of(args[++i].split(","));
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    OpenCv.load();
    List<byte[]> photos = load(images, limit);
    DetectorConfig config =
        new DetectorConfig(
            new LocalServices(settings).detector().fetch(),
            settings.getPath("detector.yunet.model"),
            settings.getPath("detector.mtcnn.dir"),
            0.5);
    System.out.printf("%d photos from %s, %d repeats, %d cores%n", photos.size(), images, repeats,
        Runtime.getRuntime().availableProcessors());
    System.out.printf("%-24s %-8s %-10s %s%n", "stage", "workers", "cv threads", "images/s (min / median / max)");
    for (String name : detectors) {
      for (int[] setup : new int[][] {{1, 1}, {2, 1}, {1, -1}}) {
        int workers = setup[0];
        Core.setNumThreads(setup[1]);
        String threads = setup[1] < 0 ? "default" : String.valueOf(setup[1]);
        if (!name.equals("mtcnn")) {
          double[] bare = repeat(repeats, () -> run(photos, workers, () -> bareCall(name, config)));
          print("bare " + name, workers, threads, bare);
        }
        double[] ours =
            repeat(repeats, () -> run(photos, workers, () -> {
              FaceCropper cropper = new FaceCropper(new ImageDecoder(), config.open(name), new FaceChooser(0.5, 20));
              return bytes -> {
                try {
                  cropper.cropChosenOrCenter(bytes).release();
                } catch (FaceRejected e) {
                  // counted as done: a rejection is a result too
                }
              };
            }));
        print("detect+align " + name, workers, threads, ours);
      }
    }
  }

  interface Work {
    void accept(byte[] photo) throws Exception;
  }

  interface WorkFactory {
    Work create() throws Exception;
  }

  /** The library call alone, for comparison. */
  static Work bareCall(String name, DetectorConfig config) {
    if (name.equals("yunet")) {
      FaceDetectorYN yn = FaceDetectorYN.create(config.yunetModel().toString(), "", new Size(320, 320), 0.5f, 0.3f, 5000);
      return bytes -> {
        Mat img = Imgcodecs.imdecode(new MatOfByte(bytes), Imgcodecs.IMREAD_COLOR);
        yn.setInputSize(img.size());
        Mat faces = new Mat();
        yn.detect(img, faces);
        faces.release();
        img.release();
      };
    }
    org.opencv.dnn.Net net =
        org.opencv.dnn.Dnn.readNetFromTFLite(config.blazefaceDir().resolve("face_detection_full_range.tflite").toString());
    List<String> outputs = net.getUnconnectedOutLayersNames();
    return bytes -> {
      Mat img = Imgcodecs.imdecode(new MatOfByte(bytes), Imgcodecs.IMREAD_COLOR);
      Mat blob = org.opencv.dnn.Dnn.blobFromImage(img, 1 / 127.5, new Size(192, 192),
          new org.opencv.core.Scalar(127.5, 127.5, 127.5), true, false);
      net.setInput(blob);
      List<Mat> out = new ArrayList<>();
      net.forward(out, outputs);
      out.forEach(Mat::release);
      blob.release();
      img.release();
    };
  }

  static double run(List<byte[]> photos, int workers, WorkFactory factory) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(workers);
    try {
      List<Work> works = new ArrayList<>();
      for (int w = 0; w < workers; w++) {
        works.add(factory.create());
      }
      // warm-up: a few photos per worker
      for (Work w : works) {
        for (int i = 0; i < 5; i++) {
          w.accept(photos.get(i));
        }
      }
      long start = System.nanoTime();
      List<Future<?>> futures = new ArrayList<>();
      for (int w = 0; w < workers; w++) {
        int worker = w;
        futures.add(pool.submit(() -> {
          for (int i = worker; i < photos.size(); i += workers) {
            works.get(worker).accept(photos.get(i));
          }
          return null;
        }));
      }
      for (Future<?> f : futures) {
        f.get();
      }
      return photos.size() / ((System.nanoTime() - start) / 1e9);
    } finally {
      pool.shutdown();
    }
  }

  interface Measurement {
    double get() throws Exception;
  }

  static double[] repeat(int n, Measurement m) throws Exception {
    double[] v = new double[n];
    for (int i = 0; i < n; i++) {
      v[i] = m.get();
    }
    Arrays.sort(v);
    return v;
  }

  static void print(String stage, int workers, String threads, double[] v) {
    System.out.printf("%-24s %-8d %-10s %.1f / %.1f / %.1f%n", stage, workers, threads, v[0], v[v.length / 2], v[v.length - 1]);
  }

  static List<byte[]> load(Path images, int limit) throws Exception {
    List<Path> files;
    try (Stream<Path> s = Files.walk(images)) {
      files = s.filter(p -> p.toString().endsWith(".jpg")).sorted().limit(limit).toList();
    }
    List<byte[]> photos = new ArrayList<>();
    for (Path p : files) {
      photos.add(Files.readAllBytes(p));
    }
    return photos;
  }
}
