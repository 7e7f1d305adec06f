package dev.mfn.flink.embed;

import static dev.mfn.flink.common.JobSettings.optionalArg;

import org.apache.flink.util.ParameterTool;

/**
 * Arguments of the embed job when a Flink cluster runs it (`flink run`, or the Flink Kubernetes
 * operator's FlinkDeployment). The `mfn enroll` command builds the same {@link EmbedConfig} from
 * the project settings instead. Secrets never travel as arguments: the Elasticsearch password or
 * API key come from the environment (MFN_INDEX_ES_PASSWORD, MFN_INDEX_ES_API_KEY), which the
 * deployment fills from a Secret.
 */
public final class EmbedArguments {
  private EmbedArguments() {}

  public static final String USAGE =
      """
      --model PATH               an .onnx file or a model-store version folder (required; after a
                                 switch to an announced model, a restored job keeps that one)
      --bootstrap HOST:PORT      Kafka (default 127.0.0.1:9092)
      --topic T                  input topic (default images.enroll)
      --dlq-topic T              dead-letter topic (default images.dlq)
      --model-events T           follow this topic's model announcements (default: do not follow)
      --gate-pairs DIR           LFW-layout pair set (pairs.txt, images/) an announced model must verify
                                 on before the job switches to it (default: the pairs its training
                                 evaluated, when still there); --gate-tolerance F (default 0.01):
                                 accuracy it may lose against the model serving
      --erasures-topic T         tombstones of deleted subjects to honour (default subjects.deleted;
                                 "none": do not follow deletions)
      --group-id G               consumer group (default mfn-embed)
      --bounded                  stop at the end of what the topic holds now (default: keep running)
      --parallelism P            (default 1)   --batch N (default 32)   --batch-ms MS (default 200)
      --index-dir DIR            embedded Lucene index (when no --es-url)
      --es-url URL               Elasticsearch; --es-user U, --es-ca FILE; password/key from the environment
      --checkpoint-ms MS         (default 10000)   (checkpoint storage: the cluster's configuration)
      --blob-roots R1,R2         where photos sent by reference may be read (folders, file: or s3:// prefixes);
                                 default none: every photo by reference is a SOURCE_FORBIDDEN dead letter
      --all-faces                every face of a photo, not only the chosen one
      --detector blazeface|mtcnn|yunet (default blazeface) with --blazeface-dir DIR,
        --yunet-model FILE or --mtcnn-dir DIR; --min-score S (0.5), --min-face-size PX (20)
      """;

  /**
   * The arguments that {@link #parse} turns back into {@code c} (how the CLI submits to a cluster).
   * Elasticsearch secrets never travel as arguments nor in the job graph: the TaskManagers read them
   * from their settings (MFN_INDEX_ES_PASSWORD, MFN_INDEX_ES_API_KEY or the .file settings).
   */
  public static java.util.List<String> of(EmbedConfig c) {
    java.util.List<String> a = new java.util.ArrayList<>(java.util.List.of(
        "--model", c.model(), "--bootstrap", c.bootstrap(), "--topic", c.topic(), "--dlq-topic", c.deadLetterTopic(),
        "--group-id", c.groupId(), "--parallelism", String.valueOf(c.parallelism()),
        "--batch", String.valueOf(c.batchSize()), "--batch-ms", String.valueOf(c.batchMillis()),
        "--checkpoint-ms", String.valueOf(c.checkpointMillis()), "--checkpoint-dir", c.checkpointDir(),
        "--detector", c.detector(), "--min-score", String.valueOf(c.minScore()),
        "--min-face-size", String.valueOf(c.minFaceSize()), "--max-bytes", String.valueOf(c.maxBytes()),
        "--max-pixels", String.valueOf(c.maxPixels())));
    IndexTarget index = c.index();
    if (index.isLucene()) {
      a.addAll(java.util.List.of("--index-dir", index.luceneRoot()));
    } else {
      a.addAll(java.util.List.of("--es-url", index.esUrl()));
      optionalArg(a, "--es-user", index.esUser());
      optionalArg(a, "--es-ca", index.esCaCert());
    }
    optionalArg(a, "--model-events", c.modelEvents());
    optionalArg(a, "--gate-pairs", c.gate().pairs());
    a.addAll(java.util.List.of("--erasures-topic", c.erasures() == null ? "none" : c.erasures()));
    a.addAll(java.util.List.of("--gate-tolerance", String.valueOf(c.gate().tolerance())));
    optionalArg(a, "--blazeface-dir", c.blazefaceDir());
    optionalArg(a, "--yunet-model", c.yunetModel());
    optionalArg(a, "--mtcnn-dir", c.mtcnnDir());
    optionalArg(a, "--blob-roots", c.blobRoots() == null || c.blobRoots().isBlank() ? null : c.blobRoots());
    if (c.bounded()) {
      a.add("--bounded");
    }
    if (c.allFaces()) {
      a.add("--all-faces");
    }
    return a;
  }

  public static EmbedConfig parse(String[] args) {
    ParameterTool p = ParameterTool.fromArgs(args);
    if (!p.has("model") || !(p.has("index-dir") || p.has("es-url"))) {
      throw new IllegalArgumentException("--model and one of --index-dir, --es-url are required\n" + USAGE);
    }
    IndexTarget index = p.has("es-url")
        ? IndexTarget.elasticsearch(p.get("es-url"), p.get("es-user", null), p.get("es-ca", null))
        : IndexTarget.lucene(java.nio.file.Path.of(p.get("index-dir")));
    return new EmbedConfig(
        p.get("bootstrap", "127.0.0.1:9092"),
        p.get("topic", "images.enroll"),
        p.get("dlq-topic", "images.dlq"),
        p.get("model-events", null),
        p.get("group-id", "mfn-embed"),
        p.has("bounded"),
        p.getInt("parallelism", 1),
        p.get("model"),
        index,
        p.has("all-faces"),
        p.getInt("batch", 32),
        p.getLong("batch-ms", 200),
        p.getLong("checkpoint-ms", 10_000),
        p.get("checkpoint-dir", "/tmp/mfn-embed-checkpoints"),
        p.get("detector", "blazeface"),
        p.get("blazeface-dir", null),
        p.get("yunet-model", null),
        p.get("mtcnn-dir", null),
        p.getDouble("min-score", 0.5),
        p.getDouble("min-face-size", 20),
        p.getLong("max-bytes", 64L << 20),
        p.getLong("max-pixels", 60_000_000L),
        new EmbedConfig.GateSettings(p.get("gate-pairs", null), p.getDouble("gate-tolerance", 0.01)),
        "none".equals(p.get("erasures-topic", "subjects.deleted")) ? null : p.get("erasures-topic", "subjects.deleted"),
        p.get("blob-roots", ""));
  }
}
