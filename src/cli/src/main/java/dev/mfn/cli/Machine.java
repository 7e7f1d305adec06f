package dev.mfn.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Facts about this machine for reports: CPU model and cores, and the process's peak memory. */
final class Machine {
  private Machine() {}

  static String describe() {
    String cpu = "unknown CPU";
    try {
      cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
          .filter(l -> l.startsWith("model name"))
          .map(l -> l.substring(l.indexOf(':') + 1).trim())
          .findFirst()
          .orElse(cpu);
    } catch (IOException | RuntimeException e) {
      // not Linux: the core count is still worth saying
    }
    return Runtime.getRuntime().availableProcessors() + " cores, " + cpu;
  }

  /** Peak resident memory of this process (VmHWM), native memory of PyTorch included; 0 if unknown. */
  static long peakResidentBytes() {
    try {
      return Files.readAllLines(Path.of("/proc/self/status")).stream()
          .filter(l -> l.startsWith("VmHWM:"))
          .map(l -> Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024)
          .findFirst()
          .orElse(0L);
    } catch (IOException | RuntimeException e) {
      return 0;
    }
  }
}
