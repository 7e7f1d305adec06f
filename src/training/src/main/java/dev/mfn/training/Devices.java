package dev.mfn.training;

import ai.djl.Device;
import ai.djl.engine.Engine;

/** Turns --device into DJL devices, refusing clearly when the GPUs asked for are not there. */
public final class Devices {
  private Devices() {}

  public static Device[] parse(String spec) {
    String s = spec == null ? "cpu" : spec.trim().toLowerCase();
    if (s.equals("cpu")) {
      return new Device[] {Device.cpu()};
    }
    if (!s.equals("gpu") && !s.matches("gpu:\\d+")) {
      throw new IllegalArgumentException("--device must be cpu, gpu or gpu:N, not '" + spec + "'");
    }
    int available = Engine.getEngine("PyTorch").getGpuCount();
    int wanted = s.equals("gpu") ? Math.max(available, 1) : Integer.parseInt(s.substring(4));
    if (available == 0 || wanted > available || wanted < 1) {
      throw new NoGpuException(
          "--device " + spec + ": " + available + " GPU(s) visible to DJL's PyTorch engine"
              + " (this build carries PyTorch's CPU natives; GPU nodes run the trainer image with"
              + " CUDA libtorch). Use --device cpu here.");
    }
    Device[] devices = new Device[wanted];
    for (int i = 0; i < wanted; i++) {
      devices[i] = Device.gpu(i);
    }
    return devices;
  }

  /** The GPU path was asked for on a machine without (enough) GPUs. */
  public static final class NoGpuException extends IllegalArgumentException {
    public NoGpuException(String message) {
      super(message);
    }
  }
}
