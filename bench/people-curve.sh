#!/usr/bin/env bash
# Learning curve in the number of training people and photos (issue 17, item 5): the committed
# recipe on CFP people 001-N for several N, the same epochs each (so every run goes through the
# same schedule: softmax to epoch 10, ArcFace to 25), each scored on all 6,000 LFW pairs. How LFW
# accuracy grows with N says how many people a target accuracy would need, which no run on 350
# people can say.
#   bench/people-curve.sh N[xK] [N[xK] ...]      e.g. bench/people-curve.sh 175 88 263 350x7
# N: people 001-N with all their photos (CFP: 10 frontal and 4 profile each); NxK: the same people
# with K photos each (K <= 14), frontal and profile in CFP's ratio (K=7: frontal 01-05, profile
# 01-02), so 350x7 and 175 have the same number of photos and the same steps.
# EPOCHS=25 (default) and FLAGS (default: the committed recipe) change the run. Needs
# ../shared/data/cfp and ../shared/data/lfw; starts and stops a local broker for the shards; writes
# under build/people-curve (shards once per argument, one store each) and prints one line each.
set -euo pipefail
cd "$(dirname "$0")/.."
cfp=../shared/data/cfp/Data/Images
lfw=../shared/data/lfw
work=build/people-curve
epochs="${EPOCHS:-25}"
flags="${FLAGS:---scale auto --weight-decay 5e-4 --arcface-epoch 10 --jitter}"
broker_started=""
trap '[[ -z "$broker_started" ]] || ./mfn services stop kafka >/dev/null' EXIT
for arg in "$@"; do
  [[ "$arg" =~ ^([0-9]+)(x([0-9]+))?$ ]] || { echo "expected N or NxK, got '$arg'"; exit 2; }
  n="${BASH_REMATCH[1]}"; k="${BASH_REMATCH[3]:-14}"
  [[ "$n" -ge 2 && "$n" -le 350 && "$k" -ge 2 && "$k" -le 14 ]] || { echo "N must be 2..350 and K 2..14: '$arg'"; exit 2; }
  shards="$work/shards-$arg"
  if [[ ! -f "$shards/manifest.json" ]]; then
    photos="$work/photos-$arg"
    mkdir -p "$photos"
    frontal=$(( (k * 10 + 7) / 14 )); profile=$(( k - frontal ))
    for i in $(seq -f "%03g" 1 "$n"); do
      if [[ "$k" -eq 14 ]]; then
        ln -sfn "$(cd "$cfp/$i" && pwd)" "$photos/$i"
      else
        # the first photos of each pose (CFP numbers them 01, 02, ...; none is better than another)
        mkdir -p "$photos/$i/frontal" "$photos/$i/profile"
        for f in $(ls "$cfp/$i/frontal" | sort | head -n "$frontal"); do ln -sfn "$(cd "$cfp/$i/frontal" && pwd)/$f" "$photos/$i/frontal/$f"; done
        for f in $(ls "$cfp/$i/profile" | sort | head -n "$profile"); do ln -sfn "$(cd "$cfp/$i/profile" && pwd)/$f" "$photos/$i/profile/$f"; done
      fi
    done
    if [[ -z "$broker_started" ]]; then ./mfn services start kafka >/dev/null; broker_started=1; fi
    topic="bench.people-curve.$arg.$(date +%s)"
    ./mfn publish "$photos" --topic "$topic" --no-progress | head -1
    # every person kept as is, no augmented copies: policy 350,12,8,4 (the committed model's
    # shards: CFP has 13-14 usable photos a person) or, with K photos, 350,2,1,0
    policy=350,12,8,4; [[ "$k" -eq 14 ]] || policy=350,2,1,0
    ./mfn ingest --topic "$topic" --out "$shards" --policy "$policy" --no-progress | grep -E "samples written|identities"
  fi
  store="$work/store-$arg"
  rm -rf "$store"
  start=$(date +%s)
  # shellcheck disable=SC2086
  ./mfn train --shards "$shards" --model-store "$store" --epochs "$epochs" --lfw "$lfw" --no-progress $flags \
    > "$work/train-$arg.log" 2>&1 || { echo "$arg: failed, see $work/train-$arg.log"; continue; }
  python3 -c 'import json,sys; v=sys.argv[1]; l=json.load(open(v+"/eval-lfw.json"))
print("%s: LFW %.2f%% +- %.2f (TAR@FAR1e-3 %.1f%%), %s s wall" % (sys.argv[2], 100*l["accuracy_mean"], 100*l["accuracy_std"], 100*l["tar_at_far_1e-3"], sys.argv[3]))' \
    "$store/v1" "$arg" "$(( $(date +%s) - start ))"
done
