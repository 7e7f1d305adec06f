package dev.mfn.services;

import dev.mfn.services.npm.NpmPackageFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Photos for `mfn demo` on a machine without any face data: the six sample photos that the npm
 * package {@code @vladmandic/face-api} (MIT) ships in its demo folder, fetched with npm pack,
 * checked by SHA-256 and cached in the build folder (never committed).
 */
public final class DemoPhotos {
  public static final String NPM_PACKAGE = "@vladmandic/face-api";

  /** SHA-256 of demo/sample1..6.jpg in the pinned package version (1.7.15). */
  static final Map<String, String> SHA256 = Map.of(
      "sample1.jpg", "8ecae4b267b2d3169e06e00c7dee97097aa2a94635d45216f7732a5f4943cb51",
      "sample2.jpg", "7d2b60ae6f13bf30f422e04df87451081a02c83de469056f25afb44b7000c691",
      "sample3.jpg", "8eb081c9efb14370fa94d9feab9e5fbeafd19a627491853a80c2bf67f7ffa936",
      "sample4.jpg", "729efa5923061d40eb4ed5f267a18cc7b8ba6f852bb2757b16d8b7e4937476fc",
      "sample5.jpg", "6d45095ebb182d8f975c0790e0e4eefd86fbb40609cf4b271776d92e12662938",
      "sample6.jpg", "9baad80f9d5e306fb9b8c0913d44445f1e95848df317530efb03d0934c57ba87");

  private final NpmPackageFiles files;

  public DemoPhotos(String version, Path buildDir) {
    this.files = new NpmPackageFiles(NPM_PACKAGE, version, SHA256, buildDir.resolve("demo-photos").resolve("face-api-" + version));
  }

  /** Fetches the photos unless cached; returns them in name order. */
  public List<Path> fetch() throws IOException {
    Path dir = files.fetch();
    return new TreeMap<>(SHA256).keySet().stream().map(dir::resolve).toList();
  }
}
