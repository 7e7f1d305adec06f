#!/usr/bin/env bash
# Learning curve in the number of training people and photos (issue 17, item 5): the committed
# recipe on CFP people 001-N for several N, the same number of epochs each (so the steps grow with
# N; EPOCHS changes it), each scored on all 6,000 LFW pairs. How LFW accuracy grows with N is the
# one measure of "what more people would buy" that issue 17's rule (CFP 001-350) allows.
#   bench/people-curve.sh N[xK] [N[xK] ...]      e.g. bench/people-curve.sh 175 88 263 350x7
# N: people 001-N with all their photos (CFP: 10 frontal and 4 profile each); NxK: the same people
# with the first K photos of each (3 <= K <= 14), frontal and profile in CFP's ratio (K=7: frontal
# 01-05, profile 01-02), so 350x7 has the photos and the steps of 175.
# EPOCHS (default 25), FLAGS (default: the committed recipe) and TAG (a suffix of the model store's
# name, e.g. seed7 with FLAGS="... --seed 7") change the run; a store that already holds an LFW
# score is kept and not retrained. Needs ../shared/data/cfp and ../shared/data/lfw; starts a local
# broker for the shards when it is not running and stops it (if it started it) before training, so
# that nothing else runs beside the training. Writes under build/people-curve; one line per run.
set -euo pipefail
cd "$(dirname "$0")/.."
cfp=../shared/data/cfp/Data/Images
lfw=../shared/data/lfw
work=build/people-curve
epochs="${EPOCHS:-25}"
flags="${FLAGS:---scale auto --weight-decay 5e-4 --arcface-epoch 10 --jitter}"
mkdir -p "$work"
for arg in "$@"; do
  [[ "$arg" =~ ^([1-9][0-9]*)(x([1-9][0-9]*))?$ ]] || { echo "expected N or NxK (no leading zeros), got '$arg'"; exit 2; }
  n="${BASH_REMATCH[1]}"; k="${BASH_REMATCH[3]:-14}"
  # K >= 3: an identity policy keeps a person's photos without augmented copies only above 2
  [[ "$n" -ge 2 && "$n" -le 350 && "$k" -ge 3 && "$k" -le 14 ]] || { echo "N must be 2..350 and K 3..14: '$arg'"; exit 2; }
  shards="$work/shards-$arg"
  if [[ ! -f "$shards/manifest.json" ]]; then
    photos="$work/photos-$arg"
    rm -rf "$photos" "$shards.partial"
    mkdir -p "$photos"
    frontal=$(( (k * 10 + 7) / 14 )); profile=$(( k - frontal ))
    for i in $(seq -f "%03g" 1 "$n"); do
      person="$(cd "$cfp/$i" && pwd)"
      if [[ "$k" -eq 14 ]]; then
        ln -sfn "$person" "$photos/$i"
      else
        # the first photos of each pose (CFP numbers them 01, 02, ...); globs sort by name
        mkdir -p "$photos/$i/frontal" "$photos/$i/profile"
        fs=("$person"/frontal/*.jpg); ln -s "${fs[@]:0:$frontal}" "$photos/$i/frontal/"
        ps=("$person"/profile/*.jpg); ln -s "${ps[@]:0:$profile}" "$photos/$i/profile/"
      fi
    done
    started_broker=""
    if ! ./mfn services status 2>/dev/null | grep -Eq "^kafka +running"; then
      ./mfn services start kafka >/dev/null; started_broker=1
    fi
    topic="bench.people-curve.$arg.$(date +%s)"
    # every person kept as is, no augmented copies: policy 350,12,8,4 (the committed model's
    # shards: CFP has 13-14 usable photos a person) or, with K photos, 350,2,1,0 (n > 2: kept)
    policy=350,12,8,4; [[ "$k" -eq 14 ]] || policy=350,2,1,0
    ok=1
    ./mfn publish "$photos" --topic "$topic" --no-progress > "$work/publish-$arg.log" 2>&1 \
      && ./mfn ingest --topic "$topic" --out "$shards.partial" --policy "$policy" --json > "$work/ingest-$arg.json" 2> "$work/ingest-$arg.log" \
      || ok=""
    [[ -z "$started_broker" ]] || ./mfn services stop kafka >/dev/null
    [[ -n "$ok" ]] || { echo "$arg: publish or ingest failed, see $work/publish-$arg.log, $work/ingest-$arg.log"; continue; }
    # refuse shards where someone was dropped or got augmented copies: the curve is of plain photos
    python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); n=int(sys.argv[2])
tiers=j["identities_by_tier"]
if j["identities"] != n or tiers != {"KEEP": n}:
    sys.exit("%s: expected %d people all kept as is, got %d: %s" % (sys.argv[3], n, j["identities"], tiers))
print("%s: %d people, %d train / %d validation crops, %d dead letters" % (sys.argv[3], n, j["train_samples"], j["validation_samples"], j["dead_letters"]))' \
      "$work/ingest-$arg.json" "$n" "$arg" || continue
    mv "$shards.partial" "$shards"
  fi
  suffix=""; [[ "$epochs" == 25 ]] || suffix="-e$epochs"; [[ -z "${TAG:-}" ]] || suffix="$suffix-$TAG"
  store="$work/store-$arg$suffix"
  if [[ -f "$store/v1/eval-lfw.json" ]]; then echo "$arg$suffix: kept (already trained and scored: $store/v1)"; continue; fi
  rm -rf "$store"
  start=$(date +%s)
  # shellcheck disable=SC2086
  ./mfn train --shards "$shards" --model-store "$store" --epochs "$epochs" --lfw "$lfw" --no-progress $flags \
    > "$work/train-$arg$suffix.log" 2>&1 || { echo "$arg$suffix: training failed, see $work/train-$arg$suffix.log"; continue; }
  python3 -c 'import json,sys; v=sys.argv[1]; l=json.load(open(v+"/eval-lfw.json"))
print("%s: LFW %.2f%% +- %.2f over 10 folds (TAR@FAR1e-3 %.1f%%), %s s wall" % (sys.argv[2], 100*l["accuracy_mean"], 100*l["accuracy_std"], 100*l["tar_at_far_1e-3"], sys.argv[3]))' \
    "$store/v1" "$arg$suffix" "$(( $(date +%s) - start ))"
done
