/* Drives a Fashion-MNIST network compiled by nnc (784 inputs, 10 outputs) through its generated C
   functions and times exactly what bench/peers/mlp_c.c times: per epoch, the shuffle, the batch gather
   and the training steps; not the loading, not the evaluation. Then the test accuracy of each epoch,
   single-sample inference latency (200 blocks of 100 calls) and batch-10,000 throughput (15 calls).
   build: gcc -O2 -DNET=fmnist_relu -include fmnist_relu.h nnc_mlp.c fmnist_relu.o -lz -lm
   usage: [NNC_BENCH_TRAIN_ONLY=1] nnc_mlp EPOCHS [RATE]   (batch size and rate from the model's train block; per-epoch lines on
   stderr, one RESULT json line on stdout, with the same keys as mlp_c) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>
#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#define FN(x) CAT(NET, x)
#define STR_(x) #x
#define STR(x) STR_(x)
#define D "/usr/share/datasets/fashion-mnist/"
#define NI 784
#define NO 10
#define NTR 60000
#define NTE 10000
typedef float real;

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static int cmp(const void *a, const void *b) { double x = *(double *)a, y = *(double *)b; return (x > y) - (x < y); }
static void *xalloc(size_t n) { /* 64-byte aligned, as the generated code wants its scratch */
  void *p = aligned_alloc(64, (n + 63) / 64 * 64);
  if (!p) { fprintf(stderr, "out of memory\n"); exit(1); }
  memset(p, 0, n); return p;
}
static unsigned char *idx(const char *name, int skip, int n) {
  unsigned char *b = malloc(n); gzFile f = gzopen(name, "rb");
  if (!f) { perror(name); exit(1); }
  gzseek(f, skip, SEEK_SET); if (gzread(f, b, n) != n) { fprintf(stderr, "short read %s\n", name); exit(1); }
  gzclose(f); return b;
}
static real *images(const char *name, int n) {
  unsigned char *u = idx(name, 16, n * NI); real *x = xalloc(sizeof(real) * n * NI);
  for (long i = 0; i < (long)n * NI; i++) x[i] = u[i] / 255.f;
  free(u); return x;
}
static real *onehot(const unsigned char *y, int n) {
  real *t = xalloc(sizeof(real) * n * NO);
  for (int i = 0; i < n; i++) t[i * NO + y[i]] = 1;
  return t;
}
static void mmm(const char *key, double *v, int n) {
  qsort(v, n, sizeof(double), cmp);
  printf("\"%s\": {\"median\": %g, \"min\": %g, \"max\": %g, \"n\": %d}, ", key, v[n / 2], v[0], v[n - 1], n);
}
static int argmax(const real *o) { int a = 0; for (int k = 1; k < NO; k++) if (o[k] > o[a]) a = k; return a; }

int main(int argc, char **argv) {
  const nnc_model *m = &FN(model);
  int epochs = argc > 1 ? atoi(argv[1]) : 5, B = m->train->batch;
  double rate = argc > 2 ? atof(argv[2]) : m->train->rate;
  if (m->n_inputs != NI || m->n_outputs != NO || m->real_bytes != 4 || epochs < 1 || epochs > 64) {
    fprintf(stderr, "usage: %s EPOCHS(1..64) [RATE]; needs a 784-in, 10-out f32 network\n", argv[0]); return 2;
  }
  real *Xtr = images(D "train-images-idx3-ubyte.gz", NTR), *Xte = images(D "t10k-images-idx3-ubyte.gz", NTE);
  unsigned char *ytr = idx(D "train-labels-idx1-ubyte.gz", 8, NTR), *yte = idx(D "t10k-labels-idx1-ubyte.gz", 8, NTE);
  real *Ttr = onehot(ytr, NTR);
  real *params = xalloc(sizeof(real) * m->n_params), *vel = xalloc(sizeof(real) * m->n_params);
  int64_t chunk = 1000; /* evaluation in chunks of 1000 samples */
  int64_t most = NTE > B ? NTE : B;
  void *scratch = xalloc((size_t)(m->scratch_fixed + most * m->scratch_per_sample));
  real *Xb = xalloc(sizeof(real) * B * NI), *Tb = xalloc(sizeof(real) * B * NO), *Y = xalloc(sizeof(real) * NTE * NO);
  real *Xs = xalloc(sizeof(real) * 64 * NI), *Ts = xalloc(sizeof(real) * 64 * NO); /* a per-sample chunk */
  FN(init)(params, m->train->seed);
  srand(1);
  static int perm[NTR];
  for (int i = 0; i < NTR; i++) perm[i] = i;
  double t[64], sps[64], gf[64], acc[64];
  const double flop = 2.0 * (784 * 256 + 256 * 128 + 128 * 10) * 2 + 2.0 * (256 * 128 + 128 * 10); /* 1,007,104 */
  for (int e = 0; e < epochs; e++) {
    double t0 = now(), loss = 0;
    for (int i = NTR - 1; i > 0; i--) { int j = rand() % (i + 1), x = perm[i]; perm[i] = perm[j]; perm[j] = x; }
    if (B > 1) {
      for (int i = 0; i < NTR; i += B) { /* 937 batches of 64 and a last one of 32 */
        int n = NTR - i < B ? NTR - i : B;
        for (int b = 0; b < n; b++) {
          memcpy(Xb + b * NI, Xtr + (size_t)perm[i + b] * NI, NI * sizeof(real));
          memcpy(Tb + b * NO, Ttr + (size_t)perm[i + b] * NO, NO * sizeof(real));
        }
        loss += FN(train_step)(params, vel, n, Xb, Tb, rate, 0, scratch);
      }
    } else { /* per-sample SGD through the pipelined train_sequence, 64 gathered samples a call,
                as the runtime's train command does */
      static double rates[64];
      for (int k = 0; k < 64; k++) rates[k] = rate;
      for (int i = 0; i < NTR; i += 64) {
        int n = NTR - i < 64 ? NTR - i : 64;
        for (int b = 0; b < n; b++) {
          memcpy(Xs + b * NI, Xtr + (size_t)perm[i + b] * NI, NI * sizeof(real));
          memcpy(Ts + b * NO, Ttr + (size_t)perm[i + b] * NO, NO * sizeof(real));
        }
        loss += FN(train_sequence)(params, n, Xs, Ts, rates, scratch);
      }
    }
    t[e] = now() - t0; sps[e] = NTR / t[e]; gf[e] = NTR * flop / t[e] / 1e9;
    int ok = 0;
    for (int i = 0; i < NTE; i += chunk) FN(forward)(params, chunk, Xte + (size_t)i * NI, Y + (size_t)i * NO, scratch);
    for (int i = 0; i < NTE; i++) ok += argmax(Y + i * NO) == yte[i];
    acc[e] = (double)ok / NTE;
    fprintf(stderr, "epoch %d %.3fs %.1f GFLOP/s train_loss %.4f test_acc %.4f\n", e + 1, t[e], gf[e], loss / NTR, acc[e]);
  }
  if (getenv("NNC_BENCH_TRAIN_ONLY")) return 0; /* for profiling the training alone */
  /* inference: single-sample latency, batch-10k throughput (one call of n = 10000, as torch; and 157 calls of
     at most 64, as mlp_c's predict) */
  volatile float sink = 0;
  double lat[200], thr[15], thr64[15];
  real y1[NO];
  for (int i = 0; i < 200; i++) FN(forward)(params, 1, Xte + (size_t)i * NI, y1, scratch);
  for (int b = 0; b < 200; b++) {
    double t0 = now();
    for (int i = 0; i < 100; i++) { FN(forward)(params, 1, Xte + (size_t)((b * 100 + i) % NTE) * NI, y1, scratch); sink += y1[0]; }
    lat[b] = (now() - t0) / 100 * 1e6;
  }
  FN(forward)(params, NTE, Xte, Y, scratch);
  for (int r = 0; r < 15; r++) { double t0 = now(); FN(forward)(params, NTE, Xte, Y, scratch); thr[r] = NTE / (now() - t0); }
  for (int r = 0; r < 15; r++) {
    double t0 = now();
    for (int i = 0; i < NTE; i += 64) FN(forward)(params, NTE - i < 64 ? NTE - i : 64, Xte + (size_t)i * NI, Y + (size_t)i * NO, scratch);
    thr64[r] = NTE / (now() - t0);
  }
  printf("RESULT {\"bench\": \"nnc_mlp\", \"net\": \"%s\", \"mode\": \"%s\", \"threads\": 1, \"lr\": %g, \"batch\": %d, "
         "\"flop_per_sample\": %.0f, \"test_acc\": {", STR(NET), B > 1 ? "minibatch" : "persample", rate, B, flop);
  for (int e = 0; e < epochs; e++) printf("\"%d\": %.4f%s", e + 1, acc[e], e + 1 < epochs ? ", " : "}, ");
  mmm("epoch_s", t, epochs); mmm("samples_per_s", sps, epochs); mmm("train_gflops", gf, epochs);
  mmm("infer1_us", lat, 200); mmm("infer_batch10k_samples_per_s", thr, 15); mmm("infer_batch64_samples_per_s", thr64, 15);
  printf("\"sink\": %g}\n", (double)sink * 0);
  return 0;
}
