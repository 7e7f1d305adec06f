package dev.mfn.services;

import dev.mfn.config.MfnSettings;
import dev.mfn.services.detector.DetectorFiles;
import dev.mfn.services.elasticsearch.ElasticsearchServer;
import dev.mfn.services.flink.ClusterOptions;
import dev.mfn.services.flink.LocalFlinkCluster;
import dev.mfn.services.kafka.KafkaBroker;
import java.nio.file.Path;

/** The services a single machine runs, configured from {@link MfnSettings}. */
public final class LocalServices {
  private final MfnSettings settings;

  public LocalServices(MfnSettings settings) {
    this.settings = settings;
  }

  /** The broker whose data lives in {@code dataDir}, or in the build folder when null. */
  public KafkaBroker kafka(Path dataDir) {
    return new KafkaBroker(
        dataDir != null ? dataDir : settings.home().resolve("kafka"),
        settings.getInt("kafka.port"),
        settings.getInt("kafka.controller.port"));
  }

  /** The Elasticsearch node whose data lives in {@code dataDir} (build folder when null). */
  public ElasticsearchServer elasticsearch(Path dataDir, Integer port) {
    return new ElasticsearchServer(
        MfnSettings.pinnedVersion("elasticsearch.version"),
        settings.home().resolve("elasticsearch"),
        dataDir != null ? dataDir : settings.home().resolve("elasticsearch").resolve("node"),
        port != null ? port : settings.getInt("elasticsearch.port"),
        settings.get("elasticsearch.user"),
        settings.get("elasticsearch.heap"));
  }

  /** The local Flink session cluster, its files in {@code dataDir} (build/flink when null). */
  public LocalFlinkCluster flink(Path dataDir, ClusterOptions options) {
    return new LocalFlinkCluster(dataDir != null ? dataDir : settings.home().resolve("flink"), options);
  }

  /** The cluster's shape from the settings, with the given overrides (null: the setting). */
  public ClusterOptions flinkOptions(Integer taskManagers, Integer slots, Integer port) {
    return new ClusterOptions(
        taskManagers != null ? taskManagers : settings.getInt("flink.taskmanagers"),
        slots != null ? slots : settings.getInt("flink.slots"),
        port != null ? port : settings.getInt("flink.port"),
        1024,
        settings.getInt("flink.taskmanager.mb"));
  }

  /** Face photos for the demo when there is no data (an npm package's samples). */
  public DemoPhotos demoPhotos() {
    return new DemoPhotos(MfnSettings.pinnedVersion("face-api.version"), settings.home());
  }

  public DetectorFiles detector() {
    return new DetectorFiles(
        MfnSettings.pinnedVersion("mediapipe.face_detection.version"), settings.home());
  }
}
