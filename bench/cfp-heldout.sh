#!/usr/bin/env bash
# CFP-FF and CFP-FP on split 7 alone (people 301-350) for models trained without those people
# (bench/ablation.sh trains on 001-300): one line per model. Not a held-out score for a model
# trained on all 350 CFP people, as models/default is.
#   bench/cfp-heldout.sh MODEL [MODEL ...]     (a model store, a version folder or an .onnx file)
# Needs ../shared/data/cfp. Reports under build/eval/heldout/.
set -euo pipefail
if [[ $# -eq 0 ]]; then
  echo "usage: bench/cfp-heldout.sh MODEL [MODEL ...]  (model store, version folder or .onnx)" >&2
  exit 2
fi
models=()
for m in "$@"; do models+=("$(realpath "$m")"); done # relative to where it was called from
cd "$(dirname "$0")/.."
mkdir -p build/eval/heldout
for model in "${models[@]}"; do
  line="$model:"
  for protocol in FF FP; do
    out="build/eval/heldout/${model//\//_}-cfp-$protocol-7.json"
    if ! ./mfn eval --cfp ../shared/data/cfp --split 7 --protocol "$protocol" --model "$model" --out "$out" \
        --no-progress > "$out.log" 2>&1; then
      line+=" CFP-$protocol-7 failed (see $out.log)"
      continue
    fi
    # 350 different-person pairs: TAR at FAR 1e-3 would rest on less than one, so accuracy only
    line+=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(" CFP-%s-7 %.2f%% +- %.2f" % (sys.argv[2], 100*r["accuracy_mean"], 100*r["accuracy_std"]), end="")' "$out" "$protocol")
  done
  echo "$line"
done
