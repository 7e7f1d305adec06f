#!/usr/bin/env python3
"""LFW error against the number of training people: a power-law fit, and where it would cross a target.

Reads the runs of one recipe on CFP people 001-N (bench/people-curve.sh makes them): each model
folder's eval-lfw.json for the accuracy and model-card.json for the people it was trained on (the
N given must match the card's, so a run cannot be filed under the wrong N). Fits
error = a * N^-b by least squares on log(error) against log(N), the form learning curves of
classifiers take over a range of data sizes (Hestness et al., 2017), and prints each point, the
fit, the residuals, and the N at which the fitted curve reaches a target accuracy, with the same
N from the fit without each point in turn (how much one run moves it), and its 5th-95th percentile when every point moves by a seed's
noise. --floor F fits error = F + a * N^-b instead: an error no number of people removes.

That N is an extrapolation beyond the largest N measured and reads as such: it assumes the curve
keeps its slope (no error floor: a floor would make the true N larger), each point is one
seed's run (a second seed moved the 350-people run by half a point), and the recipe was tuned
at the largest N.

  python3 bench/people_curve.py 88=build/people-curve/store-88/v1 175=build/people-curve/store-175/v1 \
      350=models/default [--target 0.92] [--floor 0.03] [--seed-sd 0.0037]

Several runs of one N (other seeds) are averaged into one point, each point then weighing the same.
"""
import argparse
import json
import math
import os
import random
import sys


def read_run(n, folder):
    """(accuracy on LFW, steps) of one model folder, after checking it was trained on n people."""
    lfw = os.path.join(folder, "eval-lfw.json")
    card = os.path.join(folder, "model-card.json")
    for path in (lfw, card):
        if not os.path.exists(path):
            sys.exit(f"{folder}: no {os.path.basename(path)} (a model folder of mfn train with --lfw)")
    trained_on = json.load(open(card))["data"]["identities"]
    if trained_on != n:
        sys.exit(f"{folder}: trained on {trained_on} people, given as N={n}")
    steps = json.load(open(card))["training"]["steps"]
    return json.load(open(lfw))["accuracy_mean"], steps


def fit(points, floor=0.0):
    """Least squares of log(err - floor) = log(a) - b log(N); returns (a, b)."""
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(1 - acc - floor) for _, acc in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    slope = sxy / sxx
    return math.exp(my - slope * mx), -slope


def people_for(a, b, target, floor=0.0):
    """N with floor + a * N^-b = 1 - target, or None where the fitted error never gets there."""
    return (a / (1 - target - floor)) ** (1 / b) if b > 0 and 1 - target > floor else None


def seed_interval(points, runs, sd, target, floor, draws=10000):
    """5th and 95th percentile of the crossing N when each point moves by the seed's noise (sd for
    one run, sd / sqrt(runs) for a mean), and the share of draws whose curve never gets there."""
    rng = random.Random(1)
    found, never = [], 0
    for _ in range(draws):
        moved = [(n, acc + rng.gauss(0, sd / math.sqrt(runs[n]))) for n, acc in points]
        if any(1 - acc - floor <= 0 for _, acc in moved):
            never += 1
            continue
        n = people_for(*fit(moved, floor), target, floor)
        if n is None:
            never += 1
        else:
            found.append(n)
    found.sort()
    if len(found) < draws / 2:
        return None, None, never / draws
    # percentiles of all draws, a draw that never gets there counting as the largest N
    return found[int(0.05 * draws)], (found[int(0.95 * draws)] if int(0.95 * draws) < len(found) else None), never / draws


def describe(n):
    return "never (the fitted error does not fall with N)" if n is None else f"{n:,.0f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", metavar="N=MODEL_FOLDER")
    parser.add_argument("--target", type=float, default=0.92, help="LFW accuracy to solve for, in (0, 1) (default 0.92)")
    parser.add_argument("--floor", type=float, default=0.0,
                        help="an error no number of people removes, fitted as error = floor + a*N^-b (default 0)")
    parser.add_argument("--seed-sd", type=float, default=0.0037,
                        help="LFW accuracy's spread between seeds of one run (default 0.0037: models/default's"
                             " two seeds, 89.20%% and 88.68%%), for the interval of the crossing N")
    args = parser.parse_args()
    if not 0 < args.target < 1:
        sys.exit("--target is an accuracy in (0, 1), e.g. 0.92")
    if not 0 <= args.floor < 1 - args.target:
        sys.exit("--floor is an error in [0, 1 - target)")
    by_n = {}
    for run in args.runs:
        n, sep, folder = run.partition("=")
        if not sep or not n.isdigit():
            sys.exit(f"expected N=MODEL_FOLDER, got {run!r}")
        by_n.setdefault(int(n), {})[os.path.realpath(folder)] = read_run(int(n), folder)
    points = sorted((n, sum(acc for acc, _ in runs.values()) / len(runs)) for n, runs in by_n.items())
    if len(points) < 2:
        sys.exit("need runs of at least two different N")
    if any(1 - acc <= args.floor for _, acc in points):
        sys.exit("--floor is at or above a measured error")
    a, b = fit(points, args.floor)
    print("people  runs  steps        LFW accuracy  error   fitted error  observed - fitted (points)")
    for n, acc in points:
        pred = args.floor + a * n ** -b
        steps = "/".join(str(s) for _, s in by_n[n].values())
        print(f"{n:6d}  {len(by_n[n]):4d}  {steps:11s}  {100 * acc:11.2f}%  {100 * (1 - acc):5.2f}%  {100 * pred:11.2f}%  {100 * (1 - acc - pred):+6.2f}")
    floor = f"{args.floor:.3f} + " if args.floor else ""
    print(f"fit: error = {floor}{a:.3f} * N^-{b:.3f} (each doubling of the people multiplies the error"
          f"{' above the floor' if args.floor else ''} by {2 ** -b:.3f})")
    needed = people_for(a, b, args.target, args.floor)
    largest = points[-1][0]
    where = ""
    if needed is not None:
        where = (f", {needed / largest:.1f}x the largest N measured: an extrapolation" if needed > largest
                 else " (inside the measured range)")
    print(f"the fitted curve reaches LFW {100 * args.target:.1f}% at N = {describe(needed)}{where}")
    if args.seed_sd > 0:
        low, high, never = seed_interval(points, {n: len(r) for n, r in by_n.items()}, args.seed_sd, args.target, args.floor)
        span = ("most draws never get there" if low is None
                else f"5th-95th percentile N = {low:,.0f} to {'never' if high is None else f'{high:,.0f}'}")
        print(f"  with each point moved by the seed's noise (SD {100 * args.seed_sd:.2f} points a run, this curve's"
              f" form assumed): {span}"
              + (f" ({100 * never:.0f}% of draws never get there)" if never else ""))
    if len(points) > 3:
        for left in points:
            la, lb = fit([p for p in points if p != left], args.floor)
            print(f"  without N={left[0]}: error = {floor}{la:.3f} * N^-{lb:.3f},"
                  f" N = {describe(people_for(la, lb, args.target, args.floor))}")
    elif len(points) == 3:
        print("  (3 points: each fit without one passes through the other two; no leave-one-out printed)")


if __name__ == "__main__":
    main()
