/* Calls the object's forward on 200 rows of inputs drawn in [-1, 1] by rand() (seed 1), one
   sample per call and then all in one call, and prints every output as a hexadecimal float
   (%a: every bit), one row a line: two objects that compute alike print the same text. */
#include <stdio.h>
#include <stdlib.h>

#include "allow_amx.h"
#include "wide.h"

#define ROWS 200

static float x[ROWS * WIDE_N_INPUTS], y[ROWS * WIDE_N_OUTPUTS];

static void print_rows(void) {
  for (int r = 0; r < ROWS; r++)
    for (int j = 0; j < WIDE_N_OUTPUTS; j++) printf("%a%c", (double)y[r * WIDE_N_OUTPUTS + j], j + 1 < WIDE_N_OUTPUTS ? ',' : '\n');
}

int main(void) {
  allow_amx();
  void *scratch = aligned_alloc(64, ((size_t)WIDE_FORWARD_SCRATCH_BYTES(ROWS) + 63) / 64 * 64);
  srand(1);
  for (int i = 0; i < ROWS * WIDE_N_INPUTS; i++) x[i] = (float)rand() / RAND_MAX * 2 - 1;
  for (int r = 0; r < ROWS; r++) wide_forward(NULL, 1, x + r * WIDE_N_INPUTS, y + r * WIDE_N_OUTPUTS, scratch);
  print_rows();
  wide_forward(NULL, ROWS, x, y, scratch);
  print_rows();
  free(scratch);
  return 0;
}
