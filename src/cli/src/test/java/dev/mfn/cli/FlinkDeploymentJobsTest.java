package dev.mfn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.mfn.flink.common.JobSettings;
import dev.mfn.flink.embed.EmbedArguments;
import dev.mfn.flink.embed.EmbedJob;
import dev.mfn.flink.ingest.IngestArguments;
import dev.mfn.flink.ingest.IngestJob;
import java.lang.reflect.Modifier;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamNode;
import org.junit.jupiter.api.Test;

/**
 * Builds each Kubernetes FlinkDeployment's job from its entry class and arguments, as the
 * operator's JobManager does, and checks that every stateful operator has its fixed uid and the
 * job its fixed max parallelism: what lets the deployment's savepoints restore into a new version
 * of the job or another parallelism (the local cluster tests prove the restore itself).
 */
class FlinkDeploymentJobsTest {
  @Test
  void everyDeployedJobCarriesItsUidsAndMaxParallelism() throws Exception {
    Path file = Path.of(System.getProperty("mfn.repo", "../..")).resolve("k8s/base/flink-jobs.yaml");
    ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
    List<JsonNode> deployments = new ArrayList<>();
    try (var docs = yaml.readerFor(JsonNode.class).readValues(file.toFile())) {
      while (docs.hasNext()) {
        JsonNode doc = (JsonNode) docs.next();
        if (doc != null && "FlinkDeployment".equals(doc.path("kind").asText())) {
          deployments.add(doc);
        }
      }
    }
    assertThat(deployments).hasSize(2);
    Set<String> entries = new HashSet<>();
    for (JsonNode d : deployments) {
      String entry = d.at("/spec/job/entryClass").asText();
      entries.add(entry);
      List<String> args = new ArrayList<>();
      d.at("/spec/job/args").forEach(a -> args.add(a.asText()));
      check(entry, args.toArray(String[]::new));
    }
    assertThat(entries).containsExactlyInAnyOrder(IngestJob.class.getName(), EmbedJob.class.getName());
  }

  private static void check(String entry, String[] args) {
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    Class<?> job = entry.equals(IngestJob.class.getName()) ? IngestJob.class : EmbedJob.class;
    if (job == IngestJob.class) {
      IngestJob.fromConfig(IngestArguments.parse(args)).build(env);
    } else {
      EmbedJob.fromConfig(EmbedArguments.parse(args)).build(env);
    }
    Set<String> uids = new HashSet<>();
    for (StreamNode node : env.getStreamGraph().getStreamNodes()) {
      if (node.getTransformationUID() != null) {
        uids.add(node.getTransformationUID());
      }
      assertThat(node.getMaxParallelism()).as(entry + " " + node.getOperatorName()).isEqualTo(JobSettings.MAX_PARALLELISM);
    }
    List<String> declared = new ArrayList<>();
    for (var f : job.getFields()) {
      if (f.getName().startsWith("UID_") && Modifier.isStatic(f.getModifiers())) {
        try {
          declared.add((String) f.get(null));
        } catch (IllegalAccessException e) {
          throw new AssertionError(e);
        }
      }
    }
    assertThat(declared).isNotEmpty();
    assertThat(uids).as(entry + " uids").containsAll(declared);
  }
}
