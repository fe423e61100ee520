/* runtime/optim.c — the update rules of the optimizers of nnc/optim.h, one row per entry.
 *
 * Consumes: a slice [lo, hi) of the flat parameter array, the batch's summed gradient, the
 * optimizer's state slots (n_params reals each, laid one after the other), this step's rate
 * (the schedule's), 1/n for a batch of n, and the update's number t in the run (from 1).
 * Produces: the parameters and state of the slice updated, as PyTorch's torch.optim does:
 *   g  = Σ gradients / n (+ weight_decay·p for sgd, adam and rmsprop: L2)
 *   sgd      v = m·v − rate·(1−d)·g (d: dampening, 0 at the first update); p += v, or
 *            p += m·v − rate·g with nesterov (the velocity form
 *            of torch's buffer b = m·b + g, p −= rate·(g + m·b), the same at a constant rate)
 *   adam     m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²; v̂ = max(v̂, v) with amsgrad, else v;
 *            p −= rate/(1−β1^t) · m / (√v̂ / √(1−β2^t) + eps)
 *   adamw    p ×= 1 − rate·weight_decay first (decoupled), then adam without L2
 *   rmsprop  s = α·s + (1−α)·g²; centered: a = α·a + (1−α)·g, d = √(s − a²) + eps, else
 *            d = √s + eps; momentum: b = m·b + g/d, p −= rate·b; else p −= rate·g/d
 *   rprop    (full batch; state q = previous gradient, Δ = step size, Δ = rate at t = 1)
 *            f = η+ if g·q > 0, η− if g·q < 0, else 1; Δ = clamp(f·Δ, Δmin, Δmax);
 *            g = 0 if g·q < 0; p −= sign(g)·Δ; q = g   (torch.optim.Rprop)
 *   irprop   FANN's iRPROP−: as rprop with Δ = max(Δ, 0.0001) first and f = η+ also
 *            when g·q = 0 (the first step grows rate by η+)
 * Each rule is a loop over restrict pointers in the model's precision (scalars computed in
 * double, once), its cases outside the loop, so it vectorises; a slice is independent of every
 * other, so threads split the parameters and the result does not depend on how.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

#include "nnc/limits.h"
#include "nnc/optim.h"
#include "trainer.h"

/* libnnrt is built once for any x86-64, but the rules below run over every parameter at every
 * step: GCC compiles each one three times, for AVX-512 (x86-64-v4), AVX2 with FMA (v3) and
 * generic SSE, and the loader picks the widest the CPU has (an ifunc). The loops are
 * element-wise (no sums), and ISO C mode contracts no a·b + c into an FMA, so every clone
 * gives the same bits: results and checkpoints do not depend on the CPU. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define OPTIM_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define OPTIM_CLONES
#endif

typedef struct optim_step {
  const nnc_train_settings *s;
  int slots;                    /* state slots of the optimizer (s1, s2 NULL beyond them) */
  int64_t n_params, lo, hi;
  void *params, *state;
  const void *grad;
  double rate, inv_n;
  int64_t t;
} optim_step;

/* Pointers to the slice of the parameters, the gradient and state slot k. */
#define SLICE(real)                                                                             \
  real *restrict p = (real *)st->params + st->lo;                                               \
  const real *restrict g = (const real *)st->grad + st->lo;                                     \
  real *restrict s0 = (real *)st->state + st->lo;                                               \
  real *restrict s1 = st->slots > 1 ? (real *)st->state + st->n_params + st->lo : NULL;         \
  real *restrict s2 = st->slots > 2 ? (real *)st->state + 2 * st->n_params + st->lo : NULL;     \
  const int64_t len = st->hi - st->lo;                                                          \
  const real inv = (real)st->inv_n, wd = (real)st->s->weight_decay, lr = (real)st->rate;        \
  (void)s1;                                                                                     \
  (void)s2

/* dampening d: torch's buffer b = m·b + (1 − d)·g, b = g at the first step; here the
 * gradient's term is scaled by 1 − d after the first update (and only with momentum). */
#define SGD_RULE(real, SQRT)                                                                    \
  OPTIM_CLONES static void sgd_##real(const optim_step *st) {                                   \
    SLICE(real);                                                                                \
    const real mu = (real)st->s->momentum;                                                      \
    const double damp = st->s->momentum > 0 && st->t > 1 ? 1 - st->s->dampening : 1;           \
    const real lrd = (real)(st->rate * damp);                                                   \
    if (st->s->nesterov) {                                                                      \
      for (int64_t i = 0; i < len; i++) {                                                       \
        real gi = g[i] * inv + wd * p[i];                                                       \
        s0[i] = mu * s0[i] - lrd * gi;                                                          \
        p[i] += mu * s0[i] - lr * gi;                                                           \
      }                                                                                         \
    } else {                                                                                    \
      for (int64_t i = 0; i < len; i++) {                                                       \
        real gi = g[i] * inv + wd * p[i];                                                       \
        s0[i] = mu * s0[i] - lrd * gi;                                                          \
        p[i] += s0[i];                                                                          \
      }                                                                                         \
    }                                                                                           \
  }

/* adam and adamw: decoupled selects AdamW's weight decay. */
#define ADAM_RULE(real, SQRT)                                                                   \
  OPTIM_CLONES static void adam_##real(const optim_step *st, int decoupled) {                   \
    SLICE(real);                                                                                \
    const double b1 = st->s->beta1, b2 = st->s->beta2;                                          \
    const real c1 = (real)b1, c2 = (real)b2, d1 = (real)(1 - b1), d2 = (real)(1 - b2);          \
    const real step = (real)(st->rate / (1 - pow(b1, (double)st->t)));                         \
    const real bc2 = (real)sqrt(1 - pow(b2, (double)st->t)), eps = (real)st->s->eps;           \
    const real keep = decoupled ? (real)(1 - st->rate * st->s->weight_decay) : 1, l2 = decoupled ? 0 : wd; \
    const int ams = st->s->amsgrad;                                                             \
    (void)lr;                                                                                   \
    for (int64_t i = 0; i < len; i++) { /* one pass: each parameter's whole update at once */   \
      real gi = g[i] * inv + l2 * p[i];                                                         \
      p[i] *= keep;                                                                             \
      s0[i] = c1 * s0[i] + d1 * gi;                                                             \
      s1[i] = c2 * s1[i] + d2 * gi * gi;                                                        \
      real v = s1[i];                                                                           \
      if (ams)                                                                                  \
        v = s2[i] = s2[i] > s1[i] ? s2[i] : s1[i];                                              \
      p[i] -= step * s0[i] / (SQRT(v) / bc2 + eps);                                             \
    }                                                                                           \
  }

/* The centered and momentum cases are loops of their own; s2 holds the mean gradient. */
#define RMSPROP_RULE(real, SQRT)                                                                \
  OPTIM_CLONES static void rmsprop_##real(const optim_step *st) {                               \
    SLICE(real);                                                                                \
    const real a = (real)st->s->alpha, da = (real)(1 - st->s->alpha);                           \
    const real mu = (real)st->s->momentum, eps = (real)st->s->eps;                             \
    const int centered = st->s->centered, with_m = st->s->momentum > 0;                        \
    for (int64_t i = 0; i < len; i++) {                                                         \
      real gi = g[i] * inv + wd * p[i];                                                         \
      s0[i] = a * s0[i] + da * gi * gi;                                                         \
      if (centered)                                                                             \
        s2[i] = a * s2[i] + da * gi;                                                            \
      real d = SQRT(centered ? s0[i] - s2[i] * s2[i] : s0[i]) + eps;                            \
      if (with_m) {                                                                             \
        s1[i] = mu * s1[i] + gi / d;                                                            \
        p[i] -= lr * s1[i];                                                                     \
      } else {                                                                                  \
        p[i] -= lr * gi / d;                                                                    \
      }                                                                                         \
    }                                                                                           \
  }

/* rprop and irprop: fann selects FANN's iRPROP− (a step floor of 1e-4, growth when g·q = 0).
 * s0 holds the previous gradient (0 after a sign change), s1 the step sizes. */
#define RPROP_RULE(real)                                                                        \
  OPTIM_CLONES static void rprop_##real(const optim_step *st, int fann) {                       \
    SLICE(real);                                                                                \
    const real up = (real)st->s->eta_plus, down = (real)st->s->eta_minus;                       \
    const real lo = (real)st->s->step_min, hi = (real)st->s->step_max;                          \
    const real floor_ = fann ? (real)1e-4 : 0, flat = fann ? up : 1;                            \
    (void)wd;                                                                                   \
    if (st->t == 1)                                                                             \
      for (int64_t i = 0; i < len; i++)                                                         \
        s1[i] = lr;                                                                             \
    for (int64_t i = 0; i < len; i++) {                                                         \
      real gi = g[i] * inv, prod = gi * s0[i];                                                  \
      real d = s1[i] > floor_ ? s1[i] : floor_;                                                 \
      d *= prod > 0 ? up : prod < 0 ? down : flat;                                              \
      d = d < lo ? lo : d > hi ? hi : d;                                                        \
      gi = prod < 0 ? 0 : gi;                                                                   \
      p[i] -= (gi > 0 ? d : gi < 0 ? -d : 0);                                                   \
      s0[i] = gi;                                                                               \
      s1[i] = d;                                                                                \
    }                                                                                           \
  }

SGD_RULE(float, sqrtf)
SGD_RULE(double, sqrt)
ADAM_RULE(float, sqrtf)
ADAM_RULE(double, sqrt)
RMSPROP_RULE(float, sqrtf)
RMSPROP_RULE(double, sqrt)
RPROP_RULE(float)
RPROP_RULE(double)

static void sgd_rule(const optim_step *st, int real_bytes) {
  if (real_bytes == 4) sgd_float(st); else sgd_double(st);
}
static void adam_rule(const optim_step *st, int real_bytes) {
  if (real_bytes == 4) adam_float(st, 0); else adam_double(st, 0);
}
static void adamw_rule(const optim_step *st, int real_bytes) {
  if (real_bytes == 4) adam_float(st, 1); else adam_double(st, 1);
}
static void rmsprop_rule(const optim_step *st, int real_bytes) {
  if (real_bytes == 4) rmsprop_float(st); else rmsprop_double(st);
}

static void rprop_rule(const optim_step *st, int real_bytes) {
  if (real_bytes == 4) rprop_float(st, 0); else rprop_double(st, 0);
}
static void irprop_rule(const optim_step *st, int real_bytes) {
  if (real_bytes == 4) rprop_float(st, 1); else rprop_double(st, 1);
}

/* Row k updates for entry k of nnc/optim.h. */
static void (*const rules[NNC_OPT_COUNT])(const optim_step *, int) = {
    [NNC_OPT_SGD] = sgd_rule, [NNC_OPT_ADAM] = adam_rule, [NNC_OPT_ADAMW] = adamw_rule,
    [NNC_OPT_RMSPROP] = rmsprop_rule, [NNC_OPT_RPROP] = rprop_rule, [NNC_OPT_IRPROP] = irprop_rule,
};

/* The rules run with subnormal inputs and results taken as zero, and the caller's mode is put
 * back after. A moment whose gradient stays zero (a pixel that is always 0, a unit that never
 * fires) decays by β at every step through the subnormal range, and x86 cores take a microcode
 * assist of about a hundred cycles on each such operand: on an Intel Xeon that tripled Adam's
 * update. A subnormal moment is below 1.2e-38 (f32) while eps is 1e-8, so the parameters are
 * the same bits except where they are subnormal themselves. */
typedef struct fp_mode {
  uint64_t saved;
} fp_mode;

static fp_mode flush_subnormals(void) {
  fp_mode m = {0};
#if defined(__SSE__)
  m.saved = _mm_getcsr();
  _mm_setcsr((unsigned)m.saved | 0x8040u); /* FTZ (bit 15) and DAZ (bit 6) */
#elif defined(__aarch64__)
  __asm__ volatile("mrs %0, fpcr" : "=r"(m.saved));
  __asm__ volatile("msr fpcr, %0" : : "r"(m.saved | (UINT64_C(1) << 24))); /* FZ */
#endif
  return m;
}

static void restore_fp_mode(fp_mode m) {
#if defined(__SSE__)
  _mm_setcsr((unsigned)m.saved);
#elif defined(__aarch64__)
  __asm__ volatile("msr fpcr, %0" : : "r"(m.saved));
#else
  (void)m;
#endif
}

int nnrt__optim_slots(const nnc_train_settings *s) {
  const nnc_optimizer_def *d = nnc_optimizer_get(s->optimizer);
  return d ? d->slots : 1;
}

void nnrt__optim_update(const nnc_model *m, const nnc_train_settings *s, void *params, void *state,
                        const void *grad, int64_t lo, int64_t hi, double rate, double inv_n, int64_t t) {
  optim_step st = {s, nnrt__optim_slots(s), m->n_params, lo, hi, params, state, grad, rate, inv_n, t};
  if (hi > lo && s->optimizer >= 0 && s->optimizer < NNC_OPT_COUNT) {
    fp_mode caller = flush_subnormals();
    rules[s->optimizer](&st, m->real_bytes);
    restore_fp_mode(caller);
  }
}

/* Every hyperparameter the optimizer takes within its limit of nnc/limits.h (the library API
 * is reached without the command line's checks; the others are not read). */
int nnrt__optim_check(const nnc_train_settings *s, nnrt_error *err) {
  static const struct {
    int limit;
    unsigned key;
    size_t offset;
  } fields[] = {
      {NNC_LIMIT_BETA1, NNC_OKEY_BETAS, offsetof(nnc_train_settings, beta1)},
      {NNC_LIMIT_BETA2, NNC_OKEY_BETAS, offsetof(nnc_train_settings, beta2)},
      {NNC_LIMIT_EPS, NNC_OKEY_EPS, offsetof(nnc_train_settings, eps)},
      {NNC_LIMIT_WEIGHT_DECAY, NNC_OKEY_WEIGHT_DECAY, offsetof(nnc_train_settings, weight_decay)},
      {NNC_LIMIT_ALPHA, NNC_OKEY_ALPHA, offsetof(nnc_train_settings, alpha)},
      {NNC_LIMIT_ETA_MINUS, NNC_OKEY_ETAS, offsetof(nnc_train_settings, eta_minus)},
      {NNC_LIMIT_ETA_PLUS, NNC_OKEY_ETAS, offsetof(nnc_train_settings, eta_plus)},
      {NNC_LIMIT_STEP_MIN, NNC_OKEY_STEP_SIZES, offsetof(nnc_train_settings, step_min)},
      {NNC_LIMIT_STEP_MAX, NNC_OKEY_STEP_SIZES, offsetof(nnc_train_settings, step_max)},
      {NNC_LIMIT_DAMPENING, NNC_OKEY_DAMPENING, offsetof(nnc_train_settings, dampening)},
  };
  char rule[128];
  const nnc_optimizer_def *d = nnc_optimizer_get(s->optimizer);
  if (!d)
    return nnrt__fail(err, NNRT_EUSAGE, "invalid optimizer %d (sgd, adam, adamw, rmsprop, rprop or irprop)", (int)s->optimizer);
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    if (!(d->keys & fields[i].key))
      continue;
    const nnc_limit *l = nnc_limit_get(fields[i].limit);
    double v = *(const double *)((const char *)s + fields[i].offset);
    if (!nnc_limit_allows(l, v))
      return nnrt__fail(err, NNRT_EUSAGE, "invalid training setting %s %g: expected %s", l->flag, v,
                        nnc_limit_rule(l, rule, sizeof rule));
  }
  if (s->nesterov && !(s->momentum > 0))
    return nnrt__fail(err, NNRT_EUSAGE, "nesterov needs a momentum above 0");
  if ((d->keys & NNC_OKEY_STEP_SIZES) && s->step_min > s->step_max)
    return nnrt__fail(err, NNRT_EUSAGE, "the step sizes' lower bound %g is above their upper bound %g", s->step_min,
                      s->step_max);
  if (s->nesterov && s->dampening != 0)
    return nnrt__fail(err, NNRT_EUSAGE, "nesterov needs a dampening of 0");
  if ((d->keys & NNC_OKEY_CENTERED) && s->centered && s->alpha == 0) /* s − a² = g² − g² = 0 */
    return nnrt__fail(err, NNRT_EUSAGE, "--centered needs an --alpha above 0: with alpha 0 the gradient's variance "
                      "is 0 and every step is rate·g/eps");
  return NNRT_OK;
}
