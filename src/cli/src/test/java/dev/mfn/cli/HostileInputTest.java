package dev.mfn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mfn.face.decode.WebpEncoder;
import dev.mfn.flink.embed.EmbedConfig;
import dev.mfn.flink.embed.EmbedJob;
import dev.mfn.flink.embed.IndexTarget;
import dev.mfn.flink.ingest.IngestConfig;
import dev.mfn.flink.ingest.IngestJob;
import dev.mfn.publish.KafkaAccess;
import dev.mfn.records.DeadLetter;
import dev.mfn.records.RawImage;
import dev.mfn.records.kafka.AvroSerde;
import dev.mfn.search.index.FaceDocument;
import dev.mfn.search.index.LuceneVectorIndex;
import dev.mfn.services.kafka.KafkaBroker;
import dev.mfn.testkit.DetectorFiles;
import dev.mfn.testkit.HostileCorpus;
import dev.mfn.testkit.LocalKafka;
import dev.mfn.testkit.SharedData;
import dev.mfn.testkit.TopicReader;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The hostile corpus (46 kinds of photo) and 12 kinds of hostile record through the entry points a
 * user or a producer reaches: `mfn publish`, the ingest job, the embed job, `mfn search` and
 * `mfn verify`. Each ends as a face or as a reason (dead letter, skip line, or one stderr line with
 * exit 1), the jobs never restart (their restart strategy is "none" here: one failure would fail
 * the test), and the counts conserve. The REST entry points are covered in the search module
 * (ServiceUnderPressureTest).
 */
@ExtendWith(LocalKafka.class)
class HostileInputTest {
  private static final long MIB = 1 << 20;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final AvroSerde<RawImage> RAW = new AvroSerde<>(RawImage.class);
  @TempDir static Path dir;
  static List<HostileCorpus.Kind> corpus;
  static Path face;
  static String model;

  @BeforeAll
  static void corpus() {
    face = SharedData.require("data/lfw/images/Aaron_Eckhart/Aaron_Eckhart_0001.jpg");
    model = SharedData.require("models/reference/MobileFaceNet_paddlex.onnx").toString();
    corpus = HostileCorpus.build(face, WebpEncoder::encode);
  }

  /** A hostile record and the outcome it must have: a face (null) or one of these reasons. */
  private record Case(String id, String subject, byte[] value, Set<String> reasons) {
    boolean face() {
      return reasons.isEmpty();
    }
  }

  @Test
  void bothJobsTurnEveryHostileRecordIntoAFaceOrADeadLetterWithoutARestart(KafkaBroker broker) throws Exception {
    Path blobs = Files.createDirectories(dir.resolve("blobs"));
    List<Case> cases = new ArrayList<>();
    for (HostileCorpus.Kind kind : corpus) {
      RawImage.Builder r = image("kind-" + kind.name(), "hostile");
      if (kind.bytes().length < 900_000) {
        r.setData(ByteBuffer.wrap(kind.bytes()));
      } else { // too large for a Kafka record: by reference, in the blob root
        r.setUri(Files.write(blobs.resolve(kind.fileName()), kind.bytes()).toUri().toString());
      }
      cases.add(new Case(r.getId(), "hostile", RAW.encode(r.build()), kind.reasons()));
    }
    byte[] photo = Files.readAllBytes(face);
    byte[] valid = RAW.encode(image("fingerprint", "hostile").setData(ByteBuffer.wrap(photo)).build());
    byte[] otherFingerprint = valid.clone();
    otherFingerprint[5] ^= 0x55; // bytes 2..9 of Avro's single-object encoding: the schema's fingerprint
    Files.write(blobs.resolve("huge.jpg"), new byte[(int) (16 * MIB) + 1]);
    Files.createSymbolicLink(blobs.resolve("zero.jpg"), Path.of("/dev/zero"));
    cases.add(new Case(null, "hostile", "\0garbage, not Avro".getBytes(), Set.of("UNDECODABLE_RECORD")));
    cases.add(new Case(null, "hostile", otherFingerprint, Set.of("UNDECODABLE_RECORD")));
    cases.add(byUri("absent-uri", blobs.resolve("gone.jpg").toUri().toString(), "SOURCE_UNAVAILABLE"));
    cases.add(byUri("forbidden-uri", "file:///etc/passwd", "SOURCE_FORBIDDEN"));
    cases.add(byUri("device-uri", "file:///dev/zero", "SOURCE_FORBIDDEN"));
    cases.add(byUri("link-to-device", blobs.resolve("zero.jpg").toUri().toString(), "SOURCE_FORBIDDEN"));
    cases.add(byUri("dot-dot-uri", blobs.toUri() + "../../../etc/passwd", "SOURCE_FORBIDDEN"));
    cases.add(byUri("huge-uri", blobs.resolve("huge.jpg").toUri().toString(), "TOO_MANY_BYTES"));
    cases.add(new Case("no-bytes", "hostile", RAW.encode(image("no-bytes", "hostile").build()), Set.of("EMPTY_INPUT")));
    for (String[] s : new String[][] {{"empty-subject", ""}, {"10kb-subject", "x".repeat(10_000)}, {"control-subject", "a\nb\u0000"}}) {
      cases.add(new Case(s[0], s[1], RAW.encode(image(s[0], s[1]).setData(ByteBuffer.wrap(photo)).build()), Set.of("BAD_SUBJECT")));
    }
    for (String[] s : new String[][] {{"unicode-subject", "José Ñúñez 李小龍 😀"}, {"path-subject", "../../etc/passwd"}}) {
      cases.add(new Case(s[0], s[1], RAW.encode(image(s[0], s[1]).setData(ByteBuffer.wrap(photo)).build()), Set.of()));
    }
    assertThat(cases).hasSizeGreaterThanOrEqualTo(60);

    String topic = "hostile-in";
    KafkaAccess.prepare(broker.bootstrapServers(), topic, 2, 30_000);
    KafkaAccess.prepare(broker.bootstrapServers(), "hostile-dlq", 1, 30_000);
    KafkaAccess.prepare(broker.bootstrapServers(), "hostile-embed-dlq", 1, 30_000);
    try (Producer<String, byte[]> producer = KafkaAccess.producer(broker.bootstrapServers(), MIB)) {
      for (Case c : cases) {
        producer.send(new ProducerRecord<>(topic, c.subject(), c.value())).get();
      }
    }

    // the ingest job: every record a kept photo, a policy drop or a dead letter with its reason
    Path shards = dir.resolve("shards");
    IngestConfig ingest = new IngestConfig(broker.bootstrapServers(), topic, "hostile-dlq", "hostile-ingest", true,
        shards.toString(), 2, 2, 0.0, 1000, 3, 2, 1, topic + ".labels", null, 1_000, "blazeface",
        DetectorFiles.blazefaceDir().toString(), null, null, 0.5, 20, 16 * MIB, 60_000_000, false).withBlobRoots(blobs.toString());
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(noRestarts(IngestJob.flinkConfiguration(ingest)));
    IngestJob.fromConfig(ingest).build(env);
    env.execute("hostile ingest");
    Map<String, String> ingestLetters = letters(broker, "hostile-dlq");
    JsonNode totals = JSON.readTree(shards.resolve("manifest.json").toFile()).get("totals");
    long faces = cases.stream().filter(c -> c.face() && c.subject().equals("hostile")).count();
    assertThat(totals.get("records_in").asLong()).isEqualTo(cases.size());
    assertThat(totals.get("photos_kept").asLong()).isEqualTo(faces);
    assertThat(totals.get("dropped_by_policy").asLong()).as("one photo each: below the policy").isEqualTo(2);
    assertThat(totals.get("dead_letters").asLong()).isEqualTo(cases.stream().filter(c -> !c.face()).count());
    assertOutcomes("ingest", cases, ingestLetters);

    // the embed job, every face of each photo: the index holds exactly the faces, the rest are dead letters
    Path index = dir.resolve("index");
    EmbedConfig embed = new EmbedConfig(broker.bootstrapServers(), topic, "hostile-embed-dlq", null, "hostile-embed", true, 2,
        model, IndexTarget.lucene(index), true, 8, 200, 1_000, dir.resolve("embed-checkpoints").toString(),
        "blazeface", DetectorFiles.blazefaceDir().toString(), null, null, 0.5, 20, 16 * MIB, 60_000_000).withBlobRoots(blobs.toString());
    env = StreamExecutionEnvironment.getExecutionEnvironment(noRestarts(EmbedJob.flinkConfiguration(embed)));
    EmbedJob.fromConfig(embed).build(env);
    env.execute("hostile embed");
    Map<String, String> embedLetters = letters(broker, "hostile-embed-dlq");
    assertOutcomes("embed", cases, embedLetters);
    Map<String, Integer> facesPerImage = new TreeMap<>();
    try (LuceneVectorIndex lucene = LuceneVectorIndex.readOnly(index, "MobileFaceNet_paddlex.onnx")) {
      List<FaceDocument> stored = new ArrayList<>();
      lucene.forEachStored(stored::add);
      stored.forEach(d -> facesPerImage.merge(d.imageId(), 1, Integer::sum));
      assertThat(stored).extracting(FaceDocument::subject).contains("José Ñúñez 李小龍 😀", "../../etc/passwd");
    }
    List<String> expectedFaces = cases.stream().filter(Case::face).map(Case::id).toList();
    assertThat(facesPerImage.keySet()).containsExactlyInAnyOrderElementsOf(expectedFaces);
    assertThat(facesPerImage.get("kind-30-faces")).as("every face of the group photo").isGreaterThanOrEqualTo(20);
    // nothing was written outside the job's folders, whatever the subjects said
    assertThat(Files.exists(dir.resolve("etc"))).isFalse();
  }

  @Test
  void searchAndVerifyAtTheCliGiveOneLineAndExit1ForEveryRefusedKind() throws Exception {
    Path files = dir.resolve("corpus");
    List<Path> paths = HostileCorpus.write(corpus, files);
    String index = dir.resolve("cli-index").toString();
    Path gallery = Files.createDirectories(dir.resolve("gallery/Aaron_Eckhart"));
    Files.copy(face, gallery.resolve("a.jpg"));
    assertThat(MfnCliTest.mfn("enroll", gallery.getParent().toString(), "--direct", "--model", model, "--index", index,
        "--no-progress").exit()).isZero();
    List<String> wrong = new ArrayList<>();
    for (int i = 0; i < corpus.size(); i++) {
      HostileCorpus.Kind kind = corpus.get(i);
      MfnCliTest.Run search = MfnCliTest.mfn("search", paths.get(i).toString(), "--model", model, "--index", index, "--threshold", "0.3");
      MfnCliTest.Run verify = MfnCliTest.mfn("verify", face.toString(), paths.get(i).toString(), "--model", model, "--threshold", "0.3");
      check(wrong, kind, "search", search);
      check(wrong, kind, "verify", verify);
    }
    assertThat(wrong).isEmpty();
    // a device or a FIFO named on the command line: refused, never read
    MfnCliTest.Run device = MfnCliTest.mfn("search", "/dev/zero", "--model", model, "--index", index);
    assertThat(device.exit()).as(device.err()).isEqualTo(1);
    assertThat(device.err().trim()).isEqualTo("mfn search: /dev/zero: SOURCE_FORBIDDEN (SOURCE_FORBIDDEN: /dev/zero: not a regular file)");
    MfnCliTest.Run missing = MfnCliTest.mfn("verify", face.toString(), dir.resolve("nope.jpg").toString(), "--model", model, "--threshold", "0.3");
    assertThat(missing.exit()).as(missing.err()).isEqualTo(1);
    assertThat(missing.err()).contains("SOURCE_UNAVAILABLE").contains("nope.jpg: the photo's file or URI cannot be read");
  }

  @Test
  void publishSkipsWhatIsNotAPhotoAndSaysWhy(KafkaBroker broker) throws Exception {
    Path root = dir.resolve("publish");
    Path hostile = Files.createDirectories(root.resolve("José Ñúñez 李"));
    HostileCorpus.write(corpus, hostile);
    Path control = Files.createDirectories(root.resolve("bad\u0001name"));
    Files.copy(face, control.resolve("a.jpg"));
    Files.copy(face, hostile.resolve("new\nline & ünïcode.jpg"));
    Process mkfifo = new ProcessBuilder("mkfifo", hostile.resolve("pipe.jpg").toString()).start();
    assertThat(mkfifo.waitFor()).isZero();
    Files.createSymbolicLink(hostile.resolve("zero.jpg"), Path.of("/dev/zero"));
    MfnCliTest.Run publish = MfnCliTest.mfn("publish", root.toString(), "--topic", "hostile-publish",
        "--bootstrap", broker.bootstrapServers(), "--no-progress", "--inline-limit", String.valueOf(MIB));
    assertThat(publish.exit()).as(publish.err()).isZero();
    // sniffed as not images: zero bytes (empty), random/html/pdf/zip/elf; the FIFO and the device: not regular files
    long notImages = corpus.stream().filter(k -> k.reasons().contains("NOT_AN_IMAGE")).count();
    assertThat(publish.out()).contains("not an image: " + notImages).contains("empty file: 1")
        .contains("not a regular file: 2").contains("subject name not acceptable: 1 (e.g. bad\\u0001name/a.jpg)");
    int sent = corpus.size() - (int) notImages - 1 + 1; // + the file with a newline in its name
    assertThat(TopicReader.readAll(broker.bootstrapServers(), "hostile-publish")).hasSize(sent)
        .allSatisfy(r -> assertThat(r.key()).isEqualTo("José Ñúñez 李"));
  }

  private static void check(List<String> wrong, HostileCorpus.Kind kind, String command, MfnCliTest.Run run) {
    if (kind.faceExpected()) {
      if (run.exit() != 0) {
        wrong.add(command + " " + kind + ": exit " + run.exit() + " " + run.err());
      }
      return;
    }
    List<String> lines = run.err().lines().filter(l -> !l.isBlank()).toList();
    boolean oneLine = lines.size() == 1 && lines.get(0).startsWith("mfn " + command + ": ");
    boolean reason = kind.reasons().stream().anyMatch(r -> run.err().contains(r));
    if (run.exit() != 1 || !oneLine || !reason) {
      wrong.add(command + " " + kind + ": exit " + run.exit() + ", stderr " + run.err() + " (expected exit 1 and one of " + kind.reasons() + ")");
    }
  }

  private static Case byUri(String id, String uri, String reason) {
    return new Case(id, "hostile", RAW.encode(image(id, "hostile").setUri(uri).build()), Set.of(reason));
  }

  private static RawImage.Builder image(String id, String subject) {
    return RawImage.newBuilder().setId(id).setSubject(subject).setSource(id + ".jpg").setContentType("image/jpeg")
        .setSizeBytes(0).setSha256("00").setTimestamp(Instant.now()).setAttributes(Map.of());
  }

  private static Configuration noRestarts(Configuration configuration) {
    configuration.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
    return configuration;
  }

  /** Dead letters by image id ("?n" for records that could not even be read). */
  private static Map<String, String> letters(KafkaBroker broker, String topic) {
    AvroSerde<DeadLetter> serde = new AvroSerde<>(DeadLetter.class);
    Map<String, String> byId = new LinkedHashMap<>();
    int unreadable = 0;
    for (var r : TopicReader.readAll(broker.bootstrapServers(), topic)) {
      DeadLetter d = serde.decode(r.value());
      String previous = byId.put(d.getImageId() == null ? "?" + unreadable++ : d.getImageId(), d.getReason());
      assertThat(previous).as("one dead letter per record: " + d.getImageId()).isNull();
    }
    return byId;
  }

  private static void assertOutcomes(String job, List<Case> cases, Map<String, String> letters) {
    List<String> wrong = new ArrayList<>();
    Map<String, Integer> undecodable = new HashMap<>();
    for (Case c : cases) {
      if (c.id() == null) {
        undecodable.merge("expected", 1, Integer::sum);
        continue;
      }
      String reason = letters.get(c.id());
      if (c.face() ? reason != null : !c.reasons().contains(reason)) {
        wrong.add(job + " " + c.id() + ": " + reason + ", expected " + (c.face() ? "a face" : c.reasons()));
      }
    }
    long unreadable = letters.entrySet().stream().filter(e -> e.getKey().startsWith("?"))
        .peek(e -> assertThat(e.getValue()).isEqualTo("UNDECODABLE_RECORD")).count();
    assertThat(unreadable).isEqualTo((long) undecodable.getOrDefault("expected", 0));
    assertThat(wrong).isEmpty();
  }
}
