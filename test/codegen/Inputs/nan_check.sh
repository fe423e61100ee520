#!/bin/sh
# nan_check.sh NNC CC INCLUDE WORKDIR: for every output activation and loss × precision, a
# network x[3] -> one layer[9] of each hidden activation in a chain -> y[2] OUT is compiled and
# fed a batch whose samples each hold one NaN input, on batches of 1 and 17 samples
# (per-sample and mini-batch kernels); NaN reaches the output only through every activation. NaN must come out: every output of forward, the loss of evaluate and
# loss_grad, and some gradient. Prints one line per network, "nan propagates" or "FINITE ...".
set -e
nnc=$1 cc=$2 inc=$3 dir=$4
combos="squared:identity squared:sigmoid squared:relu squared:tanh squared:softplus squared:step
squared:leaky_relu(0.1) cross_entropy:sigmoid cross_entropy:softmax"
for prec in f32 f64; do
for combo in $combos; do
  loss=${combo%%:*} out=${combo#*:}
  name=$(echo "n_${prec}_${loss}_${out}" | tr -d '()0.')
  cat > "$dir/$name.nn" <<NN
network $name {
  input x[3];
  layer h1[9] identity;
  layer h2[9] sigmoid;
  layer h3[9] relu;
  layer h4[9] tanh;
  layer h5[9] leaky_relu;
  layer h6[9] softplus;
  layer h7[9] step;
  output y[2] $out;
  train { loss $loss; precision $prec; }
}
NN
  "$nnc" -c "$dir/$name.nn" -o "$dir/$name.o" --header "$dir/$name.h"
  cat > "$dir/$name.c" <<C
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "$name.h"
typedef ${name}_real real;
enum { N = 17, NI = 3, NO = 2 };
int main(void) {
  size_t P = (size_t)${name}_model.n_params;
  real *p = malloc(P * sizeof *p), *g = calloc(P, sizeof *g), x[N * NI], y[N * NO], t[N * NO];
  void *s = aligned_alloc(64, ((size_t)${name}_model.scratch_fixed + N * (size_t)${name}_model.scratch_per_sample + 63) / 64 * 64);
  ${name}_init(p, 1);
  for (int i = 0; i < N * NI; i++) x[i] = (real)0.25;
  for (int k = 0; k < N; k++) x[k * NI + k % NI] = (real)NAN;
  memset(t, 0, sizeof t);
  for (int k = 0; k < N; k++) t[k * NO] = 1;
  const char *bad = NULL;
  for (int n = 1; n <= N && !bad; n += N - 1) {
    ${name}_forward(p, n, x, y, s);
    for (int i = 0; i < n * NO; i++) if (!isnan(y[i])) bad = "forward";
    if (!isnan(${name}_evaluate(p, n, x, t, y, s))) bad = "evaluate";
    memset(g, 0, P * sizeof *g);
    if (!isnan(${name}_loss_grad(p, n, x, t, g, s))) bad = "loss_grad";
    int any = 0;
    for (size_t j = 0; j < P; j++) any |= isnan(g[j]);
    if (!any) bad = "gradient";
  }
  printf("$name: %s%s\n", bad ? "FINITE " : "nan propagates", bad ? bad : "");
  return 0;
}
C
  "$cc" -std=c11 -O1 -I"$inc" -I"$dir" "$dir/$name.c" "$dir/$name.o" -o "$dir/$name" -lm
  "$dir/$name"
done; done
