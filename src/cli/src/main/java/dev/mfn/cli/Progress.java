package dev.mfn.cli;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * The progress bars of long commands (on stderr; silent with --no-progress). A bar redraws its one
 * line in place; closing it (try-with-resources) ends that line, so whatever is printed next, on
 * either stream of a terminal, starts on a line of its own. Commands close their bar before they
 * print their summary.
 */
final class Progress {
  private Progress() {}

  static ProgressBar bar(String task, long total, String unit, boolean quiet) {
    // the real stderr, as the library's own default (System.err may be redirected by a caller)
    return bar(task, total, unit, quiet ? null : new PrintStream(new FileOutputStream(FileDescriptor.err), true), -1);
  }

  /**
   * A bar drawn on {@code stream} (null: silent), at most {@code width} characters wide (-1: the
   * terminal's width).
   */
  static ProgressBar bar(String task, long total, String unit, PrintStream stream, int width) {
    ProgressBarBuilder builder =
        new ProgressBarBuilder()
            .setTaskName(task)
            .setInitialMax(total)
            .setUnit(" " + unit, 1)
            .showSpeed()
            .setSpeedUnit(ChronoUnit.SECONDS)
            .setStyle(ProgressBarStyle.ASCII)
            .setUpdateIntervalMillis(System.console() != null ? 500 : 5000); // fewer lines in logs
    LineConsumer consumer = stream == null ? null : new LineConsumer(stream, width);
    builder.setConsumer(consumer == null ? new DelegatingProgressBarConsumer(line -> {}) : consumer);
    ProgressBar bar = builder.build();
    if (consumer != null) {
      // A bar closed before its first draw skips its final draw and its consumer's close (the
      // library's update task is cancelled before it ran): the first draw is immediate, so wait for it.
      consumer.awaitFirstDraw();
    }
    return bar;
  }

  /**
   * Draws the bar with a carriage return on one line, and on close ends that line if it drew on it:
   * the cursor is back at column 0, and nothing printed afterwards lands on the bar's line. (The
   * library's own consumers either print a newline even when nothing was drawn, or none at all.)
   */
  static final class LineConsumer extends ConsoleProgressBarConsumer {
    private final PrintStream stream;
    private final CountDownLatch drawn = new CountDownLatch(1);
    private boolean midLine;

    LineConsumer(PrintStream stream, int width) {
      super(stream, width);
      this.stream = stream;
    }

    @Override
    public synchronized void accept(String rendered) {
      super.accept(rendered); // "\r" + the line, trimmed to the width
      stream.flush();
      midLine = !(rendered.isEmpty() || rendered.endsWith("\n") || rendered.endsWith("\r"));
      drawn.countDown();
    }

    void awaitFirstDraw() {
      try {
        drawn.await(1, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    @Override
    public synchronized void close() {
      if (midLine) {
        stream.println();
        midLine = false;
      }
      stream.flush(); // never closes the stream: it is stderr
    }
  }
}
