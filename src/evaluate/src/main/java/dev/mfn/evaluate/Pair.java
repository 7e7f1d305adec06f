package dev.mfn.evaluate;

import java.nio.file.Path;

/** Two photos, whether they show the same person, and the fold the pair belongs to (0-based). */
public record Pair(Path first, Path second, boolean same, int fold) {}
