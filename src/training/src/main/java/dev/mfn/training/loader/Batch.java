package dev.mfn.training.loader;

/**
 * One training batch, ready for the network: {@code size} crops as NCHW floats (BGR, (x-127.5)/128)
 * and their class labels.
 */
public record Batch(float[] pixels, long[] labels, int size) {}
