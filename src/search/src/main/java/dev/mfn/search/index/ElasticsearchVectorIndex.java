package dev.mfn.search.index;

import co.elastic.clients.elasticsearch.ElasticsearchClient;
import co.elastic.clients.elasticsearch._types.Refresh;
import co.elastic.clients.elasticsearch._types.mapping.DenseVectorIndexOptionsType;
import co.elastic.clients.elasticsearch._types.mapping.DenseVectorSimilarity;
import co.elastic.clients.elasticsearch.core.BulkRequest;
import co.elastic.clients.elasticsearch.core.BulkResponse;
import co.elastic.clients.elasticsearch.core.GetResponse;
import co.elastic.clients.elasticsearch.core.SearchResponse;
import co.elastic.clients.elasticsearch.core.search.Hit;
import co.elastic.clients.transport.TransportUtils;
import co.elastic.clients.json.JsonData;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;

/**
 * The cluster backend: one Elasticsearch index per model version ({@code faces-<version>}) with a
 * {@code dense_vector} (128-d, dot product on unit vectors, float HNSW), created with its mapping on
 * first use; the alias {@code faces} points at the version being served. Bulk writes by document
 * id (a replay overwrites), retried with exponential back-off; search is Elasticsearch's kNN.
 */
public final class ElasticsearchVectorIndex implements VectorIndex {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ElasticsearchVectorIndex.class);
  public static final String ALIAS = "faces";
  private static final String VERSION_META = "model_version";
  private static final String LOCATION_META = "model_location";
  /**
   * Elasticsearch's expunge skips segments with under 10% deletions by default: at 0, an erased
   * person's documents leave every segment that held one.
   */
  private static final String EXPUNGE_ALL = "index.merge.policy.expunge_deletes_allowed";
  private static final long EXPUNGE_SECONDS = 120;
  private static final int ATTEMPTS = 5;

  /** Where the cluster is and how to log in; TLS when the URL is https (with a CA file if given). */
  public record Connection(String url, String username, String password, String apiKey, Path caCertificate) {
    @Override
    public String toString() { // never the password or the key
      return "Connection[" + url + ", user " + username + (caCertificate == null ? "" : ", CA " + caCertificate) + "]";
    }

    public ElasticsearchClient client() throws IOException {
      var ssl = caCertificate == null ? null : TransportUtils.sslContextFromHttpCaCrt(caCertificate.toFile());
      return ElasticsearchClient.of(b -> {
        b.host(url);
        if (apiKey != null && !apiKey.isBlank()) {
          b.apiKey(apiKey);
        } else if (username != null && !username.isBlank()) {
          b.usernameAndPassword(username, password);
        }
        if (ssl != null) {
          b.sslContext(ssl);
        }
        return b;
      });
    }
  }

  /** A stored face as Elasticsearch sees it (_source). */
  @JsonIgnoreProperties(ignoreUnknown = true)
  record Source(
      @JsonProperty("subject") String subject,
      @JsonProperty("image_id") String imageId,
      @JsonProperty("face_index") int faceIndex,
      @JsonProperty("model_version") String modelVersion,
      @JsonProperty("vector") float[] vector,
      @JsonProperty("box") float[] box,
      @JsonProperty("crop_png") String cropPng,
      // absent from documents written before they existed: read as null (Long, not long, for that)
      @JsonProperty("source") String source,
      @JsonProperty("published_at") Long publishedAt) {

    /** The publication time as FaceDocument keeps it: 0 when not known. */
    long publishedMillis() {
      return publishedAt == null ? 0 : publishedAt;
    }
  }

  /**
   * Where a face's photo came from and when it was published: kept for display (the console's
   * Subjects tab), never searched, so not indexed. The source has no doc values either: it lives in
   * _source only, so a caller-given name of any length is kept (a keyword's doc values refuse a
   * value over 32 KB, which would fail the whole bulk write). The publication time is a date
   * (epoch milliseconds, as written) so that it reads as a time wherever the index is looked at.
   */
  private static final co.elastic.clients.elasticsearch._types.mapping.Property SOURCE_FIELD =
      co.elastic.clients.elasticsearch._types.mapping.Property.of(p -> p.keyword(k -> k.index(false).docValues(false)));
  private static final co.elastic.clients.elasticsearch._types.mapping.Property PUBLISHED_FIELD =
      co.elastic.clients.elasticsearch._types.mapping.Property.of(p -> p.date(d -> d.format("epoch_millis").index(false)));

  private final ElasticsearchClient client;
  private final String index;
  private final String modelVersion;
  private boolean ownsClient;

  /** The index of one model version through a client the caller keeps (and closes). */
  public ElasticsearchVectorIndex(ElasticsearchClient client, String modelVersion) throws IOException {
    this.client = client;
    this.modelVersion = modelVersion;
    this.index = indexName(modelVersion);
    createIfMissing();
  }

  /** The index of one model version through a client of its own, closed with the index. */
  public static ElasticsearchVectorIndex open(Connection connection, String modelVersion) throws IOException {
    ElasticsearchClient client = connection.client();
    try {
      ElasticsearchVectorIndex index = new ElasticsearchVectorIndex(client, modelVersion);
      index.ownsClient = true;
      return index;
    } catch (IOException | RuntimeException e) {
      client.close();
      throw explained(e, connection.url());
    }
  }

  /**
   * What a person at the CLI should read when the cluster cannot be used: refused credentials,
   * an untrusted certificate, or no cluster at all, in one line that names the setting to fix.
   */
  public static IOException explained(Exception e, String url) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      String m = String.valueOf(t.getMessage());
      if (t instanceof javax.net.ssl.SSLHandshakeException || t instanceof java.security.cert.CertificateException
          || m.contains("PKIX path") || m.contains("unable to find valid certification path")) {
        return new IOException("cannot verify the TLS certificate of Elasticsearch at " + url
            + ": check index.es.ca (the CA file that signed the node's certificate)", e);
      }
      if (m.contains("status: 401") || m.contains("[401]") || m.contains("401 Unauthorized")
          || m.contains("security_exception") && m.contains("authenticate")) {
        return new IOException("Elasticsearch at " + url + " refused the credentials (HTTP 401): check index.es.user and"
            + " the password (MFN_INDEX_ES_PASSWORD or index.es.password.file) or the API key", e);
      }
      if (t instanceof java.net.ConnectException) {
        return new IOException("cannot reach Elasticsearch at " + url + " (connection refused): is it running?"
            + " (`mfn services start elasticsearch`, setting index.es.url)", e);
      }
    }
    return e instanceof IOException io ? io : new IOException(e.getMessage(), e);
  }

  /** The model versions that have an index in the cluster (from each index's _meta). */
  public static List<String> versions(ElasticsearchClient client) throws IOException {
    List<String> versions = new ArrayList<>();
    client.indices().getMapping(m -> m.index("faces-*")).mappings().forEach((name, mapping) -> {
      var meta = mapping.mappings().meta() == null ? null : mapping.mappings().meta().get(VERSION_META);
      versions.add(meta != null ? meta.to(String.class) : name.substring("faces-".length()));
    });
    versions.sort(null);
    return versions;
  }

  /** The model version the {@code faces} alias points at, if any. */
  public static java.util.Optional<String> servedVersion(ElasticsearchClient client) throws IOException {
    return served(client).map(ServedVersion::version);
  }

  /** The version the alias points at, with its model's location (kept in the index's _meta). */
  public static java.util.Optional<ServedVersion> served(ElasticsearchClient client) throws IOException {
    if (!client.indices().existsAlias(a -> a.name(ALIAS)).value()) {
      return java.util.Optional.empty();
    }
    var name = client.indices().getAlias(a -> a.name(ALIAS)).aliases().keySet().stream().findFirst();
    if (name.isEmpty()) {
      return java.util.Optional.empty();
    }
    // index names are lower-cased: the exact version is kept in the mapping's _meta
    var mapping = client.indices().getMapping(m -> m.index(name.get())).get(name.get()).mappings();
    var meta = mapping.meta() == null ? null : mapping.meta().get(VERSION_META);
    var location = mapping.meta() == null ? null : mapping.meta().get(LOCATION_META);
    return java.util.Optional.of(new ServedVersion(
        meta != null ? meta.to(String.class) : name.get().substring("faces-".length()),
        location == null ? null : location.to(String.class)));
  }

  public static String indexName(String modelVersion) {
    return "faces-" + modelVersion.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9._-]", "-");
  }

  public String index() {
    return index;
  }

  private void createIfMissing() throws IOException {
    if (client.indices().exists(e -> e.index(index)).value()) {
      addDisplayFields();
      return;
    }
    try {
      create();
    } catch (co.elastic.clients.elasticsearch._types.ElasticsearchException e) {
      // another writer (a parallel sink task) created it between our check and our request
      if (e.error() == null || !"resource_already_exists_exception".equals(e.error().type())) {
        throw e;
      }
    }
  }

  private void create() throws IOException {
    client.indices().create(c -> c.index(index).settings(st -> st.otherSettings(EXPUNGE_ALL, JsonData.of(0))).mappings(m -> m
        .meta(VERSION_META, co.elastic.clients.json.JsonData.of(modelVersion))
        .properties("subject", p -> p.keyword(k -> k))
        .properties("image_id", p -> p.keyword(k -> k))
        .properties("face_index", p -> p.integer(i -> i))
        .properties("model_version", p -> p.keyword(k -> k))
        .properties("vector", p -> p.denseVector(d -> d.dims(128).index(true)
            .similarity(DenseVectorSimilarity.DotProduct)
            .indexOptions(o -> o.type(DenseVectorIndexOptionsType.Hnsw).m(16).efConstruction(100))))
        .properties("box", p -> p.float_(f -> f.index(false)))
        .properties("crop_png", p -> p.binary(b -> b))
        .properties("source", SOURCE_FIELD)
        .properties("published_at", PUBLISHED_FIELD)));
  }

  /**
   * An index created before the display fields existed gets their mapping on first use (adding a
   * field is allowed on a live index, and repeating the same mapping is a no-op); without it, the
   * first document with a source would map it dynamically as searchable text. Not fatal: with
   * credentials that may only read, or a conflicting mapping, the fields are still written and read
   * from _source, so this only warns.
   */
  private void addDisplayFields() throws IOException {
    try {
      client.indices().putMapping(m -> m.index(index)
          .properties("source", SOURCE_FIELD)
          .properties("published_at", PUBLISHED_FIELD));
    } catch (co.elastic.clients.elasticsearch._types.ElasticsearchException e) {
      LOG.warn("could not add the source and published_at mappings to {}: {}", index, e.getMessage());
    }
  }

  /**
   * Records the model's location in the index's _meta, then points the serving alias at this index
   * (and away from any other) in one atomic request.
   */
  @Override
  public void serve(String modelLocation) throws IOException {
    if (modelLocation != null) {
      client.indices().putMapping(m -> m.index(index)
          .meta(VERSION_META, co.elastic.clients.json.JsonData.of(modelVersion))
          .meta(LOCATION_META, co.elastic.clients.json.JsonData.of(modelLocation)));
    }
    client.indices().updateAliases(u -> u
        .actions(a -> a.remove(r -> r.index("faces-*").alias(ALIAS).mustExist(false)))
        .actions(a -> a.add(ad -> ad.index(index).alias(ALIAS))));
  }

  @Override
  public void upsert(List<FaceDocument> documents) throws IOException {
    write(documents, Refresh.WaitFor);
  }

  /**
   * Without {@code refresh=wait_for}: waiting held the embed job's sink (and the operator chained
   * to it) up to a refresh interval per write, which at 20 photos/s let a backlog build up (p99
   * 5.9 s from send to findable, bench/RESULTS.md "Freshness"); the next scheduled refresh makes
   * them searchable all the same.
   */
  @Override
  public void upsertEventually(List<FaceDocument> documents) throws IOException {
    write(documents, Refresh.False);
  }

  /**
   * Bulk loading: writes without waiting for a refresh (a refresh per request would dominate a
   * load of millions); call {@link #refresh()} once at the end to make them searchable.
   */
  public void load(List<FaceDocument> documents) throws IOException {
    write(documents, Refresh.False);
  }

  @Override
  public void refresh() throws IOException {
    client.indices().refresh(r -> r.index(index));
  }

  private void write(List<FaceDocument> documents, Refresh refresh) throws IOException {
    if (documents.isEmpty()) {
      return;
    }
    BulkRequest.Builder bulk = new BulkRequest.Builder().refresh(refresh);
    for (FaceDocument d : documents) {
      Source source = new Source(d.subject(), d.imageId(), d.faceIndex(), d.modelVersion(), d.vector(), d.box(),
          d.cropPng() == null ? null : Base64.getEncoder().encodeToString(d.cropPng()),
          d.source(), d.publishedAt() > 0 ? d.publishedAt() : null);
      bulk.operations(op -> op.index(i -> i.index(index).id(d.id()).document(source)));
    }
    BulkRequest request = bulk.build();
    IOException last = null;
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
      try {
        BulkResponse response = client.bulk(request);
        if (!response.errors()) {
          return;
        }
        last = new IOException("bulk write to " + index + " had errors: " + response.items().stream()
            .filter(i -> i.error() != null).findFirst().map(i -> i.error().reason()).orElse("?"));
      } catch (IOException e) {
        last = e;
      }
      sleep(200L << attempt); // 0.2, 0.4, 0.8, 1.6 s: the ids make a repeated write harmless
    }
    throw last;
  }

  @Override
  public List<SearchHit> search(float[] query, int k, int candidates) throws IOException {
    List<Float> vector = new ArrayList<>(query.length);
    for (float v : query) {
      vector.add(v);
    }
    SearchResponse<Source> response = client.search(s -> s.index(index)
        .knn(n -> n.field("vector").queryVector(vector).k(k).numCandidates(Math.max(k, candidates)))
        .source(src -> src.filter(f -> f.excludes("vector", "crop_png")))
        .size(k), Source.class);
    List<SearchHit> hits = new ArrayList<>();
    for (Hit<Source> h : response.hits().hits()) {
      Source s = h.source();
      // Elasticsearch scores dot_product as (1 + dot) / 2; turn it back into the cosine
      hits.add(new SearchHit(h.id(), s.subject(), s.imageId(), s.faceIndex(), (float) (2 * h.score() - 1)));
    }
    return hits;
  }

  @Override
  public long deleteSubject(String subject) throws IOException {
    return deleteSubjects(List.of(subject));
  }

  @Override
  public long deleteSubjects(java.util.Collection<String> subjects) throws IOException {
    if (subjects.isEmpty()) {
      return 0;
    }
    // ids by search + a bulk delete, not _delete_by_query: that lives in the reindex module,
    // which not every distribution carries (the minimal one our tests run has none)
    client.indices().refresh(r -> r.index(index));
    List<co.elastic.clients.elasticsearch._types.FieldValue> values =
        subjects.stream().map(co.elastic.clients.elasticsearch._types.FieldValue::of).toList();
    String subject = String.join(", ", subjects);
    long removed = 0;
    long lastDelete = -1;
    while (true) {
      SearchResponse<Void> page = client.search(s -> s.index(index).size(1000)
          .query(q -> q.terms(t -> t.field("subject").terms(v -> v.value(values)))).source(src -> src.fetch(false)), Void.class);
      List<Hit<Void>> hits = page.hits().hits();
      if (hits.isEmpty()) {
        break;
      }
      BulkRequest.Builder bulk = new BulkRequest.Builder().refresh(Refresh.True);
      for (Hit<Void> h : hits) {
        bulk.operations(op -> op.delete(d -> d.index(index).id(h.id())));
      }
      BulkResponse response = client.bulk(bulk.build());
      if (response.errors()) {
        throw new IOException("deleting " + subject + " from " + index + " failed for some documents");
      }
      for (var item : response.items()) {
        if (item.seqNo() != null) {
          lastDelete = Math.max(lastDelete, item.seqNo());
        }
      }
      removed += hits.size();
    }
    if (removed == 0) {
      return 0; // nothing of the subjects here: no merge
    }
    expungeDeletes(lastDelete);
    return removed;
  }

  /** Expunges every deleted document of the index (those of an earlier deletion too). */
  @Override
  public void expungeDeletes() throws IOException {
    var stats = client.indices().stats(s -> s.index(index).level(co.elastic.clients.elasticsearch._types.Level.Shards));
    long deleted = stats.indices().values().stream()
        .mapToLong(i -> i.primaries() == null || i.primaries().docs() == null || i.primaries().docs().deleted() == null
            ? 0 : i.primaries().docs().deleted()).sum();
    if (deleted == 0) {
      return;
    }
    long maxSeqNo = stats.indices().values().stream()
        .flatMap(i -> i.shards() == null ? java.util.stream.Stream.empty() : i.shards().values().stream())
        .flatMap(List::stream).filter(sh -> sh.seqNo() != null).mapToLong(sh -> sh.seqNo().maxSeqNo()).max().orElse(-1);
    expungeDeletes(maxSeqNo);
  }

  /**
   * Deleted documents stay in their segments until a merge, and Elasticsearch keeps soft-deleted
   * documents while a retention lease still needs them: its own peer-recovery lease catches up
   * with the deletions within about 30 s. So: wait until every lease retains only operations after
   * our last delete (sequence number {@code lastDelete}; our indices have one shard), then expunge
   * with expunge_deletes_allowed at 0 (by default segments under 10% deletions are skipped), and
   * refresh so that the searcher lets the old segment files go.
   */
  private void expungeDeletes(long lastDelete) throws IOException {
    // (indices created before the setting existed get it first: it is dynamic)
    client.indices().putSettings(p -> p.index(index).settings(st -> st.otherSettings(EXPUNGE_ALL, JsonData.of(0))));
    client.indices().flush(f -> f.index(index));
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(EXPUNGE_SECONDS);
    while (retainedUpTo() <= lastDelete) {
      if (System.nanoTime() > deadline) {
        // not fatal: the documents are deleted for every search; their bytes leave at the next
        // expunge (any later deletion, or `mfn delete` again, which always expunges)
        LOG.warn("the deleted documents of {} are still retained after {} s (a retention lease of a replica or follower "
            + "holds them): their bytes stay on disk until the next expunge", index, EXPUNGE_SECONDS);
        return;
      }
      sleep(1_000);
    }
    client.indices().forcemerge(f -> f.index(index).onlyExpungeDeletes(true).flush(true).waitForCompletion(true));
    client.indices().refresh(r -> r.index(index));
  }

  /** The lowest sequence number any retention lease of the index still retains. */
  private long retainedUpTo() throws IOException {
    return client.indices().stats(s -> s.index(index).level(co.elastic.clients.elasticsearch._types.Level.Shards))
        .indices().values().stream()
        .flatMap(i -> i.shards() == null ? java.util.stream.Stream.empty() : i.shards().values().stream())
        .flatMap(List::stream)
        .filter(sh -> sh.retentionLeases() != null)
        .flatMap(sh -> sh.retentionLeases().leases().stream())
        .mapToLong(l -> l.retainingSeqNo()).min().orElse(Long.MAX_VALUE);
  }

  @Override
  public byte[] crop(String id) throws IOException {
    GetResponse<Source> response = client.get(g -> g.index(index).id(id), Source.class);
    if (!response.found() || response.source().cropPng() == null) {
      return null;
    }
    return Base64.getDecoder().decode(response.source().cropPng());
  }

  @Override
  public long count() throws IOException {
    return client.count(c -> c.index(index)).count();
  }

  /**
   * The count API with a bool filter (term {@code subject}, term {@code image_id}): exact, live
   * documents only, as of the last refresh (like every search here).
   */
  @Override
  public long countImage(String subject, String imageId) throws IOException {
    if (subject == null || imageId == null) {
      return 0;
    }
    return client.count(c -> c.index(index).query(q -> q.bool(b -> b
        .filter(f -> f.term(t -> t.field("subject").value(subject)))
        .filter(f -> f.term(t -> t.field("image_id").value(imageId)))))).count();
  }

  /** The most buckets one terms aggregation returns here: how far {@link #subjects} can page. */
  static final int MAX_SUBJECT_BUCKETS = 10_000;

  /**
   * One search of this version's index with three aggregations: a terms aggregation on the keyword
   * field {@code subject}, ordered by key ascending (exact: each shard returns its first keys),
   * {@code offset + limit} buckets (at most {@value #MAX_SUBJECT_BUCKETS}: a page past that is
   * empty), with a {@code top_hits} of one face per bucket for the thumbnail; and a cardinality
   * aggregation for the total, which is exact up to about 3,000 subjects and approximate above
   * (HyperLogLog++, within a few percent). The filter is a case-insensitive regular expression
   * built from the text (each letter as {@code [aA]}, every other character escaped), applied to
   * the documents (so the total counts only matching subjects) and as the terms' {@code include}.
   * Faces without a subject or with the empty one are left out. Only live documents count.
   */
  @Override
  public SubjectPage subjects(String filter, int offset, int limit) throws IOException {
    SubjectPage.check(offset, limit);
    String needle = SubjectPage.needle(filter);
    String pattern = needle == null ? null : ".*" + caseInsensitiveRegexp(needle) + ".*";
    int buckets = (int) Math.min((long) offset + limit, MAX_SUBJECT_BUCKETS);
    co.elastic.clients.elasticsearch._types.query_dsl.Query named = co.elastic.clients.elasticsearch._types.query_dsl.Query.of(q -> q
        .bool(b -> {
          b.mustNot(m -> m.term(t -> t.field("subject").value("")));
          if (pattern != null) {
            b.filter(f -> f.regexp(r -> r.field("subject").value(pattern)));
          }
          return b;
        }));
    SearchResponse<Void> response = client.search(s -> s.index(index).size(0).query(named)
        .aggregations("subjects", a -> a
            .terms(t -> {
              t.field("subject").size(buckets)
                  .order(co.elastic.clients.util.NamedValue.of("_key", co.elastic.clients.elasticsearch._types.SortOrder.Asc));
              if (pattern != null) {
                t.include(i -> i.regexp(pattern));
              }
              return t;
            })
            .aggregations("face", f -> f.topHits(h -> h.size(1).source(src -> src.fetch(false))
                .sort(o -> o.field(by -> by.field("image_id")))
                .sort(o -> o.field(by -> by.field("face_index"))))))
        .aggregations("total", a -> a.cardinality(c -> c.field("subject").precisionThreshold(3000))), Void.class);
    var aggregations = response.aggregations();
    long total = aggregations.get("total") == null ? 0 : aggregations.get("total").cardinality().value();
    var terms = aggregations.get("subjects");
    List<SubjectSummary> page = new ArrayList<>();
    if (terms != null && terms.isSterms()) {
      List<co.elastic.clients.elasticsearch._types.aggregations.StringTermsBucket> all = terms.sterms().buckets().array();
      for (int i = offset; i < all.size() && page.size() < limit; i++) {
        var bucket = all.get(i);
        var face = bucket.aggregations().get("face");
        String faceId = face == null || face.topHits().hits().hits().isEmpty() ? null : face.topHits().hits().hits().get(0).id();
        page.add(new SubjectSummary(bucket.key().stringValue(), bucket.docCount(), faceId));
      }
    }
    return new SubjectPage(page, total);
  }

  /**
   * A Lucene regular expression (what Elasticsearch's regexp query and terms {@code include} take,
   * case-sensitive) that matches {@code text} in any letter case: a letter with two cases becomes
   * {@code [aA]}, other letters and digits stay, every other character is escaped (so none of
   * {@code . ? + * | { } [ ] ( ) " \ # @ & < > ~} acts as an operator).
   */
  static String caseInsensitiveRegexp(String text) {
    StringBuilder out = new StringBuilder();
    text.codePoints().forEach(c -> {
      int lower = Character.toLowerCase(c);
      int upper = Character.toUpperCase(c);
      if (Character.isLetter(c) && lower != upper) {
        out.append('[').appendCodePoint(lower).appendCodePoint(upper).append(']');
      } else if (Character.isLetterOrDigit(c)) {
        out.appendCodePoint(c);
      } else {
        out.append('\\').appendCodePoint(c);
      }
    });
    return out.toString();
  }

  @Override
  public List<FaceDocument> facesOf(String subject, int limit) throws IOException {
    if (limit < 1) {
      throw new IllegalArgumentException("limit is 1 or more, not " + limit);
    }
    if (subject == null || subject.isEmpty()) {
      return List.of();
    }
    SearchResponse<Source> response = client.search(s -> s.index(index).size(Math.min(limit, MAX_SUBJECT_BUCKETS))
        .query(q -> q.term(t -> t.field("subject").value(subject)))
        .sort(o -> o.field(f -> f.field("image_id")))
        .sort(o -> o.field(f -> f.field("face_index")))
        .source(src -> src.filter(f -> f.excludes("vector", "crop_png"))), Source.class);
    List<FaceDocument> faces = new ArrayList<>();
    for (Hit<Source> h : response.hits().hits()) {
      Source src = h.source();
      faces.add(new FaceDocument(src.imageId(), src.faceIndex(), src.subject(), src.modelVersion(), null, src.box(), null,
          src.publishedMillis(), src.source()));
    }
    return faces;
  }

  @Override
  public void forEachStored(java.util.function.Consumer<FaceDocument> action) throws IOException {
    // pages in (image_id, face_index) order: unique per document, so search_after never skips
    List<co.elastic.clients.elasticsearch._types.FieldValue> after = null;
    while (true) {
      final List<co.elastic.clients.elasticsearch._types.FieldValue> from = after;
      SearchResponse<Source> page = client.search(s -> {
        s.index(index).size(500)
            .sort(o -> o.field(f -> f.field("image_id")))
            .sort(o -> o.field(f -> f.field("face_index")))
            .source(src -> src.filter(f -> f.excludes("vector")));
        if (from != null) {
          s.searchAfter(from);
        }
        return s;
      }, Source.class);
      List<Hit<Source>> hits = page.hits().hits();
      if (hits.isEmpty()) {
        return;
      }
      for (Hit<Source> h : hits) {
        Source src = h.source();
        // with its publication time and source, so that a re-index keeps them
        action.accept(new FaceDocument(src.imageId(), src.faceIndex(), src.subject(), src.modelVersion(), null, src.box(),
            src.cropPng() == null ? null : Base64.getDecoder().decode(src.cropPng()), src.publishedMillis(), src.source()));
      }
      after = hits.get(hits.size() - 1).sort();
    }
  }

  @Override
  public void close() throws IOException {
    if (ownsClient) {
      client.close();
    }
  }

  private static void sleep(long millis) throws IOException {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while retrying a bulk write", e);
    }
  }
}
