#!/usr/bin/env bash
# Training recipe ablation (issue 17): the same shards (CFP people 001-300, 14 photos each, no
# augmentation: the comparison issue 17 made with a plain PyTorch loop), the same minutes, one row
# per recipe, each scored on all 6,000 LFW pairs (people the model never saw: LFW and CFP do not
# share identities) and on CFP-FF and CFP-FP split 7 (people 301-350, never trained on).
#   bench/ablation.sh MINUTES 'NAME=--flag value ...' ['NAME=...' ...]
# e.g. bench/ablation.sh 12 'scale64=--scale 64' 'auto=--scale auto'
# POLICY=350,200,90,4 bench/ablation.sh ... trains on shards made with that identity policy instead
# (350,200,90,4: every person's photos x4 with the ingest job's augmentations, as models/default).
# Needs ../shared/data/cfp and ../shared/data/lfw; starts and stops a local broker; writes under
# build/ablation (shards once, one model store per row) and prints one line per row.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes="$1"; shift
cfp=../shared/data/cfp/Data/Images
lfw=../shared/data/lfw
work=build/ablation
# policy 350,12,8,4 (this script's default): a person with more than 12 usable photos is kept as is
# (no augmented copies; CFP has 13-14 a person)
policy="${POLICY:-350,12,8,4}"
shards="$work/shards-001-300"
[[ "$policy" == "350,12,8,4" ]] || shards="$work/shards-001-300-${policy//,/-}"
if [[ ! -f "$shards/manifest.json" ]]; then
  mkdir -p "$work/photos"
  for i in $(seq -f "%03g" 1 300); do ln -sfn "$(cd "$cfp/$i" && pwd)" "$work/photos/$i"; done
  ./mfn services start kafka >/dev/null
  trap './mfn services stop kafka >/dev/null' EXIT
  topic="bench.ablation.$(date +%s)"
  ./mfn publish "$work/photos" --topic "$topic" --no-progress | head -1
  ./mfn ingest --topic "$topic" --out "$shards" --policy "$policy" --no-progress | grep -E "samples written|identities"
fi
for row in "$@"; do
  name="${row%%=*}"; flags="${row#*=}"
  store="$work/store-$name"
  rm -rf "$store"
  # shellcheck disable=SC2086
  ./mfn train --shards "$shards" --model-store "$store" --minutes "$minutes" --lfw "$lfw" \
    --cfp ../shared/data/cfp --cfp-split 7 --no-progress $flags \
    > "$work/$name.log" 2>&1 || { echo "$name: failed, see $work/$name.log"; continue; }
  trained=$(grep -E "^trained" "$work/$name.log" | head -1)
  # CFP split 7 has 350 different-person pairs: TAR at FAR 1e-3 would rest on less than one, so accuracy only
  python3 -c 'import json,sys; v=sys.argv[1]; r=lambda d: json.load(open(v+"/eval-"+d+".json")); l=r("lfw"); print("%s: LFW %.2f%% +- %.2f (TAR@FAR1e-3 %.1f%%), CFP-FF-7 %.2f%% +- %.2f, CFP-FP-7 %.2f%% +- %.2f; %s" % (sys.argv[2], 100*l["accuracy_mean"], 100*l["accuracy_std"], 100*l["tar_at_far_1e-3"], 100*r("cfp-ff-7")["accuracy_mean"], 100*r("cfp-ff-7")["accuracy_std"], 100*r("cfp-fp-7")["accuracy_mean"], 100*r("cfp-fp-7")["accuracy_std"], sys.argv[3]))' \
    "$store/v1" "$name" "$trained"
done
