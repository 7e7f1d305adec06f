package dev.mfn.retrain;

import dev.mfn.records.RetrainRequest;
import io.fabric8.kubernetes.api.model.PodTemplate;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.Comparator;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place that starts training on a cluster: every RetrainRequest (from `mfn retrain`,
 * `POST /retrain` or the training.requests topic) comes here, and becomes a training Job, unless one
 * still runs: then it is refused, with the name of the Job that runs. Requests are handled one at a
 * time, so two cannot both find the cluster idle.
 */
public final class RetrainController implements TrainingExecutor {
  private static final Logger LOG = LoggerFactory.getLogger(RetrainController.class);
  private final KubernetesClient client;
  private final String namespace;

  public RetrainController(KubernetesClient client, String namespace) {
    this.client = client;
    this.namespace = namespace;
  }

  /** What became of a request. */
  public record Outcome(Kind kind, String job, String message) {
    public enum Kind { CREATED, REFUSED, INVALID }
  }

  /** A training Job and where it stands ({@code requestId}: null on Jobs made before it was recorded). */
  public record JobState(String name, String state, String requestedBy, String reason, String requestId) {}

  @Override
  public synchronized Outcome submit(RetrainRequest request) {
    List<JobState> running = jobs().stream().filter(j -> j.state().equals("Running")).toList();
    if (!running.isEmpty()) {
      String message = "training job " + running.get(0).name() + " is still running; request " + request.getRequestId() + " refused";
      LOG.info(message);
      return new Outcome(Outcome.Kind.REFUSED, running.get(0).name(), message);
    }
    PodTemplate template = client.v1().podTemplates().inNamespace(namespace).withName(TrainingJobs.TEMPLATE).get();
    if (template == null) {
      return new Outcome(Outcome.Kind.INVALID, null, "no PodTemplate " + TrainingJobs.TEMPLATE + " in namespace " + namespace
          + " (apply the k8s overlay first)");
    }
    Job job;
    try {
      job = TrainingJobs.job(request, template);
    } catch (IllegalArgumentException e) {
      return new Outcome(Outcome.Kind.INVALID, null, e.getMessage());
    }
    try {
      client.batch().v1().jobs().inNamespace(namespace).resource(job).create();
    } catch (KubernetesClientException e) {
      if (e.getCode() == 409) { // the same request again (a replayed record): its Job exists already
        return new Outcome(Outcome.Kind.REFUSED, job.getMetadata().getName(), "request " + request.getRequestId() + " has a job already");
      }
      throw e;
    }
    LOG.info("created training job {} for request {}", job.getMetadata().getName(), request.getRequestId());
    return new Outcome(Outcome.Kind.CREATED, job.getMetadata().getName(), "created training job " + job.getMetadata().getName());
  }

  /** Every training Job in the namespace, newest first, with its state. */
  public List<JobState> jobs() {
    return trainingJobs().stream()
        .map(j -> new JobState(j.getMetadata().getName(), state(j),
            annotation(j, "mfn.dev/requested-by"), annotation(j, "mfn.dev/reason"), annotation(j, TrainingJobs.REQUEST_ANNOTATION)))
        .toList();
  }

  private List<Job> trainingJobs() {
    return client.batch().v1().jobs().inNamespace(namespace).withLabel(TrainingJobs.COMPONENT_LABEL, TrainingJobs.COMPONENT)
        .list().getItems().stream()
        .sorted(Comparator.comparing((Job j) -> String.valueOf(j.getMetadata().getCreationTimestamp())).reversed())
        .toList();
  }

  /** Succeeded or Failed by the Job's conditions; anything else still holds the cluster. */
  static String state(Job job) {
    if (job.getStatus() != null && job.getStatus().getConditions() != null) {
      for (var c : job.getStatus().getConditions()) {
        if ("True".equals(c.getStatus()) && "Complete".equals(c.getType())) {
          return "Succeeded";
        }
        if ("True".equals(c.getStatus()) && "Failed".equals(c.getType())) {
          return refusedByGate(job) ? "RefusedByGate" : "Failed";
        }
      }
    }
    return "Running";
  }

  /**
   * Whether a failed Job failed because its pod's trainer exited {@value
   * LocalTrainingExecutor#REFUSED_BY_GATE} (the gate refused the model): the Job's only pod
   * failure policy rule ({@link TrainingJobs#job}) fails it on that exit code, and Kubernetes then
   * gives the Failed condition the reason PodFailurePolicy (any other failure: BackoffLimitExceeded,
   * DeadlineExceeded, ...). The reason is API; the condition's message is not, so it is not read.
   */
  private static boolean refusedByGate(Job job) {
    return job.getStatus().getConditions().stream().anyMatch(c -> "True".equals(c.getStatus())
        && ("Failed".equals(c.getType()) || "FailureTarget".equals(c.getType()))
        && "PodFailurePolicy".equals(c.getReason()));
  }

  /**
   * How the Jobs that ended and whose end was not told yet ended, as training.runs events: the
   * controller calls this now and then, publishes each and then calls {@link #told} with its Job.
   * The mark is on the Job itself (annotation {@value #END_TOLD}), so an end that came while the
   * controller was down, or whose event the broker did not take, is told on a later look, and none
   * is told twice across restarts. Jobs made before request ids were recorded are left alone.
   */
  public List<TrainingRunEvent> untoldEnds() {
    List<TrainingRunEvent> ended = new java.util.ArrayList<>();
    for (Job job : trainingJobs()) {
      String requestId = annotation(job, TrainingJobs.REQUEST_ANNOTATION);
      String state = state(job);
      if (state.equals("Running") || requestId == null || annotation(job, END_TOLD) != null) {
        continue;
      }
      String name = job.getMetadata().getName();
      TrainingRunEvent.State told = switch (state) {
        case "Succeeded" -> TrainingRunEvent.State.SUCCEEDED;
        case "RefusedByGate" -> TrainingRunEvent.State.REFUSED_BY_GATE;
        default -> TrainingRunEvent.State.FAILED;
      };
      String message = switch (told) {
        case SUCCEEDED -> "training job " + name + " trained and announced its model";
        case REFUSED_BY_GATE -> "training job " + name + " trained a model the gate refused: not announced";
        default -> "training job " + name + " failed (kubectl logs job/" + name + ")";
      };
      ended.add(TrainingRunEvent.now(requestId, name, told, message));
    }
    java.util.Collections.reverse(ended); // oldest first, as they ended
    return ended;
  }

  /** Marks a Job's end as told (after training.runs took the event). */
  public void told(String job) {
    client.batch().v1().jobs().inNamespace(namespace).withName(job)
        .edit(j -> new io.fabric8.kubernetes.api.model.batch.v1.JobBuilder(j).editMetadata()
            .addToAnnotations(END_TOLD, java.time.Instant.now().toString()).endMetadata().build());
  }

  /** On a Job whose end training.runs was told: when. */
  public static final String END_TOLD = "mfn.dev/end-told";

  private static String annotation(Job job, String key) {
    var a = job.getMetadata().getAnnotations();
    return a == null ? null : a.get(key);
  }
}
