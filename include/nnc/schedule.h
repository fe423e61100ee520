/* nnc/schedule.h — the step-size schedules, one table entry each, shared by the compiler (the
 * `decay`, `warmup` and `clip` settings of a train block) and the runtime (--schedule, the rate
 * of every step, checkpoints).
 *
 * An entry names the schedule (the word after `decay`, and of --schedule), the constant its
 * name is followed by (its limit of nnc/limits.h, or none), and the keys it takes after it.
 * The rate of entry k is computed by runtime/schedule.c. Definitions are PyTorch's
 * torch.optim.lr_scheduler ones (docs/language.md gives every formula): cosine is
 * CosineAnnealingLR, cosine_restarts CosineAnnealingWarmRestarts, plateau ReduceLROnPlateau
 * (mode min, threshold_mode rel), each stepped once per epoch; warmup is LinearLR, before
 * the schedule (in epochs) or over its first updates (in steps). */
#ifndef NNC_SCHEDULE_H
#define NNC_SCHEDULE_H

#include <stddef.h>
#include <string.h>

#include "nnc/limits.h"
#include "nnc/model.h"

/* The keys a schedule may take after its constant. */
enum nnc_sched_key {
  NNC_SKEY_EVERY = 1 << 0,
  NNC_SKEY_MULT = 1 << 1,
  NNC_SKEY_MIN_RATE = 1 << 2,
  NNC_SKEY_FACTOR = 1 << 3,
  NNC_SKEY_PATIENCE = 1 << 4,
  NNC_SKEY_THRESHOLD = 1 << 5,
  NNC_SKEY_COOLDOWN = 1 << 6
};

typedef struct nnc_schedule_def {
  const char *name;        /* the word after `decay`, and of --schedule */
  int constant;            /* enum nnc_limit_id of the number after the name, -1: none */
  const char *constant_is; /* what that number is, for messages */
  unsigned keys;           /* enum nnc_sched_key bits */
  unsigned required;       /* keys that must be given */
} nnc_schedule_def;

static inline const nnc_schedule_def *nnc_schedule_get(int id) {
  static const nnc_schedule_def table[NNC_DECAY_COUNT] = {
      [NNC_DECAY_NONE] = {"none", -1, NULL, 0, 0},
      [NNC_DECAY_INVERSE] = {"inverse", NNC_LIMIT_DECAY_INVERSE, "K", 0, 0},
      [NNC_DECAY_EXPONENTIAL] = {"exponential", NNC_LIMIT_DECAY_FACTOR, "K", 0, 0},
      [NNC_DECAY_STEP] = {"step", NNC_LIMIT_DECAY_FACTOR, "K", NNC_SKEY_EVERY, NNC_SKEY_EVERY},
      [NNC_DECAY_COSINE] = {"cosine", NNC_LIMIT_PERIOD, "the period in epochs", NNC_SKEY_MIN_RATE, 0},
      [NNC_DECAY_COSINE_RESTARTS] = {"cosine_restarts", NNC_LIMIT_PERIOD, "the first period in epochs",
                                     NNC_SKEY_MULT | NNC_SKEY_MIN_RATE, 0},
      [NNC_DECAY_PLATEAU] = {"plateau", -1, NULL,
                             NNC_SKEY_FACTOR | NNC_SKEY_PATIENCE | NNC_SKEY_THRESHOLD | NNC_SKEY_COOLDOWN |
                                 NNC_SKEY_MIN_RATE, 0},
  };
  return id >= 0 && id < NNC_DECAY_COUNT ? &table[id] : NULL;
}

/* The schedule called name, or -1. */
static inline int nnc_schedule_find(const char *name) {
  for (int k = 0; k < NNC_DECAY_COUNT; k++)
    if (strcmp(nnc_schedule_get(k)->name, name) == 0) return k;
  return -1;
}

/* The keys after a schedule's constant: the word, its bit, its limit, and the field it sets
 * (of nnc_train_settings; integer fields are int32_t). */
typedef struct nnc_schedule_key {
  const char *word;
  unsigned bit;
  int limit;
  size_t offset;
} nnc_schedule_key;

#define NNC_SCHED_KEYS 7
static inline const nnc_schedule_key *nnc_schedule_key_get(int i) {
  static const nnc_schedule_key keys[NNC_SCHED_KEYS] = {
      {"every", NNC_SKEY_EVERY, NNC_LIMIT_DECAY_EVERY, offsetof(nnc_train_settings, decay_every)},
      {"mult", NNC_SKEY_MULT, NNC_LIMIT_PERIOD_MULT, offsetof(nnc_train_settings, sched.period_mult)},
      {"min_rate", NNC_SKEY_MIN_RATE, NNC_LIMIT_MIN_RATE, offsetof(nnc_train_settings, sched.min_rate)},
      {"factor", NNC_SKEY_FACTOR, NNC_LIMIT_PLATEAU_FACTOR, offsetof(nnc_train_settings, sched.factor)},
      {"patience", NNC_SKEY_PATIENCE, NNC_LIMIT_PLATEAU_PATIENCE, offsetof(nnc_train_settings, sched.patience)},
      {"threshold", NNC_SKEY_THRESHOLD, NNC_LIMIT_THRESHOLD, offsetof(nnc_train_settings, sched.threshold)},
      {"cooldown", NNC_SKEY_COOLDOWN, NNC_LIMIT_COOLDOWN, offsetof(nnc_train_settings, sched.cooldown)},
  };
  return i >= 0 && i < NNC_SCHED_KEYS ? &keys[i] : NULL;
}

/* Sets a key's field to v (an integer field takes v as a whole number). */
static inline void nnc_schedule_key_set(nnc_train_settings *t, const nnc_schedule_key *k, double v) {
  char *field = (char *)t + k->offset;
  if (nnc_limit_get((enum nnc_limit_id)k->limit)->integer)
    *(int32_t *)field = (int32_t)v;
  else
    *(double *)field = v;
}

#define NNC_PLATEAU_FACTOR 0.1
#define NNC_PLATEAU_PATIENCE 10
#define NNC_PLATEAU_THRESHOLD 1e-4
#define NNC_WARMUP_FROM (1.0 / 3.0)

/* The schedule constants' defaults (PyTorch's), no warmup, no clipping. */
static inline void nnc_schedule_defaults(nnc_schedule_settings *s) {
  memset(s, 0, sizeof *s);
  s->period_mult = 1;
  s->factor = NNC_PLATEAU_FACTOR;
  s->patience = NNC_PLATEAU_PATIENCE;
  s->threshold = NNC_PLATEAU_THRESHOLD;
  s->warmup_from = NNC_WARMUP_FROM;
}

/* Whether the update must see the batch's whole gradient before it changes a parameter
 * (clipping): the runtime then runs the update, never the fused SGD step. */
static inline int nnc_schedule_needs_gradient(const nnc_train_settings *t) {
  return t->sched.clip_norm > 0 || t->sched.clip_value > 0;
}

/* What the schedules beyond inverse, exponential and step, warmup and clipping add, as the
 * train block says it: "decay cosine 50 min_rate 0, warmup 5 epochs from 0.1, clip norm 1"
 * (empty when there is nothing to add). For `info` and --emit-ir. */
static inline const char *nnc_schedule_text(const nnc_train_settings *t, char *buf, size_t size) {
  const nnc_schedule_settings *s = &t->sched;
  const nnc_schedule_def *d = nnc_schedule_get(t->decay);
  char a[32], b[32], c[32], e[32];
  size_t n = 0;
  buf[0] = 0;
  if (d && t->decay >= NNC_DECAY_COSINE && t->decay != NNC_DECAY_PLATEAU)
    n += (size_t)snprintf(buf, size, "decay %s %d%s%s min_rate %s", d->name, (int)s->period,
                          t->decay == NNC_DECAY_COSINE_RESTARTS ? " mult " : "",
                          t->decay == NNC_DECAY_COSINE_RESTARTS ? nnc_number_text(s->period_mult, a, sizeof a) : "",
                          nnc_number_text(s->min_rate, b, sizeof b));
  if (t->decay == NNC_DECAY_PLATEAU)
    n += (size_t)snprintf(buf, size, "decay plateau factor %s patience %d threshold %s cooldown %d min_rate %s",
                          nnc_number_text(s->factor, a, sizeof a), (int)s->patience,
                          nnc_number_text(s->threshold, b, sizeof b), (int)s->cooldown,
                          nnc_number_text(s->min_rate, c, sizeof c));
  if (s->warmup > 0 && n < size)
    n += (size_t)snprintf(buf + n, size - n, "%swarmup %d %s from %s", n ? ", " : "", (int)s->warmup,
                          s->warmup_steps ? "steps" : "epochs", nnc_number_text(s->warmup_from, e, sizeof e));
  if (s->clip_norm > 0 && n < size)
    n += (size_t)snprintf(buf + n, size - n, "%sclip norm %s", n ? ", " : "", nnc_number_text(s->clip_norm, a, sizeof a));
  if (s->clip_value > 0 && n < size)
    snprintf(buf + n, size - n, "%s value %s", s->clip_norm > 0 ? "" : n ? ", clip" : "clip",
             nnc_number_text(s->clip_value, b, sizeof b));
  return buf;
}

#endif
