package dev.mfn.cli;

/**
 * An `mfn` command running on a thread of its own until it ends or is stopped (a `serve` a test
 * talks to for as long as the test needs, not for a guessed number of seconds).
 */
final class BackgroundCommand {
  private final Thread thread;
  private volatile MfnCliTest.Run run;

  BackgroundCommand(String... args) {
    thread = new Thread(() -> run = MfnCliTest.mfn(args), "mfn " + args[0]);
    thread.start();
  }

  boolean done() {
    return !thread.isAlive();
  }

  MfnCliTest.Run run() {
    return run;
  }

  /** Interrupts the command (serve stops as on Ctrl-C) and returns how it ended. */
  MfnCliTest.Run stop() throws InterruptedException {
    thread.interrupt();
    thread.join(60_000);
    return run;
  }
}
