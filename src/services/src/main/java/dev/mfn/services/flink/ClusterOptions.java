package dev.mfn.services.flink;

/**
 * The shape of the local cluster: TaskManagers, slots each, REST port, process sizes (MB).
 * The defaults ran on a 2-core, 24 GB machine (JobManager 1024 MB, TaskManager 2048 MB: the embed
 * job's PyTorch engine needs more than Flink's 1536 MB default).
 */
public record ClusterOptions(int taskManagers, int slots, int restPort, int jobManagerMb, int taskManagerMb) {
  public ClusterOptions {
    if (taskManagers < 1 || slots < 1) {
      throw new IllegalArgumentException("a cluster needs at least one TaskManager with one slot");
    }
  }

  public static ClusterOptions of(int taskManagers, int slots, int restPort) {
    return new ClusterOptions(taskManagers, slots, restPort, 1024, 2048);
  }
}
