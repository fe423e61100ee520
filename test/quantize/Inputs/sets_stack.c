/* Calls sets_forward (sets.h) on one sample and on a batch of 3 in a thread with a stack of
   128 KiB and prints the largest difference between the batch and its samples alone: the
   quantized object's stack must not grow with its number of sets (20 sets of 10,000 inputs
   each quantize into the same array, 10 KB for int8, 20 KB for bf16). */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "allow_amx.h"
#include "sets.h"

#define BATCH 3

static double worst = -1;

static void *run(void *unused) {
  (void)unused;
  float *x = malloc(sizeof(float) * BATCH * SETS_N_INPUTS), y[BATCH * SETS_N_OUTPUTS], one[SETS_N_OUTPUTS];
  void *scratch = aligned_alloc(64, ((size_t)SETS_FORWARD_SCRATCH_BYTES(BATCH) + 63) / 64 * 64);
  srand(1);
  for (long i = 0; i < (long)BATCH * SETS_N_INPUTS; i++) x[i] = (float)rand() / RAND_MAX * 2 - 1;
  sets_forward(NULL, BATCH, x, y, scratch);
  worst = 0;
  for (int s = 0; s < BATCH; s++) {
    sets_forward(NULL, 1, x + (long)s * SETS_N_INPUTS, one, scratch);
    for (int k = 0; k < SETS_N_OUTPUTS; k++) worst = fmax(worst, fabs(one[k] - y[s * SETS_N_OUTPUTS + k]));
  }
  free(scratch);
  free(x);
  return NULL;
}

int main(void) {
  allow_amx();
  pthread_attr_t attr;
  pthread_t t;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, (size_t)128 << 10);
  if (pthread_create(&t, &attr, run, NULL) != 0 || pthread_join(t, NULL) != 0) return 1;
  printf("largest difference %g\n", worst);
  return 0;
}
