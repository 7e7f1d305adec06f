package dev.mfn.services.process;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs short external commands (npm, mvn, useradd) and reports failures in one line. */
public final class Commands {
  private Commands() {}

  /** Result of a finished command. */
  public record Result(int exitCode, String output) {}

  public static Result run(List<String> command, Path workDir, long timeoutSeconds)
      throws IOException {
    return run(command, workDir, timeoutSeconds, null);
  }

  /**
   * Runs the command with {@code input} on its standard input (how a password reaches a tool
   * without being on its command line, which every local user can read in ps), or none.
   */
  public static Result run(List<String> command, Path workDir, long timeoutSeconds, String input)
      throws IOException {
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    if (workDir != null) {
      pb.directory(workDir.toFile());
    }
    Process process;
    try {
      process = pb.start();
    } catch (IOException e) {
      throw new IOException(command.get(0) + " not found (is it installed and on the PATH?)", e);
    }
    try (var stdin = process.getOutputStream()) {
      if (input != null) {
        stdin.write(input.getBytes(StandardCharsets.UTF_8));
      }
    }
    byte[] out = process.getInputStream().readAllBytes();
    try {
      if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new IOException(program(command) + " timed out");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
      throw new IOException("interrupted: " + program(command), e);
    }
    return new Result(process.exitValue(), new String(out, StandardCharsets.UTF_8));
  }

  /**
   * The program a command runs, for messages: never its arguments, which may hold a password
   * ("env" and its VAR=value assignments skipped).
   */
  static String program(List<String> command) {
    for (String part : command) {
      if (!part.equals("env") && !part.startsWith("-") && !part.contains("=")) {
        return Path.of(part).getFileName().toString();
      }
    }
    return "the command";
  }

  /** Runs the command and fails with its last output line when it exits non-zero. */
  public static String check(List<String> command, Path workDir, long timeoutSeconds)
      throws IOException {
    Result r = run(command, workDir, timeoutSeconds);
    if (r.exitCode() != 0) {
      String[] lines = r.output().strip().split("\n");
      throw new IOException(
          String.join(" ", command.subList(0, Math.min(2, command.size())))
              + " failed (exit "
              + r.exitCode()
              + "): "
              + lines[lines.length - 1]);
    }
    return r.output();
  }

  public static boolean onPath(String program) {
    String path = System.getenv().getOrDefault("PATH", "");
    for (String dir : path.split(java.io.File.pathSeparator)) {
      if (!dir.isEmpty() && java.nio.file.Files.isExecutable(Path.of(dir, program))) {
        return true;
      }
    }
    return false;
  }
}
