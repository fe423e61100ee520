/* Calls the object's forward for batches of N rows (N = 1, 3, 17, 43, 10000: one sample, a
   batch smaller than a block of the batch kernel, blocks and a remainder) and for each row
   alone, prints the largest difference of the outputs. A batch of a quantized object goes
   through other kernels (several samples per pass over the weights) doing lane by lane the
   same operations in the same order, so the difference is 0.
   Built with -DFEATURE=avx512vnni (or avx512bf16, amx-int8, ...) for an object compiled for a
   CPU that has it: on a host without it, prints that it skipped and why. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "allow_amx.h"
#include "wide.h"

#define STR2(x) #x
#define STR(x) STR2(x)

static const int sizes[] = {1, 3, 17, 43, 10000};

static double largest_difference(int n, void *scratch) {
  float *x = malloc(sizeof(float) * (size_t)n * WIDE_N_INPUTS), *y = malloc(sizeof(float) * (size_t)n * WIDE_N_OUTPUTS);
  float one[WIDE_N_OUTPUTS];
  for (long i = 0; i < (long)n * WIDE_N_INPUTS; i++) x[i] = (float)rand() / RAND_MAX * 2 - 1;
  wide_forward(NULL, n, x, y, scratch);
  double worst = 0;
  for (int i = 0; i < n; i++) {
    wide_forward(NULL, 1, x + (long)i * WIDE_N_INPUTS, one, scratch);
    for (int k = 0; k < WIDE_N_OUTPUTS; k++) worst = fmax(worst, fabs(one[k] - y[(long)i * WIDE_N_OUTPUTS + k]));
  }
  free(x);
  free(y);
  return worst;
}

int main(void) {
  allow_amx();
  SKIP_UNLESS_HOST_HAS_FEATURE();
  void *scratch = aligned_alloc(64, (size_t)WIDE_FORWARD_SCRATCH_BYTES(10000) + 64);
  double worst = 0;
  srand(1);
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) worst = fmax(worst, largest_difference(sizes[i], scratch));
  printf("largest difference %g\n", worst);
  free(scratch);
  return 0;
}
