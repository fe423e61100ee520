#!/bin/sh
# bench/frontend.sh — how nnc's time and memory grow with the size of the source.
#
# For each shape of bench/tools/gen_large.py (terms, layers, neurons) and each size N, writes
# the source, then measures `nnc --check` and `nnc -c` (an object file, -O3) with
# /usr/bin/time: wall seconds and peak RSS. Prints a markdown table with the growth ratio
# per 10x of N. Not a test: nothing under test/ runs it.
#
# usage: bench/frontend.sh [NNC] [SIZES]   (default: build/nnc, "100 1000 10000 100000")
set -eu
here=$(cd "$(dirname "$0")" && pwd)
nnc=${1:-$here/../build/nnc}
sizes=${2:-"100 1000 10000 100000"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# measure MODE FILE -> "seconds kib status"
measure() {
  set +e
  /usr/bin/time -f "%e %M" -o "$work/time" "$nnc" "$1" "$2" -o "$work/out" >/dev/null 2>"$work/err"
  status=$?
  set -e
  echo "$(cat "$work/time" | tail -1) $status"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b != "") printf "%.1f×", b / a; else printf "" }'; }

echo "| shape | N | --check s | --check MiB | ×/10N | -c s | -c MiB | ×/10N |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for shape in terms layers neurons; do
  prev_check=""; prev_compile=""
  for n in $sizes; do
    python3 "$here/tools/gen_large.py" "$shape" "$n" > "$work/big.nn"
    set -- $(measure --check "$work/big.nn"); cs=$1; cm=$(( $2 / 1024 ))
    set -- $(measure -c "$work/big.nn"); ks=$1; km=$(( $2 / 1024 )); kstatus=$3
    if [ "$kstatus" -ne 0 ]; then
      kcell="refused ($ks)"; kratio=""; next_compile=""
    else
      kcell=$ks; kratio=$(ratio "$prev_compile" "$ks"); next_compile=$ks
    fi
    echo "| $shape | $n | $cs | $cm | $(ratio "$prev_check" "$cs") | $kcell | $km | $kratio |"
    prev_check=$cs; prev_compile=$next_compile
  done
done
