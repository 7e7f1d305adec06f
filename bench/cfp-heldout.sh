#!/usr/bin/env bash
# CFP-FF and CFP-FP on split 7 alone (people 301-350) for models trained without those people
# (bench/ablation.sh trains on 001-300): one line per model.
#   bench/cfp-heldout.sh MODEL [MODEL ...]     (a model store, a version folder or an .onnx file)
# Needs ../shared/data/cfp. Reports under build/eval/heldout/.
set -euo pipefail
cd "$(dirname "$0")/.."
for model in "$@"; do
  line="$model:"
  for protocol in FF FP; do
    out="build/eval/heldout/$(echo "$model" | tr '/' '_')-cfp-$protocol-7.json"
    ./mfn eval --cfp ../shared/data/cfp --split 7 --protocol "$protocol" --model "$model" --out "$out" \
      --no-progress > /dev/null
    # 350 different-person pairs: TAR at FAR 1e-3 would rest on less than one, so accuracy only
    line+=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(" CFP-%s-7 %.2f%% +- %.2f" % (sys.argv[2], 100*r["accuracy_mean"], 100*r["accuracy_std"]), end="")' "$out" "$protocol")
  done
  echo "$line"
done
