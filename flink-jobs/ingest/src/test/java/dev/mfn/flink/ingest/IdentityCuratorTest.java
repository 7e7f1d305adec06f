package dev.mfn.flink.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.util.KeyedBroadcastOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The curator alone, in Flink's keyed-broadcast test harness: per identity, its count and
 * reservoir outlive every cut, each cut decides the tier from the whole count, a repeated or
 * malformed cut name writes nothing.
 */
class IdentityCuratorTest {
  @Test
  void everyCutDecidesFromTheWholeIdentityAndOnlyOnce(@TempDir Path out) throws Exception {
    IngestConfig config = ClusterIngestConfigs.unbounded(out);
    try (KeyedBroadcastOperatorTestHarness<String, CroppedFace, String, CutSample> harness =
        ProcessFunctionTestHarnesses.forKeyedBroadcastProcessFunction(
            new IdentityCurator(config), f -> f.subject, Types.STRING, IdentityCurator.CUTS)) {
      for (int i = 0; i < 4; i++) {
        harness.processElement(face("a", i), 0);
      }
      harness.processBroadcastElement("first", 0);
      // 4 photos: the x4 tier (n > 3), 16 samples
      assertThat(decision(harness, "first").tier).isEqualTo("FULL");
      assertThat(decision(harness, "first").n).isEqualTo(4);
      assertThat(harness.extractOutputValues()).hasSize(16);
      for (int i = 4; i < 12; i++) {
        harness.processElement(face("a", i), 0);
      }
      harness.processBroadcastElement("first", 0); // made already
      harness.processBroadcastElement("../up", 0); // not a folder name
      harness.processBroadcastElement("second", 0);
      ManifestEntry second = decision(harness, "second");
      assertThat(second.n).isEqualTo(12);
      assertThat(second.tier).isEqualTo("KEEP");
      assertThat(second.kept).isEqualTo(10);
      long secondSamples = harness.extractOutputValues().stream().filter(s -> s.cut.equals("second")).count();
      assertThat(secondSamples).isEqualTo(10);
      assertThat(harness.extractOutputValues()).extracting(s -> s.cut).containsOnly("first", "second");
      List<ManifestEntry> marks = entries(harness).stream().filter(e -> e.kind == ManifestEntry.Kind.CUT_DONE).toList();
      assertThat(marks).extracting(e -> e.cut).containsExactly("first", "second");
    }
  }

  private static ManifestEntry decision(KeyedBroadcastOperatorTestHarness<String, CroppedFace, String, CutSample> h,
      String cut) {
    return entries(h).stream().filter(e -> e.kind == ManifestEntry.Kind.DECISION && e.cut.equals(cut))
        .findFirst().orElseThrow();
  }

  private static List<ManifestEntry> entries(KeyedBroadcastOperatorTestHarness<String, CroppedFace, String, CutSample> h) {
    return h.getSideOutput(IdentityCurator.DECISIONS).stream().map(r -> r.getValue()).toList();
  }

  private static CroppedFace face(String subject, int i) throws Exception {
    org.opencv.core.Mat crop = new org.opencv.core.Mat(112, 112, org.opencv.core.CvType.CV_8UC3, new org.opencv.core.Scalar(90, 100, 110));
    org.opencv.core.MatOfByte png = new org.opencv.core.MatOfByte();
    org.opencv.imgcodecs.Imgcodecs.imencode(".png", crop, png);
    return new CroppedFace(subject + "-" + i, subject, png.toArray(), new float[10], "test", 0.9f, 0.01f);
  }

  static {
    dev.mfn.face.OpenCv.load();
  }
}
