#!/usr/bin/env bash
# Ingest throughput: the whole CFP training folder through `./mfn ingest` at parallelism 1 and 2,
# next to the bare detect+align of the face core on the same photos, in the same run.
#   bench/ingest.sh [REPEATS]        (needs ../shared/data/cfp; starts and stops a local broker)
set -euo pipefail
cd "$(dirname "$0")/.."
repeats="${1:-2}"
cfp=../shared/data/cfp/Data/Images
./mfn services start kafka >/dev/null
trap './mfn services stop kafka >/dev/null' EXIT
topic="bench.ingest.$(date +%s)"
./mfn publish "$cfp" --topic "$topic" --no-progress | head -1
for p in 1 2; do
  for r in $(seq "$repeats"); do
    out="build/bench/ingest-p$p-r$r"
    rm -rf "$out"
    ./mfn ingest --topic "$topic" --out "$out" --parallelism "$p" --policy 350,12,8,4 --no-progress \
      | sed -n "s/^ingested/parallelism $p, run $r: ingested/p"
  done
done
bench/run detect --images "$cfp" --limit 1500 --repeats "$repeats" --detectors blazeface | grep -v WARN
