/* runtime/metrics.c — forward passes over whole datasets, and what they score.
 *
 * Consumes: a model, its parameters and a dataset.
 * Produces: outputs for every sample (nnrt_predict), and nnrt_metrics: mean loss (through the
 * model's own loss_grad, so it is the loss being trained), accuracy and a confusion matrix for
 * classifiers (argmax, or output ≥ 0.5 for a single output), MSE and R² for regressions.
 */
#include <math.h>
#include <string.h>

#include "internal.h"

#define CHUNK 256

typedef struct pass_buffers {
  void *scratch, *y, *grad;
} pass_buffers;

static void free_buffers(pass_buffers *b) {
  nnrt__free_aligned(b->scratch);
  nnrt__free(b->y);
  nnrt__free(b->grad);
}

static int alloc_buffers(const nnc_model *m, int want_grad, pass_buffers *b, nnrt_error *err) {
  memset(b, 0, sizeof *b);
  b->scratch = nnrt__alloc_aligned((size_t)(m->scratch_fixed + CHUNK * m->scratch_per_sample));
  b->y = nnrt__alloc_array((int64_t)CHUNK * m->n_outputs, (size_t)m->real_bytes);
  if (want_grad)
    b->grad = nnrt__alloc_array(m->n_params, (size_t)m->real_bytes);
  if (!b->scratch || !b->y || (want_grad && !b->grad)) {
    free_buffers(b);
    return nnrt__oom(err);
  }
  return NNRT_OK;
}

int nnrt_predict(const nnc_model *m, const void *params, const nnrt_dataset *d, void *y,
                 nnrt_error *err) {
  pass_buffers b;
  int rc = alloc_buffers(m, 0, &b, err);
  if (rc)
    return rc;
  for (int64_t s = 0; s < d->n; s += CHUNK) {
    int64_t n = d->n - s < CHUNK ? d->n - s : CHUNK;
    m->forward(params, n, nnrt__at(d->x, d->real_bytes, s * d->n_inputs),
               nnrt__at(y, m->real_bytes, s * m->n_outputs), b.scratch);
  }
  free_buffers(&b);
  return NNRT_OK;
}

static int32_t class_of(const void *v, int32_t rb, int64_t row, int32_t no) {
  if (no == 1)
    return nnrt__get(v, rb, row) >= 0.5;
  int32_t best = 0;
  double bv = nnrt__get(v, rb, row * no);
  for (int32_t o = 1; o < no; o++) {
    double x = nnrt__get(v, rb, row * no + o);
    if (x > bv) {
      bv = x;
      best = o;
    }
  }
  return best;
}

typedef struct tally {
  int64_t correct;
  double sse;
} tally;

static void score_chunk(const nnrt_dataset *d, const void *y, int64_t s, int64_t n, tally *ta,
                        nnrt_metrics *mt) {
  int32_t no = d->n_outputs, rb = d->real_bytes;
  for (int64_t k = 0; k < n; k++) {
    for (int32_t o = 0; o < no; o++) {
      double e = nnrt__get(y, rb, k * no + o) - nnrt_dataset_target(d, s + k, o);
      ta->sse += e * e;
    }
    if (!mt->classifier)
      continue;
    int32_t pred = class_of(y, rb, k, no);
    int32_t truth = class_of(d->t, rb, s + k, no);
    ta->correct += pred == truth;
    if (mt->confusion)
      mt->confusion[(int64_t)truth * mt->n_classes + pred]++;
  }
}

static double total_sum_of_squares(const nnrt_dataset *d) {
  double ss = 0;
  for (int32_t o = 0; o < d->n_outputs; o++) {
    double mean = 0;
    for (int64_t k = 0; k < d->n; k++)
      mean += nnrt_dataset_target(d, k, o);
    mean /= (double)d->n;
    for (int64_t k = 0; k < d->n; k++) {
      double e = nnrt_dataset_target(d, k, o) - mean;
      ss += e * e;
    }
  }
  return ss;
}

static int setup_metrics(const nnc_model *m, const nnrt_dataset *d, int flags, nnrt_metrics *mt,
                         nnrt_error *err) {
  memset(mt, 0, sizeof *mt);
  mt->n = d->n;
  mt->classifier = m->classifier || d->onehot;
  mt->n_classes = m->n_outputs == 1 ? 2 : m->n_outputs;
  if (mt->classifier && (flags & NNRT_EVAL_CONFUSION) && mt->n_classes <= 4096) {
    mt->confusion = nnrt__alloc_array((int64_t)mt->n_classes * mt->n_classes, sizeof(int64_t));
    if (!mt->confusion)
      return nnrt__oom(err);
  }
  return NNRT_OK;
}

int nnrt_evaluate(const nnc_model *m, const void *params, const nnrt_dataset *d, int flags,
                  nnrt_metrics *mt, nnrt_error *err) {
  pass_buffers b;
  tally ta = {0, 0};
  int want_loss = !(flags & NNRT_EVAL_NO_LOSS);
  if (!d->t || d->n == 0)
    return nnrt__fail(err, NNRT_EUSAGE, "evaluation needs a dataset with targets");
  int rc = setup_metrics(m, d, flags, mt, err);
  if (!rc && (rc = alloc_buffers(m, want_loss, &b, err)) != NNRT_OK)
    nnrt_metrics_clear(mt);
  if (rc)
    return rc;
  for (int64_t s = 0; s < d->n; s += CHUNK) {
    int64_t n = d->n - s < CHUNK ? d->n - s : CHUNK;
    const void *x = nnrt__at(d->x, d->real_bytes, s * d->n_inputs);
    const void *t = nnrt__at(d->t, d->real_bytes, s * d->n_outputs);
    if (want_loss && m->evaluate) {
      mt->loss += m->evaluate(params, n, x, t, b.y, b.scratch);
    } else {
      m->forward(params, n, x, b.y, b.scratch);
      if (want_loss) mt->loss += m->loss_grad(params, n, x, t, b.grad, b.scratch);
    }
    score_chunk(d, b.y, s, n, &ta, mt);
  }
  mt->loss = want_loss ? mt->loss / (double)d->n : NAN;
  mt->accuracy = mt->classifier ? (double)ta.correct / (double)d->n : NAN;
  mt->mse = ta.sse / ((double)d->n * m->n_outputs);
  double sst = total_sum_of_squares(d);
  mt->r2 = sst > 0 ? 1 - ta.sse / sst : NAN;
  free_buffers(&b);
  return NNRT_OK;
}

void nnrt_metrics_clear(nnrt_metrics *mt) {
  nnrt__free(mt->confusion);
  mt->confusion = NULL;
}
