/* nnc/optim.h — the optimizers, one table entry each, shared by the compiler (the `sgd`,
 * `adam`, `adamw`, `rmsprop`, `rprop` and `irprop` settings of a train block) and the runtime
 * (`--optimizer`, the update, checkpoints).
 *
 * An entry names the optimizer, the keys its setting takes (each a field of
 * nnc_train_settings, numbers checked against nnc/limits.h), its defaults, and the state it
 * keeps per parameter (state slots of n_params reals each, beside the parameters). The update
 * rule of entry k is row k of runtime/optim.c's table. Definitions are PyTorch's torch.optim
 * ones, bias correction included (docs/language.md gives every formula). */
#ifndef NNC_OPTIM_H
#define NNC_OPTIM_H

#include <string.h>

#include "nnc/model.h"

/* The keys an optimizer's setting may take besides rate, decay and batch. */
enum nnc_optim_key {
  NNC_OKEY_MOMENTUM = 1 << 0,
  NNC_OKEY_NESTEROV = 1 << 1,
  NNC_OKEY_WEIGHT_DECAY = 1 << 2,
  NNC_OKEY_BETAS = 1 << 3,
  NNC_OKEY_EPS = 1 << 4,
  NNC_OKEY_AMSGRAD = 1 << 5,
  NNC_OKEY_ALPHA = 1 << 6,
  NNC_OKEY_CENTERED = 1 << 7,
  /* rprop, irprop */
  NNC_OKEY_ETAS = 1 << 16,
  NNC_OKEY_STEP_SIZES = 1 << 17,
  NNC_OKEY_DAMPENING = 1 << 8
};

typedef struct nnc_optimizer_def {
  const char *name;          /* the setting, and the word of --optimizer */
  unsigned keys;             /* enum nnc_optim_key bits */
  double rate;               /* default step size */
  double weight_decay;       /* default weight decay */
  int slots;                 /* state reals per parameter */
  const char *state;         /* what the slots hold, in order */
  int full_batch;            /* 1: one update per epoch from the whole training set's gradient
                                (no batch, no decay: rate is the initial step size) */
  double step_min;           /* default lower bound of the step sizes (full-batch rules) */
} nnc_optimizer_def;

#define NNC_OPT_BETA1 0.9
#define NNC_OPT_BETA2 0.999
#define NNC_OPT_EPS 1e-8
#define NNC_OPT_ALPHA 0.99
/* rprop and irprop: etas (decrease, increase) and the upper bound of the step sizes. */
#define NNC_OPT_ETA_MINUS 0.5
#define NNC_OPT_ETA_PLUS 1.2
#define NNC_OPT_STEP_MAX 50
/* The batch of full-batch optimizers: every sample, up to the largest batch there is. */
#define NNC_OPT_FULL_BATCH (1 << 20)

static inline const nnc_optimizer_def *nnc_optimizer_get(int id) {
  static const nnc_optimizer_def table[NNC_OPT_COUNT] = {
      [NNC_OPT_SGD] = {"sgd", NNC_OKEY_MOMENTUM | NNC_OKEY_NESTEROV | NNC_OKEY_WEIGHT_DECAY | NNC_OKEY_DAMPENING, 0.01, 0, 1,
                       "velocity"},
      [NNC_OPT_ADAM] = {"adam", NNC_OKEY_BETAS | NNC_OKEY_EPS | NNC_OKEY_WEIGHT_DECAY | NNC_OKEY_AMSGRAD, 0.001, 0,
                        3, "first moment, second moment, largest second moment"},
      [NNC_OPT_ADAMW] = {"adamw", NNC_OKEY_BETAS | NNC_OKEY_EPS | NNC_OKEY_WEIGHT_DECAY | NNC_OKEY_AMSGRAD, 0.001,
                         0.01, 3, "first moment, second moment, largest second moment"},
      [NNC_OPT_RMSPROP] = {"rmsprop", NNC_OKEY_ALPHA | NNC_OKEY_EPS | NNC_OKEY_WEIGHT_DECAY | NNC_OKEY_MOMENTUM |
                           NNC_OKEY_CENTERED, 0.01, 0, 3, "mean square, momentum buffer, mean gradient"},
      /* full-batch, sign-based: torch.optim.Rprop, and FANN's iRPROP− (its default training) */
      [NNC_OPT_RPROP] = {"rprop", NNC_OKEY_ETAS | NNC_OKEY_STEP_SIZES, 0.01, 0, 2,
                         "previous gradient, step size", 1, 1e-6},
      [NNC_OPT_IRPROP] = {"irprop", NNC_OKEY_ETAS | NNC_OKEY_STEP_SIZES, 0.1, 0, 2,
                          "previous gradient, step size", 1, 0},
  };
  return id >= 0 && id < NNC_OPT_COUNT ? &table[id] : NULL;
}

/* The optimizer called name, or -1. */
static inline int nnc_optimizer_find(const char *name) {
  for (int k = 0; k < NNC_OPT_COUNT; k++)
    if (strcmp(nnc_optimizer_get(k)->name, name) == 0) return k;
  return -1;
}

/* Fills the hyperparameters of optimizer id with its defaults (the rate excepted). */
static inline void nnc_optimizer_defaults(nnc_train_settings *t, int id) {
  t->optimizer = id;
  t->beta1 = NNC_OPT_BETA1;
  t->beta2 = NNC_OPT_BETA2;
  t->eps = NNC_OPT_EPS;
  t->alpha = NNC_OPT_ALPHA;
  t->weight_decay = nnc_optimizer_get(id)->weight_decay;
  t->amsgrad = t->centered = t->nesterov = 0;
  t->eta_minus = NNC_OPT_ETA_MINUS;
  t->eta_plus = NNC_OPT_ETA_PLUS;
  t->step_min = nnc_optimizer_get(id)->step_min;
  t->step_max = NNC_OPT_STEP_MAX;
  t->dampening = 0;
}

/* Whether optimizer id steps once per epoch on the whole training set (rprop, irprop). */
static inline int nnc_optimizer_full_batch(int id) {
  const nnc_optimizer_def *d = nnc_optimizer_get(id);
  return d && d->full_batch;
}

/* Whether the update runs in the runtime after the generated backward pass (every optimizer
 * but plain SGD, whose update the generated code fuses into the backward sweep). */
static inline int nnc_optimizer_in_runtime(const nnc_train_settings *t) {
  return t->optimizer != NNC_OPT_SGD || t->nesterov || t->weight_decay != 0 || t->dampening != 0;
}

#endif
