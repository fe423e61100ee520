/* train_scratch.c — compiled with -DNET=name -DUP=NAME against NAME.h and NAME.o (a training
 * object): calls evaluate, loss_grad, train_step, loss_grad_update and train_deltas +
 * train_rows (one part) for batches of 1 to 200 samples, each with scratch of exactly
 * NAME_SCRATCH_BYTES(n) bytes followed by a guard region, all filled with a pattern first.
 * Checks that no call writes past that size, that every loss is finite, and that train_step
 * and the owner-computes pair step the same bits (batches of 2 or more). Prints "NAME: training scratch kept" or
 * the first failures. */
#define _POSIX_C_SOURCE 200112L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../embedded/Inputs/guarded_scratch.h"

enum { MAXN = 200, GUARD = 1 << 16, CALLS = 5 };
static const char *const names[CALLS] = {"evaluate", "loss_grad", "train_step", "loss_grad_update", "train_deltas+rows"};

static unsigned char *scratch_of(int64_t bytes) { return guarded_scratch(bytes, GUARD); }

static void no_update(void *ctx, int64_t lo, int64_t hi) { (void)ctx, (void)lo, (void)hi; }

/* Call k on n samples from params p (changed in place); returns its loss. */
static double call(int k, real *p, int64_t n, const real *x, const real *t, real *work, void *s) {
  switch (k) {
  case 0: return CAT(NET, _evaluate)(p, n, x, t, work, s);
  case 1: return CAT(NET, _loss_grad)(p, n, x, t, work, s);
  case 2: return CAT(NET, _train_step)(p, work, n, x, t, 0.1, 0.0, s);
  case 3: return CAT(NET, _loss_grad_update)(p, n, x, t, work, s, no_update, NULL);
  default: {
    double loss = CAT(NET, _train_deltas)(p, n, x, t, s);
    const void *xs[1] = {x};
    void *ss[1] = {s};
    CAT(NET, _train_rows)(p, 1, &n, xs, ss, 0.1, 0, 1);
    return loss;
  }
  }
}

int main(void) {
  enum { NP = CAT(UP, _N_PARAMS), NI = CAT(UP, _N_INPUTS), NO = CAT(UP, _N_OUTPUTS) };
  static const int64_t sizes[] = {1, 2, 3, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 129, 200};
  real *p0 = malloc(sizeof(real) * NP), *after[CALLS], *x = malloc(sizeof(real) * MAXN * NI);
  real *t = calloc((size_t)MAXN * NO, sizeof(real)), *work = malloc(sizeof(real) * (NP > MAXN * NO ? NP : MAXN * NO));
  CAT(NET, _init)(p0, 3);
  for (int i = 0; i < MAXN * NI; i++) x[i] = (real)((i * 37 % 101) / 50.0 - 1.0);
  for (int s = 0; s < MAXN; s++) t[s * NO + s % NO] = 1;
  int failed = 0;
  for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
    int64_t n = sizes[z], need = CAT(UP, _SCRATCH_BYTES)(n);
    for (int k = 0; k < CALLS; k++) {
      unsigned char *s = scratch_of(need);
      after[k] = malloc(sizeof(real) * NP);
      memcpy(after[k], p0, sizeof(real) * NP);
      memset(work, 0, sizeof(real) * (NP > MAXN * NO ? NP : MAXN * NO));
      double loss = call(k, after[k], n, x, t, work, s);
      const char *fault = !untouched(s + need, GUARD) ? "wrote past SCRATCH_BYTES" : !isfinite(loss) ? "lost its loss" : NULL;
      if (fault) printf("%s: n = %lld: %s %s\n", STR(NET), (long long)n, names[k], fault), failed = 1;
      free(s);
    }
    if (n > 1 && memcmp(after[2], after[4], sizeof(real) * NP)) /* one sample: per-sample code */
      printf("%s: n = %lld: train_step and train_deltas+rows step other bits\n", STR(NET), (long long)n), failed = 1;
    for (int k = 0; k < CALLS; k++) free(after[k]);
  }
  if (!failed) printf("%s: training scratch kept\n", STR(NET));
  free(p0), free(x), free(t), free(work);
  return failed;
}
