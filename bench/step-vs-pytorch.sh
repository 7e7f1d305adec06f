#!/usr/bin/env bash
# Issue 17, item 6: the training step of `mfn train` next to a plain PyTorch loop of the same
# network, in one run, at each batch size given (default 32 and 128); PyTorch with 2 threads, DJL
# with libtorch's default of one per core (run it on a 2-core machine, or give both the same count):
#   the plain PyTorch step (bench/plain_pytorch_step.py: nn.PReLU, SGD with momentum, constant batch),
#   the bare DJL step (TrainBench: same network and step through DJL, constant batch),
#   FaceTrainer (what `mfn train` runs: loader threads, grouped SGD, schedule, metrics, checkpoints).
#   bench/step-vs-pytorch.sh SHARDS [SECONDS] [REPEATS] [BATCH...]
# Needs a Python with torch (`pip install torch`, the CPU wheel is enough) as $PYTHON or python3.
set -euo pipefail
cd "$(dirname "$0")/.."
shards="${1:?usage: bench/step-vs-pytorch.sh SHARDS [SECONDS] [REPEATS] [BATCH...]}"
seconds="${2:-40}"; repeats="${3:-2}"; shift $(( $# < 3 ? $# : 3 ))
batches=("$@"); [[ ${#batches[@]} -gt 0 ]] || batches=(32 128)
python="${PYTHON:-python3}"
# the same glibc allocator settings as `mfn` and bench/run give the JVM (STACK.md): without them,
# libtorch's large activations are mmap-ed and page-faulted again at every step
export MALLOC_MMAP_MAX_="${MALLOC_MMAP_MAX_:-0}" MALLOC_TRIM_THRESHOLD_="${MALLOC_TRIM_THRESHOLD_:-8589934592}"
classes=$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"]["identities_kept"])' "$shards/manifest.json" 2>/dev/null || echo 300)
for batch in "${batches[@]}"; do
  echo "== batch $batch"
  "$python" bench/plain_pytorch_step.py --batch "$batch" --seconds "$seconds" --repeats "$repeats" --classes "$classes"
  bench/run train --shards "$shards" --seconds "$seconds" --repeats "$repeats" --batch "$batch" --phases --no-loader 2>/dev/null \
    | grep -E "per step|img/s|peak|shards"
done
