/* Calls the quantized object (nobias.h) and the float one (nobiasf.h, --prefix nobiasf) on
   inputs of every magnitude: ordinary ones in [-1, 1], tiny ones (1e-37: 127 / max |x| is
   beyond float's range), a NaN, an infinity; alone and in a batch of 17. Prints what holds.
   Built with -DFEATURE=... for an object compiled for a CPU that has it: on a host without it,
   prints that it skipped and why. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "allow_amx.h"
#include "nobias.h"
#include "nobiasf.h"

#define STR2(x) #x
#define STR(x) STR2(x)
#define NI NOBIAS_N_INPUTS
#define NO NOBIAS_N_OUTPUTS
#define BATCH 17

static _Alignas(64) unsigned char scratch[NOBIAS_FORWARD_SCRATCH_BYTES(BATCH) + NOBIASF_FORWARD_SCRATCH_BYTES(BATCH) + 64];

static void fill(float *x, double magnitude) {
  for (int i = 0; i < NI; i++) x[i] = (float)(((double)rand() / RAND_MAX * 2 - 1) * magnitude);
}

/* The largest |yq - yf| relative to the largest |yf|. */
static double relative_error(const float *x) {
  float yq[NO], yf[NO];
  double err = 0, top = 0;
  nobias_forward(NULL, 1, x, yq, scratch);
  nobiasf_forward(NULL, 1, x, yf, scratch);
  for (int k = 0; k < NO; k++) err = fmax(err, fabs((double)yq[k] - yf[k])), top = fmax(top, fabs(yf[k]));
  return err / top;
}

static int all_nan(const float *y) {
  for (int k = 0; k < NO; k++)
    if (!isnan(y[k])) return 0;
  return 1;
}

static int same(float a, float b) { return a == b || (isnan(a) && isnan(b)); }

int main(void) {
  allow_amx();
  SKIP_UNLESS_HOST_HAS_FEATURE();
  static float x[BATCH * NI], y[BATCH * NO], one[NO];
  srand(1);
  fill(x, 1);
  printf("ordinary inputs: %s\n", relative_error(x) < 0.05 ? "within 5% of float" : "FAR FROM FLOAT");
  fill(x, 1e-37);
  printf("tiny inputs: %s\n", relative_error(x) < 0.05 ? "within 5% of float" : "FAR FROM FLOAT");
  static const float bad[] = {NAN, INFINITY, -INFINITY};
  for (int b = 0; b < 3; b++) {
    fill(x, 1);
    x[b + 5] = bad[b];
    nobias_forward(NULL, 1, x, one, scratch);
    printf("input %g: %s\n", (double)bad[b], all_nan(one) ? "every output nan" : "SOME OUTPUT NOT NAN");
  }
  for (int s = 0; s < BATCH; s++) fill(x + s * NI, s % 2 ? 1 : 1e-37);
  x[3 * NI + 7] = NAN, x[9 * NI + 39] = INFINITY, x[16 * NI] = -INFINITY;
  nobias_forward(NULL, BATCH, x, y, scratch);
  int equal = 1;
  for (int s = 0; s < BATCH; s++) {
    nobias_forward(NULL, 1, x + s * NI, one, scratch);
    for (int k = 0; k < NO; k++) equal &= same(one[k], y[s * NO + k]);
  }
  printf("batch of %d: %s\n", BATCH, equal ? "each sample's outputs alone" : "DIFFERS FROM ITS SAMPLES");
  return 0;
}
