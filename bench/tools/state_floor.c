/* bench/tools/state_floor.c — the least time an optimizer's f32 state can add to a training step.
 *
 * Consumes: the number of parameters (default 235,146: workload 1's 784-256-128-10 network) and
 * of state slots (default 2: Adam's m and v), and a repetition count.
 * Produces: one line per measurement, in µs per step (the fastest of the repetitions and the
 * median): the state pass alone (each slot read, scaled, added to the gradient and written
 * back: the loads and stores Adam's update cannot avoid, with no square root or division),
 * and, for scale, Adam's whole update as runtime/optim.c writes it (f32, PyTorch's formula).
 * Between passes the parameters and the gradient are read and written once, as a training
 * step's forward and backward sweeps do, so the state meets the caches a real step leaves.
 * Build: cc -O3 -march=native -fno-math-errno state_floor.c -lm; pin it to one core.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec * 1e-3;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* What the rest of a step does to the arrays the optimizer shares with it. */
__attribute__((noinline)) static void touch_step(float *restrict p, float *restrict g, long n) {
  for (long i = 0; i < n; i++) {
    p[i] += 1e-30f * g[i];
    g[i] = 0.5f * g[i] + 1e-3f;
  }
}

/* Every slot read, updated from the gradient and written, in one pass as a fused update would
 * (the gradient read once): the state's own memory traffic. */
__attribute__((noinline)) static void state_pass(float *restrict s, const float *restrict g, long n, int slots) {
  float *restrict s0 = s, *restrict s1 = s + n, *restrict s2 = s + 2 * n, *restrict s3 = s + 3 * n;
  for (long i = 0; i < n; i++) {
    const float gi = g[i];
    s0[i] = 0.9f * s0[i] + 0.1f * gi;
    if (slots > 1)
      s1[i] = 0.999f * s1[i] + 0.001f * gi;
    if (slots > 2)
      s2[i] = 0.99f * s2[i] + 0.01f * gi;
    if (slots > 3)
      s3[i] = 0.9f * s3[i] + 0.1f * gi;
  }
}

/* Adam's update as runtime/optim.c's rule computes it for f32 (one pass, no amsgrad). */
__attribute__((noinline)) static void adam_pass(float *restrict p, const float *restrict g, float *restrict m,
                                               float *restrict v, long n, long t) {
  const float step = (float)(1e-3 / (1 - pow(0.9, (double)t)));
  const float bc2 = (float)sqrt(1 - pow(0.999, (double)t)), inv = 1.0f / 64;
  for (long i = 0; i < n; i++) {
    float gi = g[i] * inv;
    m[i] = 0.9f * m[i] + 0.1f * gi;
    v[i] = 0.999f * v[i] + 0.001f * gi * gi;
    p[i] -= step * m[i] / (sqrtf(v[i]) / bc2 + 1e-8f);
  }
}

static void report(const char *what, double *us, int reps) {
  qsort(us, reps, sizeof *us, by_value);
  printf("%-44s %8.1f µs (median %.1f)\n", what, us[0], us[reps / 2]);
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 235146;
  int slots = argc > 2 ? atoi(argv[2]) : 2, reps = argc > 3 ? atoi(argv[3]) : 400;
  if (n < 1 || slots < 1 || slots > 4 || reps < 1) {
    fprintf(stderr, "usage: state_floor [params [slots 1-4 [reps]]]\n");
    return 2;
  }
  float *p = malloc(n * sizeof *p), *g = malloc(n * sizeof *g), *s = calloc((size_t)n * 4, sizeof *s);
  double *us = malloc(reps * sizeof *us);
  if (!p || !g || !s || !us)
    return 1;
  for (long i = 0; i < n; i++) {
    p[i] = 0.01f * (float)(i % 97);
    g[i] = 0.001f * (float)(i % 13) - 0.006f;
  }
  printf("parameters %ld, f32 state slots %d, %d repetitions\n", n, slots, reps);
  for (int r = 0; r < reps; r++) {
    touch_step(p, g, n);
    double t = now_us();
    state_pass(s, g, n, slots);
    us[r] = now_us() - t;
  }
  report("state pass (slots read and written)", us, reps);
  memset(s, 0, (size_t)n * 4 * sizeof *s);
  for (int r = 0; r < reps; r++) {
    touch_step(p, g, n);
    double t = now_us();
    adam_pass(p, g, s, s + n, n, r + 1);
    us[r] = now_us() - t;
  }
  report("Adam's whole update (f32, runtime/optim.c)", us, reps);
  return 0;
}
