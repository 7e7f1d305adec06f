#!/usr/bin/env bash
# Several models on LFW's pairs, alone and together (their unit embeddings summed), and the first
# model after linear maps learned on its embeddings of the training people (CFP 001-350): is what
# stands between a model and a higher LFW score the variance of one training run (then models
# together score higher) or what the data teaches (then they fail on the same pairs)?
#   bench/ensemble.sh MODEL [MODEL ...]     (a model store, a version folder or an .onnx file)
# Embeds LFW's 7,701 pair photos (and CFP 001-350 for the first model) with `mfn embed --flip
# --fallback center`, as `mfn eval --lfw` does; CSVs under build/eval/ensemble/, named after the
# model as given plus a checksum of its parameter and ONNX files, so a CSV is reused only for the
# same bytes. Needs ../shared/data, python3 with numpy (scipy for the LDA rows).
set -euo pipefail
if [[ $# -eq 0 ]]; then
  echo "usage: bench/ensemble.sh MODEL [MODEL ...]  (model store, version folder or .onnx)" >&2
  exit 2
fi
models=()
names=() # the models as given, / as _: the file names and the labels of the lines
for m in "$@"; do
  path="$(realpath -e "$m")" || { echo "no such model: $m" >&2; exit 2; }
  sum=$(find "$path" -type f \( -name '*.params' -o -name '*.onnx' \) -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-8)
  n="${m%/}"
  models+=("$path")
  names+=("${n//\//_}-$sum")
done
cd "$(dirname "$0")/.."
out=build/eval/ensemble
mkdir -p "$out"
lfw=../shared/data/lfw
cfp=../shared/data/cfp/Data/Images
python3 - "$lfw" > "$out/lfw-pairs.list" <<'PY'
import os, sys
lfw = sys.argv[1]
photos = set()
with open(os.path.join(lfw, "pairs.txt")) as f:
    for line in f.read().split("\n")[1:]:
        t = line.split("\t")
        if len(t) == 3:
            photos |= {(t[0], t[1]), (t[0], t[2])}
        elif len(t) == 4:
            photos |= {(t[0], t[1]), (t[2], t[3])}
for name, i in sorted(photos):
    print(os.path.realpath(os.path.join(lfw, "images", name, f"{name}_{int(i):04d}.jpg")))
PY
find "$(realpath "$cfp")" -name '*.jpg' | awk -F/ '$(NF-2) <= 350' | sort > "$out/cfp-001-350.list"
csvs=()
for i in "${!models[@]}"; do
  csv="$out/${names[$i]}.lfw.csv"
  [[ -s "$csv" ]] || ./mfn embed --list "$out/lfw-pairs.list" --out "$csv" --flip --fallback center --model "${models[$i]}" --no-progress >&2
  csvs+=("$csv")
done
first="$out/${names[0]}.cfp.csv"
[[ -s "$first" ]] || ./mfn embed --list "$out/cfp-001-350.list" --out "$first" --flip --fallback center --model "${models[0]}" --no-progress >&2
python3 bench/lfw_pairs.py --lfw "$lfw" --embeddings "${csvs[@]}" --cfp "$first"
