package dev.mfn.search.models;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mfn.model.store.ModelConfig;
import dev.mfn.model.store.ModelStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A read-only look at a model store (see {@link ModelStore}) for the console's Models tab: every
 * version folder {@code vN}, newest first, with its card ({@code model-card.json}), the gate's
 * verdict ({@code gate.json}, written by a gated training) and the names of its plots. It never
 * writes, and reads only files inside the store: names are checked against fixed patterns, and a
 * plot's path is resolved and checked to stay inside its version's {@code plots} folder.
 *
 * <p>A root that is itself a version (it holds {@code config.json}, like {@code models/default})
 * is a single-version store: the folder's name is the version. A root of null is no store at all.
 */
public final class ModelShelf {
  private static final Logger LOG = LoggerFactory.getLogger(ModelShelf.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final TypeReference<LinkedHashMap<String, Object>> OBJECT = new TypeReference<>() {};
  /** The version folders of a store (ModelStore's names). */
  public static final Pattern VERSION = Pattern.compile("v(\\d{1,9})");
  /** The plot names the shelf serves: lower-case letters, digits and dashes, .png. */
  public static final Pattern PLOT = Pattern.compile("[a-z0-9-]{1,100}\\.png");
  /** The order the training writes its plots in; others follow by name. */
  private static final List<String> PLOT_ORDER = List.of("loss.png", "accuracy.png", "learning-rate.png", "roc-lfw.png");
  public static final String CARD = "model-card.json";
  public static final String GATE = "gate.json";
  public static final String PLOTS = "plots";
  /** The largest card or gate file read (they are a few KB): a stray huge file is not loaded. */
  private static final long MAX_JSON_BYTES = 1 << 20;

  private final Path root;

  /** @param root the model store's folder (it may not exist yet), or null: no store */
  public ModelShelf(Path root) {
    this.root = root == null ? null : root.toAbsolutePath().normalize();
  }

  public Path root() {
    return root;
  }

  /**
   * One version as the console shows it.
   *
   * @param id the id it is served under and names its index with ({@link ModelConfig#id()}: the
   *     version, and its store id when it has one, e.g. {@code v1-5ba27732}), or null without a
   *     readable {@code config.json}; the folder name alone is not it
   * @param created when it was made (the card's, else the config's "created"; else the folder's
   *     last modification), ISO-8601
   * @param complete false while it is being made (its {@value ModelStore#INCOMPLETE} marker is
   *     there) or when it has no {@code config.json}: not a version anything serves
   * @param card model-card.json as JSON, or null when absent or unreadable
   * @param gate gate.json as JSON ({@code passed}, {@code reason}, ...), or null when the version
   *     was not gated
   * @param plots the file names in its plots folder that {@link #plot} serves
   */
  public record Version(String version, String id, String created, boolean complete, Map<String, Object> card,
      Map<String, Object> gate, List<String> plots) {

    /** Whether the gate refused it (false when it was not gated or passed). */
    public boolean refusedByGate() {
      return gate != null && Boolean.FALSE.equals(gate.get("passed"));
    }

    /** As GET /models lists it (null card and gate included). */
    public Map<String, Object> toJson() {
      Map<String, Object> json = new LinkedHashMap<>();
      json.put("version", version);
      json.put("id", id);
      json.put("created", created);
      json.put("complete", complete);
      json.put("card", card);
      json.put("gate", gate);
      json.put("plots", plots);
      return json;
    }
  }

  /** Every version folder of the store, newest (highest number) first; empty without a store. */
  public List<Version> versions() throws IOException {
    List<Version> versions = new ArrayList<>();
    for (Path folder : folders()) {
      versions.add(read(folder));
    }
    return versions;
  }

  /**
   * How many versions the gate refused (their gate.json says {@code "passed": false}): for a
   * metric, so it never throws; an unreadable store counts 0.
   */
  public long refusedByGate() {
    try {
      long refused = 0;
      for (Path folder : folders()) {
        Map<String, Object> gate = json(folder.resolve(GATE));
        if (gate != null && Boolean.FALSE.equals(gate.get("passed"))) {
          refused++;
        }
      }
      return refused;
    } catch (IOException | RuntimeException e) {
      LOG.debug("cannot read the model store {}: {}", root, e.toString());
      return 0;
    }
  }

  /** True when {@code version} names a version this shelf could hold (a pattern check, not a lookup). */
  public boolean validVersion(String version) {
    if (version == null || root == null) {
      return false;
    }
    return single() ? root.getFileName() != null && version.equals(root.getFileName().toString())
        : VERSION.matcher(version).matches();
  }

  /** True when {@code name} is a plot name the shelf serves (a pattern check, not a lookup). */
  public static boolean validPlot(String name) {
    return name != null && PLOT.matcher(name).matches();
  }

  /**
   * The file of one plot, if the version and the plot exist: {@code version} must be a version
   * folder's name (see {@link #validVersion}) and {@code name} match {@link #PLOT}; the resolved
   * file (links followed) must lie inside the version's plots folder, else empty.
   */
  public Optional<Path> plot(String version, String name) throws IOException {
    if (root == null || !validVersion(version) || !validPlot(name)) {
      return Optional.empty();
    }
    Path folder = single() ? root : root.resolve(version);
    Path plots = folder.resolve(PLOTS);
    if (!Files.isDirectory(plots)) {
      return Optional.empty();
    }
    Path inside = plots.toRealPath();
    if (!inside.startsWith(root.toRealPath())) {
      return Optional.empty(); // a plots folder that is a link out of the store
    }
    Path file = inside.resolve(name).normalize();
    if (!file.startsWith(inside) || !Files.isRegularFile(file)) {
      return Optional.empty();
    }
    Path real = file.toRealPath();
    if (!real.startsWith(inside) || !real.getParent().equals(inside)) {
      return Optional.empty(); // a link that leads out of the plots folder
    }
    return Optional.of(real);
  }

  private boolean single() {
    return root != null && Files.isRegularFile(root.resolve(ModelConfig.FILE));
  }

  /** The store's version folders, highest number first (the root itself for a single-version store). */
  private List<Path> folders() throws IOException {
    if (root == null || !Files.isDirectory(root)) {
      return List.of();
    }
    if (single()) {
      return List.of(root);
    }
    try (Stream<Path> children = Files.list(root)) {
      return children
          .filter(p -> VERSION.matcher(p.getFileName().toString()).matches() && Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS))
          .sorted(Comparator.comparingInt(ModelShelf::number).reversed())
          .toList();
    }
  }

  private static int number(Path folder) {
    var m = VERSION.matcher(folder.getFileName().toString());
    return m.matches() ? Integer.parseInt(m.group(1)) : -1;
  }

  private Version read(Path folder) throws IOException {
    boolean complete = Files.isRegularFile(folder.resolve(ModelConfig.FILE)) && !ModelStore.incomplete(folder);
    Map<String, Object> card = json(folder.resolve(CARD));
    Map<String, Object> gate = json(folder.resolve(GATE));
    String created = card != null && card.get("created") instanceof String s ? s : null;
    if (created == null) {
      Map<String, Object> config = json(folder.resolve(ModelConfig.FILE));
      created = config != null && config.get("created") instanceof String t ? t : null;
    }
    if (created == null) {
      created = Files.getLastModifiedTime(folder).toInstant().toString();
    }
    return new Version(folder.getFileName().toString(), servedId(folder), created, complete, card, gate,
        plots(folder.resolve(PLOTS)));
  }

  /** The version's {@link ModelConfig#id()}, or null when its config is absent or unreadable. */
  private static String servedId(Path folder) {
    try {
      Path file = folder.resolve(ModelConfig.FILE);
      return Files.isRegularFile(file) && Files.size(file) <= MAX_JSON_BYTES ? ModelConfig.read(folder).id() : null;
    } catch (IOException | RuntimeException e) {
      LOG.warn("cannot read the config of {}: {}", folder, e.toString());
      return null;
    }
  }

  private static List<String> plots(Path folder) throws IOException {
    if (!Files.isDirectory(folder)) {
      return List.of();
    }
    try (Stream<Path> files = Files.list(folder)) {
      return files.filter(f -> validPlot(f.getFileName().toString()) && Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS))
          .map(f -> f.getFileName().toString())
          .sorted(Comparator.comparingInt((String n) -> PLOT_ORDER.contains(n) ? PLOT_ORDER.indexOf(n) : PLOT_ORDER.size())
              .thenComparing(Comparator.naturalOrder()))
          .toList();
    }
  }

  /** A JSON object file, or null when it is absent, too large or not a JSON object. */
  private static Map<String, Object> json(Path file) {
    try {
      if (!Files.isRegularFile(file) || Files.size(file) > MAX_JSON_BYTES) {
        return null;
      }
      return JSON.readValue(file.toFile(), OBJECT);
    } catch (IOException | RuntimeException e) {
      LOG.warn("cannot read {}: {}", file, e.toString());
      return null;
    }
  }
}
