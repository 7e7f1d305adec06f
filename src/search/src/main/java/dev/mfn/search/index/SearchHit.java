package dev.mfn.search.index;

/** A nearest neighbour: the stored face and its cosine similarity to the query. */
public record SearchHit(String id, String subject, String imageId, int faceIndex, float similarity) {}
