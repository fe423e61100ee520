#!/bin/sh
# bench/frontend.sh — how nnc's time and memory grow with the size of the source.
#
# For each shape of bench/tools/gen_large.py (terms, layers, neurons) and each size N, writes
# the source, then measures `nnc --check` and `nnc -c` (an object file, -O3) with
# /usr/bin/time: CPU seconds (user + system: on a shared machine wall time measures the
# neighbours) and peak RSS. Prints a markdown table with the growth ratio
# per 10x of N (between two sizes, scaled to one decade). Not a test: nothing under test/ runs it.
#
# usage: bench/frontend.sh [NNC] [SIZES] [SHAPES]
#   defaults: build/nnc, "30 300 1000 10000 100000", "terms layers neurons edges inputs outputs mlp"
set -eu
here=$(cd "$(dirname "$0")" && pwd)
nnc=${1:-$here/../build/nnc}
sizes=${2:-"30 300 1000 10000 100000"}
shapes=${3:-"terms layers neurons edges inputs outputs mlp"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# measure MODE FILE -> "cpu_seconds kib status"
measure() {
  set +e
  /usr/bin/time -f "%U %S %M" -o "$work/time" "$nnc" "$1" "$2" -o "$work/out" >/dev/null 2>"$work/err"
  status=$?
  set -e
  tail -1 "$work/time" | awk -v st="$status" '{ printf "%.2f %d %d\n", $1 + $2, $3, st }'
}

# ratio A B PREV_N N -> the growth of A to B scaled to one decade of N: (B/A)^(1/log10(N/PREV_N))
ratio() {
  awk -v a="$1" -v b="$2" -v pn="$3" -v n="$4" \
    'BEGIN { if (a > 0 && b != "" && pn > 0) printf "%.1f×", (b / a) ^ (log(10) / log(n / pn)); }'
}

echo "| shape | N | --check CPU s | --check MiB | ×/10N | -c CPU s | -c MiB | ×/10N |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for shape in $shapes; do
  prev_check=""; prev_compile=""; prev_n=""; prev_kn=""
  for n in $sizes; do
    python3 "$here/tools/gen_large.py" "$shape" "$n" > "$work/big.nn"
    set -- $(measure --check "$work/big.nn"); cs=$1; cm=$(( $2 / 1024 ))
    set -- $(measure -c "$work/big.nn"); ks=$1; km=$(( $2 / 1024 )); kstatus=$3
    if [ "$kstatus" -ne 0 ]; then
      kcell="refused ($ks)"; kratio=""; next_compile=""
    else
      kcell=$ks; kratio=$(ratio "$prev_compile" "$ks" "$prev_kn" "$n"); next_compile=$ks
    fi
    echo "| $shape | $n | $cs | $cm | $(ratio "$prev_check" "$cs" "$prev_n" "$n") | $kcell | $km | $kratio |"
    prev_check=$cs; prev_compile=$next_compile; prev_n=$n; prev_kn=$n
  done
done
