package dev.mfn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mfn.testkit.SharedData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `mfn demo --minutes 1` as a newcomer runs it (it starts its own broker), on a slice of the
 * shared data: 6 CFP people plus one truncated photo to train on, 20 LFW pairs, 8 LFW people
 * enrolled. The summary's numbers must add up to the inputs.
 */
class DemoCommandTest {
  private static final int PEOPLE = 6;
  private static final int ENROLL = 8;
  private static final int PROBES = 2;

  @Test
  void refusesADataFolderWithoutTwoPeopleBeforeStartingAnything(@TempDir Path dir) throws Exception {
    Path data = Files.createDirectories(dir.resolve("data"));
    Files.createDirectories(data.resolve("a-empty"));
    Path few = Files.createDirectories(data.resolve("b-four-photos")); // the ingest policy drops <= 4
    for (int i = 0; i < DemoCommand.MIN_PHOTOS - 1; i++) {
      Files.write(few.resolve(i + ".jpg"), new byte[] {1, 2, 3});
    }
    Files.write(few.resolve(".DS_Store"), new byte[] {1}); // hidden files are no photos
    // one person with enough photos, reached through a link (as a demo's own train-photos holds them)
    Path elsewhere = Files.createDirectories(dir.resolve("elsewhere"));
    for (int i = 0; i < DemoCommand.MIN_PHOTOS; i++) {
      Files.write(elsewhere.resolve(i + ".jpg"), new byte[] {1, 2, 3});
    }
    Files.createSymbolicLink(data.resolve("c-linked"), elsewhere);
    MfnCliTest.Run run = MfnCliTest.mfn("demo", "--data", data.toString(), "--work", dir.resolve("work").toString(), "--no-progress");
    assertThat(run.exit()).isEqualTo(Mfn.EXIT_USAGE);
    assertThat(run.err()).contains(", 1 hold more than 4 photos; training needs at least 2 such people");
    assertThat(run.out()).as("nothing started: no broker, no run folder").doesNotContain("Kafka");
    assertThat(dir.resolve("work")).doesNotExist();

    // --people 1 names the flag, not the data
    MfnCliTest.Run one = MfnCliTest.mfn("demo", "--data", data.toString(), "--people", "1", "--work", dir.resolve("work").toString());
    assertThat(one.exit()).isEqualTo(Mfn.EXIT_USAGE);
    assertThat(one.err()).contains("--people must be at least 2");
    assertThat(dir.resolve("work")).doesNotExist();
  }

  @Test
  void runsTheWholePipelineAndItsSummaryMatchesTheInputs(@TempDir Path dir) throws Exception {
    Path cfp = SharedData.cfpImages();
    Path lfw = SharedData.require("data/lfw");
    Path data = Files.createDirectories(dir.resolve("data"));
    int photos = 0;
    for (Path person : list(cfp).subList(100, 100 + PEOPLE)) {
      Files.createSymbolicLink(data.resolve(person.getFileName()), person);
      try (Stream<Path> files = Files.walk(person)) {
        photos += (int) files.filter(Files::isRegularFile).count();
      }
    }
    // one more person whose only photo is cut short: the ingest job's dead letter
    Path broken = Files.createDirectories(data.resolve("zz-broken"));
    byte[] jpeg = Files.readAllBytes(list(list(cfp).get(0).resolve("frontal")).get(0));
    Files.write(broken.resolve("cut.jpg"), java.util.Arrays.copyOf(jpeg, jpeg.length / 3));
    photos++;
    int probes = 0;
    int enrolled = 0;
    for (Path person : list(lfw.resolve("images"))) {
      int n = list(person).size();
      if (n >= 2 && enrolled < ENROLL) {
        enrolled++;
        probes += Math.min(PROBES, n - 1);
      }
    }

    MfnCliTest.Run run = MfnCliTest.mfn("demo", "--data", data.toString(), "--people", String.valueOf(PEOPLE + 1),
        "--lfw", lfw.toString(), "--lfw-pairs", "20", "--enroll-people", String.valueOf(ENROLL), "--probes", String.valueOf(PROBES),
        "--minutes", "1", "--work", dir.resolve("work").toString(), "--no-progress");
    assertThat(run.exit()).as(run.out() + run.err()).isZero();
    String out = run.out();

    assertThat(row(out, "publish")).containsExactly((long) photos, (long) photos);
    assertThat(row(out, "ingest")[0]).isEqualTo(photos);
    assertThat(out).containsPattern("ingest: +" + photos + " records, " + (photos - 1) + " photos kept, 1 dead letters \\{\"[A-Z_]+\":1\\}");
    assertThat(out).contains("train:   " + PEOPLE + " identities");
    assertThat(out).containsPattern("verify:  LFW 20 pairs: accuracy \\d+\\.\\d\\d%");
    long[] enroll = row(out, "enroll");
    assertThat(enroll[0]).isEqualTo(enrolled);
    assertThat(out).contains("enroll:  " + enrolled + " photos -> " + enroll[1] + " faces in the index ("
        + (enrolled - enroll[1]) + " without a usable face: dead letters ");
    Matcher letters = Pattern.compile("without a usable face: dead letters \\{([^}]*)\\}").matcher(out);
    assertThat(letters.find()).isTrue();
    int byReason = letters.group(1).isBlank() ? 0
        : Stream.of(letters.group(1).split(", ")).mapToInt(r -> Integer.parseInt(r.split("=")[1])).sum();
    assertThat(byReason).as("dead letters by reason add up").isEqualTo(enrolled - enroll[1]);
    assertThat(row(out, "search")[0]).isEqualTo(probes);
    Matcher rank1 = Pattern.compile("rank-1 (\\d+) / (\\d+) = ").matcher(out);
    assertThat(rank1.find()).isTrue();
    assertThat(Integer.parseInt(rank1.group(2))).isEqualTo(probes);
    assertThat(Integer.parseInt(rank1.group(1))).isBetween(0, probes);
    assertThat(out).containsPattern("compare: the committed model \\S+ on the same gallery and searches: rank-1 \\d+ / " + probes + " = ");

    Path work = list(dir.resolve("work")).get(0); // the run's folder (named by its start time)
    Path store = dir.resolve("work/models"); // kept across runs: a second run's model is v2
    assertThat(store.resolve("v1/model-card.md")).isRegularFile();
    assertThat(store.resolve("v1/plots/loss.png")).isRegularFile();
    assertThat(work.resolve("shards/manifest.json")).isRegularFile();
    String id = "v1-" + Files.readString(store.resolve("STORE_ID")).strip(); // the store's id names its indexes
    assertThat(list(work.resolve("index/" + id))).isNotEmpty();
  }

  /** The in and out numbers of a stage's row in the summary table. */
  private static long[] row(String out, String stage) {
    Matcher m = Pattern.compile("(?m)^" + stage + " +(\\d+) +(\\d+) +[\\d.]+ +[\\d.]+ ").matcher(out);
    assertThat(m.find()).as("summary row " + stage + " in:\n" + out).isTrue();
    return new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))};
  }

  private static List<Path> list(Path dir) throws IOException {
    try (Stream<Path> all = Files.list(dir)) {
      return all.sorted().toList();
    }
  }
}
