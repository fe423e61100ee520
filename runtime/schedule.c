/* runtime/schedule.c — the step size of every update, one case per entry of nnc/schedule.h.
 *
 * Consumes: the settings (rate, decay and its constants, warmup), the update's count t in the
 * run (from 0), the epoch e (from 0), and the state of reduce-on-plateau.
 * Produces: the rate of that update, as PyTorch's torch.optim.lr_scheduler gives it (each
 * schedule stepped once per epoch, e counted from the end of an epoch warmup):
 *   inverse          rate / (1 + K·t)
 *   exponential      rate · K^e
 *   step             rate · K^⌊e/N⌋
 *   cosine           m + (rate − m)·(1 + cos(π·e/T))/2                 (CosineAnnealingLR)
 *   cosine_restarts  the same with e and T taken within the current period: T_0, T_0·T_mult,
 *                    T_0·T_mult², ...                             (CosineAnnealingWarmRestarts)
 *   plateau          the rate nnrt__plateau_step left               (ReduceLROnPlateau)
 *   warmup W from F  × (F + (1 − F)·k/W) while k < W (LinearLR): k counts epochs (and the
 *                    schedule starts when the warmup ends, as SequentialLR) or updates (and
 *                    the factor multiplies the schedule's rate of the first W updates)
 * The plateau state goes into checkpoints (checkpoint.c, section SCHD); the rest is a pure
 * function of (t, e), so a resumed run has the same rates.
 */
#include <float.h>
#include <math.h>

#include "nnc/schedule.h"
#include "trainer.h"

#define PI 3.14159265358979323846 /* math.pi */

static double cosine(double base, double min, double t_cur, double t_max) {
  return min + (base - min) * (1 + cos(PI * t_cur / t_max)) / 2;
}

/* Epoch e within its period of T_0, T_0·T_mult, ...: the position and the period's length. */
static void restart_period(const nnc_schedule_settings *c, int64_t e, int64_t *t_cur, int64_t *t_i) {
  int64_t ti = c->period > 0 ? c->period : 1;
  if (c->period_mult <= 1) {
    *t_cur = e % ti;
    *t_i = ti;
    return;
  }
  while (e >= ti) {
    e -= ti;
    ti *= c->period_mult;
  }
  *t_cur = e;
  *t_i = ti;
}

/* The schedule's rate at update t of epoch e (e counted from the end of an epoch warmup). */
static double schedule_rate(const nnc_train_settings *s, const nnrt_plateau *p, int64_t t, int64_t e) {
  const nnc_schedule_settings *c = &s->sched;
  int64_t t_cur, t_i;
  switch (s->decay) {
  case NNC_DECAY_INVERSE:
    return s->rate / (1 + s->decay_rate * (double)t);
  case NNC_DECAY_EXPONENTIAL:
    return s->rate * pow(s->decay_rate, (double)e);
  case NNC_DECAY_STEP:
    return s->rate * pow(s->decay_rate, (double)(e / (s->decay_every > 0 ? s->decay_every : 1)));
  case NNC_DECAY_COSINE:
    return cosine(s->rate, c->min_rate, (double)e, (double)(c->period > 0 ? c->period : 1));
  case NNC_DECAY_COSINE_RESTARTS:
    restart_period(c, e, &t_cur, &t_i);
    return cosine(s->rate, c->min_rate, (double)t_cur, (double)t_i);
  case NNC_DECAY_PLATEAU:
    return p ? p->rate : s->rate;
  default:
    return s->rate;
  }
}

/* The warmup's factor at count k (epochs or updates), 1 once it is over. */
static double warmup_factor(const nnc_schedule_settings *c, int64_t k) {
  if (c->warmup <= 0 || k >= c->warmup)
    return 1;
  return c->warmup_from + (1 - c->warmup_from) * (double)k / (double)c->warmup;
}

/* An epoch warmup's epochs are not the schedule's: it starts after them. */
static int64_t schedule_epoch(const nnc_schedule_settings *c, int64_t epoch) {
  if (c->warmup <= 0 || c->warmup_steps)
    return epoch;
  return epoch > c->warmup ? epoch - c->warmup : 0;
}

double nnrt__rate_at(const nnc_train_settings *s, const nnrt_plateau *p, int64_t steps, int64_t epoch) {
  const nnc_schedule_settings *c = &s->sched;
  double w = warmup_factor(c, c->warmup_steps ? steps : epoch);
  return schedule_rate(s, p, steps, schedule_epoch(c, epoch)) * w;
}

void nnrt__plateau_start(nnrt_plateau *p, const nnc_train_settings *s) {
  p->rate = s->rate;
  p->best = INFINITY;
  p->bad_epochs = 0;
  p->cooldown = 0;
}

/* ReduceLROnPlateau.step(loss) (mode min, threshold_mode rel, eps 1e-8) after epoch e: an
 * epoch warmup's epochs are not judged. */
void nnrt__plateau_step(nnrt_plateau *p, const nnc_train_settings *s, double loss, int64_t epoch) {
  const nnc_schedule_settings *c = &s->sched;
  if (s->decay != NNC_DECAY_PLATEAU || (c->warmup > 0 && !c->warmup_steps && epoch < c->warmup))
    return;
  if (loss < p->best * (1 - c->threshold)) {
    p->best = loss;
    p->bad_epochs = 0;
  } else {
    p->bad_epochs++;
  }
  if (p->cooldown > 0) {
    p->cooldown--;
    p->bad_epochs = 0;
  }
  if (p->bad_epochs > c->patience) {
    double lower = p->rate * c->factor;
    if (lower < c->min_rate)
      lower = c->min_rate;
    if (!(lower > 0)) /* rate·F below the smallest double: the least rate there is, not 0 (no rate) */
      lower = DBL_TRUE_MIN;
    if (p->rate - lower > 1e-8)
      p->rate = lower;
    p->cooldown = c->cooldown;
    p->bad_epochs = 0;
  }
}
