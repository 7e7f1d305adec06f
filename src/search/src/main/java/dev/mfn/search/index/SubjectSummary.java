package dev.mfn.search.index;

/**
 * One enrolled person as the console lists them.
 *
 * @param subject the name the faces were enrolled under
 * @param faces how many of their faces the index holds now (deleted ones do not count)
 * @param faceId the id of one of those faces (for a thumbnail: {@link VectorIndex#crop}), or null
 */
public record SubjectSummary(String subject, long faces, String faceId) {}
