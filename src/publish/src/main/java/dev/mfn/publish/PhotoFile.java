package dev.mfn.publish;

import java.nio.file.Path;

/**
 * One file found under the published folder: its identity is the top folder under the root, and
 * its source is the path relative to the root (photos may sit deeper, e.g. 001/frontal/01.jpg).
 */
public record PhotoFile(Path path, String subject, String source) {}
