package dev.mfn.cli;

import dev.mfn.config.MfnSettings;
import dev.mfn.services.LocalServices;
import dev.mfn.services.detector.DetectorFiles;
import dev.mfn.services.elasticsearch.ElasticsearchServer;
import dev.mfn.services.flink.LocalFlinkCluster;
import dev.mfn.services.kafka.KafkaBroker;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** Local services for one machine: a Kafka broker, Elasticsearch, and the detector files. */
@Command(
    name = "services",
    mixinStandardHelpOptions = true,
    description = {
      "Start, stop and inspect the services a single machine runs, without Docker:",
      "  kafka          a single-node KRaft broker (child JVM from Maven artifacts) on 127.0.0.1",
      "  elasticsearch  the Elasticsearch distribution from Maven Central, as a non-root user",
      "  flink          a Flink session cluster: a JobManager and N TaskManagers, each a JVM, built",
      "                 from the Maven artifacts; REST and web UI on 127.0.0.1 (default port 8081)",
      "They keep running after the command returns; `stop` ends them."
    },
    subcommands = {
      ServicesCommand.Start.class,
      ServicesCommand.Stop.class,
      ServicesCommand.Status.class,
      ServicesCommand.FetchDetector.class
    })
final class ServicesCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** The services that `start` and `stop` know. */
  enum Service {
    kafka,
    elasticsearch,
    flink
  }

  /** Options shared by start and stop. */
  abstract static class ServiceOptions {
    @Parameters(index = "0", paramLabel = "SERVICE", description = "kafka, elasticsearch or flink")
    Service service;

    @Option(
        names = "--data",
        paramLabel = "DIR",
        description = "Folder for the service's data, logs and pid file (default: in the build folder).")
    Path data;

    @Option(
        names = "--port",
        description = "Port on 127.0.0.1 (default: kafka.port / elasticsearch.port / flink.port settings).")
    Integer port;

    @Option(names = "--secure", description = {
        "elasticsearch: HTTPS with certificates from elasticsearch-certutil and a user (setting index.es.user, default mfn)",
        "  whose password is the secret index.es.password (MFN_INDEX_ES_PASSWORD or index.es.password.file), else generated",
        "  into the data folder; kafka: SASL_SSL with SCRAM-SHA-512 (user kafka.sasl.username, password the secret",
        "  kafka.sasl.password, else generated) and a certificate of its own. Prints the settings clients need."})
    boolean secure;

    @Option(names = "--taskmanagers", paramLabel = "N", description = "flink: TaskManager JVMs (default: setting flink.taskmanagers, 2).")
    Integer taskManagers;

    @Option(names = "--slots", paramLabel = "S", description = "flink: slots per TaskManager (default: setting flink.slots, 2).")
    Integer slots;

    @Spec CommandSpec spec;
    final MfnSettings settings;

    ServiceOptions(MfnSettings settings) {
      this.settings = settings;
    }

    KafkaBroker kafka() {
      LocalServices local = new LocalServices(settings);
      // a secured broker is formatted with its users: its own data folder
      Path folder = data != null ? data : secure ? settings.home().resolve("kafka-secure") : null;
      if (port == null) {
        return local.kafka(folder);
      }
      return new KafkaBroker(
          folder != null ? folder : settings.home().resolve("kafka"),
          port,
          settings.getInt("kafka.controller.port"));
    }

    /** The client user of a secured broker: the settings' user and secret, else a password generated into its folder. */
    KafkaBroker.Security kafkaSecurity(KafkaBroker broker) throws java.io.IOException {
      // the clients' rule (KafkaSecurity): the environment variable, else the file, read as it is
      String password = System.getenv(dev.mfn.config.KafkaSecurity.PASSWORD_ENV);
      if (password == null && !settings.get("kafka.sasl.password.file").isBlank()) {
        password = java.nio.file.Files.readString(settings.getPath("kafka.sasl.password.file"));
      }
      return new KafkaBroker.Security(settings.get("kafka.sasl.username"),
          SecretFiles.configuredOrGenerated(password, broker.dataDir().resolve("secrets/client-password")));
    }

    LocalFlinkCluster flink() {
      LocalServices local = new LocalServices(settings);
      return local.flink(data, local.flinkOptions(taskManagers, slots, port));
    }

    ElasticsearchServer elasticsearch() {
      return new LocalServices(settings).elasticsearch(data, port);
    }

    /** The user and password of a secured node: the settings' secret, else one generated into the data folder. */
    ElasticsearchServer.Security elasticsearchSecurity(ElasticsearchServer es) throws java.io.IOException {
      String user = settings.get("index.es.user").isBlank() ? "mfn" : settings.get("index.es.user");
      return new ElasticsearchServer.Security(user, SecretFiles.configuredOrGenerated(settings.secret("index.es.password"),
          SecretFiles.generatedPath(es.caCertificate(), "elasticsearch-password")));
    }

    PrintWriter out() {
      return spec.commandLine().getOut();
    }
  }

  @Command(name = "start", mixinStandardHelpOptions = true, description = "Start a service and wait until it is ready.")
  static final class Start extends ServiceOptions implements Callable<Integer> {
    Start(MfnSettings settings) {
      super(settings);
    }

    @Override
    public Integer call() throws Exception {
      switch (service) {
        case kafka -> {
          KafkaBroker broker = kafka();
          KafkaBroker.Security security = secure ? kafkaSecurity(broker) : null;
          if (security != null) {
            broker = broker.secured(security);
          }
          out().println("starting Kafka (data in " + broker.dataDir() + ") ...");
          boolean started = broker.start(true);
          out().println(
              (started ? "Kafka is ready at " : "Kafka was already running at ")
                  + broker.bootstrapServers()
                  + " (log: "
                  + broker.logFile()
                  + ")");
          if (security != null) {
            out().println("secured: SASL_SSL, SCRAM-SHA-512 user " + security.user() + ", its own certificate. Clients:");
            out().println("  MFN_KAFKA_BOOTSTRAP=" + broker.bootstrapServers() + " MFN_KAFKA_SECURITY_PROTOCOL=SASL_SSL"
                + " MFN_KAFKA_SASL_USERNAME=" + security.user() + " MFN_KAFKA_SSL_CA=" + broker.caCertificate()
                + " and the password from " + (settings.get("kafka.sasl.password.file").isBlank()
                    && System.getenv(dev.mfn.config.KafkaSecurity.PASSWORD_ENV) == null
                    ? "MFN_KAFKA_SASL_PASSWORD_FILE=" + broker.dataDir().resolve("secrets/client-password")
                    : "your MFN_KAFKA_SASL_PASSWORD / kafka.sasl.password.file"));
          }
        }
        case elasticsearch -> {
          ElasticsearchServer es = elasticsearch();
          ElasticsearchServer.Security security = secure ? elasticsearchSecurity(es) : null;
          if (security != null) {
            es = es.secured(security);
          }
          out().println("starting Elasticsearch (first start fetches and unpacks it) ...");
          boolean started = es.start();
          out().println(
              (started ? "Elasticsearch is healthy at " : "Elasticsearch was already running at ")
                  + es.url()
                  + " (logs: "
                  + es.logDir()
                  + ")");
          if (security != null) {
            out().println("secured: TLS with its own CA, user " + security.user() + " (file realm, superuser). Clients:");
            out().println("  MFN_INDEX_ES_URL=" + es.url() + " MFN_INDEX_ES_USER=" + security.user()
                + " MFN_INDEX_ES_CA=" + es.caCertificate() + " and the password from "
                + (settings.secret("index.es.password").isBlank()
                    ? "MFN_INDEX_ES_PASSWORD_FILE=" + SecretFiles.generatedPath(es.caCertificate(), "elasticsearch-password")
                    : "your MFN_INDEX_ES_PASSWORD / index.es.password.file"));
          }
        }
        case flink -> {
          LocalFlinkCluster flink = flink();
          out().println("starting Flink (a JobManager and TaskManagers, files in " + flink.dir() + ") ...");
          boolean started = flink.start(true);
          out().println((started ? "Flink is ready at " : "Flink was already running at ") + flink.restAddress()
              + " with " + flink.registeredTaskManagers() + " TaskManagers (web UI http://" + flink.restAddress()
              + "/, logs " + flink.logDir() + "); submit with --flink " + flink.restAddress());
        }
      }
      return 0;
    }
  }

  @Command(name = "stop", mixinStandardHelpOptions = true, description = "Stop a service started by `services start`.")
  static final class Stop extends ServiceOptions implements Callable<Integer> {
    Stop(MfnSettings settings) {
      super(settings);
    }

    @Override
    public Integer call() throws Exception {
      boolean stopped =
          switch (service) {
            case kafka -> kafka().stop();
            case elasticsearch -> elasticsearch().stop();
            case flink -> flink().stop();
          };
      out().println(service + (stopped ? " stopped" : " was not running"));
      return 0;
    }
  }

  @Command(name = "status", mixinStandardHelpOptions = true, description = "Show which services run, where, and the detector files.")
  static final class Status implements Callable<Integer> {
    @Spec CommandSpec spec;
    private final MfnSettings settings;

    Status(MfnSettings settings) {
      this.settings = settings;
    }

    @Override
    public Integer call() {
      LocalServices local = new LocalServices(settings);
      PrintWriter out = spec.commandLine().getOut();
      KafkaBroker kafka = local.kafka(null);
      out.printf(
          "kafka          %s%n",
          kafka.process()
              .map(p -> "running at " + kafka.bootstrapServers() + " (pid " + p.pid() + ")")
              .orElse("stopped"));
      ElasticsearchServer es = local.elasticsearch(null, null);
      out.printf(
          "elasticsearch  %s%n",
          es.process()
              .map(p -> "running at " + es.url() + " (pid " + p.pid() + ", cluster "
                  + es.health().orElse("not answering") + ")")
              .orElse("stopped"));
      LocalFlinkCluster flink = local.flink(null, local.flinkOptions(null, null, null));
      out.printf(
          "flink          %s%n",
          flink.jobManager()
              .map(p -> "running at " + flink.restAddress() + " (JobManager pid " + p.pid() + ", "
                  + Math.max(0, flink.registeredTaskManagers()) + " TaskManagers registered)")
              .orElse("stopped"));
      DetectorFiles detector = local.detector();
      out.printf(
          "detector       %s%n",
          detector.present()
              ? "BlazeFace files in " + detector.cacheDir()
              : "not fetched (./mfn services fetch-detector)");
      return 0;
    }
  }

  @Command(
      name = "fetch-detector",
      mixinStandardHelpOptions = true,
      description = {
        "Fetch the BlazeFace detector files (npm pack @mediapipe/face_detection, version pinned),",
        "check their sha256 and cache them in the build folder. Needs npm."
      })
  static final class FetchDetector implements Callable<Integer> {
    @Spec CommandSpec spec;
    private final MfnSettings settings;

    FetchDetector(MfnSettings settings) {
      this.settings = settings;
    }

    @Override
    public Integer call() throws Exception {
      Path dir = new LocalServices(settings).detector().fetch();
      spec.commandLine().getOut().println("BlazeFace detector files ready in " + dir);
      return 0;
    }
  }
}
