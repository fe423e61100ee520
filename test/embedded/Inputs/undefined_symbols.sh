#!/bin/sh
# undefined_symbols.sh NNC WORKDIR TAG [nnc flags...]: compiles the examples with the flags
# and prints "TAG NAME: SYMBOL" for each symbol its object needs from elsewhere, then
# "TAG: done". EXAMPLES (names, default: every example) narrows the set.
set -e
nnc=$1 dir=$2 tag=$3
shift 3
examples=$(dirname "$0")/../../../examples
for f in "$examples"/*.nn; do
  name=$(basename "$f" .nn)
  case " ${EXAMPLES:-$name} " in *" $name "*) ;; *) continue ;; esac
  "$nnc" -c "$f" -o "$dir/$tag-$name.o" "$@"
  llvm-nm -u "$dir/$tag-$name.o" | sed "s/^ *U /$tag $name: /"
done
echo "$tag: done"
