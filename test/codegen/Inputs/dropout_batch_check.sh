#!/bin/sh
# dropout_batch_check.sh NNC CC INCLUDE NET.nn WORKDIR TOL: for a network with dropout, on
# batches of n = 2, 5, 17, 64 and 100 samples with a mask per sample written where the header
# says, the mini-batch kernels must agree with the per-sample code fed the same masks one sample
# at a time (relative TOL of the largest value): NAME_loss_grad(n) (its loss and gradient) with
# the sums of n calls of NAME_loss_grad(1); NAME_train_step(n) without and with momentum (from
# zero velocity) and NAME_loss_grad_update(n) with an SGD update, with p − rate·g/n. The
# masks must matter: the gradient with every unit kept is another.
set -e
. "$(dirname "$0")/compile_model.sh"
tol=$6
cat > "$dir/$name-dropout.c" <<C
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "$name.h"
typedef ${name}_real real;
enum { MAXN = 100, NI = ${up}_N_INPUTS, NO = ${up}_N_OUTPUTS, ND = ${up}_N_DROPOUT };
static const size_t P = ${up}_N_PARAMS;
static real mk[MAXN][ND], ones[MAXN][ND];
static void *s;
static double worst(const real *a, const real *b, size_t n) { /* max |a − b| / max |a| */
  double d = 0, big = 1e-30;
  for (size_t i = 0; i < n; i++) { d = fmax(d, fabs((double)a[i] - b[i])); big = fmax(big, fabs((double)a[i])); }
  return d / big;
}
static void masks(real (*m)[ND], int n) { memcpy((char *)s + ${up}_DROPOUT_MASK_OFFSET, m, (size_t)n * ND * sizeof(real)); }
typedef struct { real *p, *g; real scale; } sgd_ctx;
static void sgd(void *c, int64_t lo, int64_t hi) {
  sgd_ctx *u = c;
  for (int64_t i = lo; i < hi; i++) u->p[i] -= u->scale * u->g[i];
}
int main(void) {
  real *p = malloc(P * sizeof *p), *q = malloc(P * sizeof *q), *e = malloc(P * sizeof *e), *v = malloc(P * sizeof *v);
  real *g1 = malloc(P * sizeof *g1), *gn = malloc(P * sizeof *gn), *gk = malloc(P * sizeof *gk);
  real *x = malloc(MAXN * NI * sizeof *x), *t = calloc(MAXN * NO, sizeof *t);
  s = aligned_alloc(64, (${up}_SCRATCH_BYTES(MAXN) + 63) / 64 * 64);
  srand(11);
  for (int i = 0; i < MAXN * NI; i++) x[i] = (real)(rand() % 1000) / 1000;
  for (int i = 0; i < MAXN; i++) t[i * NO + rand() % NO] = 1;
  for (int i = 0; i < MAXN; i++)
    for (int u = 0; u < ND; u++) {
      double rate = ${name}_model.dropout_rates[u];
      mk[i][u] = (real)((double)rand() / RAND_MAX < rate ? 0 : 1 / (1 - rate));
      ones[i][u] = 1;
    }
  ${name}_init(p, 3);
  static const int sizes[] = {2, 5, 17, 64, 100};
  int ok = 1;
  for (int k = 0; k < 5; k++) {
    int n = sizes[k];
    double l1 = 0, ln;
    memset(g1, 0, P * sizeof *g1), memset(gn, 0, P * sizeof *gn), memset(gk, 0, P * sizeof *gk);
    for (int i = 0; i < n; i++) {
      masks(mk + i, 1);
      l1 += ${name}_loss_grad(p, 1, x + i * NI, t + i * NO, g1, s);
    }
    masks(mk, n);
    ln = ${name}_loss_grad(p, n, x, t, gn, s);
    for (size_t j = 0; j < P; j++) e[j] = p[j] - (real)(0.1 / n) * g1[j]; /* the expected step */
    double dl = fabs(l1 - ln) / fabs(l1), dg = worst(g1, gn, P), ds = 0, dm, du;
    memcpy(q, p, P * sizeof *p);
    ${name}_train_step(q, NULL, n, x, t, 0.1, 0, s);
    ds = worst(e, q, P);
    memcpy(q, p, P * sizeof *p), memset(v, 0, P * sizeof *v);
    ${name}_train_step(q, v, n, x, t, 0.1, 0.5, s);
    dm = worst(e, q, P);
    memcpy(q, p, P * sizeof *p);
    sgd_ctx u = {q, gn, (real)(0.1 / n)};
    ${name}_loss_grad_update(q, n, x, t, gn, s, sgd, &u);
    du = worst(e, q, P);
    masks(ones, n);
    ${name}_loss_grad(p, n, x, t, gk, s);
    double kept = worst(g1, gk, P);
    int good = dl <= $tol && dg <= $tol && ds <= $tol && dm <= $tol && du <= $tol && kept > 1e-3;
    ok &= good;
    printf("$name n=%d: loss %g, gradient %g, step %g, momentum step %g, update %g; all kept %g%s\n", n, dl, dg, ds,
           dm, du, kept, good ? "" : "  MISMATCH");
  }
  printf("$name: %s\n", ok ? "batch kernels with dropout agree with per-sample code" : "batch kernels with dropout DIFFER");
  return 0;
}
C
"$cc" -std=c11 -O1 -I"$inc" -I"$dir" "$dir/$name-dropout.c" "$dir/$name.o" -o "$dir/$name-dropout" -lm
"$dir/$name-dropout"
