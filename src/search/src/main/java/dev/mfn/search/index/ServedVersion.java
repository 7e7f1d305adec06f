package dev.mfn.search.index;

/**
 * The version searches use now (the Elasticsearch alias, or the embedded index's SERVING file) and
 * where its model is, recorded when it was served, so a search service can switch to it by itself.
 *
 * @param modelLocation a URI or path of the model, or null when the one who served it did not say
 */
public record ServedVersion(String version, String modelLocation) {}
