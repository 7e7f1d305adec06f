package dev.mfn.testkit;

import dev.mfn.services.kafka.KafkaBroker;
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
 * JUnit 5 extension: one real Kafka broker (KRaft, child JVM) per test run, on free loopback ports,
 * shared by every test class that uses it and stopped when the run ends.
 *
 * <pre>{@code
 * @ExtendWith(LocalKafka.class)
 * class MyTest {
 *   @Test void sends(KafkaBroker broker) { ... broker.bootstrapServers() ... }
 * }
 * }</pre>
 */
public final class LocalKafka implements ParameterResolver {
  private static final Namespace NAMESPACE = Namespace.create(LocalKafka.class);

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    return parameter.getParameter().getType() == KafkaBroker.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    return broker(context);
  }

  /** The run's broker, started on first use. */
  public static KafkaBroker broker(ExtensionContext context) {
    return context
        .getRoot()
        .getStore(NAMESPACE)
        .getOrComputeIfAbsent("broker", key -> new RunningBroker(), RunningBroker.class)
        .broker;
  }

  /** Closed by JUnit when the root context (the whole run) ends. */
  private static final class RunningBroker implements ExtensionContext.Store.CloseableResource {
    final KafkaBroker broker;

    RunningBroker() {
      try {
        Path dir = Files.createTempDirectory("mfn-kafka-test-");
        broker = new KafkaBroker(dir, Ports.free(), Ports.free());
        broker.start(false);
      } catch (IOException e) {
        throw new UncheckedIOException("could not start the test Kafka broker", e);
      }
    }

    @Override
    public void close() throws IOException {
      broker.stop();
    }
  }
}
