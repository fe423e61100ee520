#!/bin/sh
# k_loops.sh FUNCTION < FILE.s: the loops of FUNCTION (x86-64 or AArch64 assembly) that are one
# block branching back to its own label and multiply-add vectors without reading constants (the
# k loops of register tiles; inline math reads its coefficients from .LCPI constants): one line
# per kind, "N fma, M stack" (M: instructions that touch the stack, i.e. spills), sorted by N.
awk -v fn="$1" '
  $0 ~ "^" fn ":" { on = 1; next }
  on && /^\.Lfunc_end/ { exit }
  !on { next }
  /^\.LBB[0-9_]+:/ { label = substr($1, 1, length($1) - 1); fma = 0; stack = 0; consts = 0; next }
  /^[ \t]*\./ || /^[ \t]*#/ || /^[ \t]*\/\// { next }
  {
    if ($1 ~ /^vfmadd|^fmla/) fma++
    if ($0 ~ /\(%rsp\)|\[sp/) stack++
    if ($0 ~ /\.LCPI/) consts++
    if (($1 ~ /^j/ || $1 ~ /^b/) && $NF == label && fma > 0 && !consts) print fma " fma, " stack " stack"
  }' | sort -n | uniq
