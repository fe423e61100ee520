/* Calls broad_forward (broad.h) on a batch of 17 samples and on each alone in a thread with a
   stack of 2 MiB and prints the largest difference: a quantized batch must take no more stack
   than such a thread has. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "allow_amx.h"
#include "broad.h"

#define BATCH 17

static double worst = -1;

static void *run(void *unused) {
  (void)unused;
  float *x = malloc(sizeof(float) * BATCH * BROAD_N_INPUTS), y[BATCH * BROAD_N_OUTPUTS], one[BROAD_N_OUTPUTS];
  void *scratch = aligned_alloc(64, ((size_t)BROAD_FORWARD_SCRATCH_BYTES(BATCH) + 63) / 64 * 64);
  srand(1);
  for (long i = 0; i < (long)BATCH * BROAD_N_INPUTS; i++) x[i] = (float)rand() / RAND_MAX * 2 - 1;
  broad_forward(NULL, BATCH, x, y, scratch);
  worst = 0;
  for (int s = 0; s < BATCH; s++) {
    broad_forward(NULL, 1, x + (long)s * BROAD_N_INPUTS, one, scratch);
    for (int k = 0; k < BROAD_N_OUTPUTS; k++) worst = fmax(worst, fabs(one[k] - y[s * BROAD_N_OUTPUTS + k]));
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
  pthread_attr_setstacksize(&attr, (size_t)2 << 20);
  if (pthread_create(&t, &attr, run, NULL) != 0 || pthread_join(t, NULL) != 0) return 1;
  printf("largest difference %g\n", worst);
  return 0;
}
