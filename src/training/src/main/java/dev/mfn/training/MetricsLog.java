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
      for (JsonNode record : read(file)) {
        if (record.path("step").asLong() <= keepUpToStep) {
          kept.add(JSON.writeValueAsString(record));
        }
      }
      // a new file synced and renamed over the old: a crash here leaves one or the other
      StringBuilder text = new StringBuilder();
      kept.forEach(line -> text.append(line).append('\n'));
      dev.mfn.model.store.DurableFiles.write(file, text.toString().getBytes(StandardCharsets.UTF_8));
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

  /**
   * The records of a metrics file. A process killed while writing leaves a torn last line (half a
   * JSON object, maybe half a UTF-8 character): it is not a record and is left out, so that
   * {@code --resume} after a {@code kill -9} goes on instead of failing on its own log. A line
   * that does not parse anywhere else means the file is not ours: that still fails.
   */
  public static List<JsonNode> read(Path file) throws IOException {
    // decoded leniently: a torn multi-byte character must not fail the whole file
    String text = StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(java.nio.charset.CodingErrorAction.REPLACE)
        .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPLACE)
        .decode(java.nio.ByteBuffer.wrap(Files.readAllBytes(file))).toString();
    String[] lines = text.split("\n", -1);
    List<JsonNode> records = new ArrayList<>();
    for (int i = 0; i < lines.length; i++) {
      if (lines[i].isBlank()) {
        continue;
      }
      try {
        records.add(JSON.readTree(lines[i]));
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        boolean last = i == lines.length - 1; // no newline after it: the write never finished
        if (!last) {
          throw new IOException(file + " line " + (i + 1) + " is not a metrics record: " + e.getOriginalMessage(), e);
        }
      }
    }
    return records;
  }

  public Path file() {
    return file;
  }

  @Override
  public void close() throws IOException {
    out.close();
  }
}
