#!/usr/bin/env python3
"""The reference for `bench/run train`: MobileFaceNet trained by a plain PyTorch loop.

The same network as dev.mfn.model.net.MobileFaceNet (the paper's table 1, BatchNorm after every
convolution, per-channel PReLU as torch's fused nn.PReLU, a linear softmax head), the same step as
TrainBench's bare DJL step: forward, cross-entropy, backward, SGD with momentum 0.9 on one constant
batch (no data loading), on 2 threads. Prints img/s per repeat and the peak resident memory.

    pip install torch        # the CPU wheel is enough
    python3 bench/plain_pytorch_step.py --batch 32 --seconds 30 --repeats 3 --classes 300
"""
import argparse
import resource
import time

import torch
from torch import nn

# (t, c, n, s) rows of the paper's table
WARMUP_STEPS = 3
BOTTLENECKS = [(2, 64, 5, 2), (4, 128, 1, 2), (2, 128, 6, 1), (4, 128, 1, 2), (2, 128, 2, 1)]


def conv_bn(cin, cout, kernel, stride, padding, groups, act):
    layers = [nn.Conv2d(cin, cout, kernel, stride, padding, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if act:
        layers.append(nn.PReLU(cout, init=0.25))
    return layers


class Bottleneck(nn.Module):
    def __init__(self, cin, cout, t, stride):
        super().__init__()
        hidden = cin * t
        self.branch = nn.Sequential(
            *conv_bn(cin, hidden, 1, 1, 0, 1, True),
            *conv_bn(hidden, hidden, 3, stride, 1, hidden, True),
            *conv_bn(hidden, cout, 1, 1, 0, 1, False))
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.branch(x)
        return x + y if self.residual else y


def mobilefacenet(classes):
    layers = conv_bn(3, 64, 3, 2, 1, 1, True) + conv_bn(64, 64, 3, 1, 1, 64, True)
    channels = 64
    for t, c, n, s in BOTTLENECKS:
        for i in range(n):
            layers.append(Bottleneck(channels, c, t, s if i == 0 else 1))
            channels = c
    layers += conv_bn(128, 512, 1, 1, 0, 1, True)
    layers += conv_bn(512, 512, 7, 1, 0, 512, False)  # linear GDConv
    layers += conv_bn(512, 128, 1, 1, 0, 1, False)  # linear 1x1 to the embedding
    layers += [nn.Flatten(), nn.Linear(128, classes)]
    return nn.Sequential(*layers)


def rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--classes", type=int, default=300)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = torch.randn(args.batch, 3, 112, 112)
    y = torch.randint(0, args.classes, (args.batch,))
    rates = []
    for _ in range(args.repeats):
        net = mobilefacenet(args.classes).train()
        optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
        loss_fn = nn.CrossEntropyLoss()
        # untimed warm-up, as TrainBench's bare step: the allocator's heap grows, kernels are picked
        for _ in range(WARMUP_STEPS):
            optimizer.zero_grad(set_to_none=True)
            loss_fn(net(x), y).backward()
            optimizer.step()
        rss_after_warmup = rss_mb()
        images = 0
        phases = [0.0, 0.0, 0.0]
        start = time.perf_counter()
        while time.perf_counter() - start < args.seconds:
            t0 = time.perf_counter()
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(net(x), y)
            t1 = time.perf_counter()
            loss.backward()
            t2 = time.perf_counter()
            optimizer.step()
            t3 = time.perf_counter()
            phases[0] += t1 - t0
            phases[1] += t2 - t1
            phases[2] += t3 - t2
            images += args.batch
        rates.append(images / (time.perf_counter() - start))
        steps = images / args.batch
        print("  per step (ms): forward + loss %.1f, backward %.1f, optimizer %.1f; resident MB after %d warm-up steps %d, after %d more %d"
              % (tuple(1000 * p / steps for p in phases) + (WARMUP_STEPS, rss_after_warmup, steps, rss_mb())))
    ordered = sorted(rates)
    print("plain PyTorch %s step, batch %d, %d threads: img/s  min %.1f  median %.1f  max %.1f   (%s)" % (
        torch.__version__, args.batch, args.threads, ordered[0], ordered[len(ordered) // 2], ordered[-1],
        ", ".join("%.1f" % r for r in rates)))
    print("peak resident memory of this process (ru_maxrss): %d MB" % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024))


if __name__ == "__main__":
    main()
