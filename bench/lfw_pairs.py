#!/usr/bin/env python3
"""LFW's 10-fold pair protocol on embeddings written by `mfn embed`, for questions `mfn eval` does
not ask: is the error of our models variance (then several models together do better than one) or
bias (then they fail on the same pairs)? Does a linear map learned on the training people's
embeddings (centring, within-class whitening, LDA) separate LFW's pairs better?

Scores as dev.mfn.evaluate.Verification does (threshold = midpoint that maximises accuracy on the
other nine folds; numpy's population standard deviation; a photo without an embedding scores -1),
so a single model's line repeats its `mfn eval --lfw` accuracy (to the last digit for the six
models of bench/RESULTS.md's thirteenth part; the cosine here is computed in float64 after
normalising, Java's in float, so a pair on a threshold's edge could differ). TAR at FAR 1e-3 is the share of genuine pairs
scoring above the 4th-highest of the 3,000 impostor scores, as Verification's ROC gives it.

    bench/ensemble.sh MODEL [MODEL ...]      # embeds, then calls this script
    python3 bench/lfw_pairs.py --lfw ../shared/data/lfw --embeddings A.csv B.csv [--cfp C.csv]

With several files: each model alone, then every combination (the sum of the unit embeddings,
normalised). With --cfp (the first model's embeddings of CFP people 001-350, the training people):
the first model after each linear map learned on them. Needs numpy (and scipy for LDA).
"""
import argparse
import csv
import itertools
import os

import numpy as np


def load(path):
    """path -> unit embedding (float64); photos without one are left out."""
    out = {}
    with open(path, newline="") as f:
        for t in csv.reader(f):  # `mfn embed` quotes a path with a comma in it
            if len(t) < 3 or t[1] == "":
                continue
            v = np.array([float(x) for x in t[1:]])
            out[os.path.realpath(t[0])] = v / np.linalg.norm(v)
    return out


def lfw_pairs(lfw):
    """(path a, path b, same person, fold 0-9) for pairs.txt's 6,000 pairs."""
    with open(os.path.join(lfw, "pairs.txt")) as f:
        header, *rest = f.read().split("\n")
    _, per_set = (int(x) for x in header.split())  # "10 300": 10 sets of 300 genuine + 300 impostor
    lines = [l for l in rest if l.strip()]

    def photo(name, i):
        return os.path.realpath(os.path.join(lfw, "images", name, f"{name}_{int(i):04d}.jpg"))

    pairs = []
    for k, line in enumerate(lines):
        t = line.split("\t")
        fold = k // (2 * per_set)
        if len(t) == 3:
            pairs.append((photo(t[0], t[1]), photo(t[0], t[2]), True, fold))
        else:
            pairs.append((photo(t[0], t[1]), photo(t[2], t[3]), False, fold))
    return pairs


def best_threshold(scores, same):
    order = np.argsort(scores, kind="stable")
    s, y = scores[order], same[order]
    correct = int(y.sum())  # threshold below everything: all accepted
    best, best_t = correct, s[0] - 1e-6
    for k in range(len(s)):
        correct += -1 if y[k] else 1
        tie = k + 1 < len(s) and s[k + 1] == s[k]
        if not tie and correct > best:
            best = correct
            best_t = (s[k] + s[k + 1]) / 2 if k + 1 < len(s) else s[k] + 1e-6
    return best_t


def ten_fold(scores, same, fold):
    acc = []
    for k in range(int(fold.max()) + 1):
        t = best_threshold(scores[fold != k], same[fold != k])
        held = fold == k
        acc.append(np.mean((scores[held] >= t) == same[held]))
    acc = np.array(acc)
    impostors = np.sort(scores[~same])[::-1]
    at_far = impostors[int(len(impostors) * 1e-3)]
    return acc.mean(), acc.std(), acc, np.mean(scores[same] > at_far)


def score(pairs, embed, present):
    """embed: path -> vector (any length); cosine of each pair (-1 when a photo has no embedding,
    as Verification scores it), then the protocol."""
    scores = np.full(len(pairs), -1.0)
    ok = [i for i, p in enumerate(pairs) if p[0] in present and p[1] in present]
    a = np.stack([embed(pairs[i][0]) for i in ok])
    b = np.stack([embed(pairs[i][1]) for i in ok])
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    scores[ok] = (a * b).sum(1)
    same = np.array([p[2] for p in pairs])
    fold = np.array([p[3] for p in pairs])
    return ten_fold(scores, same, fold)


def line(label, result, base=None):
    mean, std, folds, tar = result
    text = f"{label:<48} LFW {100 * mean:6.2f}% +- {100 * std:4.2f}  TAR@FAR1e-3 {100 * tar:5.2f}%"
    if base is not None:
        d = 100 * (folds - base)
        text += (f"  per fold vs first: {d.min():+.2f} to {d.max():+.2f} (mean {d.mean():+.2f};"
                 f" {int((d > 0).sum())} up, {int((d < 0).sum())} down)")
    print(text, flush=True)


def linear_maps(train, ids):
    """Maps learned on the training people's embeddings: name -> (mean, matrix)."""
    mu = train.mean(0)
    classes = np.unique(ids)
    within = np.concatenate([train[ids == c] - train[ids == c].mean(0) for c in classes])
    sw = within.T @ within / len(within)
    means = np.stack([train[ids == c].mean(0) for c in classes])
    sb = np.cov((means - mu).T)
    w, u = np.linalg.eigh(sw)
    maps = {"centred on the training mean": (mu, np.eye(len(mu)))}
    for power in (0.5, 1.0):
        for reg in (0.0, 0.1, 0.3):
            lam = w + reg * w.mean()
            maps[f"within-class whitening ^{power}, +{reg} mean"] = (mu, u @ np.diag(lam ** (-power / 2)) @ u.T)
    try:
        from scipy.linalg import eigh

        for reg in (0.1, 0.5):
            _, v = eigh(sb, sw + reg * np.trace(sw) / len(mu) * np.eye(len(mu)))
            for k in (64, 128):
                maps[f"LDA, {k} dims, +{reg} mean"] = (mu, v[:, ::-1][:, :k])
    except ImportError:
        print("(scipy missing: LDA left out)")
    return maps


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lfw", required=True, help="LFW folder (images/, pairs.txt)")
    ap.add_argument("--embeddings", nargs="+", required=True, help="`mfn embed` CSVs of LFW, one per model")
    ap.add_argument("--cfp", help="`mfn embed` CSV of CFP people 001-350 by the first model")
    args = ap.parse_args()
    pairs = lfw_pairs(args.lfw)
    models = [(os.path.basename(f).removesuffix(".lfw.csv"), load(f)) for f in args.embeddings]
    first = None
    for name, e in models:
        r = score(pairs, lambda p, e=e: e[p], e.keys())
        first = r[2] if first is None else first
        line(name, r, None if r[2] is first else first)
    for k in range(2, len(models) + 1):
        for combo in itertools.combinations(models, k):
            present = set.intersection(*(set(e) for _, e in combo))
            r = score(pairs, lambda p, c=combo: sum(e[p] for _, e in c), present)
            line("together: " + " + ".join(n for n, _ in combo), r, first)
    if args.cfp:
        cfp = load(args.cfp)
        paths = sorted(cfp)
        ids = np.array([int(p.split(os.sep)[-3]) for p in paths])  # .../Images/NNN/frontal/01.jpg
        train = np.stack([cfp[p] for p in paths])
        e = models[0][1]
        for name, (mu, m) in linear_maps(train, ids).items():
            line(models[0][0] + ", " + name, score(pairs, lambda p: (e[p] - mu) @ m, e.keys()), first)


if __name__ == "__main__":
    main()
