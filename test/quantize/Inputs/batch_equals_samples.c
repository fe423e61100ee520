/* Calls the object's forward for N rows at once and for each row alone, prints the largest
   difference of the outputs: a batch of a quantized object takes other kernels (several
   samples per pass over the weights) but the same arithmetic. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "wide.h"

#define N 43 /* 10 blocks of 4 samples and 3 alone */

int main(void) {
  static float x[N][WIDE_N_INPUTS], y[N][WIDE_N_OUTPUTS], one[WIDE_N_OUTPUTS];
  void *scratch = aligned_alloc(64, (size_t)WIDE_FORWARD_SCRATCH_BYTES(N) + 64);
  srand(1);
  for (int i = 0; i < N; i++)
    for (int k = 0; k < WIDE_N_INPUTS; k++) x[i][k] = (float)rand() / RAND_MAX * 2 - 1;
  wide_forward(NULL, N, &x[0][0], &y[0][0], scratch);
  double worst = 0;
  for (int i = 0; i < N; i++) {
    wide_forward(NULL, 1, x[i], one, scratch);
    for (int k = 0; k < WIDE_N_OUTPUTS; k++) worst = fmax(worst, fabs(one[k] - y[i][k]));
  }
  printf("largest difference %g\n", worst);
  free(scratch);
  return 0;
}
