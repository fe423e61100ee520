#!/bin/sh
# update_check.sh EXE NAME FLAGS...: trains EXE with FLAGS twice, the optimizer stepping beside
# the backward sweep (NAME_loss_grad_update) and after the whole gradient
# (NNRT_FUSED_UPDATE=0); the weights must be the same bits.
set -e
exe=$1 name=$2
shift 2
"$exe" train --quiet --restarts 1 "$@" --save "$name.beside"
NNRT_FUSED_UPDATE=0 "$exe" train --quiet --restarts 1 "$@" --save "$name.after"
if cmp -s "$name.beside" "$name.after"; then echo "$name: same weights"; else echo "$name: different weights"; fi
