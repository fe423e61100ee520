#!/bin/sh
# widths_check.sh NNC CC INCLUDE NET.nn WORKDIR CPU...: the network compiled for each x86-64 CPU
# (--cpu CPU: its vector width and register tiles) trains alike. From the same initial
# parameters, 12 train_step calls on batches of 64, 17, 5 and 1 samples (padding lanes, tails of
# the tiles, the per-sample step) and 3 forward calls of 100; each CPU's parameters and outputs
# must equal the first CPU's within 1e-5 of the largest value, and its summed losses within
# 1e-5 relative (the same arithmetic in another order: other vector widths, tiles, FMA).
set -e
nnc=$1 cc=$2 inc=$3 src=$4 dir=$5
shift 5
name=$(sed -n 's/^network \([A-Za-z_0-9]*\).*/\1/p' "$src" | head -n 1)
k=0 includes="" table=""
for cpu in "$@"; do
  "$nnc" -c "$src" --target x86_64-pc-linux-gnu --cpu "$cpu" --prefix "w$k" -o "$dir/w$k.o" --header "$dir/w$k.h"
  includes="$includes#include \"w$k.h\"
"
  table="$table {\"$cpu\", w${k}_init, w${k}_train_step, w${k}_forward, W${k}_SCRATCH_BYTES(100)},"
  k=$((k + 1))
done
cat > "$dir/$name-widths.c" <<C
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
$includes
typedef w0_real real;
enum { NCPU = $k, MAXN = 100, NI = W0_N_INPUTS, NO = W0_N_OUTPUTS, P = W0_N_PARAMS };
static const struct {
  const char *cpu;
  void (*init)(real *, uint64_t);
  double (*step)(real *, real *, int64_t, const real *, const real *, double, double, void *);
  void (*forward)(const real *, int64_t, const real *, real *, void *);
  int64_t scratch;
} cpus[] = {$table};
static double worst(const real *a, const real *b, size_t n) { /* max |a − b| / max |a| */
  double d = 0, big = 1e-30;
  for (size_t i = 0; i < n; i++) { d = fmax(d, fabs((double)a[i] - b[i])); big = fmax(big, fabs((double)a[i])); }
  return d / big;
}
int main(void) {
  static const int sizes[] = {64, 17, 5, 1};
  real *x = malloc(MAXN * NI * sizeof *x), *t = calloc(MAXN * NO, sizeof *t), *p[NCPU], *y[NCPU];
  double loss[NCPU][12];
  srand(7);
  for (int i = 0; i < MAXN * NI; i++) x[i] = (real)(rand() % 1000) / 1000;
  for (int i = 0; i < MAXN; i++) t[i * NO + rand() % NO] = 1;
  for (int c = 0; c < NCPU; c++) {
    void *s = aligned_alloc(64, (size_t)(cpus[c].scratch + 63) / 64 * 64);
    p[c] = malloc(P * sizeof(real)), y[c] = malloc(3 * MAXN * NO * sizeof(real));
    cpus[c].init(p[c], 3);
    for (int k = 0; k < 12; k++) {
      int n = sizes[k % 4];
      loss[c][k] = cpus[c].step(p[c], NULL, n, x + (k * 7 % (MAXN - n + 1)) * NI, t + (k * 7 % (MAXN - n + 1)) * NO, 0.05, 0, s);
    }
    for (int k = 0; k < 3; k++) cpus[c].forward(p[c], MAXN, x, y[c] + k * MAXN * NO, s);
    free(s);
  }
  int ok = 1;
  for (int c = 1; c < NCPU; c++) {
    double dl = 0;
    for (int k = 0; k < 12; k++) dl = fmax(dl, fabs(loss[c][k] - loss[0][k]) / fmax(fabs(loss[0][k]), 1e-30));
    double dp = worst(p[0], p[c], P), dy = worst(y[0], y[c], 3 * MAXN * NO);
    int good = dp <= 1e-5 && dy <= 1e-5 && dl <= 1e-5;
    ok &= good;
    printf("$name: %s against %s: parameters %g, outputs %g, losses %g%s\n", cpus[c].cpu, cpus[0].cpu, dp, dy, dl,
           good ? "" : "  MISMATCH");
  }
  printf("$name: %s\n", ok ? "every CPU trains alike" : "CPUs DIFFER");
  return 0;
}
C
"$cc" -std=c11 -O1 -I"$inc" -I"$dir" "$dir/$name-widths.c" "$dir"/w*.o -lm -o "$dir/$name-widths"
"$dir/$name-widths"
