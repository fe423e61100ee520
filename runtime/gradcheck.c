/* runtime/gradcheck.c — checks the model's backpropagation against finite differences.
 *
 * Consumes: a model, parameters, a dataset with targets.
 * Produces: the worst error between loss_grad's gradient a and the central difference
 * n = (L(p+h) − L(p−h)) / 2h, per sample, over all parameters or an even spread of them, and
 * whether it is within the tolerance of the model's precision.
 *
 * The criterion follows the precision's machine epsilon eps (2^-23 for f32, 2^-52 for f64):
 * the step is h = cbrt(eps)·max(1, |p|), which balances the truncation error (~h²) against
 * the rounding error of the loss (~eps·|L|/h), so both are ~eps^(2/3)·max(1, |L|). Each
 * parameter's error |a − n| is divided by max(|a|, |n|, |g|∞, A·max(1, |L|)/F) — its own
 * size, the largest component of that sample's gradient (a tiny component is judged against
 * the gradient it belongs to, not against itself), and a floor from the loss L — and must be
 * at most F·eps^(2/3), F = GC_TOLERANCE_FACTOR: about 2.4e-3 for f32, 3.7e-9 for f64. The
 * floor makes the absolute tolerance A·eps^(2/3)·max(1, |L|), A = GC_ABSOLUTE_FACTOR: a few
 * times the difference's own error, which near a minimum (a small gradient) dominates.
 */
#include <math.h>
#include <string.h>

#include "internal.h"

#define GC_TOLERANCE_FACTOR 100.0
#define GC_ABSOLUTE_FACTOR 10.0

typedef struct gc_work {
  const nnc_model *m;
  void *p, *grad, *dummy, *scratch;
  const void *x, *t;
  double eps;   /* the machine epsilon of the model's precision */
  double scale; /* the denominator floor of this sample: |g|∞ and the loss's rounding floor */
} gc_work;

double nnrt__gradcheck_eps(int32_t real_bytes) { return real_bytes == 4 ? 0x1p-23 : 0x1p-52; }

double nnrt__gradcheck_tolerance(double eps) { return GC_TOLERANCE_FACTOR * cbrt(eps * eps); }

/* The error of analytic derivative a against numeric derivative n, relative to scale. */
double nnrt__gradcheck_error(double a, double n, double scale) {
  double rel = fabs(a - n) / fmax(fmax(fabs(a), fabs(n)), scale);
  return isnan(rel) ? INFINITY : rel;
}

static double loss_at(gc_work *w) {
  return w->m->loss_grad(w->p, 1, w->x, w->t, w->dummy, w->scratch);
}

static double numeric_grad(gc_work *w, int64_t i) {
  int32_t rb = w->m->real_bytes;
  double p0 = nnrt__get(w->p, rb, i);
  double h = cbrt(w->eps) * fmax(1.0, fabs(p0));
  nnrt__set(w->p, rb, i, p0 + h);
  double hi = (double)nnrt__get(w->p, rb, i) - p0;   /* the step actually taken */
  double lp = loss_at(w);
  nnrt__set(w->p, rb, i, p0 - h);
  double lo = p0 - (double)nnrt__get(w->p, rb, i);
  double lm = loss_at(w);
  nnrt__set(w->p, rb, i, p0);
  return (lp - lm) / (hi + lo);
}

/* The scale a sample's errors are measured against: its gradient's largest component and the
 * floor A·max(1, |L|)/F from its loss L (the absolute tolerance divided by the relative one). */
static double sample_scale(const gc_work *w, double loss) {
  double gmax = 0;
  for (int64_t i = 0; i < w->m->n_params; i++)
    gmax = fmax(gmax, fabs((double)nnrt__get(w->grad, w->m->real_bytes, i)));
  return fmax(gmax, GC_ABSOLUTE_FACTOR * fmax(1.0, fabs(loss)) / GC_TOLERANCE_FACTOR);
}

static void check_param(gc_work *w, int64_t i, int64_t s, nnrt_gradcheck_result *res) {
  double a = nnrt__get(w->grad, w->m->real_bytes, i), n = numeric_grad(w, i);
  double rel = nnrt__gradcheck_error(a, n, w->scale);
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
  memset(res, 0, sizeof *res);
  res->tolerance = nnrt__gradcheck_tolerance(nnrt__gradcheck_eps(m->real_bytes));
  if (!d->t || d->n == 0)
    return nnrt__fail(err, NNRT_EUSAGE, "gradcheck needs samples with targets");
  if (nnrt_cpu_check(m, err))
    return err->code;
  int rc = work_alloc(&w, m, params, err);
  w.eps = nnrt__gradcheck_eps(m->real_bytes);
  int64_t ns = n_samples < d->n ? n_samples : d->n;
  if (!rc && m->n_dropout) /* the training network with every unit kept, masks and all */
    nnrt__dropout_keep_all(m, w.scratch, 1, 1);
  int64_t np = max_params > 0 && max_params < m->n_params ? max_params : m->n_params;
  for (int64_t s = 0; !rc && s < ns; s++) {
    w.x = nnrt__at(d->x, d->real_bytes, s * d->n_inputs);
    w.t = nnrt__at(d->t, d->real_bytes, s * d->n_outputs);
    memset(w.grad, 0, (size_t)m->n_params * (size_t)m->real_bytes);
    w.scale = sample_scale(&w, m->loss_grad(w.p, 1, w.x, w.t, w.grad, w.scratch));
    for (int64_t k = 0; k < np; k++)
      check_param(&w, np == m->n_params ? k : k * m->n_params / np, s, res);
  }
  res->passed = !rc && res->worst_rel_error <= res->tolerance;
  work_free(&w);
  return rc;
}
