/* runtime/clip.c — gradient clipping, before the update.
 *
 * Consumes: the batch's summed gradient (after the threads' sum and the allreduce, so every
 * process clips the same numbers), 1/n for a batch of n, and the settings' clip_value and
 * clip_norm (nnc/schedule.h).
 * Produces: the summed gradient changed so that g = Σ/n, the gradient the optimizers see, is
 *   clip value V   each component clamped to [−V, V]          (torch.nn.utils.clip_grad_value_)
 *   clip norm C    g × C/(‖g‖ + 1e-6) when that factor is < 1, ‖g‖ the L2 norm over every
 *                  parameter, summed in double in parameter order (clip_grad_norm_)
 * value first when both are given. Weight decay is added by the optimizer afterwards, as
 * PyTorch's optimizers add it to the clipped gradient.
 */
#include <math.h>

#include "nnc/schedule.h"
#include "trainer.h"

#define CLIP_VALUE(real)                                                                        \
  do {                                                                                          \
    real *restrict g = grad;                                                                    \
    const real hi = (real)(v / inv_n), lo = -hi;                                                \
    for (int64_t i = 0; i < n; i++)                                                             \
      g[i] = g[i] > hi ? hi : g[i] < lo ? lo : g[i];                                            \
  } while (0)

#define SQUARES(real)                                                                           \
  do {                                                                                          \
    const real *restrict g = grad;                                                              \
    for (int64_t i = 0; i < n; i++)                                                             \
      sum += ((double)g[i] * inv_n) * ((double)g[i] * inv_n);                                   \
  } while (0)

/* The largest |g|, and the squares of g/big: the norm of a gradient whose squares overflow. */
#define LARGEST(real)                                                                           \
  do {                                                                                          \
    const real *restrict g = grad;                                                              \
    for (int64_t i = 0; i < n; i++)                                                             \
      big = fmax(big, fabs((double)g[i] * inv_n));                                              \
  } while (0)

#define SCALED_SQUARES(real)                                                                    \
  do {                                                                                          \
    const real *restrict g = grad;                                                              \
    for (int64_t i = 0; i < n; i++)                                                             \
      sum += ((double)g[i] * inv_n / big) * ((double)g[i] * inv_n / big);                       \
  } while (0)

#define SCALE(real)                                                                             \
  do {                                                                                          \
    real *restrict g = grad;                                                                    \
    const real k = (real)coef;                                                                  \
    for (int64_t i = 0; i < n; i++)                                                             \
      g[i] *= k;                                                                                \
  } while (0)

static void clip_value(void *grad, int64_t n, int real_bytes, double v, double inv_n) {
  if (real_bytes == 4)
    CLIP_VALUE(float);
  else
    CLIP_VALUE(double);
}

/* ‖g‖ when its squares overflow a double (f64 components beyond 1e154): big·‖g/big‖, big the
 * largest |g|; infinite only when a component is. */
static double norm_scaled(const void *grad, int64_t n, int real_bytes, double inv_n) {
  double big = 0, sum = 0;
  if (real_bytes == 4)
    LARGEST(float);
  else
    LARGEST(double);
  if (!(big > 0) || !isfinite(big))
    return big;
  if (real_bytes == 4)
    SCALED_SQUARES(float);
  else
    SCALED_SQUARES(double);
  return big * sqrt(sum);
}

/* Returns the norm before clipping. A finite gradient whose squares overflow is scaled to C
 * as any other (its norm taken again, scaled): an infinite norm made the factor 0 and zeroed
 * every gradient, so a run clipped to rescue exploding gradients stopped learning silently. */
static double clip_norm(void *grad, int64_t n, int real_bytes, double max_norm, double inv_n) {
  double sum = 0;
  if (real_bytes == 4)
    SQUARES(float);
  else
    SQUARES(double);
  double norm = isfinite(sum) ? sqrt(sum) : norm_scaled(grad, n, real_bytes, inv_n);
  double coef = max_norm / (norm + 1e-6);
  if (coef < 1) {
    if (real_bytes == 4)
      SCALE(float);
    else
      SCALE(double);
  }
  return norm;
}

void nnrt__clip_grad(const nnc_model *m, const nnc_train_settings *s, void *grad, double inv_n) {
  if (s->sched.clip_value > 0)
    clip_value(grad, m->n_params, m->real_bytes, s->sched.clip_value, inv_n);
  if (s->sched.clip_norm > 0)
    clip_norm(grad, m->n_params, m->real_bytes, s->sched.clip_norm, inv_n);
}
