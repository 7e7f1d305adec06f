package dev.mfn.flink.ingest;

/** A new run was pointed at a folder that holds another run's shard set. */
public final class ExistingShardSetException extends IllegalStateException {
  public ExistingShardSetException(String outDir) {
    super(outDir + " already holds a shard set: resume its job (`mfn jobs resume --from SAVEPOINT`) or write to a new --out");
  }
}
