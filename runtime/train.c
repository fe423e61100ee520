/* runtime/train.c — the training loop: epochs, restarts, validation, early stopping.
 *
 * Consumes: a model, the training data (already scaled), options (the model's settings with
 * the command line's overrides).
 * Produces: the kept parameters (best restart by validation loss, or by training loss without
 * validation), progress lines scored by the network's metric (resolved once on the training
 * data), restart lines showing the loss each run is compared on, a log and a plot; checkpoints every N epochs and on
 * SIGINT/SIGTERM (nnrt__stop_flag). Only a run that succeeds replaces the save path; a
 * restart that diverges lets the others go on (a warning counts it), and when every one
 * diverged the best of their last good weights go to a new file beside it (SAVE.diverged).
 * Divergence, and kept weights no better than the majority class or the mean, are reported
 * with their likely cause (advice.c). A checkpoint that cannot be written is a warning:
 * training goes on to its final save.
 *
 * Determinism: restart r uses seed+r for init; epoch e of it shuffles with an RNG seeded from
 * (seed+r, e), unless shuffling is off (data order every epoch); the validation split is one shuffle seeded by the seed alone. Nothing else is
 * random, so a checkpoint (restart, epoch, step count, velocity) resumes bit-exactly.
 *
 * Under mpirun every rank runs this same loop over the global batches (step.c shares each
 * batch out); rank 0 alone prints, logs, plots, saves and checkpoints. The inputs of every
 * decision (validation scores for early stopping, a run's score for restarts, a resumed
 * checkpoint) are rank 0's, broadcast; parameters and velocity are re-broadcast from rank 0
 * after each epoch so no rounding difference between ranks can ever accumulate.
 * With --shard-data each rank holds its own rows: it splits off its validation part and
 * shuffles its training part with its rank mixed into the seeds; the epoch runs over the
 * ranks' total and validation scores are averaged over the ranks' parts.
 */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "mpi_api.h"
#include "nnc/limits.h"
#include "nnc/optim.h"
#include "nnc/schedule.h"
#include "trainer.h"

volatile sig_atomic_t nnrt__stop_flag;

void nnrt_request_stop(void) {
  nnrt__stop_flag = 1;
}

void nnrt_train_options_init(nnrt_train_options *o, const nnc_model *m) {
  memset(o, 0, sizeof *o);
  if (m->train)
    o->s = *m->train;
  o->threads = 1;
  o->verbosity = 2;
  o->progress = stderr;
  o->report = stdout;
}

/* ---- setup ---- */

static int split_validation(nnrt_trainer *tr, nnrt_error *err) {
  const nnrt_dataset *d = tr->all;
  int64_t n_val = (int64_t)((double)d->n * tr->o.s.validation);
  tr->train = (nnrt_dataset *)d;
  if (tr->o.s.validation <= 0)
    return NNRT_OK;
  if (n_val < 1 || n_val >= d->n)
    return nnrt__fail(err, NNRT_EDATA, "validation %g of %lld samples leaves %s", tr->o.s.validation,
                      (long long)d->n, n_val < 1 ? "no validation sample" : "no training sample");
  int64_t *idx = nnrt__alloc_array(d->n, sizeof(int64_t));
  if (!idx)
    return nnrt__oom(err);
  nnrt_rng rng;
  for (int64_t i = 0; i < d->n; i++)
    idx[i] = i;
  nnrt__rng_seed(&rng, tr->o.s.seed ^ 0x76616c6964617465ull ^ /* --shard-data: each rank its own split */
                           (nnrt__sharded() ? 0x9e3779b97f4a7c15ull * (uint64_t)(nnrt__mpi_rank() + 1) : 0));
  nnrt__shuffle(idx, d->n, &rng);
  int rc = nnrt__dataset_subset(d, idx, d->n - n_val, &tr->train, err);
  if (!rc) {
    tr->owns_train = 1;
    rc = nnrt__dataset_subset(d, idx + d->n - n_val, n_val, &tr->val, err);
  }
  nnrt__free(idx);
  return rc;
}

/* ---- --shard-data: each rank holds out part of its own rows (docs/mpi.md) ---- */

/* The validation part's scores over every rank's part: means weighted by the parts' sizes
 * (RMSE through its square). */
static void shard_validation(int64_t n, int regression, nnrt_epoch_row *row) {
  double v[3] = {(double)n, row->val_loss * (double)n,
                 (regression ? row->val_acc * row->val_acc : row->val_acc) * (double)n};
  nnrt__mpi_sum_reals(v, 3, 8);
  row->val_loss = v[1] / v[0];
  row->val_acc = regression ? sqrt(v[2] / v[0]) : v[2] / v[0];
}

/* After each rank split its shard: the training samples of all ranks, the epoch's length.
 * A collective every rank reaches, whatever its own rc. */
static int shard_train_total(nnrt_trainer *tr, int rc, nnrt_error *err) {
  int all = nnrt__mpi_agree(rc);
  double n;
  if (all)
    return rc ? rc : nnrt__fail(err, all, "another process of the job failed (see its message)");
  n = (double)tr->train->n;
  nnrt__mpi_sum_reals(&n, 1, 8);
  nnrt__shard_set_total((int64_t)n);
  return NNRT_OK;
}

/* ---- end of --shard-data ---- */

static void *alloc_params(const nnc_model *m) {
  return nnrt__alloc_array_aligned(m->n_params, (size_t)m->real_bytes);
}

/* Per-sample SGD without momentum goes through the model's pipelined train_sequence, in
 * chunks of this many samples (gathered, with a step size each). */
#define SEQUENCE_CHUNK 64

static int alloc_buffers(nnrt_trainer *tr, nnrt_error *err) {
  const nnc_model *m = tr->m;
  tr->slots = nnrt__optim_slots(&tr->o.s);
  tr->runtime_update = nnc_optimizer_in_runtime(&tr->o.s) || nnc_schedule_needs_gradient(&tr->o.s);
  tr->seq = tr->batch == 1 && tr->o.s.momentum == 0 && !tr->runtime_update && m->train_sequence && !m->n_dropout &&
            nnrt__mpi_size() <= 1 ? SEQUENCE_CHUNK : 0;
  int64_t b = tr->seq > tr->batch ? tr->seq : tr->batch;
  tr->params = alloc_params(m);
  tr->velocity = nnrt__alloc_array_aligned(tr->slots * m->n_params, (size_t)m->real_bytes);
  tr->good_params = alloc_params(m);
  tr->good_velocity = nnrt__alloc_array_aligned(tr->slots * m->n_params, (size_t)m->real_bytes);
  tr->run_best = alloc_params(m);
  tr->best = alloc_params(m);
  tr->order = nnrt__alloc_array(tr->train->n, sizeof(int64_t));
  tr->xb = nnrt__alloc_array_aligned(b * m->n_inputs, (size_t)m->real_bytes);
  tr->tb = nnrt__alloc_array_aligned(b * m->n_outputs, (size_t)m->real_bytes);
  int64_t sb = nnc_optimizer_full_batch(tr->o.s.optimizer) ? 1 : b; /* full batch: the workers' scratches */
  tr->scratch = nnrt__alloc_aligned((size_t)(m->scratch_fixed + sb * m->scratch_per_sample));
  tr->seq_rates = tr->seq ? nnrt__alloc_array(tr->seq, sizeof(double)) : NULL;
  if (!tr->params || !tr->velocity || !tr->good_params || !tr->good_velocity || !tr->run_best ||
      !tr->best || !tr->order || !tr->xb || !tr->tb || !tr->scratch || (tr->seq && !tr->seq_rates))
    return nnrt__oom(err);
  return NNRT_OK;
}

static int check_options(const nnrt_train_options *o, nnrt_error *err) {
  const nnc_train_settings *s = &o->s;
  if (!(s->rate > 0) || s->batch < 1 || s->epochs < 0 || s->restarts < 1 || o->threads < 1 ||
      !(s->momentum >= 0 && s->momentum < 1) || !(s->validation >= 0 && s->validation < 1))
    return nnrt__fail(err, NNRT_EUSAGE, "invalid training settings (rate %g, batch %d, epochs %d, "
                      "restarts %d, momentum %g, validation %g, threads %d)", s->rate, (int)s->batch,
                      (int)s->epochs, (int)s->restarts, s->momentum, s->validation, (int)o->threads);
  int rc = nnrt__optim_check(s, err);
  if (rc)
    return rc;
  if (nnrt__mpi_size() > 1 && s->batch == 1)
    return nnrt__fail(err, NNRT_EUSAGE, "per-sample SGD (batch 1) runs in one process only; under mpirun "
                      "with %d processes give a mini-batch (--batch B, B > 1), or run without mpirun",
                      nnrt__mpi_size());
  return NNRT_OK;
}

/* The settings that enter the update in the model's precision must not vanish there (nnc
 * refuses the train block's the same way; these come from flags or the library): below the
 * smallest normal real they are 0, or subnormals the update rules take as 0, and --eps
 * 1e-300 in f32 divides 0 by 0 where a gradient is 0, --clip-value 1e-300 zeroes every
 * gradient, --rate 1e-300 moves no weight. */
static int check_vanishing(const nnrt_trainer *tr, nnrt_error *err) {
  const nnc_train_settings *s = &tr->o.s;
  unsigned keys = nnc_optimizer_get(s->optimizer)->keys;
  const struct {
    int used, limit;
    double v;
    const char *would;
  } checks[] = {
      {1, NNC_LIMIT_RATE, s->rate, "move no weight"},
      {(keys & NNC_OKEY_EPS) != 0, NNC_LIMIT_EPS, s->eps, "divide 0 by 0 where a gradient is 0"},
      {(keys & NNC_OKEY_ETAS) != 0, NNC_LIMIT_ETA_MINUS, s->eta_minus, "stop every step size at 0"},
      {(keys & NNC_OKEY_STEP_SIZES) != 0, NNC_LIMIT_STEP_MAX, s->step_max, "stop every step size at 0"},
      {1, NNC_LIMIT_CLIP_NORM, s->sched.clip_norm, "clip every gradient to 0 (0 turns clipping off)"},
      {1, NNC_LIMIT_CLIP_VALUE, s->sched.clip_value, "clip every gradient to 0 (0 turns clipping off)"},
  };
  int f64 = tr->m->real_bytes == 8;
  char buf[32];
  for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++)
    if (checks[i].used && checks[i].v != 0 && checks[i].v < (f64 ? DBL_MIN : FLT_MIN))
      return nnrt__fail(err, NNRT_EUSAGE, "--%s %s is below the smallest normal %s number (%s): the update would "
                        "take it as 0 and %s", nnc_limit_get(checks[i].limit)->flag,
                        nnc_number_text(checks[i].v, buf, sizeof buf), f64 ? "f64" : "f32",
                        f64 ? "2.2250738585072014e-308" : "1.1754944e-38", checks[i].would);
  return NNRT_OK;
}

/* A schedule's lowest rate is at most the rate (nnc refuses a train block's the same way; a
 * flag can bring either): `decay cosine` above it raised the rate to --min-rate, and a
 * divergence was blamed on the rate; `decay plateau` would never lower the rate. */
static int check_min_rate(const nnrt_trainer *tr, nnrt_error *err) {
  const nnc_train_settings *s = &tr->o.s;
  char m[32], r[32];
  if (s->decay != NNC_DECAY_COSINE && s->decay != NNC_DECAY_COSINE_RESTARTS && s->decay != NNC_DECAY_PLATEAU)
    return NNRT_OK;
  if (!(s->sched.min_rate > s->rate))
    return NNRT_OK;
  return nnrt__fail(err, NNRT_EUSAGE, "--min-rate %s is above --rate %s: decay %s would %s; give a --min-rate at "
                    "most the rate", nnc_number_text(s->sched.min_rate, m, sizeof m),
                    nnc_number_text(s->rate, r, sizeof r), nnc_schedule_get(s->decay)->name,
                    s->decay == NNC_DECAY_PLATEAU ? "never lower the rate" : "raise the rate to it");
}

/* rprop and irprop step on the gradient of the whole training set: a batch smaller than it
 * (--batch over a full-batch optimizer) is refused rather than silently widened. */
static int check_full_batch(const nnrt_trainer *tr, int64_t n, nnrt_error *err) {
  const nnc_train_settings *s = &tr->o.s;
  if (!nnc_optimizer_full_batch(s->optimizer) || s->batch >= n)
    return NNRT_OK;
  return nnrt__fail(err, NNRT_EUSAGE, "%s updates once per epoch from the whole training set's gradient: batch %d "
                    "is smaller than the %lld training samples (drop --batch, or choose another --optimizer)",
                    nnc_optimizer_get(s->optimizer)->name, (int)s->batch, (long long)n);
}

static int trainer_setup(nnrt_trainer *tr, nnrt_error *err) {
  /* Under mpirun every rank steps through one sample order: rank 0's `shuffle` rules. */
  nnrt__mpi_bcast(&tr->o.s.shuffle_off, sizeof tr->o.s.shuffle_off);
  int rc = check_options(&tr->o, err);
  if (!rc)
    rc = check_vanishing(tr, err);
  if (!rc)
    rc = check_min_rate(tr, err);
  if (!rc && (tr->all->n == 0 || !tr->all->t))
    rc = nnrt__fail(err, NNRT_EDATA, "no training samples with targets");
  if (!rc)
    rc = split_validation(tr, err);
  if (nnrt__sharded())
    rc = shard_train_total(tr, rc, err);
  if (rc)
    return rc;
  int64_t n = nnrt__shard_total(tr->train->n); /* --shard-data: every rank's samples */
  if ((rc = check_full_batch(tr, n, err)) != NNRT_OK)
    return rc;
  tr->batch = tr->o.s.batch < n ? tr->o.s.batch : (int32_t)n;
  tr->metric = nnrt_metric_resolve(tr->m, tr->o.s.metric, tr->all);
  if ((rc = alloc_buffers(tr, err)) != NNRT_OK)
    return rc;
  if (((tr->o.threads > 1 || nnrt__mpi_size() > 1) && tr->batch > 1) || tr->runtime_update)
    if ((rc = nnrt__threads_setup(tr, err)) != NNRT_OK)
      return rc;
  tr->st.global_best = INFINITY;
  tr->st.global_best_restart = -1;
  return nnrt__log_open(tr, err);
}

int nnrt_trainer_create(const nnc_model *m, const nnrt_train_options *o,
                        const nnrt_dataset *train, nnrt_trainer **out, nnrt_error *err) {
  *out = NULL;
  if (nnrt_cpu_check(m, err))
    return err->code;
  nnrt_trainer *tr = nnrt__alloc(sizeof *tr);
  if (!tr)
    return nnrt__oom(err);
  tr->m = m;
  tr->o = *o;
  tr->all = train;
  if (nnrt__mpi_rank() > 0) { /* rank 0 alone reports and writes files */
    tr->o.save_path = tr->o.log_path = tr->o.plot_path = NULL;
    tr->o.verbosity = 0;
    tr->o.live = 0;
  }
  int rc = trainer_setup(tr, err);
  if (rc) {
    nnrt_trainer_destroy(tr);
    return rc;
  }
  *out = tr;
  return NNRT_OK;
}

void nnrt_trainer_destroy(nnrt_trainer *tr) {
  if (!tr)
    return;
  nnrt__threads_free(tr);
  if (tr->owns_train)
    nnrt_dataset_destroy(tr->train);
  nnrt_dataset_destroy(tr->val);
  void *bufs[] = {tr->order, tr->seq_rates, tr->rows, tr->best_rows};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
    nnrt__free(bufs[i]);
  void *aligned[] = {tr->params, tr->velocity, tr->good_params, tr->good_velocity, tr->run_best,
                     tr->best,   tr->xb,       tr->tb,          tr->scratch,   tr->scored[0].params,
                     tr->scored[1].params};
  for (size_t i = 0; i < sizeof aligned / sizeof aligned[0]; i++)
    nnrt__free_aligned(aligned[i]);
  nnrt__out_abort(&tr->log);
  nnrt__free(tr);
}

const void *nnrt_trainer_params(const nnrt_trainer *tr) {
  return tr->best;
}

/* ---- one epoch ---- */

static size_t param_bytes(const nnrt_trainer *tr) {
  return (size_t)tr->m->n_params * (size_t)tr->m->real_bytes;
}

/* Whether s holds the scores of these weights on d by this metric and target scaling. */
static int scored_same(const nnrt_trainer *tr, const nnrt_scored *s, const void *params, const nnrt_dataset *d,
                       int32_t metric, const nnrt_scaler *targets) {
  return s->params && s->d == d && s->metric == metric && s->targets == targets &&
         memcmp(s->params, params, param_bytes(tr)) == 0;
}

/* Remembers mt as the scores of params (nothing when the copy cannot be allocated). */
static void remember_scored(nnrt_trainer *tr, nnrt_scored *s, const void *params, const nnrt_dataset *d,
                            int32_t metric, const nnrt_scaler *targets, const nnrt_metrics *mt) {
  if (!s->params && !(s->params = alloc_params(tr->m)))
    return;
  memcpy(s->params, params, param_bytes(tr));
  s->d = d;
  s->metric = metric;
  s->targets = targets;
  s->mt = *mt;
}

int nnrt__trainer_evaluate(nnrt_trainer *tr, const void *params, const nnrt_dataset *d, int32_t metric,
                           const nnrt_scaler *targets, int flags, nnrt_metrics *mt, nnrt_error *err) {
  if (flags & ~NNRT_EVAL_NO_LOSS)
    return nnrt_evaluate_as(tr->m, params, d, metric, targets, flags, mt, err);
  nnrt_scored *s = &tr->scored[flags ? 1 : 0];
  if (scored_same(tr, s, params, d, metric, targets)) {
    *mt = s->mt;
    return NNRT_OK;
  }
  int rc = nnrt_evaluate_as(tr->m, params, d, metric, targets, flags, mt, err);
  if (rc == NNRT_OK)
    remember_scored(tr, s, params, d, metric, targets, mt);
  return rc;
}

/* The epoch's sample order: a shuffle seeded by (run seed, epoch), or data order with
 * `shuffle off`. */
static void shuffle_epoch(nnrt_trainer *tr, int64_t epoch) {
  nnrt_rng rng;
  for (int64_t i = 0; i < tr->train->n; i++)
    tr->order[i] = i;
  if (tr->o.s.shuffle_off)
    return;
  nnrt__rng_seed(&rng, tr->st.run_seed ^ (0xd1b54a32d192ed03ull * (uint64_t)(epoch + 1)) ^
                           (nnrt__sharded() ? 0x9e3779b97f4a7c15ull * (uint64_t)(nnrt__mpi_rank() + 1) : 0));
  nnrt__shuffle(tr->order, tr->train->n, &rng); /* --shard-data: this rank's rows, a seed of its own */
}

/* The optimizer's state: its slots of n_params reals. */
static size_t state_bytes(const nnrt_trainer *tr) {
  return (size_t)tr->slots * param_bytes(tr);
}

static void remember_good(nnrt_trainer *tr) {
  memcpy(tr->good_params, tr->params, param_bytes(tr));
  memcpy(tr->good_velocity, tr->velocity, state_bytes(tr));
  tr->good_steps = tr->st.steps;
}

static void back_to_good(nnrt_trainer *tr) {
  memcpy(tr->params, tr->good_params, param_bytes(tr));
  memcpy(tr->velocity, tr->good_velocity, state_bytes(tr));
  tr->st.steps = tr->good_steps;
}

enum epoch_end { EPOCH_DONE, EPOCH_DIVERGED, EPOCH_STOPPED };

/* The first parameter that is NaN or infinite, or -1. The loss alone does not show every
 * diverged weight: the last batch of an epoch can make a weight NaN after its loss was
 * summed, and a weight can stop mattering to the loss (a dead unit) and still be saved. */
static int64_t first_nonfinite_param(const nnrt_trainer *tr) {
  for (int64_t i = 0; i < tr->m->n_params; i++)
    if (!isfinite(nnrt__get(tr->params, tr->m->real_bytes, i)))
      return i;
  return -1;
}

/* The first real of the optimizer's state (slots × n_params) that is NaN or infinite, or -1.
 * A moment that overflows (adam's or rmsprop's mean square of a huge gradient) leaves its
 * parameter finite but frozen (m/√inf = 0) or makes it NaN later, and a checkpoint holding it
 * could not be resumed: the run has diverged as surely as when the parameter itself had. */
static int64_t first_nonfinite_state(const nnrt_trainer *tr) {
  int64_t n = (int64_t)tr->slots * tr->m->n_params;
  for (int64_t i = 0; i < n; i++)
    if (!isfinite(nnrt__get(tr->velocity, tr->m->real_bytes, i)))
      return i;
  return -1;
}

/* Runs the batches of one epoch; *loss gets the mean training loss of its samples. */
static int run_epoch(nnrt_trainer *tr, int64_t epoch, double *loss) {
  int64_t n = nnrt__shard_total(tr->train->n); /* --shard-data: every rank's samples */
  double sum = 0, t0 = nnrt__now();
  shuffle_epoch(tr, epoch);
  tr->epoch = epoch;
  int64_t per_call = tr->seq ? tr->seq : tr->batch;
  for (int64_t from = 0; from < n; from += per_call) {
    int64_t b = n - from < per_call ? n - from : per_call;
    double l;
    if (tr->seq) {
      l = nnrt__train_sequence(tr, from, b, epoch);
    } else {
      l = nnrt__train_batch(tr, from, b, nnrt__rate_at(&tr->o.s, &tr->plateau, tr->st.steps, epoch));
      tr->st.steps++;
    }
    sum += l;
    if (!isfinite(l)) {
      *loss = l;
      return EPOCH_DIVERGED;
    }
    if (nnrt__mpi_size() > 1 ? tr->stop_agreed : nnrt__stop_flag)
      return EPOCH_STOPPED;
    if (tr->o.live && tr->o.verbosity >= 2)
      nnrt__progress_live(tr, epoch, from + b, sum, t0);
  }
  *loss = sum / (double)n;
  if (first_nonfinite_param(tr) >= 0 || first_nonfinite_state(tr) >= 0)
    return EPOCH_DIVERGED;
  tr->run_samples += n;
  return EPOCH_DONE;
}

static int push_row(nnrt_trainer *tr, const nnrt_epoch_row *row) {
  if (tr->n_rows == tr->cap_rows) {
    int64_t cap = tr->cap_rows ? tr->cap_rows * 2 : 64;
    nnrt_epoch_row *r = nnrt__realloc(tr->rows, (size_t)cap * sizeof *r);
    if (!r)
      return NNRT_ENOMEM;
    tr->rows = r;
    tr->cap_rows = cap;
  }
  tr->rows[tr->n_rows++] = *row;
  return NNRT_OK;
}

/* Scores the epoch just finished on the validation part: its loss and score (accuracy,
 * fraction of labels right, or RMSE). */
static int score_validation(nnrt_trainer *tr, nnrt_epoch_row *row, nnrt_error *err) {
  nnrt_metrics mt;
  int rc, regression = tr->metric == NNC_METRIC_REGRESSION;
  row->acc = row->val_loss = row->val_acc = NAN;
  if (!tr->val)
    return NNRT_OK;
  if ((rc = nnrt_evaluate_as(tr->m, tr->params, tr->val, tr->metric, tr->o.targets, 0, &mt, err)) != NNRT_OK)
    return rc;
  row->val_loss = mt.loss;
  row->val_acc = regression ? mt.rmse : tr->metric == NNC_METRIC_MULTILABEL ? mt.hamming : mt.accuracy;
  if (nnrt__sharded())
    shard_validation(mt.n, regression, row);
  return NNRT_OK;
}

/* Whether epoch (1-based; last: the run's last) scores the training part: a pass over the
 * training data that only the epoch lines, the log, the plot and the restart line show
 * (enum nnrt_train_score). A regression has no training score (its score is its loss). */
static int train_score_due(const nnrt_trainer *tr, int64_t epoch, int last) {
  if (tr->metric == NNC_METRIC_REGRESSION || tr->o.verbosity < 1)
    return 0;
  if (last || tr->o.train_score == NNRT_TRAIN_SCORE_EVERY)
    return 1;
  if (tr->o.train_score == NNRT_TRAIN_SCORE_LAST)
    return 0;
  return tr->o.log_path || tr->o.plot_path || (tr->o.verbosity >= 2 && nnrt__line_due(tr, epoch, 0));
}

/* The training part's score (accuracy, or the fraction of labels right): shown by rank 0
 * alone, so under MPI no other rank needs it (their verbosity is 0: they skip it). */
static int score_training(nnrt_trainer *tr, nnrt_epoch_row *row, nnrt_error *err) {
  nnrt_metrics mt;
  int rc = nnrt__trainer_evaluate(tr, tr->params, tr->train, tr->metric, tr->o.targets, NNRT_EVAL_NO_LOSS, &mt, err);
  if (rc != NNRT_OK)
    return rc;
  row->acc = tr->metric == NNC_METRIC_MULTILABEL ? mt.hamming : mt.accuracy;
  return NNRT_OK;
}

/* Early stopping bookkeeping; returns 1 when patience has run out. */
static int track_validation(nnrt_trainer *tr, double val_loss) {
  if (!tr->val)
    return 0;
  if (val_loss < tr->st.run_best) {
    tr->st.run_best = val_loss;
    tr->run_best_epoch = tr->st.epoch;
    tr->st.bad_epochs = 0;
    memcpy(tr->run_best, tr->params, param_bytes(tr));
    return 0;
  }
  tr->st.bad_epochs++;
  return tr->o.s.patience > 0 && tr->st.bad_epochs >= tr->o.s.patience;
}

/* Under MPI: rank 0's scores and parameters for every rank (no-op in one process). */
static void share_epoch(nnrt_trainer *tr, nnrt_epoch_row *row) {
  double v[3] = {row->acc, row->val_loss, row->val_acc};
  if (nnrt__mpi_size() <= 1)
    return;
  nnrt__mpi_bcast(v, sizeof v);
  row->acc = v[0];
  row->val_loss = v[1];
  row->val_acc = v[2];
  nnrt__mpi_bcast(tr->params, (int64_t)param_bytes(tr));
  nnrt__mpi_bcast(tr->velocity, (int64_t)state_bytes(tr));
}

static int end_epoch(nnrt_trainer *tr, int64_t epoch, double loss, double secs, int *stop,
                     nnrt_error *err) {
  nnrt_epoch_row row = {(int32_t)tr->st.restart, (int32_t)epoch + 1, loss, NAN, NAN, NAN,
                        nnrt__rate_at(&tr->o.s, &tr->plateau, tr->st.steps, epoch), nnrt__now() - tr->run_start};
  int rc = score_validation(tr, &row, err);
  if (rc)
    return rc;
  share_epoch(tr, &row);
  nnrt__plateau_step(&tr->plateau, &tr->o.s, tr->val ? row.val_loss : loss, epoch);
  tr->st.epoch = epoch + 1;
  *stop = track_validation(tr, row.val_loss);
  if (train_score_due(tr, epoch + 1, *stop || epoch + 1 >= tr->o.s.epochs) && (rc = score_training(tr, &row, err)))
    return rc;
  if (push_row(tr, &row) != NNRT_OK)
    return nnrt__oom(err);
  nnrt__report_epoch(tr, &row, (double)nnrt__shard_total(tr->train->n) / (secs > 0 ? secs : 1e-9), *stop);
  nnrt__log_row(tr, &row);
  if (*stop && tr->o.verbosity >= 1) {
    nnrt__progress_clear(tr);
    fprintf(tr->o.report, "early stop after epoch %lld: validation loss has not improved for %d epochs\n",
            (long long)epoch + 1, (int)tr->o.s.patience);
    fflush(tr->o.report);
  }
  remember_good(tr);
  return NNRT_OK;
}

/* ---- one run (restart) ---- */

static void start_run(nnrt_trainer *tr) {
  tr->st.run_seed = tr->o.s.seed + (uint64_t)tr->st.restart;
  if (!tr->resumed_weights)
    tr->m->init(tr->params, tr->st.run_seed);
  tr->resumed_weights = 0;
  memset(tr->velocity, 0, state_bytes(tr));
  nnrt__plateau_start(&tr->plateau, &tr->o.s);
  tr->st.epoch = 0;
  tr->st.steps = 0;
  tr->st.run_best = INFINITY;
  tr->run_best_epoch = 0;
  tr->st.bad_epochs = 0;
  tr->n_rows = 0;
  memcpy(tr->run_best, tr->params, param_bytes(tr));
}

/* A warning on the progress stream (stderr), even with --quiet; after the live line if any. */
static void warn(nnrt_trainer *tr, const char *fmt, ...) NNRT_PRINTF(2, 3);
static void warn(nnrt_trainer *tr, const char *fmt, ...) {
  va_list ap;
  if (!tr->o.progress || tr->o.verbosity < 1)
    return;
  nnrt__progress_clear(tr);
  fflush(tr->o.report);
  fprintf(tr->o.progress, "warning: ");
  va_start(ap, fmt);
  vfprintf(tr->o.progress, fmt, ap);
  va_end(ap);
  fputc('\n', tr->o.progress);
  fflush(tr->o.progress);
}

/* A checkpoint that cannot be written (disk full, say) does not end training: the first
 * failure is reported, later checkpoints are still tried, and the final weights are saved. */
static void maybe_checkpoint(nnrt_trainer *tr, const nnrt_scaler *sc, int64_t epoch) {
  int every = tr->o.s.checkpoint_every;
  nnrt_error e;
  if (!tr->o.checkpoint_path || every <= 0 || (epoch + 1) % every != 0)
    return;
  if (nnrt__checkpoint_write(tr, tr->o.checkpoint_path, sc, NULL, 0, &e) == NNRT_OK ||
      tr->checkpoint_failed++)
    return;
  warn(tr, "no checkpoint after epoch %lld: %s; training goes on (later checkpoints are still tried)",
       (long long)epoch + 1, e.msg);
}

/* "adam's second moment of parameter 12 became inf": real i of the state, named by its slot
 * (nnc/optim.h lists the slots' names, comma-separated). */
static void state_became(const nnrt_trainer *tr, int64_t i, char *buf, size_t cap) {
  const nnc_optimizer_def *d = nnc_optimizer_get(tr->o.s.optimizer);
  const char *name = d ? d->state : "state";
  int64_t slot = i / tr->m->n_params;
  for (int64_t k = 0; k < slot && strchr(name, ','); k++)
    name = strchr(name, ',') + 2;
  snprintf(buf, cap, "%s's %.*s of parameter %lld became %g", d ? d->name : "the optimizer",
           (int)strcspn(name, ","), name, (long long)(i % tr->m->n_params), nnrt__get(tr->velocity, tr->m->real_bytes, i));
}

/* In the run's first epoch: whether the weights it started from (good_params: the initial
 * weights, or a weights file given to --resume) already give a non-finite loss on the training
 * data, before any step. Then no step size is to blame, and *loss gets that loss. */
static int start_loss_nonfinite(const nnrt_trainer *tr, int64_t e, double *loss) {
  nnrt_metrics mt = {0};
  nnrt_error e2;
  if (e != 0 || nnrt_evaluate_as(tr->m, tr->good_params, tr->train, tr->metric, NULL, 0, &mt, &e2) != NNRT_OK)
    return 0;
  *loss = mt.loss;
  return !isfinite(mt.loss);
}

/* "epoch 3: the loss became nan", or the first parameter (then the first real of the
 * optimizer's state) that did when the loss stayed finite; the error says so with the likely
 * cause (advice.c). With several restarts the others go on (nnrt_trainer_run) and this message
 * is the last diverged run's. */
static int diverged(const nnrt_trainer *tr, int64_t e, double loss, nnrt_error *err) {
  char what[160], advice[512];
  int64_t bad = isfinite(loss) ? first_nonfinite_param(tr) : -1;
  int64_t bad_state = isfinite(loss) && bad < 0 ? first_nonfinite_state(tr) : -1;
  if (bad >= 0)
    snprintf(what, sizeof what, "parameter %lld became %g", (long long)bad, nnrt__get(tr->params, tr->m->real_bytes, bad));
  else if (bad_state >= 0)
    state_became(tr, bad_state, what, sizeof what);
  else
    snprintf(what, sizeof what, "the loss became %g", loss);
  double start;
  if (start_loss_nonfinite(tr, e, &start))
    snprintf(advice, sizeof advice, "likely cause: the weights the run started from already give a loss of %g, "
             "before any step: an init of too large a scale (init, bias_init), or the weights given to --resume",
             start);
  else
    nnrt__advice(tr, 1, advice, sizeof advice);
  return nnrt__fail(err, NNRT_EDIVERGED, "epoch %lld: %s: training diverged (%s)", (long long)e + 1, what, advice);
}

static int run_epochs(nnrt_trainer *tr, const nnrt_scaler *sc, int *outcome, nnrt_error *err) {
  /* a run resumed from the checkpoint of the epoch where early stopping ended it stays ended */
  int stop = tr->val && tr->o.s.patience > 0 && tr->st.bad_epochs >= tr->o.s.patience, rc = NNRT_OK;
  double loss;
  remember_good(tr);
  for (int64_t e = tr->st.epoch; e < tr->o.s.epochs && !stop; e++) {
    double t0 = nnrt__now();
    *outcome = run_epoch(tr, e, &loss);
    if (*outcome == EPOCH_DIVERGED)
      return diverged(tr, e, loss, err);
    if (*outcome == EPOCH_STOPPED)
      return NNRT_EINTERRUPTED;
    if ((rc = end_epoch(tr, e, loss, nnrt__now() - t0, &stop, err)) != NNRT_OK)
      return rc;
    maybe_checkpoint(tr, sc, e);
  }
  return NNRT_OK;
}

/* The run's result: its best validation epoch, or its final weights scored on training loss
 * (the loss does not depend on the target scaling given: the train command's summary asks for
 * the same scores, and gets these). */
static int finish_run(nnrt_trainer *tr, nnrt_error *err) {
  const void *result = tr->val ? tr->run_best : tr->params;
  nnrt_metrics mt = {0};
  double score = tr->st.run_best;
  int rc;
  if (!tr->val || !isfinite(score)) {
    result = tr->params;
    if ((rc = nnrt__trainer_evaluate(tr, result, tr->val ? tr->val : tr->train, tr->metric, tr->o.targets, 0, &mt,
                                     err)) != NNRT_OK)
      return rc;
    score = mt.loss;
  }
  nnrt__mpi_bcast(&score, sizeof score);
  int better = score < tr->st.global_best || tr->st.global_best_restart < 0;
  tr->run_score = score;
  tr->run_score_epoch = result == tr->run_best ? tr->run_best_epoch : 0;
  if (better) {
    tr->kept_epoch = tr->run_score_epoch;
    tr->st.global_best = score;
    tr->st.global_best_restart = tr->st.restart;
    memcpy(tr->best, result, param_bytes(tr));
    nnrt__free(tr->best_rows);
    tr->best_rows = tr->rows;
    tr->n_best_rows = tr->n_rows;
    tr->rows = NULL;
    tr->n_rows = tr->cap_rows = 0;
  }
  return NNRT_OK;
}

/* The row of epoch e of the run just finished (1-based), or NULL. */
static const nnrt_epoch_row *run_row(const nnrt_trainer *tr, int64_t e) {
  int kept = tr->st.global_best_restart == tr->st.restart;
  const nnrt_epoch_row *rows = kept ? tr->best_rows : tr->rows;
  int64_t n = kept ? tr->n_best_rows : tr->n_rows;
  if (e <= 0)
    e = rows && n ? rows[n - 1].epoch : 0;
  for (int64_t i = 0; rows && i < n; i++)
    if (rows[i].epoch == e)
      return &rows[i];
  return NULL;
}

/* "restart 2/3  seed 2  epochs 30  loss …  acc …  val_loss 0.0812 (epoch 17)  val_acc …": the
 * last epoch's training scores, then the score the restarts are compared on: the validation
 * loss of the epoch kept (or, without validation, the training loss of the final weights). */
static void report_run(nnrt_trainer *tr) {
  const nnrt_epoch_row *last = run_row(tr, 0), *kept = run_row(tr, tr->run_score_epoch);
  FILE *f = tr->o.report;
  if (tr->o.verbosity < 1 || tr->o.s.restarts <= 1 || !f)
    return;
  fprintf(f, "restart %lld/%d  seed %llu  epochs %lld", (long long)tr->st.restart + 1,
          (int)tr->o.s.restarts, (unsigned long long)tr->st.run_seed, (long long)tr->st.epoch);
  if (tr->val && last && isfinite(last->loss))
    fprintf(f, "  loss %.6g", last->loss);
  nnrt__print_score(f, tr->metric, 0, last ? last->acc : NAN);
  fprintf(f, "  %s %.6g", tr->val ? "val_loss" : "loss", tr->run_score);
  if (tr->run_score_epoch > 0)
    fprintf(f, " (epoch %lld)", (long long)tr->run_score_epoch);
  nnrt__print_score(f, tr->metric, 1, kept ? kept->val_acc : NAN);
  fprintf(f, "%s\n", tr->st.global_best_restart == tr->st.restart ? "  (best so far)" : "");
  fflush(f);
}

static int save_best(nnrt_trainer *tr, const char *path, const nnrt_scaler *sc, nnrt_error *err) {
  if (!path)
    return NNRT_OK;
  nnrt_weights_extras x = {(nnrt_scaler *)sc, (nnrt_labels *)tr->o.labels, (nnrt_scaler *)tr->o.targets};
  return nnrt_weights_save_ex(path, tr->m, tr->best, &x, err);
}

/* Adds "; ..." to the message in err (err may be NULL). */
static void append(nnrt_error *err, const char *fmt, ...) NNRT_PRINTF(2, 3);
static void append(nnrt_error *err, const char *fmt, ...) {
  va_list ap;
  if (!err)
    return;
  size_t n = strlen(err->msg);
  va_start(ap, fmt);
  vsnprintf(err->msg + n, sizeof err->msg - n, fmt, ap);
  va_end(ap);
}

/* "SAVE.suffix" into buf; 0 if it does not fit. */
static int beside_save(const nnrt_trainer *tr, const char *suffix, char *buf, size_t cap) {
  int n = snprintf(buf, cap, "%s.%s", tr->o.save_path, suffix);
  return n > 0 && (size_t)n < cap;
}

/* After divergence: the run's last good weights (its best validation epoch, or its last
 * finished epoch) are kept in best while no run has succeeded, when they are better than the
 * other diverged runs' (compared on the loss finish_run compares on). Nothing is kept of a run
 * that diverged in its first epoch. */
static int keep_last_good(nnrt_trainer *tr, nnrt_error *err) {
  nnrt_metrics mt = {0};
  back_to_good(tr);
  if (tr->st.global_best_restart >= 0 || tr->st.epoch == 0)
    return NNRT_OK;
  const void *result = tr->val && isfinite(tr->st.run_best) ? tr->run_best : tr->params;
  int rc = nnrt_evaluate_as(tr->m, result, tr->val ? tr->val : tr->train, tr->metric, NULL, 0, &mt, err);
  if (rc)
    return rc;
  double score = isfinite(mt.loss) ? mt.loss : INFINITY;
  nnrt__mpi_bcast(&score, sizeof score);
  if (tr->diverged_kept && !(score < tr->diverged_score))
    return NNRT_OK;
  memcpy(tr->best, result, param_bytes(tr));
  tr->diverged_kept = 1;
  tr->diverged_score = score;
  return NNRT_OK;
}

/* Every run diverged: the best of their last good weights goes to a new file beside the save
 * path, never over it. err holds the divergence; what became of the weights is added to it. */
static void save_last_good(nnrt_trainer *tr, const nnrt_scaler *sc, nnrt_error *err) {
  char name[NNRT_PATH_CAP], chosen[NNRT_PATH_CAP];
  nnrt_error e2;
  nnrt_weights_extras x = {(nnrt_scaler *)sc, (nnrt_labels *)tr->o.labels, (nnrt_scaler *)tr->o.targets};
  int rc = NNRT_OK;
  if (!tr->o.save_path || nnrt__in_place(tr->o.save_path))
    return;
  if (!tr->diverged_kept) {
    append(err, "; no epoch had finished, so no weights were saved");
    return;
  }
  if (!beside_save(tr, "diverged", name, sizeof name))
    rc = nnrt__fail(&e2, NNRT_EUSAGE, "%s: path too long", tr->o.save_path);
  if (!rc)
    rc = nnrt__weights_save_new(name, tr->m, tr->best, &x, chosen, sizeof chosen, &e2);
  if (rc)
    append(err, "; the last good weights could not be saved: %s", e2.msg);
  else
    append(err, "; the last good weights were saved to %s (not to %s: only a run that succeeds "
           "replaces it)", chosen, tr->o.save_path);
}

/* "restart 2/5  seed 2  diverged: epoch 3: the loss became nan" (the advice comes once, at the
 * end of training). */
static void report_diverged_run(nnrt_trainer *tr, const nnrt_error *e) {
  const char *end = strstr(e->msg, ": training diverged");
  FILE *f = tr->o.report;
  if (tr->o.verbosity < 1 || tr->o.s.restarts <= 1 || !f)
    return;
  fprintf(f, "restart %lld/%d  seed %llu  diverged: %.*s\n", (long long)tr->st.restart + 1,
          (int)tr->o.s.restarts, (unsigned long long)tr->st.run_seed,
          (int)(end ? (size_t)(end - e->msg) : strlen(e->msg)), e->msg);
  fflush(f);
}

/* Interrupted: a checkpoint of the last finished epoch, to resume from. If the checkpoint
 * path cannot take it, a new file beside the save path (SAVE.interrupted) does. */
static int stop_with_checkpoint(nnrt_trainer *tr, const nnrt_scaler *sc, nnrt_error *err) {
  char name[NNRT_PATH_CAP], chosen[NNRT_PATH_CAP];
  const char *where = tr->o.checkpoint_path;
  nnrt_error e1, e2;
  back_to_good(tr);
  if (!where)
    return nnrt__fail(err, NNRT_EINTERRUPTED, "interrupted in epoch %lld of restart %lld (no checkpoint path)",
                      (long long)tr->st.epoch + 1, (long long)tr->st.restart + 1);
  int rc = nnrt__checkpoint_write(tr, where, sc, NULL, 0, &e1);
  /* (in one process only: under MPI the write is collective and only rank 0 knows the save path) */
  if (rc && nnrt__mpi_size() <= 1 && tr->o.save_path && !nnrt__in_place(tr->o.save_path) &&
      beside_save(tr, "interrupted", name, sizeof name) &&
      nnrt__checkpoint_write(tr, name, sc, chosen, sizeof chosen, &e2) == NNRT_OK) {
    warn(tr, "%s", e1.msg);
    where = chosen;
    rc = NNRT_OK;
  }
  if (rc)
    return nnrt__fail(err, NNRT_EINTERRUPTED, "interrupted in epoch %lld; no checkpoint could be written: %.900s",
                      (long long)tr->st.epoch + 1, e1.msg);
  return nnrt__fail(err, NNRT_EINTERRUPTED, "interrupted in epoch %lld: checkpoint after epoch %lld "
                    "written to %s; continue with --resume %s", (long long)tr->st.epoch + 1,
                    (long long)tr->st.epoch, where, where);
}

static int one_run(nnrt_trainer *tr, const nnrt_scaler *sc, int fresh, nnrt_error *err) {
  int outcome = EPOCH_DONE;
  if (fresh)
    start_run(tr);
  tr->run_start = nnrt__now();
  tr->run_samples = 0;
  tr->last_draw = 0;
  int rc = run_epochs(tr, sc, &outcome, err);
  nnrt__progress_clear(tr);
  if (rc == NNRT_EDIVERGED) {
    tr->diverged_err = *err;
    tr->diverged_restart = tr->st.restart;
    tr->n_diverged++;
    report_diverged_run(tr, err);
    return (rc = keep_last_good(tr, err)) != NNRT_OK ? rc : NNRT_EDIVERGED;
  }
  if (rc == NNRT_EINTERRUPTED)
    return stop_with_checkpoint(tr, sc, err);
  if (rc)
    return rc;
  if ((rc = finish_run(tr, err)) != NNRT_OK)
    return rc;
  report_run(tr);
  return NNRT_OK;
}

static void note_threads(nnrt_trainer *tr) {
  if (tr->o.threads > 1 && tr->batch == 1 && !tr->runtime_update && tr->o.verbosity >= 1)
    fprintf(tr->o.report, "note: batch 1 (per-sample SGD) runs on one thread; --threads %d ignored\n",
            (int)tr->o.threads);
  if (tr->o.s.decay == NNC_DECAY_PLATEAU && !tr->val && tr->o.verbosity >= 1)
    fprintf(tr->o.report, "note: decay plateau watches the training loss (there is no validation data)\n");
}

/* A checkpoint continues the training that wrote it: its restart's seed is seed + restart (the
 * seed also chooses the validation part and the restarts to come). */
static int check_same_seed(const nnrt_trainer *tr, nnrt_error *err) {
  uint64_t seed = tr->st.run_seed - (uint64_t)tr->st.restart;
  if (tr->st.run_seed == tr->o.s.seed + (uint64_t)tr->st.restart)
    return NNRT_OK;
  return nnrt__fail(err, NNRT_EUSAGE, "%s: the checkpoint was written by training with seed %llu (its restart %lld has "
                    "seed %llu), but this training has seed %llu; resume with --seed %llu", tr->o.resume_path,
                    (unsigned long long)seed, (long long)tr->st.restart + 1, (unsigned long long)tr->st.run_seed,
                    (unsigned long long)tr->o.s.seed, (unsigned long long)seed);
}

/* Whether params score, bit for bit, the loss the checkpoint holds for them on d (1), or not
 * (0, *got the loss they score); negative: the error of the evaluation. */
static int scores_again(const nnrt_trainer *tr, const void *params, const nnrt_dataset *d, double loss, double *got,
                        nnrt_error *err) {
  nnrt_metrics mt = {0};
  int rc = nnrt_evaluate_as(tr->m, params, d, tr->metric, tr->o.targets, 0, &mt, err);
  *got = mt.loss;
  return rc ? -rc : mt.loss == loss;
}

/* The checkpoint's losses of its weights, scored again on this training's data: the run's best
 * weights (RBST) on the validation part, and the weights kept from a finished restart (GBST) on
 * what finish_run scored them on (the validation part, else the training data). Another
 * split (--validation, --seed) or other data would judge the epochs, or compare the restarts
 * to come, on other samples, some of them trained on. Not under --shard-data (its scores are
 * means over the ranks). */
static int check_same_scores(const nnrt_trainer *tr, nnrt_error *err) {
  const char *path = tr->o.resume_path, *what = tr->val ? "validation part" : "training data";
  double got;
  int same;
  if (isfinite(tr->st.run_best) && !tr->val)
    return nnrt__fail(err, NNRT_EUSAGE, "%s: the checkpoint was written by training with a validation part (its best "
                      "validation loss is %g), but this training has none; resume with the --validation it had",
                      path, tr->st.run_best);
  if (nnrt__sharded())
    return NNRT_OK;
  if (isfinite(tr->st.run_best) && (same = scores_again(tr, tr->run_best, tr->val, tr->st.run_best, &got, err)) <= 0)
    return same < 0 ? -same : nnrt__fail(err, NNRT_EUSAGE, "%s: the run's best weights in the checkpoint score a "
                                         "validation loss of %.9g on this validation part, where the training that "
                                         "wrote it measured %.9g: its data, --validation or --seed differ from this "
                                         "training's; resume with the same", path, got, tr->st.run_best);
  if (tr->st.global_best_restart >= 0 && isfinite(tr->st.global_best) &&
      (same = scores_again(tr, tr->best, tr->val ? tr->val : tr->train, tr->st.global_best, &got, err)) <= 0)
    return same < 0 ? -same : nnrt__fail(err, NNRT_EUSAGE, "%s: the weights the checkpoint keeps (restart %lld) "
                                         "score a loss of %.9g on this %s, where the training that wrote it measured "
                                         "%.9g: its data, --validation or --seed differ from this training's; resume "
                                         "with the same", path, (long long)tr->st.global_best_restart + 1, got, what,
                                         tr->st.global_best);
  return NNRT_OK;
}

/* The checkpoint's run made one update per batch of each of its epochs: its step count t
 * (Adam's bias correction, `decay inverse`) is its epoch times the batches of one epoch of
 * this batch size and training set; another --batch would count the updates in other units. */
static int check_same_steps(const nnrt_trainer *tr, nnrt_error *err) {
  int64_t n = nnrt__shard_total(tr->train->n), per_epoch = (n + tr->batch - 1) / tr->batch;
  if (tr->st.steps % per_epoch == 0 && tr->st.steps / per_epoch == tr->st.epoch)
    return NNRT_OK;
  return nnrt__fail(err, NNRT_EUSAGE, "%s: the checkpoint's run made %lld updates in %lld epochs, where this training "
                    "makes %lld an epoch (batch %d of %lld training samples): its --batch, data or --validation "
                    "differ from this training's; resume with the same", tr->o.resume_path, (long long)tr->st.steps,
                    (long long)tr->st.epoch, (long long)per_epoch, (int)tr->batch, (long long)n);
}

/* A checkpoint (not a plain weights file) resumes only the training that wrote it. */
static int check_same_training(const nnrt_trainer *tr, nnrt_error *err) {
  int rc = tr->resumed_weights ? NNRT_OK : check_same_seed(tr, err);
  if (!rc && !tr->resumed_weights)
    rc = check_same_scores(tr, err);
  if (!rc && !tr->resumed_weights)
    rc = check_same_steps(tr, err);
  return rc;
}

/* Rank 0 reads the checkpoint (only it needs the file) and sends the state to the others. */
static int resume(nnrt_trainer *tr, nnrt_error *err) {
  int rc = nnrt__mpi_rank() == 0 ? nnrt__checkpoint_resume(tr, tr->o.resume_path, err) : NNRT_OK;
  if (!rc && nnrt__mpi_rank() == 0)
    rc = check_same_training(tr, err);
  int all = nnrt__mpi_agree(rc);
  if (all && !rc)
    return nnrt__fail(err, all, "rank 0 could not resume from %s", tr->o.resume_path);
  if (rc || nnrt__mpi_size() <= 1)
    return rc;
  void *bufs[] = {tr->params, tr->run_best, tr->best};
  for (int i = 0; i < 3; i++)
    nnrt__mpi_bcast(bufs[i], (int64_t)param_bytes(tr));
  nnrt__mpi_bcast(tr->velocity, (int64_t)state_bytes(tr));
  nnrt__mpi_bcast(&tr->st, sizeof tr->st);
  nnrt__mpi_bcast(&tr->plateau, sizeof tr->plateau);
  nnrt__mpi_bcast(&tr->resumed_weights, sizeof tr->resumed_weights);
  return NNRT_OK;
}

/* The log takes its name whatever the outcome: it is the record of what happened. A failure
 * to write it is the run's error, or is added to the error the run already has. */
static int close_log(nnrt_trainer *tr, int rc, nnrt_error *err) {
  nnrt_error e2;
  if (rc == NNRT_OK)
    return nnrt__log_close(tr, err);
  if (nnrt__log_close(tr, &e2) != NNRT_OK)
    append(err, "; and %s", e2.msg);
  return rc;
}

/* The kept weights scored on the validation part (or the training data): a classifier no
 * better than always answering the most common class, or a regression no better than the
 * mean of its targets (R² ≤ 0), has learned nothing. A warning, with the likely cause: the
 * weights are still saved and the exit status stays 0 (they are what training found). */
static void warn_if_chance(nnrt_trainer *tr) {
  const nnrt_dataset *d = tr->val ? tr->val : tr->train;
  const char *where = tr->val ? "validation data" : "training data";
  nnrt_metrics mt = {0};
  nnrt_error e;
  char advice[512];
  if (tr->o.s.epochs == 0 || tr->st.global_best_restart < 0 || tr->metric == NNC_METRIC_MULTILABEL ||
      tr->o.verbosity < 1 || nnrt__mpi_rank() > 0 ||
      nnrt__trainer_evaluate(tr, tr->best, d, tr->metric, tr->o.targets, NNRT_EVAL_NO_LOSS, &mt, &e) != NNRT_OK)
    return;
  double base = tr->metric == NNC_METRIC_CLASSIFICATION ? nnrt__majority_fraction(d) : NAN;
  int regression = tr->metric == NNC_METRIC_REGRESSION;
  if (regression ? !(mt.r2 <= 0) : !(base < 1 && mt.accuracy <= base + 1e-12))
    return;
  nnrt__advice(tr, 0, advice, sizeof advice); /* a pass over the data: only for a warning */
  if (regression)
    warn(tr, "R² %.4g on the %s: the network predicts no better than the mean of the targets (%s)", mt.r2,
         where, advice);
  else
    warn(tr, "accuracy %.2f%% on the %s is no better than always answering the most common class "
         "(%.2f%%): the network has learned nothing (%s)", 100 * mt.accuracy, where, 100 * base, advice);
  nnrt_metrics_clear(&mt);
}

/* Some restarts diverged: a warning when another succeeded (it is kept), else the last
 * divergence is the error and the best last good weights go to SAVE.diverged. Then a run
 * that learned nothing is a warning too. */
static int after_restarts(nnrt_trainer *tr, const nnrt_scaler *sc, nnrt_error *err) {
  char advice[512], first[sizeof err->msg];
  int n = (int)tr->o.s.restarts;
  if (tr->n_diverged && tr->st.global_best_restart >= 0) {
    nnrt__advice(tr, 1, advice, sizeof advice);
    warn(tr, "%d of %d restarts diverged (%s); the best of the others is kept", (int)tr->n_diverged, n, advice);
  } else if (tr->n_diverged) {
    *err = tr->diverged_err;
    if (n > 1) {
      snprintf(first, sizeof first, "%s", err->msg);
      if (tr->n_diverged == n)
        snprintf(err->msg, sizeof err->msg, "all %d restarts diverged; restart %lld: %.900s", n,
                 (long long)tr->diverged_restart + 1, first);
      else
        snprintf(err->msg, sizeof err->msg, "%d of %d restarts diverged and none finished; restart %lld: %.900s",
                 (int)tr->n_diverged, n, (long long)tr->diverged_restart + 1, first);
    }
    save_last_good(tr, sc, err);
    return NNRT_EDIVERGED;
  }
  warn_if_chance(tr);
  return NNRT_OK;
}

int nnrt_trainer_run(nnrt_trainer *tr, const nnrt_scaler *scaler, nnrt_train_result *res,
                     nnrt_error *err) {
  int rc = NNRT_OK, fresh = 1;
  nnrt__stop_flag = 0;
  note_threads(tr);
  if (tr->o.resume_path) {
    if ((rc = resume(tr, err)) != NNRT_OK)
      return rc;
    fresh = tr->resumed_weights;
  }
  for (; tr->st.restart < tr->o.s.restarts; tr->st.restart++, fresh = 1)
    if ((rc = one_run(tr, scaler, fresh, err)) != NNRT_OK && rc != NNRT_EDIVERGED)
      break;
  if (rc == NNRT_OK || rc == NNRT_EDIVERGED)
    rc = after_restarts(tr, scaler, err);
  if (res) {
    memset(res, 0, sizeof *res);
    res->best_restart = (int32_t)tr->st.global_best_restart;
    res->best_loss = tr->st.global_best;
    res->diverged = rc == NNRT_EDIVERGED;
    res->interrupted = rc == NNRT_EINTERRUPTED;
    res->epochs_run = tr->n_best_rows;
    res->best_epoch = tr->kept_epoch;
    res->metric = tr->metric;
    res->restarts_diverged = tr->n_diverged;
  }
  if (rc == NNRT_OK)
    rc = save_best(tr, tr->o.save_path, scaler, err);
  int saved = rc == NNRT_OK && tr->o.save_path;
  if (rc == NNRT_OK && tr->o.plot_path)
    rc = nnrt__plot_svg(tr->o.plot_path, tr->m->name, tr->best_rows, tr->n_best_rows, tr->metric, err);
  rc = close_log(tr, rc, err);
  if (rc && saved)
    append(err, " (the weights were saved to %s)", tr->o.save_path);
  return rc;
}
