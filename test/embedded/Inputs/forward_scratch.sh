#!/bin/sh
# forward_scratch.sh NNC CC INCLUDE EXAMPLE.nn WORKDIR [nnc flags...]: compiles the example to
# an object and header (with the flags), links forward_scratch.c against them and runs it.
set -e
nnc=$1 cc=$2 inc=$3 src=$4 dir=$5
shift 5
name=$(sed -n 's/^network \([A-Za-z_0-9]*\).*/\1/p' "$src" | head -n 1)
up=$(echo "$name" | tr a-z A-Z)
"$nnc" -c "$src" -o "$dir/$name.o" --header "$dir/$name.h" "$@"
"$cc" -std=c11 -Wall -Wextra -Werror -DNET="$name" -DUP="$up" -I"$inc" -I"$dir" \
  "$(dirname "$0")/forward_scratch.c" "$dir/$name.o" -o "$dir/$name-scratch" -lm
"$dir/$name-scratch"
