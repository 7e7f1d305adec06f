package dev.mfn.config;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;

/**
 * The one place for configuration. Every command and job reads its defaults from here.
 *
 * <p>Values come, highest precedence first, from: Java system properties ({@code -Dmfn.x=...}),
 * environment variables ({@code MFN_X}, dots as underscores), the properties file named by
 * {@code MFN_CONFIG} or {@code <repo>/mfn.properties} when present, then the defaults below, which
 * work on one machine. Command-line flags override all of these in the commands themselves.
 */
public final class MfnSettings {
  /** Defaults that work on one machine; keys are documented in mfn.properties.example. */
  private static final Map<String, String> DEFAULTS =
      Map.ofEntries(
          Map.entry("kafka.bootstrap", "127.0.0.1:9092"),
          Map.entry("kafka.port", "9092"),
          Map.entry("kafka.controller.port", "9093"),
          Map.entry("kafka.partitions", "4"),
          // Kafka security (KafkaSecurity): empty = PLAINTEXT; SASL_SSL with SCRAM for
          // `mfn services start kafka --secure`. The password: MFN_KAFKA_SASL_PASSWORD or the file.
          Map.entry("kafka.security.protocol", ""),
          Map.entry("kafka.sasl.mechanism", "SCRAM-SHA-512"),
          Map.entry("kafka.sasl.username", "mfn"),
          Map.entry("kafka.sasl.password", ""),
          Map.entry("kafka.sasl.password.file", ""),
          Map.entry("kafka.ssl.ca", ""),
          Map.entry("topic.train", "images.train"),
          Map.entry("topic.enroll", "images.enroll"),
          Map.entry("topic.dlq", "images.dlq"),
          Map.entry("topic.models", "models.events"),
          Map.entry("topic.retrain", "training.requests"),
          // what the retraining controller did with each request: started, refused, how the run ended (JSON)
          Map.entry("topic.training-runs", "training.runs"),
          // tombstones of deleted subjects (compacted): the embed job and re-indexing honour them
          Map.entry("topic.deleted", "subjects.deleted"),
          // Kafka's default message size: a RawImage whose encoded record is larger goes by URI.
          Map.entry("publish.inline.limit.bytes", "1048576"),
          // Where the jobs may read photos sent by reference (comma-separated folders, file: URIs or
          // s3://bucket/prefix/ with Flink's S3 plugin); anything else is a SOURCE_FORBIDDEN dead
          // letter. `mfn publish` copies photos that go by reference into the first local one.
          Map.entry("blob.roots", "build/blobs"),
          // Photos larger than this are refused outright (reason OVER_SIZE_LIMIT).
          Map.entry("publish.max.image.bytes", "67108864"),
          // a Flink session cluster's REST address (HOST:PORT) for ingest/enroll/jobs; empty: the
          // jobs run on Flink's local MiniCluster inside the command
          Map.entry("flink.rest", ""),
          // the local session cluster of `mfn services start flink`
          Map.entry("flink.port", "8081"),
          Map.entry("flink.taskmanagers", "2"),
          Map.entry("flink.slots", "2"),
          Map.entry("flink.taskmanager.mb", "2048"),
          Map.entry("elasticsearch.port", "9200"),
          Map.entry("elasticsearch.user", "mfn-es"),
          Map.entry("elasticsearch.heap", "512m"),
          // Face core. Relative paths are resolved against the repository root.
          Map.entry("detector", "blazeface"),
          Map.entry("detector.min.score", "0.5"),
          Map.entry("detector.min.face.size", "20"),
          Map.entry("detector.yunet.model", "../shared/models/yunet/face_detection_yunet_2023mar.onnx"),
          Map.entry("detector.mtcnn.dir", "../shared/models/mtcnn"),
          Map.entry("decode.max.bytes", "67108864"),
          Map.entry("decode.max.pixels", "60000000"),
          Map.entry("embed.batch.size", "32"),
          // the longest a face waits in the embed job's index sink before it is written and
          // searchable (besides every checkpoint); 0: on checkpoints only
          Map.entry("index.visible.millis", "500"),
          // the false-accept rate a trained model's 1:N "unknown" threshold is chosen for
          Map.entry("search.target.far", "1e-4"),
          // the committed default model (a model-store version folder), used when --model is not given
          Map.entry("model.default", "models/default"),
          // auto: a version's model.onnx on ONNX Runtime when current, else PyTorch; onnx; pytorch
          Map.entry("model.runtime", "auto"),
          // ONNX Runtime's threads per model (0: one per core)
          Map.entry("onnx.threads", "0"),
          Map.entry("model.store", "build/model-store"),
          // the embedded vector index (Lucene), one folder per model version
          Map.entry("index.dir", "build/index"),
          // Elasticsearch instead of the embedded index when set (https: TLS, with index.es.ca as
          // the CA file); credentials: an API key, or a user and password (MFN_INDEX_ES_PASSWORD)
          Map.entry("index.es.url", ""),
          Map.entry("index.es.user", ""),
          Map.entry("index.es.password", ""),
          Map.entry("index.es.api.key", ""),
          Map.entry("index.es.ca", ""),
          // the REST service's API key; empty: `mfn serve` generates one per run and prints it
          Map.entry("serve.api.key", ""),
          // secrets may also come from files (Kubernetes secret volumes): KEY.file names one
          Map.entry("serve.api.key.file", ""),
          Map.entry("index.es.password.file", ""),
          Map.entry("index.es.api.key.file", ""),
          // scoped API keys, stored hashed (`mfn keys create|list|revoke`)
          Map.entry("serve.keys.file", "build/serve/keys.json"),
          // model workers of `mfn serve` (each its own detector and model): requests run in parallel
          Map.entry("serve.workers", "2"),
          Map.entry("serve.max.k", "100"),
          // GET /metrics on a port of its own (empty: on the service's port; see ServerOptions.metricsPort)
          Map.entry("serve.metrics.port", ""),
          // per API key: requests per second on average, and the burst allowed (0: no limit)
          Map.entry("serve.rate.per.second", "20"),
          Map.entry("serve.rate.burst", "40"),
          // HTTPS for `mfn serve`: a PKCS12 keystore, its password as a secret (env or .file)
          Map.entry("serve.tls.keystore", ""),
          Map.entry("serve.tls.keystore.password", ""),
          Map.entry("serve.tls.keystore.password.file", ""),
          // who enrolled, deleted or asked for retraining, when (JSON records)
          Map.entry("topic.audit", "audit.events"));

  private final Properties values;
  private final Path home;
  private final Path repo;

  private MfnSettings(Properties values, Path repo, Path home) {
    this.values = values;
    this.repo = repo;
    this.home = home;
  }

  /** Loads settings for this process from the environment, as described above. */
  public static MfnSettings load() {
    return load(System.getenv(), System.getProperties());
  }

  static MfnSettings load(Map<String, String> env, Properties system) {
    Path repo = Path.of(system.getProperty("mfn.repo", ".")).toAbsolutePath().normalize();
    Properties merged = new Properties();
    DEFAULTS.forEach(merged::setProperty);
    Path file =
        env.containsKey("MFN_CONFIG") ? Path.of(env.get("MFN_CONFIG")) : repo.resolve("mfn.properties");
    if (Files.isRegularFile(file)) {
      try (Reader reader = Files.newBufferedReader(file)) {
        merged.load(reader);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read settings file " + file, e);
      }
    }
    for (String key : Map.copyOf(toMap(merged)).keySet()) {
      String envValue = env.get("MFN_" + key.toUpperCase().replace('.', '_'));
      if (envValue != null) {
        merged.setProperty(key, envValue);
      }
      String sys = system.getProperty("mfn." + key);
      if (sys != null) {
        merged.setProperty(key, sys);
      }
    }
    String homeValue = env.getOrDefault("MFN_HOME", system.getProperty("mfn.home"));
    Path home = homeValue != null ? Path.of(homeValue) : repo.resolve("build");
    return new MfnSettings(merged, repo, home.toAbsolutePath().normalize());
  }

  private static Map<String, String> toMap(Properties p) {
    java.util.HashMap<String, String> m = new java.util.HashMap<>();
    p.stringPropertyNames().forEach(k -> m.put(k, p.getProperty(k)));
    return m;
  }

  /** The repository root (set by the launcher), used to find ../shared data next to it. */
  public Path repo() {
    return repo;
  }

  /**
   * The build folder for everything the project fetches, starts or writes at run time: service
   * data, logs, pid files, the detector files. Git ignores it.
   */
  public Path home() {
    return home;
  }

  public String get(String key) {
    String v = values.getProperty(key);
    if (v == null) {
      throw new IllegalArgumentException("unknown setting " + key);
    }
    return v;
  }

  /** A path setting; relative values are resolved against the repository root. */
  public Path getPath(String key) {
    return repo.resolve(get(key)).normalize();
  }

  /**
   * A secret: the setting's value (from the environment or the settings file, never a command-line
   * flag), else the first line of the file named by {@code KEY.file}; empty when neither is set.
   */
  public String secret(String key) {
    String value = get(key);
    if (!value.isBlank()) {
      return value;
    }
    String file = values.getProperty(key + ".file", "");
    if (file.isBlank()) {
      return "";
    }
    try {
      String text = Files.readString(repo.resolve(file.trim()));
      int end = text.indexOf('\n');
      return (end >= 0 ? text.substring(0, end) : text).trim();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the secret file of " + key + " (" + file + ")", e);
    }
  }

  public double getDouble(String key) {
    return Double.parseDouble(get(key).trim());
  }

  public int getInt(String key) {
    return Integer.parseInt(get(key).trim());
  }

  public long getLong(String key) {
    return Long.parseLong(get(key).trim());
  }

  /**
   * The blob roots (setting {@code blob.roots}) as a comma-separated list of absolute URIs:
   * relative folders are resolved against the repository root.
   */
  public String blobRoots() {
    java.util.List<String> roots = new java.util.ArrayList<>();
    for (String root : get("blob.roots").split(",")) {
      String r = root.trim();
      if (r.isEmpty()) {
        continue;
      }
      roots.add(r.contains("://") || r.startsWith("file:") ? r : repo.resolve(r).normalize().toUri().toString());
    }
    return String.join(",", roots);
  }

  /** The first local blob root: where photos that go by reference are copied; null when none is local. */
  public Path blobDir() {
    for (String root : blobRoots().split(",")) {
      if (root.startsWith("file:")) {
        return Path.of(java.net.URI.create(root));
      }
    }
    return null;
  }

  public String kafkaBootstrap() {
    return get("kafka.bootstrap");
  }

  public Topics topics() {
    return new Topics(
        get("topic.train"),
        get("topic.enroll"),
        get("topic.dlq"),
        get("topic.models"),
        get("topic.retrain"),
        get("topic.deleted"),
        get("topic.training-runs"));
  }

  /** Version of a service or model file we fetch, pinned in the parent pom (versions.properties). */
  public static String pinnedVersion(String key) {
    Properties p = new Properties();
    try (InputStream in = MfnSettings.class.getResourceAsStream("versions.properties")) {
      p.load(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    String v = p.getProperty(key);
    if (v == null || v.startsWith("${")) {
      throw new IllegalStateException("version " + key + " not pinned by the build");
    }
    return v;
  }

  /** Kafka topic names. */
  public record Topics(String train, String enroll, String deadLetters, String models, String retrain, String deleted,
      String trainingRuns) {}
}
