/* Drives a tiny network compiled by nnc (XOR 2-4-1 or Iris 4-8-3) the way bench/peers/tiny_c.c runs its
   hand-written one: per-sample SGD over the data set for EPOCHS_PER_CHUNK epochs, timed per chunk, then
   the same number of single-sample forward passes (independent samples, so it is throughput).
   build: gcc -O2 -DNET=xor -include xor.h -I../peers nnc_tiny.c xor.o -lm
   usage: nnc_tiny EPOCHS_PER_CHUNK CHUNKS RATE   -> RESULT json line (ns per sample) */
#include <string.h>
#include <time.h>
#include "tiny_data.h"
#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#define FN(x) CAT(NET, x)
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static int cmp(const void *a, const void *b) { double x = *(double *)a, y = *(double *)b; return (x > y) - (x < y); }
int main(int argc, char **argv) {
  const nnc_model *m = &FN(model);
  if (argc < 4) { fprintf(stderr, "usage: %s EPOCHS_PER_CHUNK CHUNKS RATE\n", argv[0]); return 2; }
  long epc = atol(argv[1]); int chunks = atoi(argv[2]); double rate = atof(argv[3]);
  int ni = m->n_inputs, no = m->n_outputs, n = load_tiny(ni);
  if (chunks < 1 || chunks > 64 || m->real_bytes != 4) return 2;
  float *params = aligned_alloc(64, 4096);
  void *scratch = aligned_alloc(64, (size_t)(m->scratch_fixed + m->scratch_per_sample + 63) / 64 * 64);
  FN(init)(params, m->train->seed);
  /* the data set packed as the model lays it out (X and T rows are padded to 4 and 3 columns) */
  float xs[150 * 4], ts[150 * 3]; double rates[150];
  for (int s = 0; s < n; s++) {
    memcpy(xs + s * ni, X[s], ni * sizeof(float)); memcpy(ts + s * no, T[s], no * sizeof(float)); rates[s] = rate;
  }
  double tr[64], inf[64]; volatile float sink = 0; float o[4];
  for (int c = 0; c < chunks; c++) {
    double t0 = now();
    for (long e = 0; e < epc; e++) FN(train_sequence)(params, n, xs, ts, rates, scratch);
    tr[c] = (now() - t0) / (epc * n) * 1e9;
    t0 = now();
    for (long e = 0; e < epc; e++) for (int s = 0; s < n; s++) { FN(forward)(params, 1, X[s], o, scratch); sink += o[0]; }
    inf[c] = (now() - t0) / (epc * n) * 1e9;
  }
  int ok = 0; double se = 0;
  for (int s = 0; s < n; s++) {
    FN(forward)(params, 1, X[s], o, scratch); ok += tiny_correct(o, T[s], no);
    for (int k = 0; k < no; k++) se += (o[k] - T[s][k]) * (o[k] - T[s][k]);
  }
  qsort(tr, chunks, sizeof(double), cmp); qsort(inf, chunks, sizeof(double), cmp);
  printf("RESULT {\"bench\": \"tiny\", \"impl\": \"nnc\", \"net\": \"%d-%d-%d\", \"train_ns\": {\"median\": %g, \"min\": %g, \"max\": %g, \"n\": %d}, "
         "\"infer_ns\": {\"median\": %g, \"min\": %g, \"max\": %g, \"n\": %d}, \"train_acc\": %g, \"mse\": %g, \"samples_trained\": %ld}\n",
         ni, (int)((m->n_params - no) / (ni + 1 + no)), no, tr[chunks / 2], tr[0], tr[chunks - 1], chunks,
         inf[chunks / 2], inf[0], inf[chunks - 1], chunks, (double)ok / n, se / n / no, epc * chunks * n);
  return 0;
}
