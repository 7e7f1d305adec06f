package dev.mfn.face.detect;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mfn.face.OpenCv;
import dev.mfn.face.decode.ImageDecoder;
import dev.mfn.testkit.SharedData;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.Rect;
import org.opencv.core.Scalar;

/** Each detector on real photos: one face, several faces, a small face in a large photo. */
class FaceDetectorTest {
  private static final String[] PEOPLE = {
    "Aaron_Eckhart/Aaron_Eckhart_0001.jpg",
    "Abdullah_Gul/Abdullah_Gul_0001.jpg",
    "Adrien_Brody/Adrien_Brody_0002.jpg"
  };
  private static final List<Mat> photos = new ArrayList<>();

  @BeforeAll
  static void load() throws Exception {
    OpenCv.load();
    for (String p : PEOPLE) {
      photos.add(new ImageDecoder().decode(Files.readAllBytes(SharedData.require("data/lfw/images/" + p))));
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"blazeface", "mtcnn", "yunet"})
  void findsTheCentralFaceWithPlausibleLandmarks(String name) throws Exception {
    try (FaceDetector detector = Detectors.open(name)) {
      for (Mat photo : photos) {
        List<DetectedFace> faces = detector.detect(photo);
        assertThat(faces).isNotEmpty();
        DetectedFace face = new FaceChooser(0.5, 20).choose(faces, photo.cols(), photo.rows());
        Landmarks p = face.landmarks();
        // LFW centres the face: eyes left/right of centre above nose above mouth.
        assertThat(p.x(0)).isLessThan(p.x(1));
        assertThat(p.y(2)).isGreaterThan((p.y(0) + p.y(1)) / 2);
        assertThat(p.y(3)).isGreaterThan(p.y(2));
        assertThat(p.eyeDistance()).isBetween(25.0, 80.0);
        assertThat(face.box().centerX()).isBetween(90.0, 160.0);
        assertThat(face.box().centerY()).isBetween(90.0, 170.0);
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"blazeface", "mtcnn", "yunet"})
  void findsEveryFaceOfAGroupPhoto(String name) throws Exception {
    // Three LFW photos side by side: three people, each face about a third of the way apart.
    Mat group = new Mat(250, 750, CvType.CV_8UC3);
    for (int i = 0; i < 3; i++) {
      Mat dst = group.submat(new Rect(250 * i, 0, 250, 250));
      photos.get(i).copyTo(dst);
      dst.release();
    }
    try (FaceDetector detector = Detectors.open(name)) {
      List<DetectedFace> faces = detector.detect(group).stream().filter(f -> f.score() > 0.7).toList();
      List<Integer> columns = faces.stream().map(f -> (int) (f.box().centerX() / 250)).distinct().sorted().toList();
      assertThat(columns).as("a face found in each of the three photos").containsExactly(0, 1, 2);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"blazeface", "mtcnn", "yunet"})
  void findsASmallFaceAnywhereInALargePhoto(String name) throws Exception {
    // A 3000 x 2000 grey canvas with one 250 x 250 portrait near its bottom-right corner.
    Mat canvas = new Mat(2000, 3000, CvType.CV_8UC3, new Scalar(128, 128, 128));
    Mat dst = canvas.submat(new Rect(2600, 1650, 250, 250));
    photos.get(0).copyTo(dst);
    dst.release();
    try (FaceDetector detector = Detectors.open(name)) {
      List<DetectedFace> faces = detector.detect(canvas);
      assertThat(faces).anySatisfy(f -> {
        assertThat(f.box().centerX()).isBetween(2650.0, 2800.0);
        assertThat(f.box().centerY()).isBetween(1700.0, 1850.0);
      });
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"blazeface", "mtcnn", "yunet"})
  void detectorsCanBeOpenedOnManyThreadsAtOnce(String name) throws Exception {
    // Flink opens one detector per task at the same moment; OpenCV's importers once crashed the
    // JVM when two ran concurrently (see OpenCv.build).
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
    try {
      List<java.util.concurrent.Future<Integer>> results = new ArrayList<>();
      for (int i = 0; i < 12; i++) {
        results.add(pool.submit(() -> {
          try (FaceDetector detector = Detectors.open(name)) {
            return detector.detect(photos.get(0)).size();
          }
        }));
      }
      for (java.util.concurrent.Future<Integer> r : results) {
        assertThat(r.get()).isPositive();
      }
    } finally {
      pool.shutdown();
    }
  }
}
