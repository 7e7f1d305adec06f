package dev.mfn.training;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code metrics.jsonl}: one JSON object per line, "step" records (training loss, accuracy,
 * learning rate, speed) and "epoch" records (validation loss and accuracy). On resume the lines
 * after the checkpoint's step are dropped, so the file describes exactly the run that was kept.
 */
public final class MetricsLog implements AutoCloseable {
  static final ObjectMapper JSON = new ObjectMapper();

  private final Path file;
  private final BufferedWriter out;

  public MetricsLog(Path file, long keepUpToStep) throws IOException {
    this.file = file;
    if (Files.exists(file)) {
      List<String> kept = new ArrayList<>();
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        if (!line.isBlank() && JSON.readTree(line).path("step").asLong() <= keepUpToStep) {
          kept.add(line);
        }
      }
      Files.write(file, kept, StandardCharsets.UTF_8);
    }
    this.out =
        Files.newBufferedWriter(
            file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
  }

  public ObjectNode record(String type, long step) {
    ObjectNode node = JSON.createObjectNode();
    node.put("type", type);
    node.put("step", step);
    return node;
  }

  public void write(ObjectNode node) {
    try {
      out.write(JSON.writeValueAsString(node));
      out.newLine();
      out.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static List<JsonNode> read(Path file) throws IOException {
    List<JsonNode> lines = new ArrayList<>();
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      if (!line.isBlank()) {
        lines.add(JSON.readTree(line));
      }
    }
    return lines;
  }

  public Path file() {
    return file;
  }

  @Override
  public void close() throws IOException {
    out.close();
  }
}
