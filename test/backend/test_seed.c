/* test_seed.c — the seed's running example (examples/seed.nn) with its literal weights,
 * checked against values worked out by hand. Links the object and header nnc writes for
 * examples/seed.nn (`nnc -c seed.nn -o seed.o --header seed.h`); seed_init sets every
 * literal initial weight exactly, whatever the seed.
 *
 *   n3 = relu(0.5·x + 0.1)          n4 = relu(−0.3·x + 0.2)
 *   n6 = σ(0.7·n3 + 1.1·n4 − 0.2)   n7 = σ(0.4·n4 + 0.9)
 *   n9 = 1.5·n6 − 0.8·n7 + 0.05     (identity), loss (n9 − t)², f32
 *
 * Parameters, in the order of the IR (nnc --emit-ir):
 *   0 n1→n3 0.5   1 bias n3 0.1   2 n1→n4 −0.3   3 bias n4 0.2   4 n3→n6 0.7   5 n4→n6 1.1
 *   6 bias n6 −0.2   7 n4→n7 0.4   8 bias n7 0.9   9 n6→n9 1.5   10 n7→n9 −0.8   11 bias n9 0.05
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seed.h"

static int failures;

#define CHECK_NEAR(got, want, tol)                                                                 \
  do {                                                                                             \
    double g_ = (got), w_ = (want);                                                                \
    if (!(fabs(g_ - w_) <= (tol))) {                                                               \
      fprintf(stderr, "%s:%d: %s = %.9g, expected %.9g (by hand)\n", __FILE__, __LINE__, #got, g_, w_); \
      failures++;                                                                                  \
    }                                                                                              \
  } while (0)

/* f32 arithmetic through three layers with inline exp: a few ulp of values below 1. */
#define TOL 2e-6

/* Outputs by hand for x = 0, 1, −1, 0.5.
 *
 * x = 0:   n3 = relu(0.1) = 0.1                 n4 = relu(0.2) = 0.2
 *          z6 = 0.7·0.1 + 1.1·0.2 − 0.2 = 0.07 + 0.22 − 0.2 = 0.09
 *          e^−0.09 = 0.913931185, n6 = 1/1.913931185 = 0.522484825
 *          z7 = 0.4·0.2 + 0.9 = 0.98
 *          e^−0.98 = 0.375311099, n7 = 1/1.375311099 = 0.727108216
 *          n9 = 1.5·0.522484825 − 0.8·0.727108216 + 0.05
 *             = 0.783727237 − 0.581686573 + 0.05 = 0.252040664
 *
 * x = 1:   n3 = relu(0.6) = 0.6                 n4 = relu(−0.3 + 0.2) = relu(−0.1) = 0
 *          z6 = 0.7·0.6 + 0 − 0.2 = 0.22
 *          e^−0.22 = 0.802518798, n6 = 1/1.802518798 = 0.554779235
 *          z7 = 0 + 0.9 = 0.9
 *          e^−0.9 = 0.406569660,  n7 = 1/1.406569660 = 0.710949503
 *          n9 = 0.832168853 − 0.568759602 + 0.05 = 0.313409251
 *
 * x = −1:  n3 = relu(−0.4) = 0                  n4 = relu(0.3 + 0.2) = 0.5
 *          z6 = 0 + 1.1·0.5 − 0.2 = 0.35
 *          e^−0.35 = 0.704688090, n6 = 1/1.704688090 = 0.586617579
 *          z7 = 0.4·0.5 + 0.9 = 1.1
 *          e^−1.1 = 0.332871084,  n7 = 1/1.332871084 = 0.750260106
 *          n9 = 0.879926368 − 0.600208084 + 0.05 = 0.329718284
 *
 * x = 0.5: n3 = relu(0.25 + 0.1) = 0.35         n4 = relu(−0.15 + 0.2) = 0.05
 *          z6 = 0.245 + 0.055 − 0.2 = 0.1
 *          e^−0.1 = 0.904837418,  n6 = 1/1.904837418 = 0.524979187
 *          z7 = 0.02 + 0.9 = 0.92
 *          e^−0.92 = 0.398519041, n7 = 1/1.398519041 = 0.715042106
 *          n9 = 0.787468781 − 0.572033685 + 0.05 = 0.265435097 */
static void check_forward(const float *params, void *scratch) {
  const float x[4] = {0.0f, 1.0f, -1.0f, 0.5f};
  float y[4];
  seed_forward(params, 4, x, y, scratch);
  CHECK_NEAR(y[0], 0.252040664, TOL);
  CHECK_NEAR(y[1], 0.313409251, TOL);
  CHECK_NEAR(y[2], 0.329718284, TOL);
  CHECK_NEAR(y[3], 0.265435097, TOL);
}

/* Gradient by hand for x = 0.5, t = 0.25 (the forward values above):
 *   L = (n9 − t)² = (0.265435097 − 0.25)² = 0.015435097² = 0.000238242
 *   δ9 = ∂L/∂n9 = 2·0.015435097 = 0.030870193          (identity: ∂L/∂z9 = δ9)
 *   σ'(z6) = n6(1 − n6) = 0.524979187·0.475020813 = 0.249376040
 *   σ'(z7) = n7(1 − n7) = 0.715042106·0.284957894 = 0.203756893
 *   δ6 = δ9·1.5·σ'(z6)  = 0.030870193·1.5·0.249376040  =  0.011547430
 *   δ7 = δ9·(−0.8)·σ'(z7) = 0.030870193·(−0.8)·0.203756893 = −0.005032012
 *   δ3 = δ6·0.7·relu'(0.35) = 0.011547430·0.7 = 0.008083201
 *   δ4 = (δ6·1.1 + δ7·0.4)·relu'(0.05) = 0.012702173 − 0.002012805 = 0.010689368
 * ∂L/∂w = δ(destination)·o(source), with the bias neurons' output 1:
 *   0: δ3·x = 0.004041600    1: δ3 = 0.008083201      2: δ4·x = 0.005344684
 *   3: δ4 = 0.010689368      4: δ6·n3 = 0.004041600   5: δ6·n4 = 0.000577371
 *   6: δ6 = 0.011547430      7: δ7·n4 = −0.000251601  8: δ7 = −0.005032012
 *   9: δ9·n6 = 0.016206209   10: δ9·n7 = 0.022073488  11: δ9 = 0.030870193 */
static const double hand_grad[12] = {0.004041600, 0.008083201, 0.005344684,  0.010689368,
                                     0.004041600, 0.000577371, 0.011547430,  -0.000251601,
                                     -0.005032012, 0.016206209, 0.022073488, 0.030870193};

/* In f32, y − t = 0.265435097 − 0.25 cancels: an ulp of y (3e-8) is 2e-6 of it, so the
 * gradient is compared to 4 ulp of y times its factor, 2.5e-7 absolute. */
static void check_gradient(const float *params, void *scratch) {
  const float x = 0.5f, t = 0.25f;
  float grad[SEED_N_PARAMS] = {0};
  double loss = seed_loss_grad(params, 1, &x, &t, grad, scratch);
  CHECK_NEAR(loss, 0.000238242, 1e-8);
  for (int i = 0; i < SEED_N_PARAMS; i++) CHECK_NEAR(grad[i], hand_grad[i], 2.5e-7);
}

/* The per-sample SGD step of the seed (rate 0.05, no momentum): w −= 0.05·∂L/∂w,
 * e.g. w(n6→n9) = 1.5 − 0.05·0.016206209 = 1.499189690. */
static void check_step(float *params, void *scratch) {
  const float x = 0.5f, t = 0.25f;
  float before[SEED_N_PARAMS];
  memcpy(before, params, sizeof before);
  double loss = seed_train_step(params, NULL, 1, &x, &t, 0.05, 0.0, scratch);
  CHECK_NEAR(loss, 0.000238242, 1e-8);
  CHECK_NEAR(params[9], 1.499189690, 2e-7);
  for (int i = 0; i < SEED_N_PARAMS; i++) CHECK_NEAR(params[i], before[i] - 0.05 * hand_grad[i], 2e-7);
}

int main(void) {
  static const double literal[12] = {0.5, 0.1, -0.3, 0.2, 0.7, 1.1, -0.2, 0.4, 0.9, 1.5, -0.8, 0.05};
  if (SEED_N_PARAMS != 12 || SEED_N_INPUTS != 1 || SEED_N_OUTPUTS != 1 || SEED_PRECISION != 4) {
    fprintf(stderr, "seed.h: unexpected sizes\n");
    return 1;
  }
  float params[SEED_N_PARAMS];
  void *scratch = aligned_alloc(64, (size_t)((SEED_SCRATCH_BYTES(1) + 63) / 64 * 64));
  for (uint64_t seed = 0; seed < 3; seed++) {
    seed_init(params, seed * 7919);
    for (int i = 0; i < SEED_N_PARAMS; i++)
      if (params[i] != (float)literal[i]) {
        fprintf(stderr, "seed_init(%llu): param %d = %.9g, expected the literal %g\n", (unsigned long long)seed, i,
                params[i], literal[i]);
        failures++;
      }
  }
  if (seed_model.n_params != 12 || (void (*)(void))seed_model.forward != (void (*)(void))seed_forward) {
    fprintf(stderr, "seed_model: descriptor does not match the header\n");
    failures++;
  }
  check_forward(params, scratch);
  check_gradient(params, scratch);
  check_step(params, scratch);
  free(scratch);
  if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
  else printf("seed example: outputs, gradient and SGD step match the hand computation\n");
  return failures != 0;
}
