package dev.mfn.flink.embed;

import dev.mfn.publish.ImagePublisher;
import dev.mfn.publish.RawImageFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.apache.kafka.clients.producer.Producer;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.store.FSDirectory;

/** What the embed job's tests share: publishing one photo per person, counting committed faces. */
final class EnrollPhotos {
  static final long MIB = 1 << 20;

  private EnrollPhotos() {}

  /** Publishes the {@code photo}-th photo of each person (copied into {@code folder}/person/). */
  static void publish(Producer<String, byte[]> producer, List<Path> people, int photo, Path folder, String topic)
      throws Exception {
    for (Path person : people) {
      Path to = Files.createDirectories(folder.resolve(person.getFileName().toString()));
      Path from = list(person).get(photo);
      Files.copy(from, to.resolve(from.getFileName()));
    }
    new ImagePublisher(producer, new RawImageFactory(MIB, null), 64 * MIB).publish(ImagePublisher.scan(folder), topic, f -> {});
  }

  /** Faces in the Lucene folder's last commit (read-only: the job holds the writer). */
  static int committedFaces(Path folder) {
    try {
      if (!Files.isDirectory(folder) || !DirectoryReader.indexExists(FSDirectory.open(folder))) {
        return 0;
      }
      try (var reader = DirectoryReader.open(FSDirectory.open(folder))) {
        return reader.numDocs();
      }
    } catch (java.io.IOException e) {
      return 0;
    }
  }

  static List<Path> list(Path folder) {
    try (Stream<Path> files = Files.list(folder)) {
      return files.sorted().toList();
    } catch (java.io.IOException e) {
      return List.of();
    }
  }
}
