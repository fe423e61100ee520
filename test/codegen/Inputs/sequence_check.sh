#!/bin/sh
# sequence_check.sh NNC CC INCLUDE EXAMPLE.nn WORKDIR: NAME_train_sequence over N samples must
# leave the parameters (and loss) of N calls of NAME_train_step with one sample each: the same
# arithmetic, so equal up to how LLVM contracts a*b+c into fused multiply-adds in each
# function (relative 1e-5 of the largest parameter in f32).
set -e
. "$(dirname "$0")/compile_model.sh"
cat > "$dir/$name-seq.c" <<C
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "$name.h"
enum { N = 40 };
int main(void) {
  size_t P = ${up}_N_PARAMS;
  ${name}_real *a = malloc((P + 1) * sizeof *a), *b = malloc((P + 1) * sizeof *b);
  ${name}_real *x = malloc(N * ${up}_N_INPUTS * sizeof *x), *t = calloc(N * ${up}_N_OUTPUTS, sizeof *t);
  double rates[N];
  void *s = aligned_alloc(64, (${up}_SCRATCH_BYTES(1) + 63) / 64 * 64);
  srand(7);
  for (int i = 0; i < N * ${up}_N_INPUTS; i++) x[i] = (${name}_real)(rand() % 1000) / 1000;
  for (int i = 0; i < N; i++) { t[i * ${up}_N_OUTPUTS + rand() % ${up}_N_OUTPUTS] = 1; rates[i] = 0.05 / (1 + 0.01 * i); }
  ${name}_init(a, 3);
  memcpy(b, a, P * sizeof *a);
  double la = 0, lb;
  for (int i = 0; i < N; i++)
    la += ${name}_train_step(a, NULL, 1, x + i * ${up}_N_INPUTS, t + i * ${up}_N_OUTPUTS, rates[i], 0, s);
  lb = ${name}_train_sequence(b, N, x, t, rates, s);
  double diff = 0, big = 0;
  for (size_t i = 0; i < P; i++) {
    diff = fmax(diff, fabs((double)a[i] - (double)b[i]));
    big = fmax(big, fabs((double)a[i]));
  }
  int same_params = diff <= 1e-5 * big, same_loss = fabs(la - lb) <= 1e-5 * fabs(la);
  printf("%s: %s parameters, %s loss (max difference %g)\n", "$name", same_params ? "same" : "different",
         same_loss ? "same" : "different", diff);
  return 0;
}
C
"$cc" -std=c11 -O1 -I"$inc" -I"$dir" "$dir/$name-seq.c" "$dir/$name.o" -o "$dir/$name-seq" -lm
"$dir/$name-seq"
