#!/bin/bash
# bench/run.sh — nnc against PyTorch, scikit-learn, FANN and hand-written C, side by side in one run.
#   bench/run.sh            the full benchmark (about 10 min): installs what is missing, builds nnc from the
#                           committed HEAD and every program, runs all of them REPS times round-robin
#   bench/run.sh --quick    a smoke run (< 3 min): 1 repetition, fewer epochs and chunks
#   bench/run.sh --reps N   N repetitions (default 3)
#   bench/run.sh --only 'TAG ...'  only those jobs (e.g. 'peak1 nnc_mb cli_mb1 nnc_mb_avx2 cli_mb1_avx2'), results in build/results-only;
#                           a word may also name a workload, the jobs whose tag starts with WORD_:
#                           grow    training of wider and deeper nets (784-1024-1024-10, 784-512x8-10, 784-4096-10)
#                           growcc  compile time against size (depth 1-64 at width 256, width 16-4096 at depth 2)
#                           These two run only when named: bench/run.sh --only 'peak1 cli_mb1 torch1_auto grow growcc'
# Writes bench/results/{raw.tsv,table.md,env.txt,log.txt} and prints the table.
# 1-thread runs are pinned to CPU 0, 2-thread runs to CPUs 0,1 (taskset); each run is wrapped in
# /usr/bin/time for its peak RSS.
set -euo pipefail
cd "$(dirname "$0")"
BENCH=$PWD ROOT=$(cd .. && pwd)
PY=/usr/bin/python3            # Debian's python: the one with torch, numpy and sklearn
QUICK=0 REPS=3 ONLY=
while [ $# -gt 0 ]; do
  case $1 in
    --quick) QUICK=1; REPS=1 ;;
    --reps) REPS=$2; shift ;;
    --only) ONLY=$2; shift ;;
    *) echo "usage: $0 [--quick] [--reps N] [--only 'TAG ...']" >&2; exit 2 ;;
  esac
  shift
done
if [ $QUICK = 1 ]; then E1=2 E2=1 CH=3 SCALE=4; else E1=5 E2=3 CH=7 SCALE=1; fi
E3=1   # epochs of the grow nets (one epoch of the 4096-wide net: 24 s of nnc's, 49 s of PyTorch's on a loaded core)
RES=results; [ $QUICK = 1 ] && RES=build/results-quick; [ -n "$ONLY" ] && RES=build/results-only
mkdir -p build "$RES"
RAW=$RES/raw.tsv LOG=$RES/log.txt
: >"$RAW"; : >"$LOG"
say() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$LOG" >&2; }
# named TAG: is the job TAG one of --only's words, or in a workload it names (grow, growcc: TAG starts with WORD_)?
named() {
  local w
  for w in $ONLY; do
    case $w in grow | growcc) case $1 in "$w"_*) return 0 ;; esac ;; esac
    [ "$1" = "$w" ] && return 0
  done
  return 1
}

# ---- 1. packages ----
PKGS="python3-torch python3-numpy python3-sklearn python3-threadpoolctl libfann-dev libopenblas-dev
      dataset-fashion-mnist zlib1g-dev gcc time cmake make flex bison llvm-19-dev libzstd-dev
      openmpi-bin libopenmpi-dev"
. ./packages.sh
install_packages "$LOG" $PKGS

# ---- 2. nnc from the committed HEAD (not the working tree others may be editing) ----
COMMIT=$(git -C "$ROOT" rev-parse HEAD)
SRC=$(git -C "$ROOT" log -1 --format=%H HEAD -- . ":(exclude)bench")   # last commit outside bench/
if [ "$(cat build/nnc.commit 2>/dev/null)" != "$SRC" ] || [ ! -x build/nnc/nnc ]; then
  say "building nnc at ${COMMIT:0:12}"
  rm -rf build/src build/nnc; mkdir -p build/src
  git -C "$ROOT" archive HEAD | tar -x -C build/src
  cmake -S build/src -B build/nnc -DCMAKE_BUILD_TYPE=RelWithDebInfo 2>&1 | sed "s|$BENCH/||g" >>"$LOG"
  cmake --build build/nnc -j"$(nproc)" --target nnc >>"$LOG" 2>&1
  echo "$SRC" >build/nnc.commit
fi
NNC=build/nnc/nnc INC=build/src/include   # relative to bench/, where every command runs

# ---- 3. models and programs ----
say "building the models and the peer programs"
B=build/bin; mkdir -p $B
for n in fmnist_relu fmnist_sig xor iris; do $NNC -c nnc/$n.nn -o $B/$n.o --header $B/$n.h; done
$NNC nnc/fmnist_relu.nn -o $B/fmnist_relu_cli
# workload 1 in mixed precision (precision bf16): nnc refuses it on a CPU with neither AMX-BF16 nor AVX512-BF16
BF16_CPU=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -m1 -xE 'amx_bf16|avx512_bf16' || true)
if [ -n "$BF16_CPU" ]; then
  $NNC nnc/fmnist_relu_bf16.nn -o $B/fmnist_relu_bf16_cli
else
  rm -f $B/fmnist_relu_bf16_cli
fi
# workload 1 again for CPUs without AVX-512 (AVX2, 16 ymm registers: Zen 2/3, Intel client cores)
$NNC -c nnc/fmnist_relu.nn --cpu x86-64-v3 -o $B/fmnist_relu_avx2.o --header $B/fmnist_relu_avx2.h
$NNC nnc/fmnist_relu.nn --cpu x86-64-v3 -o $B/fmnist_relu_avx2_cli
$NNC nnc/fmnist_sig.nn -o $B/fmnist_sig_cli
CC="gcc -O2 -Wall -I$INC -I$B"
for n in fmnist_relu fmnist_sig; do $CC -DNET=$n -include $B/$n.h -o $B/nnc_mlp_$n drivers/nnc_mlp.c $B/$n.o -lz -lm; done
$CC -DNET=fmnist_relu -include $B/fmnist_relu_avx2.h -o $B/nnc_mlp_fmnist_relu_avx2 drivers/nnc_mlp.c $B/fmnist_relu_avx2.o -lz -lm
for n in xor iris; do $CC -Ipeers -DNET=$n -include $B/$n.h -o $B/nnc_tiny_$n drivers/nnc_tiny.c $B/$n.o -lm; done
gcc -O2 -Wall -o $B/fann_mlp peers/fann_mlp.c -lfloatfann -lz -lm
gcc -O2 -Wall -o $B/tiny_fann peers/tiny_fann.c -lfloatfann -lm
gcc -O3 -march=native -DNI=2 -DNH=4 -DNO=1 -o $B/tiny_c_xor peers/tiny_c.c -lm
gcc -O3 -march=native -DNI=4 -DNH=8 -DNO=3 -o $B/tiny_c_iris peers/tiny_c.c -lm
gcc -O3 -march=native -ffast-math -o $B/mlp_c peers/mlp_c.c -lz -lm
gcc -O2 -march=native -pthread -o $B/peak tools/peak.c
gcc -O2 -pthread -o $B/xcore tools/xcore.c
# workload 7 (only when named): the bigger nets as train executables, and the sources of the compile-time grid
GROW_NETS="w1024:1024-1024 d8x512:512-512-512-512-512-512-512-512 w4096:4096"   # tag suffix : hidden widths
GROW_DEPTHS="1 2 4 8 16 32 64" GROW_WIDTHS="16 64 256 1024 4096"
if named grow_nnc_w1024 || named grow_nnc_d8x512 || named grow_nnc_w4096; then
  for n in w1024 d8x512 w4096; do $NNC nnc/grow_$n.nn -o $B/grow_${n}_cli; done
fi
mkdir -p build/grow
for d in $GROW_DEPTHS; do $PY tools/gen_large.py fmnist_deep "$d" >"build/grow/d${d}_w256.nn"; done
for w in $GROW_WIDTHS; do $PY tools/gen_large.py fmnist_wide "$w" >"build/grow/d2_w$w.nn"; done

# ---- 4. the jobs: TAG CPUS COMMAND... (a TAG starting with cli_ or grow_nnc_ is an nnc train command, cc_ or growcc_ a compile) ----
# PyTorch twice: with OpenBLAS forced to its AVX2 Haswell kernel (how the project's peer baseline was measured:
# that machine's environment set these two variables) and with OpenBLAS choosing its kernel (Cooperlake, AVX-512)
HSW="env OPENBLAS_CORETYPE=Haswell OPENBLAS_L2_SIZE=512"
NOCT="env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE"
# Open MPI as root, on this machine only (shared memory), one core per rank
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPIRUN="mpirun --mca btl self,vader --mca btl_vader_single_copy_mechanism none"
JOBS=(
  # the machine: clock and FMA peak of 1 and 2 cores, measured in the same run as everything else
  "peak1 0 $B/peak 1"
  "peak2 0,1 $B/peak 2"
  # workload 1: ReLU, softmax + cross-entropy, batch 64, lr 0.1
  "torch1 0 $HSW $PY peers/torch_mlp.py 1 $E1 ce"
  "torch1_auto 0 $NOCT $PY peers/torch_mlp.py 1 $E1 ce"
  "torch2 0,1 $HSW OMP_WAIT_POLICY=PASSIVE $PY peers/torch_mlp.py 2 $E1 ce"
  "torch2_auto 0,1 $NOCT OMP_WAIT_POLICY=PASSIVE $PY peers/torch_mlp.py 2 $E1 ce"
  "sklearn1 0 $NOCT $PY peers/sklearn_mlp.py 1 $E1 0.0"
  "sklearn2 0,1 $NOCT $PY peers/sklearn_mlp.py 2 $E1 0.0"
  "c_mb 0 $B/mlp_c minibatch $E1"
  "nnc_mb 0 $B/nnc_mlp_fmnist_relu $E1"
  "cli_mb1 0 $B/fmnist_relu_cli train --epochs $E1 --threads 1 --save build/cli_mb1.weights"
  "cli_mb2 0,1 $B/fmnist_relu_cli train --epochs $E1 --threads 2 --save build/cli_mb2.weights"
  # ... compiled with --cpu x86-64-v3 (AVX2), reported against the AVX2 FMA peak
  "nnc_mb_avx2 0 $B/nnc_mlp_fmnist_relu_avx2 $E1"
  "cli_mb1_avx2 0 $B/fmnist_relu_avx2_cli train --epochs $E1 --threads 1 --save build/cli_mb1_avx2.weights"
  # ... in mixed precision: nnc's precision bf16 and PyTorch's bf16 autocast (bf16 products, f32 sums and weights)
  "cli_mb1_bf16 0 $B/fmnist_relu_bf16_cli train --epochs $E1 --threads 1 --save build/cli_mb1_bf16.weights"
  "torch1_bf16 0 $NOCT $PY peers/torch_mlp.py 1 $E1 ce_bf16"
  # data-parallel training over MPI (issue 7): 1 and 2 ranks of the same train command
  "cli_mpi1 0,1 $MPIRUN -np 1 $B/fmnist_relu_cli train --epochs $E1 --threads 1 --save build/cli_mpi1.weights"
  "cli_mpi2 0,1 $MPIRUN -np 2 $B/fmnist_relu_cli train --epochs $E1 --threads 1 --save build/cli_mpi2.weights"
  # ... and with a global batch of 512, where each step's compute outweighs its allreduce
  "cli_mpi1_b512 0,1 $MPIRUN -np 1 $B/fmnist_relu_cli train --epochs $E1 --batch 512 --threads 1 --save build/cli_mpi1.weights"
  "cli_mpi2_b512 0,1 $MPIRUN -np 2 $B/fmnist_relu_cli train --epochs $E1 --batch 512 --threads 1 --save build/cli_mpi2.weights"
  "cli_t2_b512 0,1 $B/fmnist_relu_cli train --epochs $E1 --batch 512 --threads 2 --save build/cli_t2.weights"
  # workload 2: sigmoid, squared error, per-sample SGD (FANN lr 0.3 = nnc rate 0.15)
  "fann 0 $B/fann_mlp $E2 0.3"
  "c_ps 0 $B/mlp_c persample $E2"
  "nnc_ps 0 $B/nnc_mlp_fmnist_sig $E2"
  "cli_ps 0 $B/fmnist_sig_cli train --epochs $E2 --save build/cli_ps.weights"
  # workload 4: tiny networks (nnc rates are half the peers', see nnc/xor.nn)
  "tiny_c_xor 0 $B/tiny_c_xor $((1000000 / SCALE)) $CH 0.5"
  "tiny_fann_xor 0 $B/tiny_fann 2 4 1 $((100000 / SCALE)) $CH 0.5"
  "tiny_torch_xor 0 $NOCT $PY peers/tiny_torch.py xor $((500 / SCALE)) $CH 0.5"
  "tiny_nnc_xor 0 $B/nnc_tiny_xor $((1000000 / SCALE)) $CH 0.25"
  "tiny_c_iris 0 $B/tiny_c_iris $((20000 / SCALE)) $CH 0.1"
  "tiny_fann_iris 0 $B/tiny_fann 4 8 3 $((5000 / SCALE)) $CH 0.1"
  "tiny_torch_iris 0 $NOCT $PY peers/tiny_torch.py iris $((20 / SCALE)) $CH 0.1"
  "tiny_nnc_iris 0 $B/nnc_tiny_iris $((20000 / SCALE)) $CH 0.05"
  # workload 5: compile time (object + header; and a whole executable for the big net)
  "cc_fmnist_relu 0 $NNC -c nnc/fmnist_relu.nn -o build/cc.o --header build/cc.h"
  "cc_fmnist_sig 0 $NNC -c nnc/fmnist_sig.nn -o build/cc.o --header build/cc.h"
  "cc_xor 0 $NNC -c nnc/xor.nn -o build/cc.o --header build/cc.h"
  "cc_iris 0 $NNC -c nnc/iris.nn -o build/cc.o --header build/cc.h"
  "cc_fmnist_relu_exe 0 $NNC nnc/fmnist_relu.nn -o build/cc.exe"
)
# workload 7, cost as work grows (only when named): the bigger nets' train command and PyTorch (autodetected kernel),
# 1 thread, batch 64; and nnc -c and the whole executable over the grid of depths and widths
for nw in $GROW_NETS; do
  JOBS+=("grow_nnc_${nw%%:*} 0 $B/grow_${nw%%:*}_cli train --epochs $E3 --threads 1 --train-score last --save build/grow.weights"
         "grow_torch_${nw%%:*} 0 $NOCT $PY peers/torch_mlp.py 1 $E3 ce 0.1 ${nw#*:}")
done
GROW_GRID=$(for d in $GROW_DEPTHS; do echo "d${d}_w256"; done; for w in $GROW_WIDTHS; do [ "$w" = 256 ] || echo "d2_w$w"; done)
for m in $GROW_GRID; do
  JOBS+=("growcc_$m 0 $NNC -c build/grow/$m.nn -o build/cc.o --header build/cc.h" "growcc_exe_$m 0 $NNC build/grow/$m.nn -o build/cc.exe")
done
kept=()
for j in "${JOBS[@]}"; do
  tag=${j%% *}
  if [ "$tag" = cli_mb1_bf16 ] && [ -z "$BF16_CPU" ]; then
    if [ -z "$ONLY" ] || named "$tag"; then say "skipping cli_mb1_bf16: this CPU has neither amx_bf16 nor avx512_bf16 (nnc refuses precision bf16)"; fi
    continue
  fi
  if [ -n "$ONLY" ]; then
    if named "$tag"; then kept+=("$j"); fi
  else
    case $tag in grow_* | growcc_*) ;; *) kept+=("$j") ;; esac
  fi
done
JOBS=("${kept[@]}")

# run REP TAG CPUS CMD...: pinned, under /usr/bin/time; appends "rep tag rss_kb wall_s cmd json" to raw.tsv
# (a compile's json holds its CPU seconds, user + system: on a shared machine wall time measures the neighbours)
run() {
  local rep=$1 tag=$2 cpus=$3; shift 3
  local out=build/job.out tm=build/job.time json
  echo ">> [$rep] $tag: taskset -c $cpus $*" >>"$LOG"
  if ! taskset -c "$cpus" /usr/bin/time -f '%M %e %U %S' -o $tm "$@" >$out 2>&1; then
    cat $out >>"$LOG"; say "FAILED: $tag"; return 0
  fi
  cat $out >>"$LOG"
  read -r rss wall usr sys <$tm
  case $tag in
    cli_mpi*) json=$($PY tools/cli_result.py "$(echo "$*" | sed -n 's/.* -np \([0-9]*\).*/\1/p')" <$out | sed 's/^RESULT //') ;;
    cli_* | grow_nnc_*) json=$($PY tools/cli_result.py "$(echo "$*" | sed -n 's/.*--threads \([0-9]*\).*/\1/p' | grep . || echo 1)" <$out | sed 's/^RESULT //') ;;
    cc_* | growcc_*) json="{\"bench\": \"compile\", \"cpu_s\": $(echo "$usr $sys" | awk '{ print $1 + $2 }')}" ;;
    *) json=$(sed -n 's/^RESULT //p' $out | tail -1) ;;
  esac
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$rep" "$tag" "$rss" "$wall" "taskset -c $cpus $*" "$json" >>"$RAW"
}

{ date -u '+%Y-%m-%d %H:%M:%S UTC'; echo "command: bench/run.sh $([ $QUICK = 1 ] && echo --quick) --reps $REPS${ONLY:+ --only '$ONLY'}"
  echo "nnc commit: $COMMIT (built from 'git archive HEAD', RelWithDebInfo)"
  echo "load before: $(uptime)"; } >"$RES/env.txt"
N=${#JOBS[@]}
for rep in $(seq 1 "$REPS"); do
  echo "load at repetition $rep: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min); $($B/xcore)" >>"$RES/env.txt"
  say "repetition $rep/$REPS ($N jobs, round-robin from job $(((rep - 1) * 7 % N)))"
  for k in $(seq 0 $((N - 1))); do
    j=${JOBS[$(((k + (rep - 1) * 7) % N))]}
    echo -n . >&2
    # shellcheck disable=SC2086
    run "$rep" $j
  done
  echo >&2
done

{ echo "load after: $(uptime)"
  grep -m1 'model name' /proc/cpuinfo; grep -m1 'cpu family' /proc/cpuinfo; grep -m1 '^model[[:space:]]*:' /proc/cpuinfo
  echo "vector extensions: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|avx512f|avx512_bf16|avx512_vnni|amx_tile|amx_bf16)$' | tr '\n' ' ')"
  echo "cpus: $(nproc); $(uname -sr)"
  env | grep '^OPENBLAS_' || echo 'no OPENBLAS_* set'
  gcc --version | head -1; echo "python: $($PY --version 2>&1)"
  dpkg-query -W -f='${Package} ${Version}\n' python3-torch python3-numpy python3-sklearn python3-threadpoolctl \
    libfann2 libopenblas0-pthread dataset-fashion-mnist llvm-19 openmpi-bin 2>/dev/null; } >>"$RES/env.txt"
$PY tools/report.py "$RAW" "$RES/env.txt" | tee "$RES/table.md"
