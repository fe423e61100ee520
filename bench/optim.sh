#!/bin/bash
# bench/optim.sh — nnc's Adam against nnc's SGD and PyTorch's Adam on the Fashion-MNIST network
# (784-256-128-10 ReLU, cross-entropy, batch 64, 5 epochs, constant rate), side by side in one run.
#   bench/optim.sh              3 seeds round-robin (about 6 min on a loaded machine)
#   bench/optim.sh --seeds N    N seeds; --epochs E  E epochs; --torch-sgd  PyTorch's SGD too
# Builds nnc from the committed HEAD (as run.sh does, into build/), runs on one core (CPU 0, 1 thread):
#   nnc_sgd    nnc/fmnist_relu.nn as written (sgd rate 0.1)
#   nnc_adam   the same with --optimizer adam --rate 0.001 (betas 0.9 0.999, eps 1e-8, no decay)
#   torch_adam peers/torch_optim.py: torch.optim.Adam, lr 0.001, the same defaults
#   torch_sgd  peers/torch_optim.py: torch.optim.SGD, lr 0.1 (with --torch-sgd)
#   state      tools/state_floor.c: the least time Adam's f32 moments (m and v of every parameter,
#              read and written once per step) add to a step, against nnc SGD's step
# s/epoch is the training time of an epoch (no loading or scoring), median over every epoch of every seed;
# accuracy is the final test accuracy, mean over the seeds. Writes build/optim/{raw.tsv,table.md,log.txt}.
set -euo pipefail
cd "$(dirname "$0")"
BENCH=$PWD ROOT=$(cd .. && pwd)
PY=/usr/bin/python3            # Debian's python: the one with torch and numpy
SEEDS=3 EPOCHS=5 TORCH_SGD=0
while [ $# -gt 0 ]; do
  case $1 in
    --seeds) SEEDS=$2; shift ;;
    --epochs) EPOCHS=$2; shift ;;
    --torch-sgd) TORCH_SGD=1 ;;
    *) echo "usage: $0 [--seeds N] [--epochs E] [--torch-sgd]" >&2; exit 2 ;;
  esac
  shift
done
OUT=build/optim; mkdir -p $OUT build/bin
RAW=$OUT/raw.tsv LOG=$OUT/log.txt
: >"$RAW"; : >"$LOG"
say() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$LOG" >&2; }
. ./packages.sh
install_packages "$LOG" python3-torch python3-numpy libopenblas-dev dataset-fashion-mnist zlib1g-dev gcc

# ---- nnc from the committed HEAD (shared with run.sh's build) ----
COMMIT=$(git -C "$ROOT" rev-parse HEAD)
SRC=$(git -C "$ROOT" log -1 --format=%H HEAD -- . ":(exclude)bench")
if [ "$(cat build/nnc.commit 2>/dev/null)" != "$SRC" ] || [ ! -x build/nnc/nnc ]; then
  say "building nnc at ${COMMIT:0:12}"
  rm -rf build/src build/nnc; mkdir -p build/src
  git -C "$ROOT" archive HEAD | tar -x -C build/src
  cmake -S build/src -B build/nnc -DCMAKE_BUILD_TYPE=RelWithDebInfo 2>&1 | sed "s|$BENCH/||g" >>"$LOG"
  cmake --build build/nnc -j2 --target nnc >>"$LOG" 2>&1
  echo "$SRC" >build/nnc.commit
fi
B=build/bin
build/nnc/nnc nnc/fmnist_relu.nn -o $B/fmnist_relu_cli

NOCT="env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE"   # OpenBLAS chooses its kernel
NNCT="$B/fmnist_relu_cli train --epochs $EPOCHS --threads 1 --train-score last --save build/optim.weights"
ADAM="--optimizer adam --rate 0.001 --beta1 0.9 --beta2 0.999 --eps 1e-8"
run() {  # SEED TAG CMD...: on CPU 0; appends "seed tag json" to raw.tsv
  local seed=$1 tag=$2 out=$OUT/job.out json; shift 2
  echo ">> [$seed] $tag: $*" >>"$LOG"
  if ! taskset -c 0 "$@" >$out 2>&1; then cat $out >>"$LOG"; say "FAILED: $tag"; return 0; fi
  cat $out >>"$LOG"
  case $tag in
    nnc_*) json=$($PY tools/cli_result.py 1 <$out | sed 's/^RESULT //') ;;
    *) json=$(sed -n 's/^RESULT //p' $out | tail -1) ;;
  esac
  printf '%s\t%s\t%s\n' "$seed" "$tag" "$json" >>"$RAW"
}
gcc -O3 -march=native -fno-math-errno tools/state_floor.c -lm -o $B/state_floor
say "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for s in $(seq 1 "$SEEDS"); do
  say "seed $s"
  run $s nnc_sgd $NNCT --seed $s
  run $s nnc_adam $NNCT $ADAM --seed $s
  run $s torch_adam $NOCT $PY peers/torch_optim.py 1 $EPOCHS adam 0.001 $s
  [ $TORCH_SGD = 0 ] || run $s torch_sgd $NOCT $PY peers/torch_optim.py 1 $EPOCHS sgd 0.1 $s
done
taskset -c 0 $B/state_floor 235146 2 | tee -a "$LOG" |
  awk '/^state pass/ {f = $(NF - 3)} /^Adam/ {a = $(NF - 3)} END {printf "0\tstate\t{\"floor_us\": %s, \"adam_us\": %s}\n", f, a}' >>"$RAW"
say "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
$PY tools/optim_table.py "$RAW" | tee $OUT/table.md
