package dev.mfn.records;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.avro.Schema;
import org.apache.avro.message.SchemaStore;

/**
 * The schemas of every released version, checked in under {@code released/<version>/} on the
 * classpath. Two uses: the compatibility test holds the current schemas against them, and decoders
 * use them to read records that an older writer put on a topic.
 */
public final class ReleasedSchemas {
  private static final String ROOT = "released/";

  private ReleasedSchemas() {}

  /** Released versions, oldest first, as listed in {@code released/VERSIONS}. */
  public static List<String> versions() {
    List<String> versions = new ArrayList<>();
    try (InputStream in = open(ROOT + "VERSIONS");
        BufferedReader reader =
            new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
      reader.lines().map(String::trim).filter(l -> !l.isEmpty()).forEach(versions::add);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return versions;
  }

  /** The schema of record {@code name} (e.g. "RawImage") as released in {@code version}, if any. */
  public static Optional<Schema> schema(String version, String name) {
    String path = ROOT + version + "/" + name + ".avsc";
    InputStream in = ReleasedSchemas.class.getClassLoader().getResourceAsStream(path);
    if (in == null) {
      return Optional.empty();
    }
    try (in) {
      return Optional.of(new Schema.Parser().parse(in));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A store of every released schema of {@code name}, for single-object decoding of old records. */
  public static SchemaStore.Cache store(String name) {
    SchemaStore.Cache cache = new SchemaStore.Cache();
    for (String version : versions()) {
      schema(version, name).ifPresent(cache::addSchema);
    }
    return cache;
  }

  private static InputStream open(String path) throws IOException {
    InputStream in = ReleasedSchemas.class.getClassLoader().getResourceAsStream(path);
    if (in == null) {
      throw new IOException("missing classpath resource " + path);
    }
    return in;
  }
}
