#!/bin/sh
# same-weights-on-threads.sh NNC NAME... — in the current directory, compiles NAME.nn and
# trains it with --threads 1, 2 and 3; prints "NAME: same weights on 1, 2 and 3 threads"
# when the three weights files are identical, else what differed.
nnc=$1
shift
for n in "$@"; do
  "$nnc" "$n.nn" -o "$n" || exit 1
  for t in 1 2 3; do
    "./$n" train --quiet --threads $t > /dev/null || exit 1
    mv own.weights "$n.$t.weights" || exit 1
  done
  if cmp "$n.1.weights" "$n.2.weights" && cmp "$n.1.weights" "$n.3.weights"; then
    echo "$n: same weights on 1, 2 and 3 threads"
  else
    echo "$n: MISMATCH"
  fi
done
