/* runtime/trainer.h — the trainer's state, shared by train.c, step.c, checkpoint.c and
 * report.c (and commands.c, which scores the kept weights through the trainer). Not installed:
 * applications see only the opaque nnrt_trainer of nnc/nnrt.h.
 */
#ifndef NNRT_TRAINER_H
#define NNRT_TRAINER_H

#include <signal.h>

#include "internal.h"

extern volatile sig_atomic_t nnrt__stop_flag;

/* Reduce-on-plateau (schedule.c): the rate it has left, the best loss, the epochs since, the
 * cooldown left. Checkpoints carry it (section SCHD). */
typedef struct nnrt_plateau {
  double rate, best;
  int64_t bad_epochs, cooldown;
} nnrt_plateau;

/* Scores remembered with the weights they were computed on (train.c's nnrt__trainer_evaluate). */
typedef struct nnrt_scored {
  void *params;                 /* a copy of the weights scored; NULL: nothing remembered yet */
  const nnrt_dataset *d;
  const nnrt_scaler *targets;
  int32_t metric;
  nnrt_metrics mt;              /* without per-class arrays (no NNRT_EVAL_CONFUSION) */
} nnrt_scored;

struct nnrt_trainer {
  const nnc_model *m;
  nnrt_train_options o;
  const nnrt_dataset *all;      /* what the caller gave */
  nnrt_dataset *train, *val;    /* train == all when there is no validation split */
  int owns_train;
  int64_t *order;               /* this epoch's sample order */
  int32_t batch;

  void *params, *velocity;      /* the run in progress; velocity: the optimizer's state, slots × n_params */
  void *good_params, *good_velocity; /* at the start of the current epoch */
  int slots;                    /* state reals per parameter (nnc/optim.h) */
  int runtime_update;           /* the update is optim.c's (beside loss_grad_update or after loss_grad) */
  int64_t epoch;                /* the epoch in progress (from 0): dropout's masks depend on it */
  int64_t grad_chunk;           /* rows per loss_grad call on a worker's share (full-batch
                                   optimizers: a whole epoch's share is done in chunks) */
  int64_t good_steps;
  void *run_best;               /* best validation epoch of this run */
  int64_t run_best_epoch;       /* its epoch (1-based; 0: unknown, as after a resume) */
  double run_score;             /* what the run just finished is compared on */
  int64_t run_score_epoch;      /* the epoch of its weights, 0: the last */
  int64_t kept_epoch;           /* run_score_epoch of the kept run */
  int32_t metric;               /* enum nnc_metric, resolved on the training data */
  void *best;                   /* best run so far */
  nnrt_checkpoint_state st;
  nnrt_plateau plateau;         /* decay plateau's state in this run */
  int resumed_weights;          /* run st.restart starts from loaded weights, not init */

  void *xb, *tb;                /* a gathered batch (or sequence chunk) */
  int64_t seq;                  /* per-sample SGD through train_sequence: samples per call, 0: off */
  double *seq_rates;            /* the step size of each sample of a chunk */
  void *scratch;                /* for train_step on a whole batch */
  nnrt_pool *pool;              /* threads > 1 and batch > 1 */
  int stop_agreed;              /* under MPI: some rank asked to stop (same on every rank) */
  int checkpoint_failed;        /* checkpoints that could not be written (the first is reported) */
  void **grads, **scratches;
  int64_t *part_n;              /* owner computes: each thread's part of the batch, its samples */
  void **part_x;                /* and its inputs (in xb, where it gathers them) */
  int pull_params;              /* the parameters fit a core's L2: each thread reads them first */
  double *losses;

  nnrt_epoch_row *rows, *best_rows;  /* history of this run and of the kept run */
  int64_t n_rows, cap_rows, n_best_rows;
  nnrt_out log;                 /* the CSV log in progress (log.f NULL: none) */
  double run_start, last_draw;  /* this session of the run; the live line's last redraw */
  int line_open;                /* a live line is on the progress stream (not ended by \n) */
  int32_t n_diverged;           /* restarts of this session that diverged */
  int diverged_kept;            /* best holds a diverged run's last good weights (no run succeeded) */
  double diverged_score;        /* their loss */
  nnrt_error diverged_err;      /* the last divergence, with its advice */
  int64_t diverged_restart;
  int64_t run_samples;          /* samples trained since run_start */
  nnrt_scored scored[2];        /* the last scores with the loss [0] and without it [1] */
};

/* train.c */
/* nnrt_evaluate_as, except that the weights, data, metric and targets of the last call with
 * the same flags (0 or NNRT_EVAL_NO_LOSS) give its metrics again without a pass over the data:
 * the end of a run scores the same final weights on the training data up to four times (the
 * last epoch's line, the run's loss, the check against chance, the train command's summary). */
int nnrt__trainer_evaluate(nnrt_trainer *tr, const void *params, const nnrt_dataset *d, int32_t metric,
                           const nnrt_scaler *targets, int flags, nnrt_metrics *mt, nnrt_error *err);

/* schedule.c */
/* The rate of update `steps` (from 0) of epoch `epoch` (from 0); p: plateau's state or NULL. */
double nnrt__rate_at(const nnc_train_settings *s, const nnrt_plateau *p, int64_t steps, int64_t epoch);
void nnrt__plateau_start(nnrt_plateau *p, const nnc_train_settings *s);
/* After epoch `epoch` (from 0), whose loss (validation, else training) was loss. */
void nnrt__plateau_step(nnrt_plateau *p, const nnc_train_settings *s, double loss, int64_t epoch);

/* clip.c */
/* Clips the batch's summed gradient (n_params reals) as the settings ask; inv_n = 1/n. */
void nnrt__clip_grad(const nnc_model *m, const nnc_train_settings *s, void *grad, double inv_n);

/* step.c */
double nnrt__train_sequence(nnrt_trainer *tr, int64_t from, int64_t n, int64_t epoch);
/* One step on samples order[from, from+n): returns the summed loss. */
double nnrt__train_batch(nnrt_trainer *tr, int64_t from, int64_t n, double rate);
int nnrt__threads_setup(nnrt_trainer *tr, nnrt_error *err);
void nnrt__threads_free(nnrt_trainer *tr);

/* optim.c */
int nnrt__optim_slots(const nnc_train_settings *s);
/* Updates parameters [lo, hi) and their state from the batch's summed gradient: step size
 * rate, 1/n for a batch of n, t the update's number in the run (from 1). */
void nnrt__optim_update(const nnc_model *m, const nnc_train_settings *s, void *params, void *state,
                        const void *grad, int64_t lo, int64_t hi, double rate, double inv_n, int64_t t);
int nnrt__optim_check(const nnc_train_settings *s, nnrt_error *err);

/* checkpoint.c */
/* Replaces path whole, or (chosen != NULL) writes a new file beside it, as files.c does. */
int nnrt__checkpoint_write(nnrt_trainer *tr, const char *path, const nnrt_scaler *sc,
                           char *chosen, size_t cap, nnrt_error *err);
int nnrt__checkpoint_resume(nnrt_trainer *tr, const char *path, nnrt_error *err);

/* advice.c */
typedef struct nnrt_advice_facts {
  double rate, momentum;
  int inputs_scaled, targets_scaled, regression; /* by the data source's settings; the metric */
  int32_t input, target;        /* the input and the output whose |value| is largest, -1: none */
  double input_max, target_max; /* that |value| */
  double weight_decay;          /* sgd's (L2) and adamw's (decoupled); 0 for the others */
  int decoupled;                /* adamw: p ← p·(1 − rate·weight_decay) */
  double beta1, beta2;          /* adam's and adamw's; 0 0 for the others */
} nnrt_advice_facts;
void nnrt__advice_facts(const nnrt_dataset *d, const nnc_train_settings *s, int32_t metric,
                        nnrt_advice_facts *f);
/* "likely cause: the targets are not scaled (…): add 'target_scale zscore' to the data; else
 * try a smaller --rate (now 0.1)"; diverged 0: advice for a run that learned nothing. */
void nnrt__advice_text(const nnrt_advice_facts *f, int diverged, char *buf, size_t cap);
/* The same from the trainer's training data and settings. */
void nnrt__advice(const nnrt_trainer *tr, int diverged, char *buf, size_t cap);
/* The fraction of d's samples in its most common class (targets one-hot, or one output read
 * as class 1 when ≥ 0.5); NaN without targets. */
double nnrt__majority_fraction(const nnrt_dataset *d);

/* report.c */
void nnrt__progress_live(nnrt_trainer *tr, int64_t epoch, int64_t done, double loss_sum,
                         double t0);
/* last: the run's final epoch (early stopping), whose line always stays. */
void nnrt__report_epoch(nnrt_trainer *tr, const nnrt_epoch_row *row, double samples_per_s, int last);
/* 1 if epoch's line is printed (all of a short run; about 25 of a long one; last: the run's last). */
int nnrt__line_due(const nnrt_trainer *tr, int64_t epoch, int last);
/* Erases the live line, if one is on screen, so that the next message starts at column 0. */
void nnrt__progress_clear(nnrt_trainer *tr);
/* "  acc 93.10%", "  val_label_acc 97.20%" or "  val_rmse 0.0123" by metric; nothing for NaN. */
void nnrt__print_score(FILE *f, int32_t metric, int val, double score);
/* The score's name in the log: acc, label_acc or rmse. */
const char *nnrt__score_name(int32_t metric);
int nnrt__log_open(nnrt_trainer *tr, nnrt_error *err);
void nnrt__log_row(nnrt_trainer *tr, const nnrt_epoch_row *row);
/* Gives the log its name (see files.c); a no-op without one. */
int nnrt__log_close(nnrt_trainer *tr, nnrt_error *err);

#endif
