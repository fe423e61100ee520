/* Calls NET_forward (the header given with -include, NET and UP its prefix in lower and upper
   case) on a batch of BATCH samples and on each alone, in a thread with a stack of STACK_KIB
   KiB, and prints the largest difference: a quantized object must take no more stack than such
   a thread has (quant-batch-stack: a batch of 17 in 2 MiB; quant-sets-share-stack: many sets in
   128 KiB). Build: cc -include NET.h -DNET=net -DUP=NET -DBATCH=17 -DSTACK_KIB=2048 ... */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "allow_amx.h"

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define N_IN CAT(UP, _N_INPUTS)
#define N_OUT CAT(UP, _N_OUTPUTS)

static double worst = -1;

static void *run(void *unused) {
  (void)unused;
  float *x = malloc(sizeof(float) * BATCH * N_IN), y[BATCH * N_OUT], one[N_OUT];
  void *scratch = aligned_alloc(64, ((size_t)CAT(UP, _FORWARD_SCRATCH_BYTES)(BATCH) + 63) / 64 * 64);
  srand(1);
  for (long i = 0; i < (long)BATCH * N_IN; i++) x[i] = (float)rand() / RAND_MAX * 2 - 1;
  CAT(NET, _forward)(NULL, BATCH, x, y, scratch);
  worst = 0;
  for (int s = 0; s < BATCH; s++) {
    CAT(NET, _forward)(NULL, 1, x + (long)s * N_IN, one, scratch);
    for (int k = 0; k < N_OUT; k++) worst = fmax(worst, fabs(one[k] - y[s * N_OUT + k]));
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
  pthread_attr_setstacksize(&attr, (size_t)STACK_KIB << 10);
  if (pthread_create(&t, &attr, run, NULL) != 0 || pthread_join(t, NULL) != 0) return 1;
  printf("largest difference %g\n", worst);
  return 0;
}
