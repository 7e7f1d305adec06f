package dev.mfn.testkit;

import dev.mfn.services.flink.ClusterOptions;
import dev.mfn.services.flink.LocalFlinkCluster;
import dev.mfn.services.process.Ports;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ExtensionContext.Namespace;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * JUnit 5 extension: one real Flink session cluster (a JobManager and two TaskManagers with two
 * slots each, every one its own JVM) per test run, on free loopback ports, stopped when the run
 * ends. Tests that kill a TaskManager start a replacement before they return.
 */
public final class LocalFlink implements ParameterResolver {
  public static final int TASK_MANAGERS = 2;
  public static final int SLOTS = 2;
  private static final Namespace NAMESPACE = Namespace.create(LocalFlink.class);

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    return parameter.getParameter().getType() == LocalFlinkCluster.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    return context.getRoot().getStore(NAMESPACE)
        .getOrComputeIfAbsent("cluster", key -> new RunningCluster(), RunningCluster.class).cluster;
  }

  private static final class RunningCluster implements ExtensionContext.Store.CloseableResource {
    final LocalFlinkCluster cluster;

    RunningCluster() {
      try {
        Path dir = Files.createTempDirectory(Files.createDirectories(Path.of(System.getProperty("java.io.tmpdir"))), "mfn-flink-test-");
        cluster = new LocalFlinkCluster(dir, ClusterOptions.of(TASK_MANAGERS, SLOTS, Ports.free()));
        cluster.start(false);
      } catch (IOException e) {
        throw new UncheckedIOException("could not start the test Flink cluster", e);
      }
    }

    @Override
    public void close() throws IOException {
      cluster.stop();
    }
  }
}
