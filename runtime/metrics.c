/* runtime/metrics.c — forward passes over whole datasets, and what they score.
 *
 * Consumes: a model, its parameters, a dataset and a metric (enum nnc_metric).
 * Produces: outputs for every sample (nnrt_predict); the metric a network is scored by when
 * none is given (nnrt_metric_resolve, rules in nnc/nnrt.h); and nnrt_metrics: mean loss
 * (through the model's own loss_grad, so it is the loss being trained) and, by metric,
 * accuracy, per-class true/false positives and false negatives and a confusion matrix (at
 * most NNRT_CONFUSION_MAX classes) for classifiers; exact-match ratio, hamming score and
 * per-label counts for multi-label networks; MSE, RMSE, MAE and R² for regressions, in the
 * targets' original units when the network was trained on scaled targets.
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
  int rc = nnrt_cpu_check(m, err);
  if (!rc)
    rc = alloc_buffers(m, 0, &b, err);
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

/* ---- which metric ---- */

const char *nnrt_metric_name(int32_t metric) {
  static const char *const names[] = {"auto", "classification", "multilabel", "regression"};
  return metric >= 0 && metric <= NNC_METRIC_REGRESSION ? names[metric] : "?";
}

/* Targets equal to the inputs, sample by sample: an autoencoder. */
static int targets_are_inputs(const nnrt_dataset *d) {
  if (d->n_inputs != d->n_outputs)
    return 0;
  for (int64_t k = 0; k < d->n; k++)
    for (int32_t i = 0; i < d->n_inputs; i++)
      if (nnrt_dataset_input(d, k, i) != nnrt_dataset_target(d, k, i))
        return 0;
  return 1;
}

/* Every target 0 or 1 (*binary), and exactly one 1 per sample (*one_hot). */
static void target_shape(const nnrt_dataset *d, int *binary, int *one_hot) {
  *binary = *one_hot = 1;
  for (int64_t k = 0; k < d->n && *binary; k++) {
    int ones = 0;
    for (int32_t o = 0; o < d->n_outputs; o++) {
      double t = nnrt_dataset_target(d, k, o);
      *binary &= t == 0 || t == 1;
      ones += t == 1;
    }
    *one_hot &= ones == 1;
  }
  *one_hot &= *binary;
}

int32_t nnrt_metric_resolve(const nnc_model *m, int32_t metric, const nnrt_dataset *d) {
  int binary, one_hot;
  if (metric != NNC_METRIC_AUTO)
    return metric;
  if (d && d->onehot)
    return NNC_METRIC_CLASSIFICATION;
  if (!d || !d->t)
    return m->classifier ? NNC_METRIC_CLASSIFICATION : NNC_METRIC_REGRESSION;
  if (!m->classifier || targets_are_inputs(d))
    return NNC_METRIC_REGRESSION;
  target_shape(d, &binary, &one_hot);
  if (binary && (one_hot || d->n_outputs == 1))
    return NNC_METRIC_CLASSIFICATION;
  return binary ? NNC_METRIC_MULTILABEL : NNC_METRIC_REGRESSION;
}

/* ---- scoring ---- */

typedef struct tally {
  int64_t correct, bits_right;
  double sse, sae;
  const nnrt_scaler *ts;      /* the targets' scaling, undone before the errors are summed */
} tally;

/* Output or target o of a network trained on scaled targets, in the original units. */
static double unscaled(const nnrt_scaler *ts, int32_t o, double v) {
  return ts ? v / ts->mul[o] + ts->offset[o] : v;
}

static void count_class(nnrt_metrics *mt, int32_t truth, int32_t pred) {
  if (mt->confusion)
    mt->confusion[(int64_t)truth * mt->n_classes + pred]++;
  if (!mt->tp)
    return;
  if (truth == pred) {
    mt->tp[truth]++;
  } else {
    mt->fn[truth]++;
    mt->fp[pred]++;
  }
}

/* Each output ≥ 0.5 a label present, each target ≥ 0.5 a label that should be. */
static void score_labels(const nnrt_dataset *d, const void *y, int64_t s, int64_t k, tally *ta, nnrt_metrics *mt) {
  int32_t no = d->n_outputs, wrong = 0;
  for (int32_t o = 0; o < no; o++) {
    int p = nnrt__get(y, d->real_bytes, k * no + o) >= 0.5, t = nnrt_dataset_target(d, s + k, o) >= 0.5;
    wrong += p != t;
    if (mt->tp) {
      mt->tp[o] += p && t;
      mt->fp[o] += p && !t;
      mt->fn[o] += !p && t;
    }
  }
  ta->bits_right += no - wrong;
  ta->correct += wrong == 0;
}

static void score_chunk(const nnrt_dataset *d, const void *y, int64_t s, int64_t n, tally *ta,
                        nnrt_metrics *mt) {
  int32_t no = d->n_outputs, rb = d->real_bytes;
  for (int64_t k = 0; k < n; k++) {
    for (int32_t o = 0; o < no; o++) {
      double e = unscaled(ta->ts, o, nnrt__get(y, rb, k * no + o)) - unscaled(ta->ts, o, nnrt_dataset_target(d, s + k, o));
      ta->sse += e * e;
      ta->sae += fabs(e);
    }
    if (mt->metric == NNC_METRIC_MULTILABEL) {
      score_labels(d, y, s, k, ta, mt);
    } else if (mt->metric == NNC_METRIC_CLASSIFICATION) {
      int32_t pred = class_of(y, rb, k, no), truth = class_of(d->t, rb, s + k, no);
      ta->correct += pred == truth;
      count_class(mt, truth, pred);
    }
  }
}

static double total_sum_of_squares(const nnrt_dataset *d, const nnrt_scaler *ts) {
  double ss = 0;
  for (int32_t o = 0; o < d->n_outputs; o++) {
    double mean = 0;
    for (int64_t k = 0; k < d->n; k++)
      mean += unscaled(ts, o, nnrt_dataset_target(d, k, o));
    mean /= (double)d->n;
    for (int64_t k = 0; k < d->n; k++) {
      double e = unscaled(ts, o, nnrt_dataset_target(d, k, o)) - mean;
      ss += e * e;
    }
  }
  return ss;
}

static int setup_metrics(const nnc_model *m, const nnrt_dataset *d, int32_t metric, int flags, nnrt_metrics *mt,
                         nnrt_error *err) {
  memset(mt, 0, sizeof *mt);
  mt->n = d->n;
  mt->metric = nnrt_metric_resolve(m, metric, d);
  mt->classifier = mt->metric == NNC_METRIC_CLASSIFICATION;
  mt->n_classes = mt->classifier && m->n_outputs == 1 ? 2 : m->n_outputs;
  if (mt->metric == NNC_METRIC_REGRESSION || !(flags & NNRT_EVAL_CONFUSION))
    return NNRT_OK;
  mt->tp = nnrt__alloc_array(mt->n_classes, sizeof(int64_t));
  mt->fp = nnrt__alloc_array(mt->n_classes, sizeof(int64_t));
  mt->fn = nnrt__alloc_array(mt->n_classes, sizeof(int64_t));
  if (mt->classifier && mt->n_classes <= NNRT_CONFUSION_MAX)
    mt->confusion = nnrt__alloc_array((int64_t)mt->n_classes * mt->n_classes, sizeof(int64_t));
  if (!mt->tp || !mt->fp || !mt->fn || (mt->classifier && mt->n_classes <= NNRT_CONFUSION_MAX && !mt->confusion)) {
    nnrt_metrics_clear(mt);
    return nnrt__oom(err);
  }
  return NNRT_OK;
}

static void finish_metrics(const nnrt_dataset *d, const tally *ta, nnrt_metrics *mt) {
  double n = (double)d->n, values = n * d->n_outputs;
  mt->accuracy = mt->metric == NNC_METRIC_REGRESSION ? NAN : (double)ta->correct / n;
  mt->hamming = mt->metric == NNC_METRIC_MULTILABEL ? (double)ta->bits_right / values : NAN;
  mt->mse = ta->sse / values;
  mt->rmse = sqrt(mt->mse);
  mt->mae = ta->sae / values;
  double sst = total_sum_of_squares(d, ta->ts);
  mt->r2 = sst > 0 ? 1 - ta->sse / sst : NAN;
}

int nnrt_evaluate_as(const nnc_model *m, const void *params, const nnrt_dataset *d, int32_t metric,
                     const nnrt_scaler *targets, int flags, nnrt_metrics *mt, nnrt_error *err) {
  pass_buffers b;
  tally ta = {0, 0, 0, 0, targets && targets->n == d->n_outputs ? targets : NULL};
  int want_loss = !(flags & NNRT_EVAL_NO_LOSS);
  if (!d->t || d->n == 0)
    return nnrt__fail(err, NNRT_EUSAGE, "evaluation needs a dataset with targets");
  int rc = nnrt_cpu_check(m, err);
  if (!rc)
    rc = setup_metrics(m, d, metric, flags, mt, err);
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
      if (want_loss && m->n_dropout)
        nnrt__dropout_keep_all(m, b.scratch, n, 0);
      if (want_loss) mt->loss += m->loss_grad(params, n, x, t, b.grad, b.scratch);
    }
    score_chunk(d, b.y, s, n, &ta, mt);
  }
  mt->loss = want_loss ? mt->loss / (double)d->n : NAN;
  finish_metrics(d, &ta, mt);
  free_buffers(&b);
  return NNRT_OK;
}

int nnrt_evaluate(const nnc_model *m, const void *params, const nnrt_dataset *d, int flags,
                  nnrt_metrics *mt, nnrt_error *err) {
  return nnrt_evaluate_as(m, params, d, m->train ? m->train->metric : NNC_METRIC_AUTO, NULL, flags, mt, err);
}

void nnrt_metrics_clear(nnrt_metrics *mt) {
  int64_t **arrays[] = {&mt->confusion, &mt->tp, &mt->fp, &mt->fn};
  for (int i = 0; i < 4; i++) {
    nnrt__free(*arrays[i]);
    *arrays[i] = NULL;
  }
}
