package dev.mfn.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mfn.config.MfnSettings;
import dev.mfn.face.FaceRejected;
import dev.mfn.face.crop.FaceCropper;
import dev.mfn.model.Embedder;
import dev.mfn.model.EmbeddingModels;
import dev.mfn.model.store.ModelStore;
import dev.mfn.search.FaceSearch;
import dev.mfn.search.enroll.FaceEmbedStage;
import dev.mfn.search.index.VectorIndex;
import dev.mfn.services.LocalServices;
import dev.mfn.services.kafka.KafkaBroker;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * `mfn demo`: the whole pipeline on one machine, each stage being the command a user would run
 * (publish, ingest, train, enroll, search), then one summary. Every run works in its own folder
 * and its own topics, so running it twice works and its numbers are its own.
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
      "The whole system end to end on this machine, nothing started by hand:",
      "  1. starts a local Kafka broker (and stops it at the end if it started it), fetches the detector;",
      "  2. publishes the first --people identity folders of --data to a train topic, runs the Flink",
      "     ingest job into shards, trains MobileFaceNet for --minutes, evaluates it on LFW pairs",
      "     (--lfw, --lfw-pairs) and announces it on the models topic;",
      "  3. enrolls one photo of each of --enroll-people LFW people (or --data people without LFW)",
      "     with the Flink embed job into the embedded index, searches with up to --probes other",
      "     photos of each, and prints a summary: counts, time and throughput per stage, dead",
      "     letters, verification accuracy, rank-1, and where everything is.",
      "--serve then keeps the web page running on the new index until Ctrl-C, with the embed job",
      "following the demo's enroll topic in this process: the console's Enrol tab adds people to it.",
      "--es URL uses an",
      "Elasticsearch cluster instead of the embedded index.",
      "Data: DIR/<person>/<photos> (sub-folders allowed). Default: ../shared/data/cfp/Data/Images.",
      "With no data at all, it enrolls every face of six sample photos (npm package @vladmandic/face-api)",
      "with the committed default model and finds them again in altered copies of the photos."
    })
final class DemoCommand implements Callable<Integer> {
  @Option(names = "--data", paramLabel = "DIR", description = "Training photos, one folder per person (default: ../shared/data/cfp/Data/Images when present).")
  Path data;

  @Option(names = "--lfw", paramLabel = "DIR", description = "LFW folder (pairs.txt, images/) for evaluation and enrolment (default: ../shared/data/lfw when present).")
  Path lfw;

  @Option(names = "--minutes", paramLabel = "M", defaultValue = "3", description = "Training time (default: ${DEFAULT-VALUE}).")
  double minutes;

  @Option(names = "--people", paramLabel = "N", defaultValue = "60", description = "Identity folders of --data to train on (default: ${DEFAULT-VALUE}).")
  int people;

  @Option(names = "--lfw-pairs", paramLabel = "N", defaultValue = "600", description = "LFW pairs to evaluate on, spread over the 10 folds (default: ${DEFAULT-VALUE}; 6000 = all).")
  int lfwPairs;

  @Option(names = "--enroll-people", paramLabel = "N", defaultValue = "100", description = "People to enroll, one photo each (default: ${DEFAULT-VALUE}).")
  int enrollPeople;

  @Option(names = "--probes", paramLabel = "N", defaultValue = "2", description = "Held-back photos per enrolled person to search with (default: ${DEFAULT-VALUE}).")
  int probes;

  @Option(names = "--work", paramLabel = "DIR", description = "Where runs keep their shards, models and index (default: <home>/demo).")
  Path work;

  @Option(names = "--es", paramLabel = "URL", description = "Enroll into and search Elasticsearch at URL instead of the embedded index (credentials: the index.es.* settings).")
  String es;

  @Option(names = "--serve", description = "Afterwards, serve the web page on the demo's index until Ctrl-C (the embed job follows the demo's enroll topic meanwhile: the Enrol tab works).")
  boolean serve;

  @Option(names = "--port", paramLabel = "PORT", defaultValue = "8080", description = "Port for --serve (default: ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--no-progress", description = "No progress bars.")
  boolean noProgress;

  @Mixin FaceOptions face;
  @Spec CommandSpec spec;
  private final MfnSettings settings;
  /** Photos a person needs to be trained on: the demo's ingest policy drops those with fewer. */
  static final int MIN_PHOTOS = 5;

  private final Map<String, Stage> stages = new LinkedHashMap<>();

  DemoCommand(MfnSettings settings) {
    this.settings = settings;
  }

  /** One line of the summary: what went in, what came out, how long it took. */
  private record Stage(String what, long in, long out, double seconds, String unit) {}

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    Path shared = settings.repo().resolve("../shared/data").normalize();
    Path trainData = data != null ? data : shared.resolve("cfp/Data/Images");
    if (data != null && !Files.isDirectory(data)) {
      spec.commandLine().getErr().println("mfn demo: no folder " + data
          + ": --data wants one folder of photos per person (DIR/<person>/<photo>.jpg)");
      return Mfn.EXIT_USAGE;
    }
    boolean samplesOnly = !Files.isDirectory(trainData);
    if (!samplesOnly && people < 2) {
      spec.commandLine().getErr().println("mfn demo: --people must be at least 2 (training tells people apart), not " + people);
      return Mfn.EXIT_USAGE;
    }
    if (!samplesOnly) {
      // refused before a broker starts: without two people the ingest policy keeps, the run would
      // publish and ingest and fail only at the train stage, minutes later
      long found = peopleWithPhotos(trainData);
      if (found < 2) {
        spec.commandLine().getErr().printf("mfn demo: among the first %d folders of %s, %d hold more than %d photos; "
            + "training needs at least 2 such people (the demo's ingest policy drops people with %d or fewer): "
            + "--data wants one folder of photos per person (DIR/<person>/<photo>.jpg)%n",
            people, trainData, found, MIN_PHOTOS - 1, MIN_PHOTOS - 1);
        return Mfn.EXIT_USAGE;
      }
    }
    Path lfwDir = lfw != null ? lfw : shared.resolve("lfw");
    boolean haveLfw = Files.isRegularFile(lfwDir.resolve("pairs.txt")) && Files.isDirectory(lfwDir.resolve("images"));
    String run = java.time.LocalDateTime.now().format(java.time.format.DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
    Path home = (work != null ? work : settings.home().resolve("demo")).resolve(run).toAbsolutePath();
    Files.createDirectories(home);
    out.printf("mfn demo %s: working in %s%n", run, home);

    KafkaBroker broker = new LocalServices(settings).kafka(null);
    boolean startedKafka = broker.start(true);
    out.printf("Kafka %s at %s%n", startedKafka ? "started" : "already running", broker.bootstrapServers());
    String bootstrap = broker.bootstrapServers();
    Thread stopKafka = new Thread(() -> stopQuietly(broker));
    if (startedKafka) {
      Runtime.getRuntime().addShutdownHook(stopKafka); // Ctrl-C stops the broker this run started
    }
    try {
      Path model;
      int code;
      if (samplesOnly) {
        out.printf("no training photos at %s (give --data DIR, one folder of photos per person): showing search on sample photos instead%n", trainData);
        model = Models.resolve(null, settings).toAbsolutePath();
        code = samples(out, model, home, run, bootstrap);
      } else {
        code = pipeline(out, trainData, haveLfw ? lfwDir : null, home, run, bootstrap);
        model = new ModelStore(store()).latest().orElse(null);
      }
      if (code != 0 || !serve) {
        return code;
      }
      return serve(out, model, home, settings.topics().enroll() + ".demo-" + run, bootstrap, run, !samplesOnly);
    } finally {
      if (startedKafka) {
        try {
          Runtime.getRuntime().removeShutdownHook(stopKafka);
          stopQuietly(broker);
        } catch (IllegalStateException shuttingDown) {
          // Ctrl-C: the hook is stopping the broker already
        }
      }
    }
  }

  /**
   * The web page on the demo's index until Ctrl-C, with the console's Enrol tab working: the
   * service publishes to the demo's enroll topic, and the embed job (the enroll stage's, now
   * unbounded, in this process) indexes what arrives into the index the service serves. The job
   * holds the embedded index's writer; the service reads the same folder read-only and sees each
   * of the job's commits (one writer per folder, as always: the service never writes the index,
   * and a deletion it cannot make there is made by the job from the tombstone).
   */
  @SuppressWarnings("try") // the job is only held open (and cancelled at the end), never called
  private int serve(PrintWriter out, Path model, Path home, String enrollTopic, String bootstrap, String run, boolean trained)
      throws Exception {
    Path index = home.resolve("index");
    var config = EnrollCommand.embedConfig(settings, face, bootstrap, enrollTopic, model.toAbsolutePath(),
        indexOptions(index).target(settings), false, false, null, 1);
    // the console's retrain form: requests on the run's own topics, and (when this run trained) a
    // local retraining controller that trains on the run's shards into its model store
    String requests = settings.topics().retrain() + ".demo-" + run;
    String runs = settings.topics().trainingRuns() + ".demo-" + run;
    boolean canTrain = trained && Files.isDirectory(home.resolve("lfw-pairs")); // a new model is gated on LFW pairs
    Thread controller = canTrain ? retrainController(home, bootstrap, requests, runs) : null;
    int flinkRest = dev.mfn.services.process.Ports.free(); // the Pipeline tab reads the job's state there
    try (LocalEmbedJob embed = LocalEmbedJob.start(config, "mfn demo --serve: embed " + enrollTopic, flinkRest)) {
      out.printf("serving the demo index on port %d until Ctrl-C; the embed job follows %s, so the console's Enrol tab adds people%n",
          port, enrollTopic);
      out.println(controller != null
          ? "the Models tab's retrain form trains on this run's shards (a local retraining controller reads " + requests + ")"
          : "no training data or LFW pairs in this run: a retrain asked for on the Models tab stays queued (no controller reads "
              + requests + ")");
      out.flush();
      return sub(withIndex(List.of("serve", "--model", model.toString(), "--port", String.valueOf(port), "--bootstrap", bootstrap,
          "--enroll-topic", enrollTopic, "--dlq-topic", settings.topics().deadLetters(),
          "--retrain-topic", requests, "--runs-topic", runs, "--flink", "127.0.0.1:" + flinkRest,
          "--photo-topics", String.join(",", enrollTopic, settings.topics().train() + ".demo-" + run, settings.topics().deadLetters()),
          "--model-store", store().toString()), index)); // the Models tab lists the demo's versions
    }
  }

  /**
   * `mfn retrain-controller --local` on a daemon thread of this process, for as long as the demo
   * serves: each request trains (a child process, --minutes) on the run's shards, evaluates on the
   * run's LFW pairs, and adds a version to the demo's model store; what became of it reaches the
   * Models tab through the runs topic.
   */
  private Thread retrainController(Path home, String bootstrap, String requests, String runs) {
    List<String> args = new ArrayList<>(List.of("retrain-controller", "--local", "--bootstrap", bootstrap,
        "--requests-topic", requests, "--runs-topic", runs, "--shards", home.resolve("shards").toString(),
        "--model-store", store().toString(), "--state-dir", home.resolve("retrain").toString(),
        "--minutes", String.valueOf(Math.max(1, Math.round(minutes))), "--lfw", home.resolve("lfw-pairs").toString()));
    Thread thread = new Thread(() -> sub(args), "demo-retrain-controller");
    thread.setDaemon(true);
    thread.start();
    return thread;
  }

  /**
   * Without any face data: every face of the npm package's sample photos is enrolled (one subject
   * per photo) with the committed default model, then each photo is searched again as an altered
   * copy (mirrored, 75% size, JPEG quality 70): each face should find its own photo.
   */
  private int samples(PrintWriter out, Path model, Path home, String run, String bootstrap) throws Exception {
    List<Path> photos = new LocalServices(settings).demoPhotos().fetch();
    out.printf("%d sample photos of the npm package %s, model %s%n", photos.size(), dev.mfn.services.DemoPhotos.NPM_PACKAGE, model);
    Path enroll = Files.createDirectories(home.resolve("enroll-photos"));
    for (Path photo : photos) {
      String subject = photo.getFileName().toString().replace(".jpg", "");
      Files.createSymbolicLink(Files.createDirectories(enroll.resolve(subject)).resolve(photo.getFileName()), photo);
    }
    Path index = home.resolve("index");
    out.printf("%n== 1/2 enroll: every face of %d photos with the Flink embed job into %s%n", photos.size(), index);
    // (no clash check here: the committed model re-enrolls the same photos under the same ids)
    if (timed("enroll", photos.size(), 0, "photo", () -> sub(withIndex(List.of("enroll", enroll.toString(), "--all-faces",
        "--model", model.toString(), "--topic", settings.topics().enroll() + ".demo-" + run, "--bootstrap", bootstrap), index))) != 0) {
      return 1;
    }
    out.printf("%n== 2/2 search: altered copies of the photos (mirrored, 75%% size, JPEG quality 70)%n");
    long start = System.nanoTime();
    int faces = 0;
    int found = 0;
    int unknown = 0;
    long indexed;
    try (FaceCropper cropper = face.openCropper(settings);
        Embedder embedder = EmbeddingModels.open(model);
        VectorIndex vectors = indexOptions(index).openIndex(settings, EmbeddingModels.version(embedder, model))) {
      String version = EmbeddingModels.version(embedder, model);
      FaceSearch search = new FaceSearch(IndexOptions.stage(cropper, embedder, version, FaceEmbedStage.Faces.ALL, 8),
          vectors, Models.searchThreshold(embedder, null).value());
      for (Path photo : photos) {
        String subject = photo.getFileName().toString().replace(".jpg", "");
        List<FaceSearch.FaceMatches> matches = search.search(altered(Files.readAllBytes(photo)), 1);
        int mine = 0;
        for (FaceSearch.FaceMatches m : matches) {
          faces++;
          if (!m.hits().isEmpty() && m.hits().get(0).subject().equals(subject)) {
            found++;
            mine++;
          }
          if (m.unknown()) {
            unknown++;
          }
        }
        out.printf("  %s: %d faces in the altered copy, %d matched to %s%n", subject, matches.size(), mine, subject);
      }
      indexed = vectors.count();
    }
    stages.put("search", new Stage("search", photos.size(), faces, (System.nanoTime() - start) / 1e9, "photo"));
    replace("enroll", indexed);
    out.printf("%n== summary%n");
    table(out);
    out.printf("enroll:  %d photos -> %d faces in the index%n", photos.size(), indexed);
    out.printf(Locale.ROOT, "search:  %d faces found in the altered copies; %d (%.1f%%) matched to their own photo first; %d below the threshold%n",
        faces, found, faces == 0 ? 0.0 : 100.0 * found / faces, unknown);
    out.printf("index:   %s%nnext:    ./mfn demo --data DIR (DIR/<person>/<photos>) trains a model of your own%n", where(index));
    return 0;
  }

  /** The same photo, changed as a second photo of the same scene might be. */
  private static byte[] altered(byte[] jpeg) {
    dev.mfn.face.OpenCv.load();
    org.opencv.core.Mat image = org.opencv.imgcodecs.Imgcodecs.imdecode(new org.opencv.core.MatOfByte(jpeg), org.opencv.imgcodecs.Imgcodecs.IMREAD_COLOR);
    org.opencv.core.Mat mirrored = new org.opencv.core.Mat();
    org.opencv.core.Core.flip(image, mirrored, 1);
    org.opencv.core.Mat smaller = new org.opencv.core.Mat();
    org.opencv.imgproc.Imgproc.resize(mirrored, smaller, new org.opencv.core.Size(), 0.75, 0.75, org.opencv.imgproc.Imgproc.INTER_AREA);
    org.opencv.core.MatOfByte out = new org.opencv.core.MatOfByte();
    org.opencv.imgcodecs.Imgcodecs.imencode(".jpg", smaller, out, new org.opencv.core.MatOfInt(org.opencv.imgcodecs.Imgcodecs.IMWRITE_JPEG_QUALITY, 70));
    byte[] bytes = out.toArray();
    image.release();
    mirrored.release();
    smaller.release();
    out.release();
    return bytes;
  }

  private int pipeline(PrintWriter out, Path trainData, Path lfwDir, Path home, String run, String bootstrap) throws Exception {
    String trainTopic = settings.topics().train() + ".demo-" + run;
    String enrollTopic = settings.topics().enroll() + ".demo-" + run;

    // 1. training photos: the first --people identity folders, linked, not copied
    Path slice = Files.createDirectories(home.resolve("train-photos"));
    List<Path> persons = folders(trainData).stream().limit(people).toList();
    for (Path p : persons) {
      Files.createSymbolicLink(slice.resolve(p.getFileName().toString()), p.toAbsolutePath());
    }
    long photos = dev.mfn.publish.ImagePublisher.scan(slice).size();
    out.printf("%n== 1/5 publish: %d photos of %d people from %s to %s%n", photos, persons.size(), trainData, trainTopic);
    if (timed("publish", photos, photos, "photo", () -> sub("publish", slice.toString(), "--topic", trainTopic, "--bootstrap", bootstrap)) != 0) {
      return 1;
    }

    Path shards = home.resolve("shards");
    out.printf("%n== 2/5 ingest: the Flink ingest job, %s -> %s%n", trainTopic, shards);
    if (timed("ingest", photos, 0, "record", () -> sub("ingest", "--topic", trainTopic, "--bootstrap", bootstrap,
        "--out", shards.toString(), "--policy", "350,200,90," + (MIN_PHOTOS - 1), "--validation-fraction", "0.1", "--shards", "4")) != 0) {
      return 1;
    }
    JsonNode manifest = new ObjectMapper().readTree(shards.resolve("manifest.json").toFile());
    JsonNode totals = manifest.get("totals");
    replace("ingest", totals.get("train_samples").asLong() + totals.get("validation_samples").asLong());

    Path store = store();
    List<String> train = new ArrayList<>(List.of("train", "--shards", shards.toString(), "--model-store", store.toString(),
        "--minutes", String.valueOf(minutes), "--publish", "--bootstrap", bootstrap));
    if (lfwDir != null) {
      train.addAll(List.of("--lfw", lfwSlice(lfwDir, home.resolve("lfw-pairs")).toString()));
    }
    out.printf("%n== 3/5 train: MobileFaceNet for %.1f min on %d samples%s%n", minutes,
        totals.get("train_samples").asLong(), lfwDir == null ? "" : ", then " + lfwPairs + " LFW pairs");
    int trained = timed("train", totals.get("train_samples").asLong(), 0, "image", () -> {
      int code = sub(train);
      return code == TrainCommand.REFUSED ? 0 : code;
    });
    if (trained != 0) {
      return 1;
    }
    Path model = new ModelStore(store).latest().orElseThrow();
    JsonNode card = new ObjectMapper().readTree(model.resolve("model-card.json").toFile());
    replace("train", card.path("training").path("images").asLong());

    // 2. enrolment: one photo per person; the others are the searches
    Path enroll = Files.createDirectories(home.resolve("enroll-photos"));
    Map<String, List<Path>> held = new TreeMap<>();
    List<Path> candidates = lfwDir != null ? folders(lfwDir.resolve("images")) : persons;
    int enrolled = 0;
    for (Path person : candidates) {
      List<Path> files = photosOf(person);
      if (files.size() < 2 || enrolled >= enrollPeople) {
        continue;
      }
      String name = person.getFileName().toString();
      Path to = Files.createDirectories(enroll.resolve(name));
      Files.createSymbolicLink(to.resolve(files.get(0).getFileName()), files.get(0).toAbsolutePath());
      held.put(name, files.subList(1, Math.min(files.size(), 1 + probes)));
      enrolled++;
    }
    Path index = home.resolve("index");
    out.printf("%n== 4/5 enroll: %d people (one photo each, %s) with the Flink embed job into %s%n",
        enrolled, lfwDir != null ? "LFW" : "the training people", index);
    if (!indexIsNew(model)) {
      return 1;
    }
    if (timed("enroll", enrolled, 0, "photo", () -> sub(withIndex(List.of("enroll", enroll.toString(), "--model", model.toString(),
        "--topic", enrollTopic, "--bootstrap", bootstrap), index))) != 0) {
      return 1;
    }
    enrollDeadLetters = deadLettersFrom(bootstrap, settings.topics().deadLetters(), enrollTopic);

    out.printf("%n== 5/5 search: %d held-back photos against the index%n", held.values().stream().mapToInt(List::size).sum());
    SearchScore score = search(held, model, indexOptions(index), null);
    stages.put("search", new Stage("search", score.asked, score.asked - score.noFace, score.seconds, "photo"));
    replace("enroll", score.indexed());
    // the same gallery and searches with the committed model, for scale (in-process, own index)
    Path committed = Models.resolve(null, settings).toAbsolutePath();
    IndexOptions baseline = new IndexOptions();
    baseline.index = home.resolve("index-committed-model");
    SearchScore reference = search(held, committed, baseline, enroll);
    summary(out, manifest, card, model, index, shards, score, enrolled);
    out.printf(Locale.ROOT, "compare: the committed model %s on the same gallery and searches: rank-1 %d / %d = %.1f%%%n",
        settings.get("model.default"), reference.correct(), reference.asked(),
        reference.asked() == 0 ? 0.0 : 100.0 * reference.correct() / reference.asked());
    return 0;
  }

  private record SearchScore(int asked, int noFace, int correct, int unknown, long indexed, double seconds) {}

  /**
   * Searches every held-back photo; with {@code gallery} given, first enrolls its photos into the
   * index in this process (the baseline run, which has no embed job of its own).
   */
  private SearchScore search(Map<String, List<Path>> held, Path model, IndexOptions where, Path gallery) throws Exception {
    long start = System.nanoTime();
    int asked = 0;
    int noFace = 0;
    int correct = 0;
    int unknown = 0;
    try (FaceCropper cropper = face.openCropper(settings);
        Embedder embedder = EmbeddingModels.open(model);
        VectorIndex vectors = where.openIndex(settings, EmbeddingModels.version(embedder, model));
        ProgressBar bar = Progress.bar("search", held.values().stream().mapToInt(List::size).sum(), "photos", noProgress)) {
      FaceEmbedStage stage = IndexOptions.stage(cropper, embedder, EmbeddingModels.version(embedder, model), FaceEmbedStage.Faces.CHOSEN, 1);
      if (gallery != null) {
        List<FaceEmbedStage.Photo> photos = new ArrayList<>();
        for (var p : dev.mfn.publish.ImagePublisher.scan(gallery)) {
          photos.add(new FaceEmbedStage.Photo(p.source(), p.subject(), Files.readAllBytes(p.path()), p.source()));
        }
        vectors.upsert(stage.embed(photos).documents());
      }
      FaceSearch search = new FaceSearch(stage, vectors, Models.searchThreshold(embedder, null).value());
      for (var person : held.entrySet()) {
        for (Path photo : person.getValue()) {
          asked++;
          try {
            List<FaceSearch.FaceMatches> faces = search.search(Files.readAllBytes(photo), 1);
            if (faces.isEmpty()) {
              noFace++;
            } else {
              FaceSearch.FaceMatches best = faces.get(0);
              if (!best.hits().isEmpty() && best.hits().get(0).subject().equals(person.getKey())) {
                correct++;
              }
              if (best.unknown()) {
                unknown++;
              }
            }
          } catch (FaceRejected e) {
            noFace++;
          }
          bar.step();
        }
      }
      return new SearchScore(asked, noFace, correct, unknown, vectors.count(), (System.nanoTime() - start) / 1e9);
    }
  }

  /** The enroll stage's dead letters by reason (read back from the dead-letter topic). */
  private Map<String, Integer> enrollDeadLetters = Map.of();

  /**
   * Counts the dead letters whose original record came from {@code topic}, by reason: the
   * dead-letter topic is shared, so the demo's own topic name picks out this run's.
   */
  private static Map<String, Integer> deadLettersFrom(String bootstrap, String dlq, String topic) throws Exception {
    Map<String, Integer> reasons = new TreeMap<>();
    var end = IngestCommand.endOffsets(bootstrap, dlq);
    java.util.Properties p = new java.util.Properties();
    dev.mfn.config.KafkaSecurity.addTo(p);
    p.put("bootstrap.servers", bootstrap);
    p.put("enable.auto.commit", "false");
    var serde = new dev.mfn.records.kafka.AvroSerde<>(dev.mfn.records.DeadLetter.class);
    try (var consumer = new org.apache.kafka.clients.consumer.KafkaConsumer<>(p,
        new org.apache.kafka.common.serialization.ByteArrayDeserializer(), new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
      consumer.assign(end.keySet());
      consumer.seekToBeginning(end.keySet());
      long deadline = System.nanoTime() + 30_000_000_000L;
      while (end.entrySet().stream().anyMatch(e -> consumer.position(e.getKey()) < e.getValue()) && System.nanoTime() < deadline) {
        for (var record : consumer.poll(java.time.Duration.ofMillis(500))) {
          var letter = serde.decode(record.value());
          if (topic.equals(letter.getOriginalTopic())) {
            reasons.merge(letter.getReason(), 1, Integer::sum);
          }
        }
      }
    }
    return reasons;
  }

  private void summary(PrintWriter out, JsonNode manifest, JsonNode card, Path model, Path index, Path shards,
      SearchScore score, int enrolled) {
    JsonNode t = manifest.get("totals");
    out.printf("%n== summary%n");
    table(out);
    out.printf("ingest:  %d records, %d photos kept, %d dead letters %s, %d dropped by policy, %d train + %d validation samples%n",
        t.get("records_in").asLong(), t.get("photos_kept").asLong(), t.get("dead_letters").asLong(),
        manifest.get("dead_letters"), t.get("dropped_by_policy").asLong(), t.get("train_samples").asLong(),
        t.get("validation_samples").asLong());
    JsonNode training = card.path("training");
    out.printf(Locale.ROOT, "train:   %d identities, %d epochs, %d steps, %d images at %.1f img/s%n",
        card.path("data").path("identities").asLong(), training.path("epochs").asLong(), training.path("steps").asLong(),
        training.path("images").asLong(), training.path("images_per_s").asDouble());
    for (JsonNode v : card.path("verification")) {
      out.printf(Locale.ROOT, "verify:  %s %d pairs: accuracy %.2f%% +- %.2f, threshold %.4f%n", v.path("dataset").asText(),
          v.path("pairs").asInt(), 100 * v.path("accuracy").asDouble(), 100 * v.path("accuracy_std").asDouble(),
          v.path("best_threshold").asDouble());
    }
    out.printf("enroll:  %d photos -> %d faces in the index (%d without a usable face: dead letters %s)%n",
        enrolled, score.indexed(), enrolled - score.indexed(), enrollDeadLetters);
    out.printf(Locale.ROOT, "search:  rank-1 %d / %d = %.1f%% (%d without a face, %d below the threshold: 'unknown')%n",
        score.correct(), score.asked(), score.asked() == 0 ? 0.0 : 100.0 * score.correct() / score.asked(), score.noFace(), score.unknown());
    out.printf("shards:  %s%nmodel:   %s (model-card.md, plots/)%nindex:   %s%n", shards, model, where(index));
    out.printf("next:    ./mfn %s   (the web page on this index)%n",
        String.join(" ", withIndex(List.of("serve", "--model", model.toString()), index)));
  }

  private void table(PrintWriter out) {
    out.printf("%-8s %10s %10s %9s %10s%n", "stage", "in", "out", "seconds", "per second");
    for (Stage s : stages.values()) {
      // training's rate is images seen (out); every other stage's is what came in
      long counted = s.what().equals("train") ? s.out() : s.in();
      out.printf(Locale.ROOT, "%-8s %10d %10d %9.1f %10.1f %s/s%n", s.what(), s.in(), s.out(), s.seconds(),
          s.seconds() > 0 ? counted / s.seconds() : 0.0, s.unit());
    }
  }

  /** The demo's model store, kept across runs: each run's model is a new version, never reused. */
  private Path store() {
    return (work != null ? work : settings.home().resolve("demo")).resolve("models").toAbsolutePath();
  }

  /** The index options the stages share: the run's embedded index folder, or --es. */
  private IndexOptions indexOptions(Path index) {
    IndexOptions options = new IndexOptions();
    options.index = index;
    options.es = es;
    return options;
  }

  private String where(Path index) {
    return es != null ? "Elasticsearch at " + es : index.toString();
  }

  private String[] withIndex(List<String> args, Path index) {
    List<String> all = new ArrayList<>(args);
    all.addAll(es != null ? List.of("--es", es) : List.of("--index", index.toString()));
    return all.toArray(String[]::new);
  }

  /**
   * A cluster may already hold an index of the same version name made by another model (version
   * names are per model store); the demo must not mix its vectors into it.
   */
  private boolean indexIsNew(Path model) throws Exception {
    if (es == null) {
      return true; // each run has its own index folder
    }
    String version = EmbeddingModels.version(model);
    if (indexOptions(null).versions(settings).contains(version)) {
      spec.commandLine().getErr().println("mfn demo: " + es + " already has an index for model version " + version
          + " (" + dev.mfn.search.index.ElasticsearchVectorIndex.indexName(version) + "), made with another model: delete it or use another cluster");
      return false;
    }
    return true;
  }

  /** Runs one stage, recording its time; returns the command's exit code. */
  private int timed(String what, long in, long out, String unit, Callable<Integer> stage) throws Exception {
    long start = System.nanoTime();
    int code = stage.call();
    stages.put(what, new Stage(what, in, out, (System.nanoTime() - start) / 1e9, unit));
    if (code != 0) {
      spec.commandLine().getErr().println("mfn demo: the " + what + " stage failed (exit " + code + "); see above");
    }
    return code;
  }

  private void replace(String what, long out) {
    Stage s = stages.get(what);
    stages.put(what, new Stage(s.what(), s.in(), out, s.seconds(), s.unit()));
  }

  /** A subcommand, as a user would type it, with this command's output streams. */
  private int sub(String... args) {
    return sub(List.of(args));
  }

  private int sub(List<String> args) {
    List<String> all = new ArrayList<>(args);
    if (noProgress && !List.of("serve", "retrain-controller").contains(args.get(0))) { // they draw no bars
      all.add("--no-progress");
    }
    PrintWriter out = spec.commandLine().getOut();
    out.println("$ mfn " + String.join(" ", all));
    out.flush();
    return Mfn.run(settings, out, spec.commandLine().getErr(), all.toArray(String[]::new));
  }

  /** LFW's protocol shrunk to --lfw-pairs, the same number of same and different pairs per fold. */
  private Path lfwSlice(Path lfwDir, Path to) throws java.io.IOException {
    return dev.mfn.evaluate.PairSets.lfwSlice(lfwDir, to, lfwPairs);
  }

  private static List<Path> folders(Path dir) throws java.io.IOException {
    try (Stream<Path> all = Files.list(dir)) {
      return all.filter(Files::isDirectory).sorted().toList();
    }
  }

  /**
   * Among the first --people folders (those the demo trains on), how many hold at least
   * {@link #MIN_PHOTOS} files (links followed, as publishing follows them; hidden files such as
   * .DS_Store not counted). Files are not decoded here: one that is no photo becomes a dead letter.
   */
  private long peopleWithPhotos(Path dir) throws java.io.IOException {
    long n = 0;
    for (Path person : folders(dir).stream().limit(people).toList()) {
      try (Stream<Path> files = Files.walk(person, java.nio.file.FileVisitOption.FOLLOW_LINKS)) {
        n += files.filter(f -> Files.isRegularFile(f) && !f.getFileName().toString().startsWith(".")).count() >= MIN_PHOTOS ? 1 : 0;
      }
    }
    return n;
  }

  private static List<Path> photosOf(Path person) throws java.io.IOException {
    try (Stream<Path> files = Files.walk(person)) {
      return files.filter(Files::isRegularFile).sorted().toList();
    }
  }

  private static void stopQuietly(KafkaBroker broker) {
    try {
      broker.stop();
    } catch (Exception e) {
      // the broker's own log says why; nothing more to do on the way out
    }
  }
}
