#!/bin/sh
# call_model.sh NNC CC INCLUDE EXAMPLE.nn WORKDIR: compiles the example to an object and a
# header, writes a C program that includes the header and calls init, forward and evaluate
# through it, links and runs it. Prints "NAME: N inputs, M outputs, y0 = ...".
set -e
. "$(dirname "$0")/compile_model.sh"
cat > "$dir/$name-main.c" <<C
#include <stdio.h>
#include <stdlib.h>
#include "$name.h"
int main(void) {
  ${name}_real *p = calloc(${up}_N_PARAMS + 1, sizeof *p);
  ${name}_real *x = calloc(3 * ${up}_N_INPUTS, sizeof *x), *y = calloc(3 * ${up}_N_OUTPUTS, sizeof *y);
  ${name}_real *t = calloc(3 * ${up}_N_OUTPUTS, sizeof *t);
  void *scratch = aligned_alloc(64, (${up}_SCRATCH_BYTES(3) + 63) / 64 * 64);
  ${name}_init(p, 1);
  ${name}_forward(p, 3, x, y, scratch);
  double loss = ${name}_evaluate(p, 3, x, t, y, scratch);
  printf("%s: %d inputs, %d outputs, y0 = %g, loss %s\n", ${name}_model.name, ${up}_N_INPUTS, ${up}_N_OUTPUTS,
         (double)y[0], loss == loss ? "finite" : "nan");
  return 0;
}
C
"$cc" -std=c11 -Wall -Wextra -Werror -I"$inc" -I"$dir" "$dir/$name-main.c" "$dir/$name.o" -o "$dir/$name-main" -lm
"$dir/$name-main"
