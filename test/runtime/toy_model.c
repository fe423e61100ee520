/* test/runtime/toy_model.c — a network written by hand in C, standing in for nnc's output.
 *
 * 2 inputs → 3 sigmoid hidden neurons → 1 sigmoid output, squared error L = Σ (y − t)²,
 * implementing every function pointer of nnc_model (nnc/model.h) so that libnnrt's training
 * loop can be tested end to end before the compiler emits code. Parameters, in order:
 * w1[3][2] (hidden j from input i), b1[3], w2[3], b2 — 13 reals.
 *
 * Compiled twice: as is (double, toy_f64_model) and from toy_model_f32.c (float,
 * toy_f32_model). Test hooks (toy_hooks) make train_step return NaN or raise SIGINT after
 * a number of calls, or corrupt the gradient, to test divergence, interrupts and gradcheck.
 */
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "toy_model.h"

#ifndef TOY_REAL
#define TOY_REAL double
#define TOY_SUFFIX f64
#define TOY_DEFINE_HOOKS 1
#endif

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define SUFFIXED(name) CAT(name, TOY_SUFFIX)

typedef TOY_REAL real;

#ifdef TOY_DEFINE_HOOKS
toy_hook_state toy_hooks;
#endif

enum { NI = 2, NH = 3, NP = NH * NI + NH + NH + 1 };
#define W1(p, j, i) (p)[(j) * NI + (i)]
#define B1(p, j) (p)[NH * NI + (j)]
#define W2(p, j) (p)[NH * NI + NH + (j)]
#define B2(p) (p)[NH * NI + 2 * NH]

static real SUFFIXED(sigmoid_)(real z) {
  return (real)(1 / (1 + exp(-(double)z)));
}

static void SUFFIXED(init_)(void *params, uint64_t seed) {
  real *p = params;
  uint64_t s = seed;
  for (int k = 0; k < NP; k++) { /* splitmix64 → uniform(−1, 1) */
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    p[k] = (real)((double)(z >> 11) * 0x1p-52 - 1);
  }
}

/* One sample: hidden outputs h, returns the output y. */
static real SUFFIXED(sample_forward_)(const real *p, const real *x, real *h) {
  real z = B2(p);
  for (int j = 0; j < NH; j++) {
    real a = B1(p, j);
    for (int i = 0; i < NI; i++)
      a += W1(p, j, i) * x[i];
    h[j] = SUFFIXED(sigmoid_)(a);
    z += W2(p, j) * h[j];
  }
  return SUFFIXED(sigmoid_)(z);
}

static void SUFFIXED(forward_)(const void *params, int64_t n, const void *xv, void *yv, void *scratch) {
  const real *x = xv;
  real *y = yv, h[NH];
  (void)scratch;
  for (int64_t k = 0; k < n; k++)
    y[k] = SUFFIXED(sample_forward_)(params, x + k * NI, h);
}

/* Backpropagation of one sample into g; returns its loss. */
static double SUFFIXED(sample_grad_)(const real *p, const real *x, real t, real *g) {
  real h[NH];
  real y = SUFFIXED(sample_forward_)(p, x, h);
  real dz = 2 * (y - t) * y * (1 - y);
  for (int j = 0; j < NH; j++) {
    real dh = dz * W2(p, j) * h[j] * (1 - h[j]);
    W2(g, j) += dz * h[j];
    for (int i = 0; i < NI; i++)
      W1(g, j, i) += dh * x[i];
    B1(g, j) += dh;
  }
  B2(g) += dz;
  return (double)(y - t) * (double)(y - t);
}

static double SUFFIXED(loss_grad_)(const void *params, int64_t n, const void *xv, const void *tv,
                                   void *grad, void *scratch) {
  const real *x = xv, *t = tv;
  double loss = 0;
  (void)scratch;
  for (int64_t k = 0; k < n; k++)
    loss += SUFFIXED(sample_grad_)(params, x + k * NI, t[k], grad);
  if (toy_hooks.bad_grad)
    ((real *)grad)[toy_hooks.bad_grad - 1] *= (real)1.5;
  return loss;
}

static double SUFFIXED(train_step_)(void *params, void *velocity, int64_t n, const void *x,
                                    const void *t, double rate, double momentum, void *scratch) {
  real *p = params, *v = velocity, *g = scratch;
  memset(g, 0, sizeof(real) * NP);
  double loss = SUFFIXED(loss_grad_)(params, n, x, t, g, NULL);
  for (int k = 0; k < NP; k++) {
    real step = (real)(rate / (double)n) * g[k];
    if (momentum > 0) {
      v[k] = (real)momentum * v[k] - step;
      p[k] += v[k];
    } else {
      p[k] -= step;
    }
  }
  if (toy_hooks.nan_after > 0 && --toy_hooks.nan_after == 0)
    return NAN;
  if (toy_hooks.nan_every > 0 && ++toy_hooks.nan_calls % toy_hooks.nan_every == 0)
    return NAN;
  if (toy_hooks.nan_weight_after > 0 && --toy_hooks.nan_weight_after == 0)
    p[NP - 1] = (real)NAN;
  if (toy_hooks.interrupt_after > 0 && --toy_hooks.interrupt_after == 0)
    raise(SIGINT);
  return loss;
}

static const nnc_train_settings SUFFIXED(toy_settings_) = {
  .data = {.path = "xor.csv", .format = NNC_FORMAT_CSV, .header = -1, .onehot = 0},
  .loss = NNC_LOSS_SQUARED,
  .rate = 1.0,
  .decay = NNC_DECAY_INVERSE,
  .decay_rate = 1e-4,
  .batch = 1,
  .epochs = 2000,
  .restarts = 5,
  .seed = 1,
};

const nnc_model SUFFIXED(toy_model_) = {
  .abi_version = NNC_ABI_VERSION,
  .name = "toy",
  .fingerprint = 0x746f790000000000ull + sizeof(real),
  .real_bytes = sizeof(real),
  .n_inputs = NI,
  .n_outputs = 1,
  .n_params = NP,
  .scratch_fixed = sizeof(real) * NP,
  .scratch_per_sample = 0,
  .classifier = 1,
  .train = &SUFFIXED(toy_settings_),
  .init = SUFFIXED(init_),
  .forward = SUFFIXED(forward_),
  .loss_grad = SUFFIXED(loss_grad_),
  .train_step = SUFFIXED(train_step_),
};
