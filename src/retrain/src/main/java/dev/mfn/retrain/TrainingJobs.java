package dev.mfn.retrain;

import dev.mfn.records.RetrainRequest;
import io.fabric8.kubernetes.api.model.PodTemplate;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Turns a RetrainRequest into a training Job: the pod comes from the cluster's PodTemplate
 * {@value #TEMPLATE} (image, GPU, node selector, tolerations, volumes: whatever the overlay made of
 * it), the trainer's arguments from the request. Pure: no cluster access, so it is tested alone.
 */
public final class TrainingJobs {
  public static final String TEMPLATE = "mfn-training";
  /** Every training Job carries this label, so the controller finds the ones that run. */
  public static final String COMPONENT_LABEL = "app.kubernetes.io/component";
  public static final String COMPONENT = "training";
  public static final String REQUEST_LABEL = "mfn.dev/request-id";
  /** The request's id as it was (the label holds a cleaned-up form): how a Job's end is told per request. */
  public static final String REQUEST_ANNOTATION = "mfn.dev/request-id";

  private TrainingJobs() {}

  /** A Job name from the request id: lower case, [a-z0-9-], at most 63 characters. */
  public static String name(RetrainRequest request) {
    String id = request.getRequestId().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9-]", "-").replaceAll("-+", "-");
    if (id.replace("-", "").isEmpty()) { // nothing usable in the id: name it by its hash
      id = Integer.toHexString(request.getRequestId().hashCode());
    }
    String name = ("mfn-train-" + id).replaceAll("-$", "");
    return name.length() <= 63 ? name : name.substring(0, 63).replaceAll("-$", "");
  }

  /** The trainer's arguments: the template's container args with the request's choices applied. */
  public static List<String> arguments(RetrainRequest request, List<String> templateArgs) {
    List<String> args = new ArrayList<>(templateArgs);
    if (request.getShardsUri() != null) {
      set(args, "--shards", request.getShardsUri());
    }
    if (request.getEpochs() != null) {
      remove(args, "--minutes"); // one of the two: the template's --minutes goes, with its value
      set(args, "--epochs", String.valueOf(request.getEpochs()));
    } else if (request.getMaxMinutes() != null) {
      remove(args, "--epochs");
      set(args, "--minutes", String.valueOf(request.getMaxMinutes()));
    }
    for (Map.Entry<String, String> p : request.getParameters().entrySet()) {
      if (!p.getKey().matches("[a-z][a-z0-9-]*")) {
        throw new IllegalArgumentException("parameter '" + p.getKey() + "' is not a trainer flag name");
      }
      set(args, "--" + p.getKey(), p.getValue());
    }
    return args;
  }

  private static void remove(List<String> args, String flag) {
    int at = args.indexOf(flag);
    if (at >= 0) {
      args.subList(at, Math.min(args.size(), at + 2)).clear();
    }
  }

  private static void set(List<String> args, String flag, String value) {
    int at = args.indexOf(flag);
    if (at >= 0 && at + 1 < args.size()) {
      args.set(at + 1, value);
    } else {
      if (at >= 0) {
        args.remove(at);
      }
      args.add(flag);
      args.add(value);
    }
  }

  /** The Job for a request, from the template. */
  public static Job job(RetrainRequest request, PodTemplate template) {
    PodTemplateSpec pod = new io.fabric8.kubernetes.api.model.PodTemplateSpecBuilder(template.getTemplate()).build();
    var container = pod.getSpec().getContainers().get(0);
    List<String> args = arguments(request, container.getArgs() == null ? List.of() : container.getArgs());
    container.setArgs(args);
    pod.getSpec().setRestartPolicy("Never"); // a failed run is a failed Job; Kubernetes retries it (backoffLimit)
    return new JobBuilder()
        .withNewMetadata()
            .withName(name(request))
            .addToLabels(COMPONENT_LABEL, COMPONENT)
            .addToLabels("app.kubernetes.io/part-of", "mfn")
            .addToLabels(REQUEST_LABEL, name(request).substring("mfn-train-".length()))
            .addToAnnotations("mfn.dev/requested-by", request.getRequestedBy())
            .addToAnnotations(REQUEST_ANNOTATION, request.getRequestId())
            .addToAnnotations("mfn.dev/reason", request.getReason().length() <= 1000 ? request.getReason()
                : request.getReason().substring(0, 1000) + "...")
        .endMetadata()
        .withNewSpec()
            .withBackoffLimit(1)
            // a model the gate refused (exit 3) is an answer, not a failure: no second training
            .withNewPodFailurePolicy()
                .addNewRule()
                    .withAction("FailJob")
                    .withNewOnExitCodes()
                        .withContainerName(container.getName())
                        .withOperator("In")
                        .withValues(3)
                    .endOnExitCodes()
                .endRule()
            .endPodFailurePolicy()
            .withTtlSecondsAfterFinished(7 * 24 * 3600)
            .withTemplate(pod)
        .endSpec()
        .build();
  }
}
