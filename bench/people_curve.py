#!/usr/bin/env python3
"""LFW error against the number of training people: a power-law fit and what it asks of a target.

Reads the eval-lfw.json of runs of one recipe on 001-N people (bench/people-curve.sh writes them)
and fits error = a * N^-b by least squares on log(error) against log(N), the form learning curves
of classifiers take over a range of data sizes (Hestness et al., 2017). Prints each point, the
fit, the residuals, and the number of people the fit says a target accuracy needs; with --leave-out,
the same fit without each point in turn, which shows how much one run moves the answer.

  python3 bench/people_curve.py 88=build/people-curve/store-88/v1 175=build/people-curve/store-175/v1 \
      350=models/default [--target 0.92] [--leave-out]

Several runs of one N (other seeds) are averaged into one point.
"""
import argparse
import json
import math
import os
import sys


def lfw_accuracy(folder):
    path = os.path.join(folder, "eval-lfw.json")
    if not os.path.exists(path):
        sys.exit(f"{folder}: no eval-lfw.json (train with --lfw, or run mfn eval --lfw on it)")
    return json.load(open(path))["accuracy_mean"]


def fit(points):
    """Least squares of log(err) = log(a) - b log(N); returns (a, b)."""
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(1 - acc) for _, acc in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    slope = sxy / sxx
    return math.exp(my - slope * mx), -slope


def people_for(a, b, target):
    """N with a * N^-b = 1 - target."""
    return (a / (1 - target)) ** (1 / b)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", metavar="N=MODEL_FOLDER")
    parser.add_argument("--target", type=float, default=0.92, help="LFW accuracy to solve for (default 0.92)")
    parser.add_argument("--leave-out", action="store_true", help="also fit without each N in turn")
    args = parser.parse_args()
    by_n = {}
    for run in args.runs:
        n, _, folder = run.partition("=")
        by_n.setdefault(int(n), []).append(lfw_accuracy(folder))
    points = sorted((n, sum(accs) / len(accs)) for n, accs in by_n.items())
    if len(points) < 2:
        sys.exit("need at least two different N")
    a, b = fit(points)
    print("people  runs  LFW accuracy  error   fit     residual")
    for n, acc in points:
        pred = a * n ** -b
        print(f"{n:6d}  {len(by_n[n]):4d}  {100 * acc:11.2f}%  {100 * (1 - acc):5.2f}%  {100 * pred:5.2f}%  {100 * (1 - acc - pred):+6.2f}")
    print(f"fit: error = {a:.3f} * N^-{b:.3f} (each doubling of the people multiplies the error by {2 ** -b:.3f})")
    print(f"LFW {100 * args.target:.1f}% needs about {people_for(a, b, args.target):,.0f} people at this recipe's 14 photos each")
    if args.leave_out and len(points) > 2:
        for left in points:
            rest = [p for p in points if p != left]
            la, lb = fit(rest)
            print(f"  without N={left[0]}: error = {la:.3f} * N^-{lb:.3f}, {people_for(la, lb, args.target):,.0f} people")


if __name__ == "__main__":
    main()
