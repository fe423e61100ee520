/* runtime/step.c — one SGD step, on one thread or split among several.
 *
 * Consumes: the trainer's sample order and data, the step size of this step.
 * Produces: updated parameters (and velocity). On one thread the model's fused train_step
 * does everything. With threads > 1 and a batch > 1, plain SGD (momentum 0, no clipping)
 * takes the model's owner-computes step: each worker runs train_deltas on its contiguous
 * share of the batch in its own scratch, then train_rows steps the rows of every layer it
 * owns from every share's deltas; no gradient buffer, and the parameters are the bits of one
 * thread's train_step. Otherwise each worker runs loss_grad on its contiguous share of the
 * batch into its own gradient buffer and scratch; the gradients are summed in worker order
 * and the update v = m·v − rate·g/n, p += v is applied here, so a given seed and thread count
 * always give the same numbers. Clipping (clip.c) takes the
 * batch's whole gradient: the threads' gradients are summed first, then clipped, then the
 * update runs (optim.c's rule: clipping never takes the fused SGD step).
 * Under mpirun (nnrt__mpi_size() > 1) each process takes its contiguous share of the global
 * batch (rows [n·r/K, n·(r+1)/K) for rank r of K), splits it among its threads the same way,
 * sums its threads' gradients, and MPI_Allreduce sums the processes' gradients in place in the
 * model's precision; every rank then clips the same sum and applies the same update. The
 * batch's loss and the stop request (SIGINT/SIGTERM on any rank) are summed in a second,
 * two-double allreduce, so every rank sees the same loss and stops at the same step. With
 * --shard-data a rank takes, of the global positions [from, from+n), those ≡ rank mod K, from
 * its own order of its own rows.
 * On one thread of one process, an optimizer of optim.c (adam, rmsprop, sgd with options...)
 * steps beside the backward sweep through the model's loss_grad_update: each layer's weights
 * are updated by the same rule as soon as their gradient is complete, while it is in cache,
 * so the numbers are those of the update after the whole gradient. Not with clipping (it
 * needs the whole gradient first), full-batch optimizers, threads or processes, nor when
 * NNRT_FUSED_UPDATE=0 is set in the environment (the update then runs after the gradient).
 * A worker sums the gradient of its share in calls of at most nnc_batch_part_samples rows, so
 * that its scratch is the size of a call whatever the batch's (full-batch optimizers, rprop and
 * irprop, take the whole training set as one batch); threads that compute what they own do so
 * only while each one's part is no larger (a larger part steps slower than its gradient does).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpi_api.h"
#include "nnc/limits.h"
#include "nnc/optim.h"
#include "nnc/schedule.h"
#include "trainer.h"

/* ---- threads ---- */

/* The core's L2 in bytes, 0 where the C library does not say. */
static long l2_bytes(void) {
#ifdef _SC_LEVEL2_CACHE_SIZE
  long v = sysconf(_SC_LEVEL2_CACHE_SIZE);
  return v > 0 ? v : 0;
#else
  return 0;
#endif
}

/* Where share w of T of n things starts (share w is [start(w), start(w + 1))). */
static int64_t share_start(int64_t n, int64_t w, int64_t T) { return n * w / T; }

/* Whether the environment sets var to 0 (a path turned off); read once, into *cached. */
static int switched_off(const char *var, int *cached) {
  if (*cached < 0) {
    const char *v = getenv(var);
    *cached = v && strcmp(v, "0") == 0;
  }
  return *cached;
}

int nnrt__threads_setup(nnrt_trainer *tr, nnrt_error *err) {
  const nnc_model *m = tr->m;
  int n = tr->o.threads, k = nnrt__mpi_size();
  int64_t share = ((tr->batch + k - 1) / k + n - 1) / n, part = nnc_batch_part_samples(m->scratch_per_sample);
  if (share > part)
    share = part;
  tr->grad_chunk = share > 0 ? share : 1;
  tr->pull_params = (double)m->n_params * m->real_bytes <= (double)l2_bytes();
  int rc = n > 1 ? nnrt__pool_create(n, &tr->pool, err) : NNRT_OK;
  if (rc)
    return rc;
  tr->grads = nnrt__alloc_array(n, sizeof(void *));
  tr->scratches = nnrt__alloc_array(n, sizeof(void *));
  tr->losses = nnrt__alloc_array(n, sizeof(double));
  tr->part_n = nnrt__alloc_array(n, sizeof(int64_t));
  tr->part_x = nnrt__alloc_array(n, sizeof(void *));
  if (!tr->grads || !tr->scratches || !tr->losses || !tr->part_n || !tr->part_x)
    return nnrt__oom(err);
  for (int w = 0; w < n; w++) {
    tr->grads[w] = nnrt__alloc_array_aligned(m->n_params, (size_t)m->real_bytes);
    tr->scratches[w] = nnrt__alloc_aligned((size_t)(m->scratch_fixed + share * m->scratch_per_sample));
    if (!tr->grads[w] || !tr->scratches[w])
      return nnrt__oom(err);
  }
  return NNRT_OK;
}

void nnrt__threads_free(nnrt_trainer *tr) {
  nnrt__pool_destroy(tr->pool);
  for (int w = 0; tr->grads && w < tr->o.threads; w++)
    nnrt__free_aligned(tr->grads[w]);
  for (int w = 0; tr->scratches && w < tr->o.threads; w++)
    nnrt__free_aligned(tr->scratches[w]);
  nnrt__free(tr->grads);
  nnrt__free(tr->scratches);
  nnrt__free(tr->losses);
  nnrt__free(tr->part_n);
  nnrt__free(tr->part_x);
}

typedef struct grad_job {
  nnrt_trainer *tr;
  int64_t n;
  const int64_t *rows;          /* the dataset rows of the gathered batch (dropout's masks) */
} grad_job;

/* Worker w takes rows [w·n/T, (w+1)·n/T) of the gathered batch, grad_chunk rows per call. */
static void grad_worker(void *ctx, int w) {
  grad_job *job = ctx;
  nnrt_trainer *tr = job->tr;
  const nnc_model *m = tr->m;
  int64_t T = tr->o.threads, lo = share_start(job->n, w, T), hi = share_start(job->n, w + 1, T);
  memset(tr->grads[w], 0, (size_t)m->n_params * (size_t)m->real_bytes);
  tr->losses[w] = 0;
  for (int64_t a = lo; a < hi; a += tr->grad_chunk) {
    int64_t rows = hi - a < tr->grad_chunk ? hi - a : tr->grad_chunk;
    if (m->n_dropout)
      nnrt__dropout_masks(m, tr->scratches[w], job->rows + a, rows, tr->st.run_seed, tr->epoch);
    tr->losses[w] += m->loss_grad(tr->params, rows, nnrt__at(tr->xb, m->real_bytes, a * m->n_inputs),
                                  nnrt__at(tr->tb, m->real_bytes, a * m->n_outputs), tr->grads[w],
                                  tr->scratches[w]);
  }
}

typedef struct update_job {
  nnrt_trainer *tr;
  double scale, momentum;
  int n_grads;                  /* gradient buffers to sum: the threads, or 1 after an allreduce */
  double rate;                  /* for optim.c: the step size, scale = rate/n */
  int64_t n;                    /* samples in the batch */
} update_job;

/* Worker w updates parameters [w·P/T, (w+1)·P/T): g = Σ over workers in worker order, then
 * v = m·v − scale·g, p += v (v not stored without momentum). Typed loops over restrict
 * pointers with the cases split outside them, so they vectorise; with one or two buffers
 * (the common cases) the sum is never stored: every pass over these arrays misses L2. More
 * buffers are first summed into the first one. */
#define UPDATE_SLICE(real)                                                                      \
  do {                                                                                          \
    real *restrict p = (real *)tr->params + lo, *restrict v = (real *)tr->velocity + lo;       \
    real *restrict g0 = (real *)tr->grads[0] + lo;                                              \
    const real *restrict g1 = job->n_grads == 2 ? (const real *)tr->grads[1] + lo : NULL;      \
    const real s = (real)job->scale, mu = (real)job->momentum;                                 \
    int64_t len = hi - lo;                                                                      \
    for (int k = 1; k < job->n_grads && !g1; k++) {                                             \
      const real *restrict gk = (const real *)tr->grads[k] + lo;                                \
      for (int64_t i = 0; i < len; i++)                                                         \
        g0[i] += gk[i];                                                                         \
    }                                                                                           \
    if (mu > 0 && g1) {                                                                         \
      for (int64_t i = 0; i < len; i++) {                                                       \
        v[i] = mu * v[i] - s * (g0[i] + g1[i]);                                                 \
        p[i] += v[i];                                                                           \
      }                                                                                         \
    } else if (mu > 0) {                                                                        \
      for (int64_t i = 0; i < len; i++) {                                                       \
        v[i] = mu * v[i] - s * g0[i];                                                           \
        p[i] += v[i];                                                                           \
      }                                                                                         \
    } else if (g1) {                                                                            \
      for (int64_t i = 0; i < len; i++)                                                         \
        p[i] -= s * (g0[i] + g1[i]);                                                            \
    } else {                                                                                    \
      for (int64_t i = 0; i < len; i++)                                                         \
        p[i] -= s * g0[i];                                                                      \
    }                                                                                           \
  } while (0)

/* grads[0] += grads[1] + ... over parameters [lo, hi), in worker order. */
#define SUM_SLICE(real)                                                                         \
  do {                                                                                          \
    real *restrict g0 = (real *)tr->grads[0];                                                   \
    for (int k = 1; k < job->n_grads; k++) {                                                    \
      const real *restrict gk = (const real *)tr->grads[k];                                     \
      for (int64_t i = lo; i < hi; i++)                                                         \
        g0[i] += gk[i];                                                                         \
    }                                                                                           \
  } while (0)

static void update_worker(void *ctx, int w) {
  update_job *job = ctx;
  nnrt_trainer *tr = job->tr;
  int T = tr->pool ? tr->o.threads : 1;
  int64_t P = tr->m->n_params, lo = share_start(P, w, T), hi = share_start(P, w + 1, T);
  if (tr->runtime_update) {
    if (tr->m->real_bytes == 4)
      SUM_SLICE(float);
    else
      SUM_SLICE(double);
    nnrt__optim_update(tr->m, &tr->o.s, tr->params, tr->velocity, tr->grads[0], lo, hi, job->rate,
                       1 / (double)job->n, tr->st.steps + 1);
  } else if (tr->m->real_bytes == 4)
    UPDATE_SLICE(float);
  else
    UPDATE_SLICE(double);
}

/* grads[0] += grads[1] + ... in worker order. */
#define SUM_GRADS(real)                                                                         \
  do {                                                                                          \
    real **g = (real **)tr->grads;                                                              \
    for (int64_t i = 0; i < tr->m->n_params; i++)                                               \
      for (int k = 1; k < tr->o.threads; k++)                                                   \
        g[0][i] += g[k][i];                                                                     \
  } while (0)

static void sum_thread_grads(nnrt_trainer *tr) {
  if (tr->o.threads <= 1)
    return;
  if (tr->m->real_bytes == 4)
    SUM_GRADS(float);
  else
    SUM_GRADS(double);
}

/* Clipping (clip.c) needs the batch's whole gradient: the threads' gradients are summed into
 * the first buffer first. Returns the number of gradient buffers left to sum. */
static int clip_batch(nnrt_trainer *tr, int64_t n, int n_grads) {
  if (!nnc_schedule_needs_gradient(&tr->o.s))
    return n_grads;
  if (n_grads > 1)
    sum_thread_grads(tr);
  nnrt__clip_grad(tr->m, &tr->o.s, tr->grads[0], 1 / (double)n);
  return 1;
}

/* The gradients on the threads (or on this one), then the update: the fused SGD's, or
 * optim.c's. */
static double threaded_batch(nnrt_trainer *tr, int64_t from, int64_t n, double rate) {
  grad_job job = {tr, n, tr->order + from};
  int T = tr->pool ? tr->o.threads : 1;
  if (tr->pool)
    nnrt__pool_run(tr->pool, grad_worker, &job);
  else
    grad_worker(&job, 0);
  double loss = 0;
  for (int w = 0; w < T; w++)
    loss += tr->losses[w];
  if (isfinite(loss)) {
    update_job up = {tr, rate / (double)n, tr->o.s.momentum, clip_batch(tr, n, T), rate, n};
    if (tr->pool)
      nnrt__pool_run(tr->pool, update_worker, &up);
    else
      update_worker(&up, 0);
  }
  return loss;
}

/* ---- threads that each compute what they own (the model's train_deltas, train_rows) ---- */

typedef struct owner_job {
  nnrt_trainer *tr;
  int64_t n;
  const int64_t *rows;          /* the dataset rows of the gathered batch (dropout's masks) */
  double rate;
} owner_job;

/* Reads every parameter, a cache line at a time, when they fit this core's L2: the rows the
 * other threads stepped last are in their cores' caches, and a sequential read brings them
 * over at streaming bandwidth, where the forward pass's pattern (a few rows at a time) waits
 * on each line. On 2 cores whose caches are far apart (a 500 ns round trip) this took
 * train --threads 2 at batch 64 from 173k to 199k samples/s (bench/README.md). */
static void pull_params(const nnrt_trainer *tr) {
  if (!tr->pull_params)
    return;
  size_t bytes = (size_t)tr->m->n_params * (size_t)tr->m->real_bytes;
  const volatile unsigned char *p = tr->params;
  for (size_t i = 0; i < bytes; i += 64)
    (void)p[i];
}

/* Worker w: gathers its part of the batch, then its forward pass and deltas, in its scratch. */
static void deltas_worker(void *ctx, int w) {
  owner_job *job = ctx;
  nnrt_trainer *tr = job->tr;
  const nnc_model *m = tr->m;
  int64_t lo = share_start(job->n, w, tr->o.threads), n = tr->part_n[w];
  nnrt__gather(tr->train, job->rows + lo, n, tr->part_x[w], nnrt__at(tr->tb, m->real_bytes, lo * m->n_outputs));
  pull_params(tr);
  if (m->n_dropout)
    nnrt__dropout_masks(m, tr->scratches[w], job->rows + lo, n, tr->st.run_seed, tr->epoch);
  tr->losses[w] = m->train_deltas(tr->params, n, tr->part_x[w], nnrt__at(tr->tb, m->real_bytes, lo * m->n_outputs),
                                  tr->scratches[w]);
}

/* Worker w: the SGD step of the rows it owns, from every part's deltas. */
static void rows_worker(void *ctx, int w) {
  owner_job *job = ctx;
  nnrt_trainer *tr = job->tr;
  tr->m->train_rows(tr->params, tr->o.threads, tr->part_n, (const void *const *)tr->part_x, tr->scratches, job->rate,
                    w, tr->o.threads);
}

/* Whether a batch of n takes the owner-computes step: plain SGD without momentum or clipping,
 * on threads of one process, with a model that has it (NNRT_OWNER_COMPUTES=0 in the
 * environment turns it off: the threads then sum per-thread gradients). */
static int owner_computes(const nnrt_trainer *tr, int64_t n) {
  static int off = -1;
  return !switched_off("NNRT_OWNER_COMPUTES", &off) && tr->pool && tr->m->train_rows && tr->m->train_deltas && !tr->runtime_update &&
         tr->o.s.momentum == 0 && !nnc_schedule_needs_gradient(&tr->o.s) && nnrt__mpi_size() <= 1 && n > 1 &&
         (n + tr->o.threads - 1) / tr->o.threads <= tr->grad_chunk;
}

/* Every thread's deltas for its contiguous part (gathered by that thread), then every
 * thread's rows: the parameters are the bits of one thread's train_step on the whole batch.
 * No update when the loss is not finite. */
static double owner_batch(nnrt_trainer *tr, int64_t from, int64_t n, double rate) {
  const nnc_model *m = tr->m;
  int T = tr->o.threads;
  for (int w = 0; w < T; w++) {
    int64_t lo = share_start(n, w, T);
    tr->part_n[w] = share_start(n, w + 1, T) - lo;
    tr->part_x[w] = nnrt__at(tr->xb, m->real_bytes, lo * m->n_inputs);
  }
  owner_job job = {tr, n, tr->order + from, rate};
  nnrt__pool_run(tr->pool, deltas_worker, &job);
  double loss = 0;
  for (int w = 0; w < T; w++)
    loss += tr->losses[w];
  if (isfinite(loss))
    nnrt__pool_run(tr->pool, rows_worker, &job);
  return loss;
}

/* This rank's share of the global batch order[from, from+n), the allreduce, the update. */
static double mpi_batch(nnrt_trainer *tr, int64_t from, int64_t n, double rate) {
  const nnc_model *m = tr->m;
  int64_t k = nnrt__mpi_size(), r = nnrt__mpi_rank(), lo = n * r / k, hi = n * (r + 1) / k, at = from + lo;
  if (nnrt__sharded()) { /* --shard-data: global positions from..from+n−1 of this rank, in its own order */
    at = lo = nnrt__shard_before(from);
    hi = nnrt__shard_before(from + n);
  }
  grad_job job = {tr, hi - lo, tr->order + at};
  double sums[2] = {0, nnrt__stop_flag ? 1 : 0};
  nnrt__gather(tr->train, tr->order + at, hi - lo, tr->xb, tr->tb);
  if (tr->pool)
    nnrt__pool_run(tr->pool, grad_worker, &job);
  else
    grad_worker(&job, 0);
  for (int w = 0; w < tr->o.threads; w++)
    sums[0] += tr->losses[w];
  sum_thread_grads(tr);
  nnrt__mpi_sum_reals(tr->grads[0], m->n_params, m->real_bytes);
  nnrt__mpi_sum_reals(sums, 2, 8);
  tr->stop_agreed = sums[1] > 0;
  if (isfinite(sums[0])) {
    update_job up = {tr, rate / (double)n, tr->o.s.momentum, clip_batch(tr, n, 1), rate, n};
    if (tr->pool)
      nnrt__pool_run(tr->pool, update_worker, &up);
    else
      update_worker(&up, 0);
  }
  return sums[0];
}

/* ---- the optimizer's update beside the backward sweep (one thread, one process) ---- */

typedef struct fused_update {
  nnrt_trainer *tr;
  double rate, inv_n;
} fused_update;

/* The model's callback: optim.c's rule over parameters [lo, hi) of this step. */
static void fused_update_range(void *ctx, int64_t lo, int64_t hi) {
  fused_update *u = ctx;
  nnrt_trainer *tr = u->tr;
  nnrt__optim_update(tr->m, &tr->o.s, tr->params, tr->velocity, tr->grads[0], lo, hi, u->rate, u->inv_n,
                     tr->st.steps + 1);
}

/* Whether this batch of n can take the update beside the backward sweep. */
static int fused_update_valid(const nnrt_trainer *tr, int64_t n) {
  static int off = -1;
  return !switched_off("NNRT_FUSED_UPDATE", &off) && tr->runtime_update && tr->m->loss_grad_update && !tr->pool && nnrt__mpi_size() <= 1 &&
         n >= 1 && n <= tr->grad_chunk && !nnc_schedule_needs_gradient(&tr->o.s) &&
         !nnc_optimizer_full_batch(tr->o.s.optimizer);
}

static double fused_batch(nnrt_trainer *tr, int64_t from, int64_t n, double rate) {
  const nnc_model *m = tr->m;
  fused_update u = {tr, rate, 1 / (double)n};
  if (m->n_dropout)
    nnrt__dropout_masks(m, tr->scratches[0], tr->order + from, n, tr->st.run_seed, tr->epoch);
  return m->loss_grad_update(tr->params, n, tr->xb, tr->tb, tr->grads[0], tr->scratches[0], fused_update_range, &u);
}

/* Per-sample SGD over samples [from, from + n) of the epoch's order through the model's
 * pipelined train_sequence: the same steps as n batches of one. */
double nnrt__train_sequence(nnrt_trainer *tr, int64_t from, int64_t n, int64_t epoch) {
  const nnc_model *m = tr->m;
  for (int64_t k = 0; k < n; k++)
    tr->seq_rates[k] = nnrt__rate_at(&tr->o.s, &tr->plateau, tr->st.steps + k, epoch);
  nnrt__gather(tr->train, tr->order + from, n, tr->xb, tr->tb);
  tr->st.steps += n;
  return m->train_sequence(tr->params, n, tr->xb, tr->tb, tr->seq_rates, tr->scratch);
}

double nnrt__train_batch(nnrt_trainer *tr, int64_t from, int64_t n, double rate) {
  const nnc_model *m = tr->m;
  const nnrt_dataset *d = tr->train;
  if (n == 1 && !tr->runtime_update) { /* per-sample SGD straight from the dataset, no copy */
    int64_t k = tr->order[from];
    if (m->n_dropout)
      nnrt__dropout_masks(m, tr->scratch, &k, 1, tr->st.run_seed, tr->epoch);
    return m->train_step(tr->params, tr->velocity, 1, nnrt__at(d->x, d->real_bytes, k * d->n_inputs),
                         nnrt__at(d->t, d->real_bytes, k * d->n_outputs), rate, tr->o.s.momentum,
                         tr->scratch);
  }
  if (nnrt__mpi_size() > 1)
    return mpi_batch(tr, from, n, rate);
  if (owner_computes(tr, n))
    return owner_batch(tr, from, n, rate);
  nnrt__gather(d, tr->order + from, n, tr->xb, tr->tb);
  if (fused_update_valid(tr, n))
    return fused_batch(tr, from, n, rate);
  if (tr->pool || tr->runtime_update)
    return threaded_batch(tr, from, n, rate);
  if (m->n_dropout)
    nnrt__dropout_masks(m, tr->scratch, tr->order + from, n, tr->st.run_seed, tr->epoch);
  return m->train_step(tr->params, tr->velocity, n, tr->xb, tr->tb, rate, tr->o.s.momentum,
                       tr->scratch);
}
