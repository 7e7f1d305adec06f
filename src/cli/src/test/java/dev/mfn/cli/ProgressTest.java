package dev.mfn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import me.tongfei.progressbar.ProgressBar;
import org.junit.jupiter.api.Test;

/** A finished progress bar leaves the cursor at the start of a new line: a summary never lands on its line. */
class ProgressTest {

  @Test
  void aFinishedBarEndsItsLineSoTheNextTextStartsOnANewOne() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream stream = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    try (ProgressBar bar = Progress.bar("enroll", 10, "photos", stream, 100)) {
      bar.stepTo(10);
    }
    stream.print("enrolled 10 faces from 10 photos");
    stream.flush();

    String text = bytes.toString(StandardCharsets.UTF_8);
    int summary = text.indexOf("enrolled 10 faces");
    String drawn = text.substring(0, summary);
    assertThat(drawn).as("the bar drew itself").contains("enroll").contains("10/10");
    assertThat(drawn).as("and ended its line, once").endsWith("\n").doesNotEndWith("\n\n");
    // on a terminal the summary's line is what follows the last newline: the summary alone
    String lastLine = text.substring(text.lastIndexOf('\n') + 1);
    assertThat(lastLine).isEqualTo("enrolled 10 faces from 10 photos");
  }

  @Test
  void aConsumerThatDrewNothingPrintsNothingOnClose() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream stream = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    new Progress.LineConsumer(stream, 100).close();
    assertThat(bytes.toString(StandardCharsets.UTF_8)).isEmpty();

    Progress.LineConsumer consumer = new Progress.LineConsumer(stream, 100);
    consumer.accept("publish 50% [=====     ] 5/10 images");
    consumer.close();
    consumer.close(); // a second close adds no empty line
    assertThat(bytes.toString(StandardCharsets.UTF_8)).isEqualTo("\rpublish 50% [=====     ] 5/10 images\n");
  }
}
