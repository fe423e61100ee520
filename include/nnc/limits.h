/* nnc/limits.h — the range of every numeric training setting, and the checks of a data
 * source's columns, shared by the compiler (compiler/settings.c: the train block) and the
 * runtime (runtime/cli.c, runtime/commands.c: the flags of a generated executable).
 *
 * Consumes: a setting's value, or an nnc_data_source. Produces: whether it is allowed, and
 * the rule in words ("an integer from 1 to 1048576"), so that `batch 0;` in a .nn file and
 * `--batch 0` on a command line are refused by one rule stated in the same words. Numbers in
 * messages are printed as written: the shortest text that reads back as the same double.
 * Header-only (static inline) so that the compiler need not link the runtime.
 */
#ifndef NNC_LIMITS_H
#define NNC_LIMITS_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* The most samples one part of a batch step takes (nnc/model.h's train_step): as many as 2 MiB
 * (an L2 of today's server cores) holds the scratch of, a multiple of 64 and at least 64. Here,
 * not in nnc/model.h, which C89 programs include. A larger batch in one part
 * would read every sample's inputs and deltas from memory again for each band of weight rows;
 * so the generated train_step sums a larger batch's gradient chunk by chunk and steps after,
 * and the runtime's threads take parts no larger. A constant, not this machine's L2, so that a
 * batch's numbers do not depend on where it trains. */
#define NNC_BATCH_PART_BYTES (INT64_C(2) << 20)

static inline int64_t nnc_batch_part_samples(int64_t scratch_per_sample) {
  int64_t rows = scratch_per_sample > 0 ? NNC_BATCH_PART_BYTES / scratch_per_sample / 64 * 64 : INT32_MAX;
  return rows > 64 ? rows : 64;
}

enum nnc_limit_id {
  NNC_LIMIT_EPOCHS,
  NNC_LIMIT_BATCH,
  NNC_LIMIT_RESTARTS,
  NNC_LIMIT_PATIENCE,
  NNC_LIMIT_DECAY_EVERY,
  NNC_LIMIT_CHECKPOINT_EVERY,
  NNC_LIMIT_THREADS,
  NNC_LIMIT_SAMPLES,
  NNC_LIMIT_RATE,
  NNC_LIMIT_MOMENTUM,
  NNC_LIMIT_VALIDATION,
  NNC_LIMIT_DECAY_INVERSE,
  NNC_LIMIT_DECAY_FACTOR,
  NNC_LIMIT_BETA1,
  NNC_LIMIT_BETA2,
  NNC_LIMIT_EPS,
  NNC_LIMIT_WEIGHT_DECAY,
  NNC_LIMIT_ALPHA,
  /* rprop, irprop */
  NNC_LIMIT_ETA_MINUS,
  NNC_LIMIT_ETA_PLUS,
  NNC_LIMIT_STEP_MIN,
  NNC_LIMIT_STEP_MAX,
  NNC_LIMIT_DAMPENING,
  /* schedules, warmup and clipping (nnc/schedule.h) */
  NNC_LIMIT_PERIOD,
  NNC_LIMIT_PERIOD_MULT,
  NNC_LIMIT_MIN_RATE,
  NNC_LIMIT_PLATEAU_FACTOR,
  NNC_LIMIT_PLATEAU_PATIENCE,
  NNC_LIMIT_THRESHOLD,
  NNC_LIMIT_COOLDOWN,
  NNC_LIMIT_WARMUP,
  NNC_LIMIT_WARMUP_FROM,
  NNC_LIMIT_CLIP_NORM,
  NNC_LIMIT_CLIP_VALUE,
  NNC_LIMIT_COUNT
};

/* One numeric setting: integers or reals in lo..hi, each end open or closed. */
typedef struct nnc_limit {
  const char *setting; /* its name in a train block, or NULL when only a flag sets it */
  const char *flag;    /* its command-line flag without "--", or NULL */
  int integer;         /* 1: whole numbers only */
  double lo, hi;
  int lo_open, hi_open; /* 1: the end itself is excluded */
  const char *meaning;  /* what a special value means, e.g. "0: off", or NULL */
} nnc_limit;

static inline const nnc_limit *nnc_limit_get(enum nnc_limit_id id) {
  static const nnc_limit table[NNC_LIMIT_COUNT] = {
      [NNC_LIMIT_EPOCHS] = {"epochs", "epochs", 1, 0, 1e9, 0, 0, NULL},
      [NNC_LIMIT_BATCH] = {"batch", "batch", 1, 1, 1 << 20, 0, 0, "1: per-sample SGD"},
      [NNC_LIMIT_RESTARTS] = {"restarts", "restarts", 1, 1, 1e6, 0, 0, NULL},
      [NNC_LIMIT_PATIENCE] = {"patience", "patience", 1, 0, 1e9, 0, 0, "0: off"},
      [NNC_LIMIT_DECAY_EVERY] = {"every", NULL, 1, 1, 1e9, 0, 0, NULL},
      [NNC_LIMIT_CHECKPOINT_EVERY] = {"every", "checkpoint-every", 1, 0, 1e9, 0, 0, "0: only on interrupt"},
      [NNC_LIMIT_THREADS] = {NULL, "threads", 1, 1, 256, 0, 0, NULL},
      [NNC_LIMIT_SAMPLES] = {NULL, "samples", 1, 1, 1e6, 0, 0, NULL},
      [NNC_LIMIT_RATE] = {"rate", "rate", 0, 0, 1e6, 1, 0, NULL},
      [NNC_LIMIT_MOMENTUM] = {"momentum", "momentum", 0, 0, 1, 0, 1, NULL},
      [NNC_LIMIT_VALIDATION] = {"validation", "validation", 0, 0, 1, 0, 1, "0: none"},
      [NNC_LIMIT_DECAY_INVERSE] = {"decay inverse", NULL, 0, 0, 1e6, 0, 0, NULL},
      [NNC_LIMIT_DECAY_FACTOR] = {"decay exponential/step", NULL, 0, 0, 1, 1, 0, NULL},
      [NNC_LIMIT_BETA1] = {"betas", "beta1", 0, 0, 1, 0, 1, NULL},
      [NNC_LIMIT_BETA2] = {"betas", "beta2", 0, 0, 1, 0, 1, NULL},
      [NNC_LIMIT_EPS] = {"eps", "eps", 0, 0, 1, 1, 0, NULL},
      [NNC_LIMIT_WEIGHT_DECAY] = {"weight_decay", "weight-decay", 0, 0, 1000, 0, 0, "0: none"},
      [NNC_LIMIT_ALPHA] = {"alpha", "alpha", 0, 0, 1, 0, 1, NULL},
      [NNC_LIMIT_ETA_MINUS] = {"etas", "eta-minus", 0, 0, 1, 1, 1, NULL},
      [NNC_LIMIT_ETA_PLUS] = {"etas", "eta-plus", 0, 1, 1e6, 1, 0, NULL},
      [NNC_LIMIT_STEP_MIN] = {"step_sizes", "step-min", 0, 0, 1e6, 0, 0, NULL},
      [NNC_LIMIT_STEP_MAX] = {"step_sizes", "step-max", 0, 0, 1e6, 1, 0, NULL},
      [NNC_LIMIT_DAMPENING] = {"dampening", "dampening", 0, 0, 1, 0, 0, "0: none"},
      [NNC_LIMIT_PERIOD] = {"decay cosine", "period", 1, 1, 1e9, 0, 0, NULL},
      [NNC_LIMIT_PERIOD_MULT] = {"mult", "period-mult", 1, 1, 1e6, 0, 0, NULL},
      [NNC_LIMIT_MIN_RATE] = {"min_rate", "min-rate", 0, 0, 1e6, 0, 0, NULL},
      [NNC_LIMIT_PLATEAU_FACTOR] = {"factor", "factor", 0, 0, 1, 1, 1, NULL},
      [NNC_LIMIT_PLATEAU_PATIENCE] = {"patience", "plateau-patience", 1, 0, 1e9, 0, 0, NULL},
      [NNC_LIMIT_THRESHOLD] = {"threshold", "threshold", 0, 0, 1, 0, 1, NULL},
      [NNC_LIMIT_COOLDOWN] = {"cooldown", "cooldown", 1, 0, 1e9, 0, 0, NULL},
      [NNC_LIMIT_WARMUP] = {"warmup", "warmup", 1, 0, 1e9, 0, 0, "0: none"},
      [NNC_LIMIT_WARMUP_FROM] = {"from", "warmup-from", 0, 0, 1, 1, 0, NULL},
      [NNC_LIMIT_CLIP_NORM] = {"clip norm", "clip-norm", 0, 0, 1e9, 0, 0, "0: off"},
      [NNC_LIMIT_CLIP_VALUE] = {"clip value", "clip-value", 0, 0, 1e9, 0, 0, "0: off"},
  };
  return &table[id];
}

/* x as written: whole numbers below 10^15 in full (1000001, not 1e+06), others as the
 * shortest %g text that reads back as the same double. */
static inline const char *nnc_number_text(double x, char *buf, size_t size) {
  if (x == floor(x) && fabs(x) < 1e15) {
    snprintf(buf, size, "%.0f", x);
    return buf;
  }
  for (int digits = 1; digits <= 17; digits++) {
    snprintf(buf, size, "%.*g", digits, x);
    if (strtod(buf, NULL) == x || x != x) break;
  }
  return buf;
}

static inline int nnc_limit_allows(const nnc_limit *l, double x) {
  if (!isfinite(x) || (l->integer && x != floor(x))) return 0;
  if (l->lo_open ? !(x > l->lo) : !(x >= l->lo)) return 0;
  return l->hi_open ? x < l->hi : x <= l->hi;
}

/* The rule in words: "an integer from 1 to 1048576", "a number in (0, 1000000]". */
static inline const char *nnc_limit_rule(const nnc_limit *l, char *buf, size_t size) {
  char lo[32], hi[32];
  nnc_number_text(l->lo, lo, sizeof lo);
  nnc_number_text(l->hi, hi, sizeof hi);
  if (l->integer)
    snprintf(buf, size, "an integer from %s to %s%s%s%s", lo, hi, l->meaning ? " (" : "",
             l->meaning ? l->meaning : "", l->meaning ? ")" : "");
  else
    snprintf(buf, size, "a number in %c%s, %s%c%s%s%s", l->lo_open ? '(' : '[', lo, hi, l->hi_open ? ')' : ']',
             l->meaning ? " (" : "", l->meaning ? l->meaning : "", l->meaning ? ")" : "");
  return buf;
}

/* Column numbers count from 0 up to this, in the language and on the command line. */
#define NNC_MAX_COLUMN 1000000

/* The first column that is both an input and a target, or -1: one pass over a bitmap of the
 * target columns, so that long selections cost linear time. */
static inline int32_t nnc_source_overlap(const nnc_data_source *d) {
  unsigned char seen[NNC_MAX_COLUMN / 8 + 1];
  memset(seen, 0, sizeof seen);
  for (int32_t k = 0; k < d->n_target_cols; k++)
    if (d->target_cols[k] >= 0 && d->target_cols[k] <= NNC_MAX_COLUMN)
      seen[d->target_cols[k] / 8] |= (unsigned char)(1u << (d->target_cols[k] % 8));
  for (int32_t i = 0; i < d->n_input_cols; i++) {
    int32_t c = d->input_cols[i];
    if (c >= 0 && c <= NNC_MAX_COLUMN && (seen[c / 8] >> (c % 8)) & 1) return c;
  }
  return -1;
}

/* The checks of a data source's column selection that need no file: report is called with
 * each problem in words. Returns the number of problems. */
static inline int nnc_source_check_columns(const nnc_data_source *d, void (*report)(void *ctx, const char *msg),
                                           void *ctx) {
  char msg[160];
  int problems = 0;
  if (d->onehot && d->n_target_cols > 1) {
    snprintf(msg, sizeof msg, "'onehot' needs exactly one target column (the class index), got %d",
             (int)d->n_target_cols);
    report(ctx, msg), problems++;
  }
  int32_t both = nnc_source_overlap(d);
  if (both >= 0) {
    snprintf(msg, sizeof msg, "column %d is both an input and a target", (int)both);
    report(ctx, msg), problems++;
  }
  return problems;
}

#endif
