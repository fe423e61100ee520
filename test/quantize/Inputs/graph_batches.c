/* Calls graph_forward (graph.h) on batches of 1, 15, 16, 17, 33 and 1000 samples and on each
   sample alone; prints the largest difference (0: a batch's outputs are its samples'). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "allow_amx.h"
#include "graph.h"

static const int sizes[] = {1, 15, 16, 17, 33, 1000};

int main(void) {
  allow_amx();
  float *x = malloc(sizeof(float) * 1000 * GRAPH_N_INPUTS), *y = malloc(sizeof(float) * 1000 * GRAPH_N_OUTPUTS);
  float one[GRAPH_N_OUTPUTS];
  void *scratch = aligned_alloc(64, ((size_t)GRAPH_FORWARD_SCRATCH_BYTES(1000) + 63) / 64 * 64);
  double worst = 0;
  srand(1);
  for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
    int n = sizes[k];
    for (long i = 0; i < (long)n * GRAPH_N_INPUTS; i++) x[i] = (float)rand() / RAND_MAX * 2 - 1;
    graph_forward(NULL, n, x, y, scratch);
    for (int s = 0; s < n; s++) {
      graph_forward(NULL, 1, x + (long)s * GRAPH_N_INPUTS, one, scratch);
      for (int j = 0; j < GRAPH_N_OUTPUTS; j++) worst = fmax(worst, fabs(one[j] - y[(long)s * GRAPH_N_OUTPUTS + j]));
    }
  }
  printf("largest difference %g\n", worst);
  free(scratch);
  free(x);
  free(y);
  return 0;
}
