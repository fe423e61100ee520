/* runtime/advice.c — the likely cause of a run that diverged or learned nothing.
 *
 * Consumes: the training data as the network sees it (after any scaling), the data source's
 * scaling settings, the step size, momentum and metric.
 * Produces: facts about the run (the input column and the target farthest from the unit
 * range, the step size momentum amounts to) and, from them, one sentence of advice in the
 * order to try: unscaled targets, unscaled inputs, then the step size. The same table serves
 * a divergence ("training diverged (…)") and a run at chance ("warning: … (…)"), whose
 * baseline for a classifier is the fraction of the most common class.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "trainer.h"

/* Unscaled values beyond this magnitude are far from the unit range where the default step size and
 * xavier/he initialisation work (an input of 100 saturates a tanh unit whose weights are 0.3). */
#define ADVICE_LARGE 10.0

/* The column of n × cols reals whose largest |value| is largest; *max gets that value. */
static int32_t largest_column(const void *v, int32_t rb, int64_t n, int32_t cols, double *max) {
  int32_t worst = -1;
  *max = 0;
  for (int64_t s = 0; v && s < n; s++)
    for (int32_t c = 0; c < cols; c++) {
      double a = fabs(nnrt__get(v, rb, s * cols + c));
      if (isfinite(a) && a > *max) {
        *max = a;
        worst = c;
      }
    }
  return worst;
}

void nnrt__advice_facts(const nnrt_dataset *d, const nnc_train_settings *s, int32_t metric,
                        nnrt_advice_facts *f) {
  memset(f, 0, sizeof *f);
  f->rate = s->rate;
  f->momentum = s->momentum;
  if (s->optimizer == NNC_OPT_SGD || s->optimizer == NNC_OPT_ADAMW)
    f->weight_decay = s->weight_decay;
  f->decoupled = s->optimizer == NNC_OPT_ADAMW;
  if (s->optimizer == NNC_OPT_ADAM || s->optimizer == NNC_OPT_ADAMW) {
    f->beta1 = s->beta1;
    f->beta2 = s->beta2;
  }
  f->inputs_scaled = s->data.scale != NNC_SCALE_NONE;
  f->targets_scaled = s->data.target_scale != NNC_SCALE_NONE;
  f->regression = metric == NNC_METRIC_REGRESSION;
  f->input = largest_column(d->x, d->real_bytes, d->n, d->n_inputs, &f->input_max);
  f->target = largest_column(d->t, d->real_bytes, d->n, d->n_outputs, &f->target_max);
}

/* ---- the causes, in the order to try them ---- */

static int targets_large(const nnrt_advice_facts *f) {
  return f->regression && !f->targets_scaled && f->target >= 0 && f->target_max > ADVICE_LARGE;
}

static int inputs_large(const nnrt_advice_facts *f) {
  return !f->inputs_scaled && f->input >= 0 && f->input_max > ADVICE_LARGE;
}

/* The most rate·weight_decay can be before the decay alone makes a weight grow at every step:
 * adamw's p ← p·(1 − rate·W) and SGD's L2 term p ← p − rate·W·p overshoot beyond 2, SGD with
 * momentum M (heavy ball) beyond 2·(1 + M). Adam's and RMSProp's L2 term is divided by the
 * gradient's root mean square: its steps stay near the rate. */
static double decay_limit(const nnrt_advice_facts *f) {
  return f->decoupled ? 2 : 2 * (1 + f->momentum);
}

static int decay_overshoots(const nnrt_advice_facts *f) {
  return f->weight_decay > 0 && f->rate * f->weight_decay > decay_limit(f);
}

static int say_decay(const nnrt_advice_facts *f, char *buf, size_t cap) {
  char above[64] = "2";
  if (!f->decoupled && f->momentum > 0)
    snprintf(above, sizeof above, "2 · (1 + momentum %g) = %g", f->momentum, decay_limit(f));
  return snprintf(buf, cap, "the weight decay overshoots, rate %g · weight_decay %g = %g is above %s: give a "
                  "--weight-decay below %g", f->rate, f->weight_decay, f->rate * f->weight_decay, above,
                  decay_limit(f) / f->rate);
}

/* Adam's step m/√v stays within a few times the rate while β1 < √β2 (each past gradient in m
 * is also in v); beyond it a run of small gradients after large ones makes m/√v unbounded. */
static int moments_unbounded(const nnrt_advice_facts *f) {
  return f->beta1 > 0 && f->beta1 * f->beta1 > f->beta2;
}

static int say_moments(const nnrt_advice_facts *f, char *buf, size_t cap) {
  return snprintf(buf, cap, "beta1 %g is above √beta2 = %g: the first moment outgrows the second's root and a step "
                  "is no longer bounded by the rate; give a --beta2 of at least beta1² = %g", f->beta1,
                  sqrt(f->beta2), f->beta1 * f->beta1);
}

static int say_targets(const nnrt_advice_facts *f, char *buf, size_t cap) {
  return snprintf(buf, cap, "the targets are not scaled, output %d reaches %g: add 'target_scale zscore' "
                  "to the data", (int)f->target, f->target_max);
}

static int say_inputs(const nnrt_advice_facts *f, char *buf, size_t cap) {
  return snprintf(buf, cap, "the inputs are not scaled, input %d reaches %g: add 'scale zscore' to the data",
                  (int)f->input, f->input_max);
}

/* Diverged: a step too large, by itself or through momentum (rate r with momentum m moves
 * like r/(1−m) once the velocity has built up). At chance: a step too large saturates the
 * units, one too small has not moved them yet. */
static int say_rate(const nnrt_advice_facts *f, int diverged, char *buf, size_t cap) {
  if (!diverged)
    return snprintf(buf, cap, "try another --rate than %g, or more --epochs", f->rate);
  if (f->momentum > 0)
    return snprintf(buf, cap, "try a smaller --rate or --momentum: rate %g with momentum %g steps like "
                    "rate %g", f->rate, f->momentum, f->rate / (1 - f->momentum));
  return snprintf(buf, cap, "try a smaller --rate than %g", f->rate);
}

typedef struct advice_cause {
  int (*applies)(const nnrt_advice_facts *f);
  int (*say)(const nnrt_advice_facts *f, char *buf, size_t cap);
} advice_cause;

static const advice_cause causes[] = {
  {targets_large, say_targets},
  {inputs_large, say_inputs},
  {decay_overshoots, say_decay},
  {moments_unbounded, say_moments},
};

/* "likely cause: the targets are not scaled, …: add …; else try a smaller --rate than 0.01", or
 * just the step size when the data look fine. */
void nnrt__advice_text(const nnrt_advice_facts *f, int diverged, char *buf, size_t cap) {
  size_t n = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < sizeof causes / sizeof causes[0]; i++) {
    if (!causes[i].applies(f) || n >= cap)
      continue;
    int k = snprintf(buf + n, cap - n, "%s", n ? "; " : "likely cause: ");
    n += k > 0 ? (size_t)k : 0;
    k = n < cap ? causes[i].say(f, buf + n, cap - n) : 0;
    n += k > 0 ? (size_t)k : 0;
  }
  if (n < cap) {
    int k = snprintf(buf + n, cap - n, "%s", n ? "; else " : "");
    n += k > 0 ? (size_t)k : 0;
  }
  if (n < cap)
    say_rate(f, diverged, buf + n, cap - n);
}

void nnrt__advice(const nnrt_trainer *tr, int diverged, char *buf, size_t cap) {
  nnrt_advice_facts f;
  nnrt__advice_facts(tr->train, &tr->o.s, tr->metric, &f);
  nnrt__advice_text(&f, diverged, buf, cap);
}

/* The class of target row s: its largest output, or for one output whether it is ≥ 0.5. */
static int32_t target_class(const nnrt_dataset *d, int64_t s) {
  int32_t no = d->n_outputs, best = 0;
  if (no == 1)
    return nnrt_dataset_target(d, s, 0) >= 0.5;
  for (int32_t o = 1; o < no; o++)
    if (nnrt_dataset_target(d, s, o) > nnrt_dataset_target(d, s, best))
      best = o;
  return best;
}

double nnrt__majority_fraction(const nnrt_dataset *d) {
  int32_t k = d->n_outputs == 1 ? 2 : d->n_outputs;
  int64_t *count = nnrt__alloc_array(k, sizeof *count), most = 0;
  if (!count || !d->t || d->n == 0) {
    nnrt__free(count);
    return NAN;
  }
  memset(count, 0, (size_t)k * sizeof *count);
  for (int64_t s = 0; s < d->n; s++) {
    int32_t c = target_class(d, s);
    if (++count[c] > most)
      most = count[c];
  }
  nnrt__free(count);
  return (double)most / (double)d->n;
}
