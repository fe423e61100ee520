/* Calls wide_row_forward (wide_row.h) with every input 1, on one sample and on a batch of 3,
   and prints the four outputs, one a line. */
#include <stdio.h>
#include <stdlib.h>

#include "allow_amx.h"
#include "wide_row.h"

int main(void) {
  allow_amx();
  float *x = malloc(sizeof(float) * 3 * WIDE_ROW_N_INPUTS), y[3];
  void *scratch = aligned_alloc(64, ((size_t)WIDE_ROW_FORWARD_SCRATCH_BYTES(3) + 63) / 64 * 64);
  for (long i = 0; i < 3L * WIDE_ROW_N_INPUTS; i++) x[i] = 1.0f;
  wide_row_forward(NULL, 1, x, y, scratch);
  printf("%g\n", (double)y[0]);
  wide_row_forward(NULL, 3, x, y, scratch);
  printf("%g\n%g\n%g\n", (double)y[0], (double)y[1], (double)y[2]);
  free(scratch);
  free(x);
  return 0;
}
