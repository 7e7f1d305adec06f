package dev.mfn.services.process;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Builds the command line of a child JVM that shares this JVM's classpath. */
public final class JavaCommand {
  private JavaCommand() {}

  /**
   * {@code java [jvmArgs] -cp <our classpath> mainClass args}: the child sees the same jars, so the
   * Kafka broker comes from the Maven artifacts this build resolved (no separate install).
   */
  public static List<String> of(List<String> jvmArgs, String mainClass, List<String> args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(jvmArgs);
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(mainClass);
    cmd.addAll(args);
    return cmd;
  }
}
