package dev.mfn.face;

/** Loads OpenCV's native library (bundled in the openpnp jar) once per JVM. */
public final class OpenCv {
  private static volatile boolean loaded;

  private OpenCv() {}

  /**
   * Builds a network under one JVM-wide lock. OpenCV's model importers are not thread-safe: two
   * Flink tasks reading a TFLite file at the same moment crashed the JVM in native code
   * (std::_Rb_tree_insert_and_rebalance under Dnn.readNetFromTFLite). Running an already built
   * network on several threads, one network each, is safe.
   */
  public static <T> T build(java.util.function.Supplier<T> importer) {
    load();
    // the lock must be one per JVM: this class is loaded again by every Flink job's user-code
    // class loader, nu.pattern.OpenCV only once (the cluster loads it parent-first)
    synchronized (nu.pattern.OpenCV.class) {
      return importer.get();
    }
  }

  public static void load() {
    if (!loaded) {
      synchronized (OpenCv.class) {
        if (!loaded) {
          nu.pattern.OpenCV.loadLocally();
          loaded = true;
        }
      }
    }
  }
}
