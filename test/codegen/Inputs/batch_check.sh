#!/bin/sh
# batch_check.sh NNC CC INCLUDE NET.nn WORKDIR: on batches of n = 1, 5, 17, 64 and 100 samples,
# the mini-batch kernels must agree with the per-sample code: NAME_forward(n) with n calls of
# NAME_forward(1), NAME_loss_grad(n) with the sum of n calls of NAME_loss_grad(1), and
# NAME_train_step(n) with p − rate·g/n (relative 1e-5, 1e-4 and 1e-5 of the largest value:
# the same arithmetic in another order).
set -e
. "$(dirname "$0")/compile_model.sh"
cat > "$dir/$name-batch.c" <<C
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "$name.h"
typedef ${name}_real real;
enum { MAXN = 100, NI = ${up}_N_INPUTS, NO = ${up}_N_OUTPUTS };
static double worst(const real *a, const real *b, size_t n) { /* max |a − b| / max |a| */
  double d = 0, big = 1e-30;
  for (size_t i = 0; i < n; i++) { d = fmax(d, fabs((double)a[i] - b[i])); big = fmax(big, fabs((double)a[i])); }
  return d / big;
}
int main(void) {
  size_t P = ${up}_N_PARAMS;
  real *p = malloc(P * sizeof *p), *q = malloc(P * sizeof *q), *e = malloc(P * sizeof *e);
  real *g1 = malloc(P * sizeof *g1), *gn = malloc(P * sizeof *gn);
  real *x = malloc(MAXN * NI * sizeof *x), *t = calloc(MAXN * NO, sizeof *t), *y1 = malloc(MAXN * NO * sizeof *y1), *yn = malloc(MAXN * NO * sizeof *yn);
  void *s = aligned_alloc(64, (${up}_SCRATCH_BYTES(MAXN) + 63) / 64 * 64);
  srand(11);
  for (int i = 0; i < MAXN * NI; i++) x[i] = (real)(rand() % 1000) / 1000;
  for (int i = 0; i < MAXN; i++) t[i * NO + rand() % NO] = 1;
  ${name}_init(p, 3);
  static const int sizes[] = {1, 5, 17, 64, 100};
  int ok = 1;
  for (int k = 0; k < 5; k++) {
    int n = sizes[k];
    for (int i = 0; i < n; i++) ${name}_forward(p, 1, x + i * NI, y1 + i * NO, s);
    ${name}_forward(p, n, x, yn, s);
    memset(g1, 0, P * sizeof *g1), memset(gn, 0, P * sizeof *gn);
    for (int i = 0; i < n; i++) ${name}_loss_grad(p, 1, x + i * NI, t + i * NO, g1, s);
    ${name}_loss_grad(p, n, x, t, gn, s);
    memcpy(q, p, P * sizeof *p);
    ${name}_train_step(q, NULL, n, x, t, 0.1, 0, s);
    for (size_t j = 0; j < P; j++) e[j] = p[j] - (real)(0.1 / n) * g1[j]; /* the expected step */
    double dy = worst(y1, yn, (size_t)n * NO), dg = worst(g1, gn, P), dp = worst(e, q, P);
    int good = dy <= 1e-5 && dg <= 1e-4 && dp <= 1e-5;
    ok &= good;
    printf("$name n=%d: forward %g, gradient %g, step %g%s\n", n, dy, dg, dp, good ? "" : "  MISMATCH");
  }
  printf("$name: %s\n", ok ? "batch kernels agree with per-sample code" : "batch kernels DIFFER");
  return 0;
}
C
"$cc" -std=c11 -O1 -I"$inc" -I"$dir" "$dir/$name-batch.c" "$dir/$name.o" -o "$dir/$name-batch" -lm
"$dir/$name-batch"
