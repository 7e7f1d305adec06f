package dev.mfn.search.serve;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The service's API keys, each with an id, a name and its scopes, stored hashed in a JSON file
 * (setting {@code serve.keys.file}; `mfn keys create|list|revoke`). A key is shown once, when it
 * is created: {@code mfn_<id>_<secret>}, 32 random bytes of secret. Only the SHA-256 of the key
 * is kept: the secret is random and long, so a plain hash is enough (no password stretching is
 * needed against guessing), and a stolen file gives no key. Keys are compared in constant time.
 *
 * <p>The service re-reads the file when it changes, so a revoked key stops working within a
 * second, without a restart.
 */
public final class ApiKeys {
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final SecureRandom RANDOM = new SecureRandom();
  private final Path file;
  private final ApiKey single;
  private volatile Loaded loaded = new Loaded(List.of(), -1);

  /** Who is calling: the key's id (for the audit trail and the rate limit) and what it may do. */
  public record Caller(String keyId, Set<Scope> scopes) {
    public boolean may(Scope scope) {
      return scopes.contains(scope);
    }
  }

  /** One stored key: never the key itself, only its hash. */
  public record Entry(String id, String name, Set<Scope> scopes, String sha256, Instant created, Instant revoked) {
    public boolean active() {
      return revoked == null;
    }
  }

  /** What {@code create} returns: the entry and, this once, the key. */
  public record Created(Entry entry, String key) {
    @Override
    public String toString() { // never the key
      return "Created[" + entry.id() + "]";
    }
  }

  private record Loaded(List<Entry> entries, long modified) {}

  private record Stored(List<StoredEntry> keys) {}

  /** Every scope of the versions before BROWSE: such a stored key was created with "all". */
  private static final Set<Scope> EVERY_SCOPE_BEFORE_BROWSE =
      EnumSet.of(Scope.SEARCH, Scope.VERIFY, Scope.ENROLL, Scope.DELETE, Scope.RETRAIN);

  private record StoredEntry(String id, String name, List<String> scopes, String sha256, String created, String revoked) {}

  private ApiKeys(Path file, ApiKey single) {
    this.file = file;
    this.single = single;
  }

  /** The keys of a file (which may not exist yet: no key then). */
  public static ApiKeys file(Path file) {
    return new ApiKeys(file, null);
  }

  /**
   * The keys of a file and, besides them, one key with every scope (setting serve.api.key, for a
   * single operator); either may be absent.
   */
  public static ApiKeys fileAnd(Path file, ApiKey single) {
    return new ApiKeys(file, single);
  }

  /** Just one key, with every scope (id "static"). */
  public static ApiKeys single(ApiKey key) {
    return new ApiKeys(null, key);
  }

  /** The caller a presented key belongs to; empty when the key is missing, unknown or revoked. */
  public Optional<Caller> authenticate(String presented) {
    if (presented == null || presented.isEmpty() || presented.length() > 200) {
      return Optional.empty();
    }
    if (single != null && single.matches(presented)) {
      return Optional.of(new Caller("static", EnumSet.allOf(Scope.class)));
    }
    if (file == null) {
      return Optional.empty();
    }
    byte[] hash = sha256(presented);
    for (Entry e : entries()) {
      if (e.active() && MessageDigest.isEqual(hash, HexFormat.of().parseHex(e.sha256()))) {
        return Optional.of(new Caller(e.id(), e.scopes()));
      }
    }
    return Optional.empty();
  }

  /** Every key of the file, revoked ones included. */
  public List<Entry> entries() {
    if (file == null) {
      return List.of();
    }
    try {
      long modified = Files.exists(file) ? Files.getLastModifiedTime(file).toMillis() ^ Files.size(file) : 0;
      Loaded now = loaded;
      if (now.modified() != modified) {
        now = new Loaded(read(), modified);
        loaded = now;
      }
      return now.entries();
    } catch (IOException | RuntimeException e) {
      // an unreadable or malformed key file admits nobody (never everybody)
      return List.of();
    }
  }

  /** Creates a key with these scopes and returns it, this once. */
  public synchronized Created create(String name, Set<Scope> scopes) throws IOException {
    try (var lock = lock()) {
      return createLocked(name, scopes);
    }
  }

  /**
   * An exclusive lock on a file beside the keys file, across processes: two `mfn keys` runs at
   * once must not lose a revocation (read-modify-write, last writer wins).
   */
  private java.io.Closeable lock() throws IOException {
    Files.createDirectories(file.toAbsolutePath().getParent());
    java.nio.channels.FileChannel channel = java.nio.channels.FileChannel.open(
        file.resolveSibling(file.getFileName() + ".lock"), java.nio.file.StandardOpenOption.CREATE,
        java.nio.file.StandardOpenOption.WRITE);
    try {
      channel.lock();
      return channel::close; // closing the channel releases the lock
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e;
    }
  }

  private Created createLocked(String name, Set<Scope> scopes) throws IOException {
    byte[] idBytes = new byte[6];
    byte[] secret = new byte[32];
    RANDOM.nextBytes(idBytes);
    RANDOM.nextBytes(secret);
    String id = HexFormat.of().formatHex(idBytes);
    String key = "mfn_" + id + "_" + HexFormat.of().formatHex(secret);
    Entry entry = new Entry(id, name, Set.copyOf(scopes), HexFormat.of().formatHex(sha256(key)), Instant.now(), null);
    List<Entry> all = new ArrayList<>(read());
    all.add(entry);
    write(all);
    return new Created(entry, key);
  }

  /** Revokes a key by its id; false when there is no such active key. */
  public synchronized boolean revoke(String id) throws IOException {
    try (var lock = lock()) {
      return revokeLocked(id);
    }
  }

  private boolean revokeLocked(String id) throws IOException {
    List<Entry> all = new ArrayList<>(read());
    boolean found = false;
    for (int i = 0; i < all.size(); i++) {
      Entry e = all.get(i);
      if (e.id().equals(id) && e.active()) {
        all.set(i, new Entry(e.id(), e.name(), e.scopes(), e.sha256(), e.created(), Instant.now()));
        found = true;
      }
    }
    if (found) {
      write(all);
    }
    return found;
  }

  private List<Entry> read() throws IOException {
    if (file == null || !Files.exists(file)) {
      return List.of();
    }
    Stored stored = JSON.readValue(file.toFile(), Stored.class);
    List<Entry> entries = new ArrayList<>();
    for (StoredEntry s : stored.keys() == null ? List.<StoredEntry>of() : stored.keys()) {
      Set<Scope> scopes = EnumSet.noneOf(Scope.class);
      s.scopes().forEach(x -> scopes.addAll(Scope.parse(x)));
      if (scopes.containsAll(EVERY_SCOPE_BEFORE_BROWSE)) {
        // a key written with every scope there was before `browse` existed was an "all" key
        scopes.add(Scope.BROWSE);
      }
      entries.add(new Entry(s.id(), s.name(), scopes, s.sha256(), Instant.parse(s.created()),
          s.revoked() == null ? null : Instant.parse(s.revoked())));
    }
    return entries;
  }

  private void write(List<Entry> entries) throws IOException {
    List<StoredEntry> stored = new ArrayList<>();
    for (Entry e : entries) {
      // "all" stays "all": a scope added in a later version reaches the keys that had every one
      List<String> scopes = e.scopes().containsAll(EnumSet.allOf(Scope.class)) ? List.of("all")
          : new ArrayList<>(new TreeSet<>(e.scopes().stream().map(Scope::label).toList()));
      stored.add(new StoredEntry(e.id(), e.name(), scopes, e.sha256(), e.created().toString(),
          e.revoked() == null ? null : e.revoked().toString()));
    }
    Files.createDirectories(file.toAbsolutePath().getParent());
    Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), ".keys-", ".tmp",
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    JSON.writeValue(tmp.toFile(), new Stored(stored));
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  private static byte[] sha256(String key) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
