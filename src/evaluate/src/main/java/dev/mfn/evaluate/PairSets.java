package dev.mfn.evaluate;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;

/** Reads the published verification protocols into pairs with folds. */
public final class PairSets {
  private PairSets() {}

  /** CFP's two protocols. */
  public enum CfpProtocol {
    /** frontal-frontal */
    FF,
    /** frontal-profile */
    FP
  }

  /**
   * LFW's pairs.txt: a header {@code folds<TAB>n}, then per fold n same-person lines
   * {@code name i j} and n different-person lines {@code nameA i nameB j}; images are
   * {@code images/Name/Name_%04d.jpg}.
   */
  public static List<Pair> lfw(Path lfwDir) throws IOException {
    List<String> lines = Files.readAllLines(lfwDir.resolve("pairs.txt"));
    String[] header = lines.get(0).trim().split("\\s+");
    int folds = Integer.parseInt(header[0]);
    int perHalf = Integer.parseInt(header[1]);
    List<Pair> pairs = new ArrayList<>();
    int line = 1;
    for (int fold = 0; fold < folds; fold++) {
      for (int k = 0; k < 2 * perHalf; k++, line++) {
        String[] f = lines.get(line).trim().split("\\s+");
        if (f.length == 3) {
          pairs.add(new Pair(lfwImage(lfwDir, f[0], f[1]), lfwImage(lfwDir, f[0], f[2]), true, fold));
        } else if (f.length == 4) {
          pairs.add(new Pair(lfwImage(lfwDir, f[0], f[1]), lfwImage(lfwDir, f[2], f[3]), false, fold));
        } else {
          throw new IOException("pairs.txt line " + (line + 1) + ": unexpected " + lines.get(line));
        }
      }
    }
    return pairs;
  }

  /**
   * LFW's protocol shrunk to about {@code pairs} pairs, the same number of same and different pairs
   * per fold, written as an LFW-layout folder (pairs.txt and a link to the images) that
   * {@link #lfw(Path)} reads.
   */
  public static Path lfwSlice(Path lfwDir, Path to, int pairs) throws IOException {
    List<String> lines = Files.readAllLines(lfwDir.resolve("pairs.txt"));
    String[] header = lines.get(0).trim().split("\\s+");
    int folds = Integer.parseInt(header[0]);
    int perFold = Integer.parseInt(header[1]);
    int keep = Math.max(1, Math.min(perFold, pairs / (2 * folds)));
    List<String> slice = new ArrayList<>(List.of(folds + "\t" + keep));
    for (int fold = 0; fold < folds; fold++) {
      int base = 1 + fold * 2 * perFold;
      slice.addAll(lines.subList(base, base + keep));
      slice.addAll(lines.subList(base + perFold, base + perFold + keep));
    }
    Files.createDirectories(to);
    Files.write(to.resolve("pairs.txt"), slice);
    Files.createSymbolicLink(to.resolve("images"), lfwDir.resolve("images").toAbsolutePath());
    return to;
  }

  private static Path lfwImage(Path dir, String name, String index) {
    return dir.resolve("images").resolve(name).resolve(String.format("%s_%04d.jpg", name, Integer.parseInt(index)));
  }

  /**
   * CFP: {@code Protocol/Pair_list_{F,P}.txt} map indices to images; folds are
   * {@code Protocol/Split/{FF,FP}/NN/{same,diff}.txt} of {@code i,j} index pairs (FF: both frontal;
   * FP: frontal, profile). Every fold folder present is read, in name order.
   */
  public static List<Pair> cfp(Path cfpDir, CfpProtocol protocol) throws IOException {
    Path splitDir = splitDir(cfpDir, protocol);
    List<Path> foldDirs;
    try (var s = Files.list(splitDir)) {
      foldDirs = s.filter(Files::isDirectory).sorted().toList();
    }
    CfpIndex index = CfpIndex.read(cfpDir, protocol);
    List<Pair> pairs = new ArrayList<>();
    for (int fold = 0; fold < foldDirs.size(); fold++) {
      for (String kind : new String[] {"same", "diff"}) {
        for (Pair p : index.pairs(foldDirs.get(fold), kind)) {
          pairs.add(new Pair(p.first(), p.second(), p.same(), fold));
        }
      }
    }
    return pairs;
  }

  /**
   * One split of CFP's protocol alone ({@code Split/FP/07}: 350 same and 350 different pairs of
   * people 301-350; each split has its own 50 people), dealt into 10 folds of 35 same and 35
   * different pairs, in the protocol's order: the files list each person's pairs together, so a
   * fold's same-person pairs are 5 people's own (its threshold is learnt on other people's genuine
   * pairs). Its different-person pairs do involve people of other folds: 50 people cannot make 10
   * folds disjoint in both kinds, as the protocol's splits of 50 people each are. With a model trained on the other splits' people this is
   * a test on people it never saw (issue 17's ablation trains on 001-300 and scores split 7).
   */
  public static List<Pair> cfpSplit(Path cfpDir, CfpProtocol protocol, int split) throws IOException {
    Path all = splitDir(cfpDir, protocol);
    if (!Files.isDirectory(all)) {
      throw new IllegalArgumentException("not a CFP folder (no Protocol/Split/" + protocol + "): " + cfpDir);
    }
    Path dir = all.resolve(String.format(Locale.ROOT, "%02d", split));
    if (split < 1 || !Files.isDirectory(dir)) {
      List<String> present;
      try (var s = Files.list(all)) {
        present = s.filter(Files::isDirectory).map(p -> p.getFileName().toString()).sorted().toList();
      }
      throw new IllegalArgumentException("no CFP split " + split + " in " + all + " (there are "
          + String.join(", ", present) + ")");
    }
    CfpIndex index = CfpIndex.read(cfpDir, protocol);
    List<Pair> pairs = new ArrayList<>();
    for (String kind : new String[] {"same", "diff"}) {
      List<Pair> kindPairs = index.pairs(dir, kind);
      if (kindPairs.size() < 10) {
        throw new IOException(dir.resolve(kind + ".txt") + " lists " + kindPairs.size() + " pairs; 10 folds need >= 10");
      }
      for (int i = 0; i < kindPairs.size(); i++) {
        Pair p = kindPairs.get(i);
        pairs.add(new Pair(p.first(), p.second(), p.same(), (int) ((long) i * 10 / kindPairs.size())));
      }
    }
    return pairs;
  }

  /** The identity folders (CFP: {@code Data/Images/NNN}) the pairs' photos come from, sorted. */
  public static SortedSet<String> cfpPeople(List<Pair> pairs) {
    SortedSet<String> people = new TreeSet<>();
    for (Pair p : pairs) {
      people.add(p.first().getParent().getParent().getFileName().toString());
      people.add(p.second().getParent().getParent().getFileName().toString());
    }
    return people;
  }

  private static Path splitDir(Path cfpDir, CfpProtocol protocol) {
    return cfpDir.resolve("Protocol").resolve("Split").resolve(protocol.name());
  }

  /** CFP's index lists: number -> photo, frontal and (FP) profile. */
  private record CfpIndex(Map<Integer, Path> frontal, Map<Integer, Path> second) {
    static CfpIndex read(Path cfpDir, CfpProtocol protocol) throws IOException {
      Path protocolDir = cfpDir.resolve("Protocol");
      Map<Integer, Path> frontal = indexList(protocolDir, "Pair_list_F.txt");
      return new CfpIndex(
          frontal, protocol == CfpProtocol.FF ? frontal : indexList(protocolDir, "Pair_list_P.txt"));
    }

    /** The {@code i,j} lines of {@code dir/kind.txt} (kind: same or diff), fold 0. */
    List<Pair> pairs(Path dir, String kind) throws IOException {
      List<Pair> pairs = new ArrayList<>();
      for (String l : Files.readAllLines(dir.resolve(kind + ".txt"))) {
        if (l.isBlank()) {
          continue;
        }
        String[] ij = l.trim().split(",");
        Path a = frontal.get(Integer.parseInt(ij[0].trim()));
        Path b = second.get(Integer.parseInt(ij[1].trim()));
        if (a == null || b == null) {
          throw new IOException("unknown index in " + dir + "/" + kind + ".txt: " + l);
        }
        pairs.add(new Pair(a, b, kind.equals("same"), 0));
      }
      return pairs;
    }
  }

  private static Map<Integer, Path> indexList(Path protocolDir, String name) throws IOException {
    Map<Integer, Path> map = new HashMap<>();
    for (String l : Files.readAllLines(protocolDir.resolve(name))) {
      String[] f = l.trim().split("\\s+", 2);
      if (f.length == 2) {
        map.put(Integer.parseInt(f[0]), protocolDir.resolve(f[1]).normalize());
      }
    }
    return map;
  }
}
