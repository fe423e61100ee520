# compile_model.sh — sourced by call_model.sh and sequence_check.sh with their arguments
# NNC CC INCLUDE EXAMPLE.nn WORKDIR: sets nnc cc inc src dir, the network's name and its
# capitalised macro prefix (up), and compiles the example to $dir/$name.o and $dir/$name.h.
nnc=$1 cc=$2 inc=$3 src=$4 dir=$5
name=$(sed -n 's/^network \([A-Za-z_0-9]*\).*/\1/p' "$src" | head -n 1)
up=$(echo "$name" | tr a-z A-Z)
"$nnc" -c "$src" -o "$dir/$name.o" --header "$dir/$name.h"
