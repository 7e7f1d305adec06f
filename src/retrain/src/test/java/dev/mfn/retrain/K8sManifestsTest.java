package dev.mfn.retrain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mfn.config.MfnSettings;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodTemplate;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.strimzi.api.kafka.model.kafka.Kafka;
import io.strimzi.api.kafka.model.nodepool.KafkaNodePool;
import io.strimzi.api.kafka.model.topic.KafkaTopic;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.flink.kubernetes.operator.api.FlinkDeployment;
import org.apache.flink.kubernetes.operator.api.spec.UpgradeMode;
import dev.mfn.services.flink.ClusterConfigFile;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every overlay of k8s/ renders with `kubectl kustomize`, and every object parses into its typed
 * model: fabric8 for Kubernetes' own kinds, Strimzi's API classes for Kafka, the Flink operator's
 * for FlinkDeployment (ECK has no Java model: its Elasticsearch is checked field by field). Then
 * what a cluster operator would check by eye: images pinned (no latest), resources on every
 * container, probes on the service, secrets only referenced, every topic present, durable
 * checkpoints, only the search service open to the outside, and the gpu overlay's GPU request.
 */
class K8sManifestsTest {
  private static final ObjectMapper YAML = new ObjectMapper(new com.fasterxml.jackson.dataformat.yaml.YAMLFactory())
      // the newest Flink operator API served here (1.10) predates Flink 2.x: its FlinkVersion enum
      // has no v2_1, which the manifests name (operator >= 1.13); that one field is checked as text
      .enable(DeserializationFeature.READ_UNKNOWN_ENUM_VALUES_AS_NULL);

  @ParameterizedTest
  @ValueSource(strings = {"local", "gpu"})
  void overlayRendersAndEveryObjectIsSound(String overlay) throws Exception {
    List<String> docs = render(overlay);
    List<HasMetadata> objects = new ArrayList<>();
    for (String doc : docs) {
      GenericKubernetesResource generic = YAML.readValue(doc, GenericKubernetesResource.class);
      HasMetadata typed = switch (generic.getKind()) {
        case "Deployment" -> YAML.readValue(doc, Deployment.class);
        case "Service" -> YAML.readValue(doc, Service.class);
        case "HorizontalPodAutoscaler" -> YAML.readValue(doc, HorizontalPodAutoscaler.class);
        case "NetworkPolicy" -> YAML.readValue(doc, NetworkPolicy.class);
        case "PodTemplate" -> YAML.readValue(doc, PodTemplate.class);
        case "Kafka" -> YAML.readValue(doc, Kafka.class);
        case "KafkaNodePool" -> YAML.readValue(doc, KafkaNodePool.class);
        case "KafkaTopic" -> YAML.readValue(doc, KafkaTopic.class);
        case "FlinkDeployment" -> YAML.readValue(doc, FlinkDeployment.class);
        default -> Serialization.unmarshal(doc);
      };
      assertThat(typed.getMetadata().getNamespace()).as(typed.getKind() + " " + typed.getMetadata().getName())
          .isIn("mfn", null); // the Namespace object itself has none
      assertThat(typed.getKind()).as("no Secret is ever inlined").isNotEqualTo("Secret");
      assertThat(doc).as("no latest tag").doesNotContain(":latest");
      objects.add(typed);
      if (typed instanceof GenericKubernetesResource g && g.getKind().equals("Elasticsearch")) {
        elasticsearch(g);
      }
    }
    assertThat(objects).extracting(HasMetadata::getKind).contains("Namespace", "ConfigMap", "PersistentVolumeClaim",
        "Kafka", "KafkaNodePool", "KafkaTopic", "Elasticsearch", "FlinkDeployment", "Deployment", "Service",
        "HorizontalPodAutoscaler", "PodTemplate", "NetworkPolicy", "ServiceAccount", "Role", "RoleBinding");

    for (HasMetadata o : objects) {
      if (o instanceof Deployment d) {
        containers(d.getSpec().getTemplate().getSpec(), d.getMetadata().getName());
      } else if (o instanceof PodTemplate t) {
        containers(t.getTemplate().getSpec(), t.getMetadata().getName());
      } else if (o instanceof FlinkDeployment f) {
        flink(f, docs);
      }
    }
    Deployment search = find(objects, Deployment.class, "mfn-search");
    Container server = search.getSpec().getTemplate().getSpec().getContainers().get(0);
    assertThat(server.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/ready"); // 503 while the index is down: out of rotation, not restarted
    assertThat(server.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/health");
    HorizontalPodAutoscaler hpa = find(objects, HorizontalPodAutoscaler.class, "mfn-search");
    assertThat(hpa.getSpec().getScaleTargetRef().getName()).isEqualTo("mfn-search");
    assertThat(hpa.getSpec().getMaxReplicas()).isGreaterThan(hpa.getSpec().getMinReplicas());
    assertThat(find(objects, Service.class, "mfn-search").getSpec().getSelector())
        .isEqualTo(search.getSpec().getSelector().getMatchLabels());

    topics(objects, overlay);
    networkPolicies(objects);
    monitoring(objects, search);

    PodTemplate training = find(objects, PodTemplate.class, TrainingJobs.TEMPLATE);
    PodSpec pod = training.getTemplate().getSpec();
    List<String> args = pod.getContainers().get(0).getArgs();
    // a retried Job (a pod evicted after hours) continues the first pod's run instead of starting over
    assertThat(args).contains("--resume-if-interrupted");
    // libtorch on CPU through glibc malloc: one arena, no mmap churn (half speed at batch 128 without)
    assertThat(pod.getContainers().get(0).getEnv()).extracting(EnvVar::getName)
        .contains("MALLOC_ARENA_MAX", "MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_");
    if (overlay.equals("gpu")) {
      assertThat(pod.getContainers().get(0).getResources().getLimits()).containsKey("nvidia.com/gpu");
      assertThat(pod.getNodeSelector()).containsEntry("nvidia.com/gpu.present", "true");
      assertThat(pod.getTolerations()).anySatisfy(t -> assertThat(t.getKey()).isEqualTo("nvidia.com/gpu"));
      // the pod is given N GPUs and the trainer uses exactly those: --device gpu:N, N the limit
      Quantity gpus = pod.getContainers().get(0).getResources().getLimits().get("nvidia.com/gpu");
      assertThat(gpus.getFormat()).as("nvidia.com/gpu is a plain count").isNullOrEmpty();
      int n = Integer.parseInt(gpus.getAmount());
      assertThat(n).isPositive();
      assertThat(args.get(args.indexOf("--device") + 1)).as("--device matches the nvidia.com/gpu limit").isEqualTo("gpu:" + n);
      // the device plugin sets NVIDIA_VISIBLE_DEVICES to the allocated GPUs; setting it ("all") would expose others
      List<Container> all = new ArrayList<>(pod.getContainers());
      if (pod.getInitContainers() != null) {
        all.addAll(pod.getInitContainers());
      }
      for (Container c : all) {
        assertThat(c.getEnv() == null ? List.<EnvVar>of() : c.getEnv()).as(c.getName() + " env")
            .extracting(EnvVar::getName).doesNotContain("NVIDIA_VISIBLE_DEVICES");
      }
      assertThat(pod.getContainers().get(0).getEnv()).extracting(EnvVar::getName).contains("PYTORCH_FLAVOR", "PYTORCH_LIBRARY_PATH");
    } else {
      assertThat(pod.getContainers().get(0).getResources().getLimits()).doesNotContainKey("nvidia.com/gpu");
      assertThat(args.get(args.indexOf("--device") + 1)).isEqualTo("cpu");
    }
    assertThat(pod.getVolumes()).extracting(v -> v.getPersistentVolumeClaim().getClaimName()).contains("mfn-shards", "mfn-models");
  }

  /** Pinned images, resources, non-root, and secrets only by reference. */
  private static void containers(PodSpec pod, String owner) {
    assertThat(pod.getSecurityContext().getRunAsNonRoot()).as(owner + " runs as non-root").isTrue();
    for (Container c : pod.getContainers()) {
      assertThat(c.getImage()).as(owner + " image").matches("[^:]+:[0-9][\\w.-]*");
      assertThat(c.getResources().getRequests()).as(owner + " requests").containsKeys("cpu", "memory");
      assertThat(c.getResources().getLimits()).as(owner + " limits").containsKey("memory");
      for (EnvVar e : c.getEnv() == null ? List.<EnvVar>of() : c.getEnv()) {
        if (e.getName().matches(".*(PASSWORD|API_KEY|SECRET|TOKEN).*")) {
          assertThat(e.getValue()).as(owner + " " + e.getName() + " inline").isNull();
          assertThat(e.getValueFrom().getSecretKeyRef()).as(owner + " " + e.getName()).isNotNull();
        }
      }
    }
  }

  private static void flink(FlinkDeployment f, List<String> docs) throws IOException {
    String name = f.getMetadata().getName();
    Map<String, String> conf = f.getSpec().getFlinkConfiguration();
    for (String key : List.of("execution.checkpointing.dir", "high-availability.storageDir",
        "execution.checkpointing.savepoint-dir")) {
      assertThat(conf.get(key)).as(name + " " + key + " on the shared volume").startsWith("file:///flink-data/");
    }
    assertThat(conf).containsEntry("high-availability.type", "kubernetes");
    // the settings the local cluster runs with (ClusterConfigFile), so what the tests prove holds here
    assertThat(conf).containsEntry("state.backend.type", "rocksdb")
        .containsEntry("execution.checkpointing.incremental", "true")
        .containsEntry("execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION")
        .containsEntry("execution.checkpointing.timeout", "30 min")
        .containsEntry("execution.checkpointing.tolerable-failed-checkpoints", "3")
        .containsEntry("classloader.parent-first-patterns.additional", ClusterConfigFile.PARENT_FIRST);
    assertThat(f.getSpec().getJob().getUpgradeMode()).isEqualTo(UpgradeMode.SAVEPOINT);
    // the jobs these args build carry their uids and max parallelism: FlinkDeploymentJobsTest (cli)
    assertThat(f.getSpec().getJob().getParallelism()).isPositive();
    assertThat(f.getSpec().getJob().getJarURI()).startsWith("local:///opt/flink/usrlib/");
    assertThat(f.getSpec().getJobManager().getResource().getMemory()).isNotBlank();
    assertThat(f.getSpec().getTaskManager().getResource().getCpu()).isPositive();
    assertThat(f.getSpec().getImage()).matches("[^:]+:[0-9][\\w.-]*");
    String raw = docs.stream().filter(d -> d.contains("name: " + name + "\n")).findFirst().orElseThrow();
    assertThat(YAML.readTree(raw).at("/spec/flinkVersion").asText()).isEqualTo("v2_1");
    var volumes = f.getSpec().getPodTemplate().getSpec().getVolumes();
    assertThat(volumes).anySatisfy(v -> assertThat(v.getPersistentVolumeClaim().getClaimName()).isEqualTo("mfn-flink-data"));
    containers(withDefaults(f), name);
  }

  /** The operator fills in the main container's image and resources; the rest must be there. */
  private static PodSpec withDefaults(FlinkDeployment f) {
    PodSpec pod = f.getSpec().getPodTemplate().getSpec();
    for (Container c : pod.getContainers()) {
      c.setImage(f.getSpec().getImage());
      c.setResources(new io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder()
          .addToRequests("cpu", new io.fabric8.kubernetes.api.model.Quantity(String.valueOf(f.getSpec().getTaskManager().getResource().getCpu())))
          .addToRequests("memory", new io.fabric8.kubernetes.api.model.Quantity(f.getSpec().getTaskManager().getResource().getMemory()))
          .addToLimits("memory", new io.fabric8.kubernetes.api.model.Quantity(f.getSpec().getTaskManager().getResource().getMemory()))
          .build());
    }
    return pod;
  }

  private static void topics(List<HasMetadata> objects, String overlay) {
    MfnSettings settings = MfnSettings.load();
    var t = settings.topics();
    List<KafkaTopic> topics = objects.stream().filter(KafkaTopic.class::isInstance).map(KafkaTopic.class::cast).toList();
    assertThat(topics).extracting(k -> k.getMetadata().getName())
        .containsExactlyInAnyOrder(t.train(), t.enroll(), t.deadLetters(), t.models(), t.retrain(),
            t.train() + ".labels", t.train() + ".cuts", t.deleted(), t.trainingRuns());
    assertThat(topics).filteredOn(k -> List.of(t.train() + ".labels", t.deleted()).contains(k.getMetadata().getName()))
        .hasSize(2)
        .allSatisfy(k -> assertThat(k.getSpec().getConfig()).containsEntry("cleanup.policy", "compact").containsEntry("retention.ms", "-1"));
    // the enroll topic holds people's photos: finite retention, so an erased person's photos leave Kafka too
    assertThat(topics).filteredOn(k -> k.getMetadata().getName().equals(t.enroll()))
        .allSatisfy(k -> assertThat(Long.parseLong(k.getSpec().getConfig().get("retention.ms").toString())).isPositive());
    Kafka kafka = objects.stream().filter(Kafka.class::isInstance).map(Kafka.class::cast).findFirst().orElseThrow();
    for (KafkaTopic topic : topics) {
      assertThat(topic.getMetadata().getLabels()).containsEntry("strimzi.io/cluster", kafka.getMetadata().getName());
      assertThat(topic.getSpec().getPartitions()).isPositive();
      assertThat(topic.getSpec().getReplicas()).isEqualTo(overlay.equals("local") ? 1 : 3);
      assertThat(topic.getSpec().getConfig()).containsKeys("retention.ms", "max.message.bytes");
    }
  }

  private static void networkPolicies(List<HasMetadata> objects) {
    List<NetworkPolicy> policies = objects.stream().filter(NetworkPolicy.class::isInstance).map(NetworkPolicy.class::cast).toList();
    NetworkPolicy deny = policies.stream().filter(p -> p.getMetadata().getName().equals("default-deny-ingress")).findFirst().orElseThrow();
    assertThat(deny.getSpec().getPodSelector().getMatchLabels()).isNullOrEmpty();
    assertThat(deny.getSpec().getIngress()).isNullOrEmpty();
    // a rule with no "from" admits anyone: only the search service may have one
    for (NetworkPolicy p : policies) {
      for (var rule : p.getSpec().getIngress()) {
        if (rule.getFrom() == null || rule.getFrom().isEmpty()) {
          assertThat(p.getSpec().getPodSelector().getMatchLabels()).as(p.getMetadata().getName())
              .containsEntry("app.kubernetes.io/name", "mfn-search");
        } else {
          assertThat(rule.getFrom()).allSatisfy(peer -> assertThat(peer.getIpBlock()).as(p.getMetadata().getName()).isNull());
        }
      }
    }
  }

  /**
   * What Prometheus scrapes and Grafana shows: the ServiceMonitor's port is a port of the search
   * Service, which reaches the container's metrics port (the one --metrics-port serves; 8080 faces
   * the world and has no /metrics then); the PodMonitor's port is declared in both FlinkDeployments,
   * whose reporter listens there; the dashboard ConfigMap carries the sidecar's label and the
   * dashboard's JSON as it is in the repository.
   */
  private static void monitoring(List<HasMetadata> objects, Deployment search) throws IOException {
    Container server = search.getSpec().getTemplate().getSpec().getContainers().get(0);
    List<String> args = server.getArgs();
    String metricsPort = args.get(args.indexOf("--metrics-port") + 1);
    assertThat(server.getPorts()).anySatisfy(p -> {
      assertThat(p.getName()).isEqualTo("metrics");
      assertThat(String.valueOf(p.getContainerPort())).isEqualTo(metricsPort);
    });
    GenericKubernetesResource serviceMonitor = generic(objects, "ServiceMonitor", "mfn-search");
    var endpoint = YAML.valueToTree(serviceMonitor.getAdditionalProperties().get("spec")).at("/endpoints/0");
    assertThat(endpoint.path("path").asText()).isEqualTo("/metrics");
    Service service = find(objects, Service.class, "mfn-search");
    assertThat(service.getSpec().getPorts()).anySatisfy(p -> {
      assertThat(p.getName()).isEqualTo(endpoint.path("port").asText());
      assertThat(p.getTargetPort().getStrVal()).isEqualTo("metrics");
    });
    Map<String, String> selector = YAML.convertValue(
        YAML.valueToTree(serviceMonitor.getAdditionalProperties().get("spec")).at("/selector/matchLabels"),
        new com.fasterxml.jackson.core.type.TypeReference<Map<String, String>>() {});
    assertThat(selector).as("selects the Service by labels it has").isNotEmpty();
    assertThat(service.getMetadata().getLabels()).containsAllEntriesOf(selector);

    // and Prometheus (namespace monitoring) may reach that port: a changed --metrics-port cannot
    // silently cut the scrape off
    assertThat(objects).filteredOn(NetworkPolicy.class::isInstance).map(NetworkPolicy.class::cast)
        .filteredOn(p -> "mfn-search".equals(p.getSpec().getPodSelector().getMatchLabels() == null ? null
            : p.getSpec().getPodSelector().getMatchLabels().get("app.kubernetes.io/name")))
        .anySatisfy(p -> assertThat(p.getSpec().getIngress()).anySatisfy(rule -> {
          assertThat(rule.getFrom()).anySatisfy(peer -> assertThat(peer.getNamespaceSelector().getMatchLabels())
              .containsEntry("kubernetes.io/metadata.name", "monitoring"));
          assertThat(rule.getPorts()).anySatisfy(port -> assertThat(String.valueOf(port.getPort().getIntVal())).isEqualTo(metricsPort));
        }));

    GenericKubernetesResource podMonitor = generic(objects, "PodMonitor", "mfn-flink");
    String podPort = YAML.valueToTree(podMonitor.getAdditionalProperties().get("spec")).at("/podMetricsEndpoints/0/port").asText();
    for (HasMetadata o : objects) {
      if (o instanceof FlinkDeployment f) {
        assertThat(f.getSpec().getFlinkConfiguration()).containsEntry("metrics.reporter.prom.factory.class",
            "org.apache.flink.metrics.prometheus.PrometheusReporterFactory");
        String reporterPort = f.getSpec().getFlinkConfiguration().get("metrics.reporter.prom.port");
        assertThat(f.getSpec().getPodTemplate().getSpec().getContainers().get(0).getPorts()).anySatisfy(p -> {
          assertThat(p.getName()).isEqualTo(podPort);
          assertThat(String.valueOf(p.getContainerPort())).isEqualTo(reporterPort);
        });
        // the image's entrypoint copies these from opt/ and fails on a name it lacks; the
        // Prometheus reporter is a plugin already (plugins/metrics-prometheus), never named here
        assertThat(f.getSpec().getPodTemplate().getSpec().getContainers().get(0).getEnv())
            .filteredOn(e -> e.getName().equals("ENABLE_BUILT_IN_PLUGINS"))
            .allSatisfy(e -> assertThat(e.getValue()).doesNotContain("metrics"));
      }
    }
    io.fabric8.kubernetes.api.model.ConfigMap dashboard = objects.stream()
        .filter(o -> o.getKind().equals("ConfigMap") && o.getMetadata().getName().equals("mfn-grafana-dashboard"))
        .map(o -> o instanceof io.fabric8.kubernetes.api.model.ConfigMap c ? c : null).findFirst().orElseThrow();
    assertThat(dashboard.getMetadata().getLabels()).containsEntry("grafana_dashboard", "1");
    assertThat(YAML.readTree(dashboard.getData().get("grafana-dashboard.json")))
        .isEqualTo(YAML.readTree(dev.mfn.testkit.DashboardQueries.dashboard().toFile()));
  }

  private static GenericKubernetesResource generic(List<HasMetadata> objects, String kind, String name) {
    return objects.stream().filter(o -> o.getKind().equals(kind) && o.getMetadata().getName().equals(name))
        .map(GenericKubernetesResource.class::cast).findFirst()
        .orElseThrow(() -> new AssertionError("no " + kind + " " + name));
  }

  /** ECK: TLS on, users from a referenced Secret, resources on the Elasticsearch container. */
  private static void elasticsearch(GenericKubernetesResource es) {
    var spec = YAML.valueToTree(es.getAdditionalProperties().get("spec"));
    assertThat(spec.at("/http/tls/selfSignedCertificate/disabled").asBoolean(true)).as("TLS disabled").isFalse();
    assertThat(spec.at("/auth/fileRealm/0/secretName").asText()).isNotBlank();
    assertThat(spec.at("/version").asText()).isEqualTo(MfnSettings.pinnedVersion("elasticsearch.version"));
    var container = spec.at("/nodeSets/0/podTemplate/spec/containers/0/resources");
    assertThat(container.at("/requests/memory").asText()).isNotBlank();
    assertThat(container.at("/limits/memory").asText()).isNotBlank();
  }

  private static <T extends HasMetadata> T find(List<HasMetadata> objects, Class<T> type, String name) {
    return objects.stream().filter(type::isInstance).map(type::cast)
        .filter(o -> o.getMetadata().getName().equals(name)).findFirst().orElseThrow();
  }

  /** `kubectl kustomize` of an overlay, split into its documents. */
  static List<String> render(String overlay) throws IOException, InterruptedException {
    Path dir = MfnSettings.load().repo().resolve("k8s/overlays").resolve(overlay);
    assumeTrue(onPath("kubectl"), "skipped: kubectl not found (it renders the Kustomize overlays)");
    Process p = new ProcessBuilder("kubectl", "kustomize", dir.toString()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    List<String> docs = new ArrayList<>();
    for (String doc : out.split("(?m)^---\\s*$")) {
      if (!doc.isBlank()) {
        docs.add(doc.strip() + "\n");
      }
    }
    return docs;
  }

  private static boolean onPath(String command) {
    return Stream.of(System.getenv("PATH").split(":")).anyMatch(d -> Files.isExecutable(Path.of(d, command)));
  }
}
