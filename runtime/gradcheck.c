/* runtime/gradcheck.c — checks the model's backpropagation against finite differences.
 *
 * Consumes: a model, parameters, a dataset with targets.
 * Produces: the worst relative error between loss_grad's gradient and the central difference
 * (L(p+h) − L(p−h)) / 2h, per sample, over all parameters or an even spread of them, and
 * whether it is within the tolerance of the model's precision.
 */
#include <math.h>
#include <string.h>

#include "internal.h"

typedef struct gc_work {
  const nnc_model *m;
  void *p, *grad, *dummy, *scratch;
  const void *x, *t;
} gc_work;

static double loss_at(gc_work *w) {
  return w->m->loss_grad(w->p, 1, w->x, w->t, w->dummy, w->scratch);
}

static double numeric_grad(gc_work *w, int64_t i, double h) {
  int32_t rb = w->m->real_bytes;
  double p0 = nnrt__get(w->p, rb, i);
  nnrt__set(w->p, rb, i, p0 + h);
  double hi = (double)nnrt__get(w->p, rb, i) - p0;   /* the step actually taken */
  double lp = loss_at(w);
  nnrt__set(w->p, rb, i, p0 - h);
  double lo = p0 - (double)nnrt__get(w->p, rb, i);
  double lm = loss_at(w);
  nnrt__set(w->p, rb, i, p0);
  return (lp - lm) / (hi + lo);
}

static void check_param(gc_work *w, int64_t i, int64_t s, double h, nnrt_gradcheck_result *res) {
  double a = nnrt__get(w->grad, w->m->real_bytes, i), n = numeric_grad(w, i, h);
  double den = fmax(fmax(fabs(a), fabs(n)), 1e-2);
  double rel = fabs(a - n) / den;
  if (isnan(rel))
    rel = INFINITY;
  res->checked++;
  if (rel > res->worst_rel_error || res->checked == 1) {
    res->worst_rel_error = rel;
    res->worst_param = i;
    res->worst_sample = s;
    res->analytic = a;
    res->numeric = n;
  }
}

static int work_alloc(gc_work *w, const nnc_model *m, const void *params, nnrt_error *err) {
  memset(w, 0, sizeof *w);
  w->m = m;
  w->p = nnrt__alloc_array(m->n_params, (size_t)m->real_bytes);
  w->grad = nnrt__alloc_array(m->n_params, (size_t)m->real_bytes);
  w->dummy = nnrt__alloc_array(m->n_params, (size_t)m->real_bytes);
  w->scratch = nnrt__alloc_aligned((size_t)(m->scratch_fixed + m->scratch_per_sample));
  if (!w->p || !w->grad || !w->dummy || !w->scratch)
    return nnrt__oom(err);
  memcpy(w->p, params, (size_t)m->n_params * (size_t)m->real_bytes);
  return NNRT_OK;
}

static void work_free(gc_work *w) {
  nnrt__free(w->p);
  nnrt__free(w->grad);
  nnrt__free(w->dummy);
  nnrt__free_aligned(w->scratch);
}

int nnrt_gradcheck(const nnc_model *m, const void *params, const nnrt_dataset *d,
                   int64_t n_samples, int64_t max_params, nnrt_gradcheck_result *res,
                   nnrt_error *err) {
  gc_work w;
  double h = m->real_bytes == 4 ? 1e-3 : 1e-6;
  memset(res, 0, sizeof *res);
  res->tolerance = m->real_bytes == 4 ? 3e-2 : 1e-5;
  if (!d->t || d->n == 0)
    return nnrt__fail(err, NNRT_EUSAGE, "gradcheck needs samples with targets");
  int rc = work_alloc(&w, m, params, err);
  int64_t ns = n_samples < d->n ? n_samples : d->n;
  int64_t np = max_params > 0 && max_params < m->n_params ? max_params : m->n_params;
  for (int64_t s = 0; !rc && s < ns; s++) {
    w.x = nnrt__at(d->x, d->real_bytes, s * d->n_inputs);
    w.t = nnrt__at(d->t, d->real_bytes, s * d->n_outputs);
    memset(w.grad, 0, (size_t)m->n_params * (size_t)m->real_bytes);
    m->loss_grad(w.p, 1, w.x, w.t, w.grad, w.scratch);
    for (int64_t k = 0; k < np; k++)
      check_param(&w, np == m->n_params ? k : k * m->n_params / np, s, h, res);
  }
  res->passed = !rc && res->worst_rel_error <= res->tolerance;
  work_free(&w);
  return rc;
}
