package dev.mfn.services.flink;

import java.util.ArrayList;
import java.util.List;

/**
 * What to run on the cluster: the job's main class and its arguments, optionally restored from a
 * savepoint or retained checkpoint. Written next to a savepoint as mfn-job.json by `mfn jobs stop`,
 * so `mfn jobs resume --from DIR` submits the same job again.
 */
public record JobSubmission(String mainClass, List<String> args, String savepoint) {
  public JobSubmission {
    args = List.copyOf(args);
  }

  public JobSubmission restoredFrom(String path) {
    return new JobSubmission(mainClass, args, path);
  }

  /** The same job with {@code --parallelism P} (replaced, or added). */
  public JobSubmission withParallelism(int parallelism) {
    return withArg("--parallelism", Integer.toString(parallelism));
  }

  /** The same job with the argument {@code name} set to {@code value} (replaced, or added). */
  public JobSubmission withArg(String name, String value) {
    List<String> a = new ArrayList<>(args);
    int i = a.indexOf(name);
    if (i >= 0 && i + 1 < a.size()) {
      a.set(i + 1, value);
    } else {
      a.add(name);
      a.add(value);
    }
    return new JobSubmission(mainClass, a, savepoint);
  }

  /** The value of {@code --name}, or null. */
  public String arg(String name) {
    int i = args.indexOf(name);
    return i >= 0 && i + 1 < args.size() ? args.get(i + 1) : null;
  }
}
