package dev.mfn.model.net;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDList;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.slf4j.LoggerFactory;

/**
 * PyTorch's fused {@code torch.prelu} kernel (forward and backward), reached through a one-line
 * TorchScript module. DJL 0.36's PyTorch engine has no prelu ({@code NDArrayEx.prelu} throws) and
 * its JNI no call to it, but it does run TorchScript methods with autograd on. Written out as ops,
 * the per-channel PReLU costs about 45% of a MobileFaceNet training step (bench/RESULTS.md); the
 * fused kernel is one pass forward and one backward.
 *
 * <p>The module is built here, in memory, rather than shipped as a file: a TorchScript archive is a
 * zip of the method's source ({@code code/__torch__.py}) and a pickled object of that class with
 * no state but its {@code training} flag. It holds no tensors, so one module serves every device
 * and every thread (calling a TorchScript method does not change the module).
 */
public final class TorchPrelu {
  private static final String SOURCE =
      String.join(
          "\n",
          "class Prelu(Module):",
          "  __parameters__ = []",
          "  __buffers__ = []",
          "  training : bool",
          "  def forward(self: __torch__.Prelu,",
          "    x: Tensor,",
          "    weight: Tensor) -> Tensor:",
          "    return torch.prelu(x, weight)",
          "");

  private static volatile PtSymbolBlock module;
  private static volatile boolean unavailable;

  private TorchPrelu() {}

  /**
   * {@code x > 0 ? x : weight[c] * x}, with {@code weight} of one value per channel (axis 1 of x).
   * Gradients flow to both inputs when the calling thread records them (a GradientCollector is
   * open and they require gradients), exactly as for any other op.
   */
  public static NDArray apply(NDArray x, NDArray weight) {
    // TorchScript's graph executor would profile the method and may rewrite it (a differentiable
    // subgraph with its own backward) after a few calls; a single op has nothing to gain, so it
    // runs as written: the aten kernel and its native backward. The switch is per thread in
    // libtorch, hence set at each call; DJL's own property can turn it back on.
    String optimize = System.getProperty("ai.djl.pytorch.graph_optimizer");
    JniUtils.setGraphExecutorOptimize(optimize != null && Boolean.parseBoolean(optimize));
    // always "train": DJL runs an eval call under an inference-mode guard whose outputs can never
    // be saved for a backward pass (an evaluation inside a GradientCollector would fail on them);
    // whether autograd records is the thread's grad mode, as for DJL's own ops
    return IValueUtils.forward(module(), new NDList(x, weight), true).singletonOrThrow();
  }

  /**
   * Whether the fused kernel can run on this array: the PyTorch engine's, and the module loaded
   * (if it ever fails to, the caller writes the ops instead, after one warning).
   */
  public static boolean available(NDArray x) {
    if (!(x instanceof PtNDArray) || unavailable) {
      return false;
    }
    try {
      module();
      return true;
    } catch (RuntimeException e) {
      unavailable = true;
      LoggerFactory.getLogger(TorchPrelu.class)
          .warn("PReLU: PyTorch's fused kernel could not be loaded ({}); writing it as ops, the same function, slower", e.toString());
      return false;
    }
  }

  private static PtSymbolBlock module() {
    PtSymbolBlock loaded = module;
    if (loaded == null) {
      synchronized (TorchPrelu.class) {
        loaded = module;
        if (loaded == null) {
          // A manager of its own that lives as long as the process: the module is shared
          NDManager manager = Engine.getEngine("PyTorch").newBaseManager();
          try {
            loaded = JniUtils.loadModule((PtNDManager) manager, new ByteArrayInputStream(archive()), false, false);
          } catch (IOException e) {
            throw new UncheckedIOException("could not load the prelu TorchScript module", e);
          }
          module = loaded;
        }
      }
    }
    return loaded;
  }

  /** The TorchScript archive, as {@code torch.jit.save} would write it for the class above. */
  static byte[] archive() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
      stored(zip, "prelu/version", "3\n".getBytes(StandardCharsets.US_ASCII));
      stored(zip, "prelu/.data/version", "3\n".getBytes(StandardCharsets.US_ASCII));
      stored(zip, "prelu/byteorder", "little".getBytes(StandardCharsets.US_ASCII));
      stored(zip, "prelu/code/__torch__.py", SOURCE.getBytes(StandardCharsets.UTF_8));
      stored(zip, "prelu/data.pkl", dataPickle());
      // an empty tuple: the module has no constants
      stored(zip, "prelu/constants.pkl", new byte[] {(byte) 0x80, 2, ')', '.'});
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  /**
   * Pickle protocol 2 of one {@code __torch__.Prelu} object whose state is {@code {"training":
   * True}}: the opcodes TorchScript's own pickler writes for a module without tensors.
   */
  private static byte[] dataPickle() {
    ByteArrayOutputStream p = new ByteArrayOutputStream();
    p.write(0x80); // PROTO
    p.write(2);
    p.writeBytes("c__torch__\nPrelu\n".getBytes(StandardCharsets.US_ASCII)); // GLOBAL
    p.write(')'); // EMPTY_TUPLE
    p.write(0x81); // NEWOBJ
    p.write('}'); // EMPTY_DICT
    p.write('('); // MARK
    byte[] key = "training".getBytes(StandardCharsets.US_ASCII);
    p.write('X'); // BINUNICODE, 4-byte little-endian length
    p.write(key.length);
    p.write(0);
    p.write(0);
    p.write(0);
    p.writeBytes(key);
    p.write(0x88); // NEWTRUE
    p.write('u'); // SETITEMS
    p.write('b'); // BUILD
    p.write('.'); // STOP
    return p.toByteArray();
  }

  /** Uncompressed, as torch.jit.save writes them (its reader maps records in place). */
  private static void stored(ZipOutputStream zip, String name, byte[] data) throws IOException {
    ZipEntry entry = new ZipEntry(name);
    entry.setMethod(ZipEntry.STORED);
    entry.setSize(data.length);
    entry.setCompressedSize(data.length);
    CRC32 crc = new CRC32();
    crc.update(data);
    entry.setCrc(crc.getValue());
    zip.putNextEntry(entry);
    zip.write(data);
    zip.closeEntry();
  }
}
