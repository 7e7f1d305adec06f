package dev.mfn.model.net;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Saves and loads a block's parameters (DJL's own encoding, BatchNorm running statistics included)
 * as one file, written to a temporary name first so a crash never leaves half a file behind.
 */
public final class ParameterFiles {
  private ParameterFiles() {}

  public static void save(Block block, Path file) throws IOException {
    Files.createDirectories(file.toAbsolutePath().getParent());
    Path partial = file.resolveSibling(file.getFileName() + ".partial");
    try (DataOutputStream out =
        new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(partial), 1 << 16))) {
      block.saveParameters(out);
    }
    Files.move(partial, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  /** Replaces the block's parameter values with the file's (shapes must match the block). */
  public static void load(Block block, NDManager manager, Path file) throws IOException {
    try (DataInputStream in =
        new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 16))) {
      block.loadParameters(manager, in);
    } catch (MalformedModelException e) {
      throw new IOException("cannot read parameters " + file + ": " + e.getMessage(), e);
    }
  }
}
