/* forward_scratch.c — compiled with -DNET=name -DUP=NAME against NAME.h and NAME.o: calls
 * NAME_forward for batches of many sizes with scratch of exactly
 * NAME_FORWARD_SCRATCH_BYTES(n) bytes followed by a guard region, all filled with a pattern
 * beforehand. Checks that the guard is intact (nothing written past the size), that the
 * last real of the scratch was written (the size is not larger than the need), and that the
 * outputs equal those computed with a generous scratch. Prints "NAME: forward scratch
 * exact" or the first failure. */
#define _POSIX_C_SOURCE 200112L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guarded_scratch.h"

enum { MAXN = 100, GUARD = 4096 };

static unsigned char *scratch_of(int64_t bytes) { return guarded_scratch(bytes, GUARD); }

/* 0 if forward on n samples keeps to its scratch and matches ref; else a message. */
static int check(const real *params, int64_t n, const real *x, real *y, const real *ref) {
  int64_t need = CAT(UP, _FORWARD_SCRATCH_BYTES)(n);
  unsigned char *s = scratch_of(need);
  CAT(NET, _forward)(params, n, x, y, s);
  const char *fault = !untouched(s + need, GUARD) ? "wrote past FORWARD_SCRATCH_BYTES"
                    : untouched(s + need - sizeof(real), sizeof(real)) ? "left the last real of the scratch unused"
                    : memcmp(y, ref, sizeof(real) * (size_t)(n * CAT(UP, _N_OUTPUTS))) ? "gave other outputs"
                    : NULL;
  free(s);
  if (fault) printf("%s: n = %lld (%lld bytes): forward %s\n", STR(NET), (long long)n, (long long)need, fault);
  return fault != NULL;
}

int main(void) {
  static const int64_t sizes[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 65, 100};
  real *params = calloc(CAT(UP, _N_PARAMS) + 1, sizeof *params);
  real *x = malloc(sizeof(real) * MAXN * CAT(UP, _N_INPUTS));
  real *y = malloc(sizeof(real) * MAXN * CAT(UP, _N_OUTPUTS)), *ref = malloc(sizeof(real) * MAXN * CAT(UP, _N_OUTPUTS));
  CAT(NET, _init)(params, 7);
  for (int i = 0; i < MAXN * CAT(UP, _N_INPUTS); i++) x[i] = (real)((i * 37 % 101) / 50.0 - 1.0);
  unsigned char *big = scratch_of(CAT(UP, _SCRATCH_BYTES)(MAXN));
  int failed = 0;
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0] && !failed; k++) {
    CAT(NET, _forward)(params, sizes[k], x, ref, big);
    failed = check(params, sizes[k], x, y, ref);
  }
  if (!failed) printf("%s: forward scratch exact\n", STR(NET));
  free(big);
  free(params);
  free(x);
  free(y);
  free(ref);
  return failed;
}
