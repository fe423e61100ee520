/* Fashion-MNIST 784-256-128-10 compiled by nnc with its trained weights three ways (float, and
   --quantize bf16 and int8; prefixes q_float, q_bf16, q_int8), side by side in one process:
   test accuracy through NAME_forward, single-sample latency (per repetition: 100 blocks of 100
   calls, the median block), batch-10,000 throughput (one call of n = 10000); the three models
   alternate within each repetition so that a noisy period of the machine hits them alike.
   build: gcc -O2 -I../include -Ibuild/quant nnc_quant.c q_float.o q_bf16.o q_int8.o -lz
   usage: nnc_quant [REPS [PEAK]]   (a markdown table with medians over REPS, and ratios to float;
   with PEAK, the fp32 FMA peak in GFLOP/s measured in the same run by tools/peak.c, also each
   throughput as a multiple of the peak's bound: PEAK / (2 flop × 234,752 multiply-adds) a sample;
   last, the batch's throughput in the thread's CPU time, which leaves out the time the thread
   waited for a core: on a shared machine the steadier figure). On a CPU with AMX the objects'
   batches run on tiles, which Linux lets a process use once it asks (allow_amx). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#if defined(__linux__) && defined(__x86_64__)
long syscall(long number, ...);
/* arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA): fails harmlessly where there is no AMX. */
static void allow_amx(void) { syscall(158 /* SYS_arch_prctl */, 0x1023, 18); }
#else
static void allow_amx(void) {}
#endif

#include "q_bf16.h"
#include "q_float.h"
#include "q_int8.h"

#define D "/usr/share/datasets/fashion-mnist/"
#define NI 784
#define NO 10
#define NTE 10000
#define MODELS 3
#define MAX_REPS 64
#define MACS_PER_SAMPLE (784.0 * 256 + 256.0 * 128 + 128.0 * 10)

typedef void (*forward_fn)(const float *, int64_t, const float *, float *, void *);
static const char *names[MODELS] = {"float", "bf16", "int8"};
static const forward_fn forwards[MODELS] = {q_float_forward, q_bf16_forward, q_int8_forward};

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static double cpu(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }
static double median(double *v, int n) { qsort(v, n, sizeof *v, cmp); return v[n / 2]; }

static unsigned char *idx(const char *name, int skip, int n) {
  unsigned char *b = malloc(n);
  gzFile f = gzopen(name, "rb");
  if (!b || !f) { perror(name); exit(1); }
  gzseek(f, skip, SEEK_SET);
  if (gzread(f, b, n) != n) { fprintf(stderr, "short read %s\n", name); exit(1); }
  gzclose(f);
  return b;
}

static int argmax(const float *o) { int a = 0; for (int k = 1; k < NO; k++) if (o[k] > o[a]) a = k; return a; }

int main(int argc, char **argv) {
  int reps = argc > 1 ? atoi(argv[1]) : 5;
  double bound = argc > 2 ? atof(argv[2]) * 1e9 / (2 * MACS_PER_SAMPLE) : 0; /* samples/s at the FMA peak */
  allow_amx();
  if (reps < 1 || reps > MAX_REPS) { fprintf(stderr, "usage: %s [REPS 1..%d]\n", argv[0], MAX_REPS); return 2; }
  unsigned char *u = idx(D "t10k-images-idx3-ubyte.gz", 16, NTE * NI), *y = idx(D "t10k-labels-idx1-ubyte.gz", 8, NTE);
  float *x = aligned_alloc(64, sizeof(float) * NTE * NI), *out = aligned_alloc(64, sizeof(float) * NTE * NO);
  for (long i = 0; i < (long)NTE * NI; i++) x[i] = u[i]; /* raw: the objects apply the `scale 1/255` */
  void *scratch = aligned_alloc(64, (size_t)Q_FLOAT_FORWARD_SCRATCH_BYTES(NTE) + (1 << 20));
  double lat[MODELS][MAX_REPS], thr[MODELS][MAX_REPS], thc[MODELS][MAX_REPS], acc[MODELS];
  for (int k = 0; k < MODELS; k++) {
    forwards[k](NULL, NTE, x, out, scratch);
    int right = 0;
    for (int i = 0; i < NTE; i++) right += argmax(out + i * NO) == y[i];
    acc[k] = 100.0 * right / NTE;
  }
  for (int r = 0; r < reps; r++)
    for (int k = 0; k < MODELS; k++) {
      double block[100];
      for (int b = 0; b < 100; b++) {
        double t0 = now();
        for (int i = 0; i < 100; i++) forwards[k](NULL, 1, x + (long)NI * ((b * 100 + i) % NTE), out, scratch);
        block[b] = (now() - t0) / 100;
      }
      lat[k][r] = median(block, 100);
      double t0 = now(), c0 = cpu();
      forwards[k](NULL, NTE, x, out, scratch);
      thr[k][r] = NTE / (now() - t0);
      thc[k][r] = NTE / (cpu() - c0);
    }
  double l0 = median(lat[0], reps), t0 = median(thr[0], reps), c0 = median(thc[0], reps);
  if (bound > 0) printf("fp32 FMA-peak bound: %.1f GFLOP/s / %.0f flop = %.0f samples/s\n", atof(argv[2]), 2 * MACS_PER_SAMPLE, bound);
  printf("| model | test accuracy | latency, 1 sample (µs) | × float | batch-10,000 (samples/s) | × float |%s"
         " batch, CPU time (samples/s) | × float |\n", bound > 0 ? " × FMA-peak bound |" : "");
  printf("|---|---:|---:|---:|---:|---:|%s---:|---:|\n", bound > 0 ? "---:|" : "");
  for (int k = 0; k < MODELS; k++) {
    double l = median(lat[k], reps), t = median(thr[k], reps);
    printf("| %s | %.2f %% | %.2f | %.2f | %.0f | %.2f |", names[k], acc[k], l * 1e6, l / l0, t, t / t0);
    if (bound > 0) printf(" %.2f |", t / bound);
    double c = median(thc[k], reps);
    printf(" %.0f | %.2f |\n", c, c / c0);
  }
  return 0;
}
