package dev.mfn.testkit;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import javax.imageio.ImageIO;

/** Folders of identity photos with the awkward cases a publisher must handle. */
public final class PhotoFolders {
  private PhotoFolders() {}

  /**
   * Builds {@code root} with: {@code alice/portrait.jpg} (a real CFP photo when ../shared is
   * present, else a generated JPEG), {@code alice/notes.txt} (text), {@code bob/empty.jpg} (zero
   * bytes), {@code bob/deeper/large.png} (a valid PNG over 5 MiB) and {@code README.txt} directly in
   * root (no identity folder).
   */
  public static Path mixed(Path root) throws IOException {
    Path alice = Files.createDirectories(root.resolve("alice"));
    Path cfpPhoto = SharedData.root().resolve("data/cfp/Data/Images/001/frontal/01.jpg");
    if (Files.isRegularFile(cfpPhoto)) {
      Files.copy(cfpPhoto, alice.resolve("portrait.jpg"));
    } else {
      ImageIO.write(noise(200, 200, 1), "jpg", alice.resolve("portrait.jpg").toFile());
    }
    Files.writeString(alice.resolve("notes.txt"), "alice, photographed in 2024\n");
    Path bob = Files.createDirectories(root.resolve("bob/deeper"));
    Files.createFile(root.resolve("bob/empty.jpg"));
    // Random pixels do not compress: 1400 x 1400 x 3 bytes gives a PNG of about 5.9 MB.
    ImageIO.write(noise(1400, 1400, 2), "png", bob.resolve("large.png").toFile());
    Files.writeString(root.resolve("README.txt"), "photos by person\n");
    return root;
  }

  /**
   * Copies the first {@code count} frontal CFP photos of {@code subject} into {@code root/subject}
   * (an identity folder); frontal photos are the ones every detector finds.
   */
  public static Path cfpFrontal(Path root, String subject, int count) throws IOException {
    Path from = SharedData.cfpImages().resolve(subject).resolve("frontal");
    Path to = Files.createDirectories(root.resolve(subject));
    for (int i = 1; i <= count; i++) {
      String name = String.format("%02d.jpg", i);
      Files.copy(from.resolve(name), to.resolve(name));
    }
    return root;
  }

  private static BufferedImage noise(int width, int height, long seed) {
    BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    Random random = new Random(seed);
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        image.setRGB(x, y, random.nextInt(0x1000000));
      }
    }
    return image;
  }

  /** A person's photo files (one LFW or CFP person folder), sorted; empty when unreadable. */
  public static java.util.List<Path> photos(Path person) {
    try (java.util.stream.Stream<Path> files = java.nio.file.Files.list(person)) {
      return files.sorted().toList();
    } catch (IOException e) {
      return java.util.List.of();
    }
  }
}
