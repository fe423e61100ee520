/* runtime/dropout.c — the masks of dropout, written where a model's loss_grad reads them.
 *
 * Consumes: a model with dropout units (nnc_model.n_dropout > 0, nnc/model.h), the dataset
 * rows of the samples about to go through loss_grad, the run's seed and the epoch.
 * Produces: each sample's mask row in the scratch given to loss_grad: unit u of the sample
 * of row r is kept (value 1/(1 − p_u)) when U ≥ p_u, else dropped (0), where
 *   h(z) = splitmix64 of state z (one step: z + 0x9e37..., then the two xor-multiplies),
 *   key  = h(h(h(seed) ^ epoch) ^ r),   U = (h(key + u) >> 11) · 2^-53,
 * epoch counted from 0. The mask of a sample thus depends on (seed, epoch, row) alone: not
 * on the batch, the thread count, the MPI ranks, or where a resumed run started again.
 */
#include "internal.h"

/* One splitmix64 step from state z: a 64-bit hash of z (rng.c's step, inline: the masks of a
 * batch take one per unit and sample). */
static inline uint64_t dropout_hash(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t nnrt__dropout_key(uint64_t seed, int64_t epoch, int64_t row) {
  return dropout_hash(dropout_hash(dropout_hash(seed) ^ (uint64_t)epoch) ^ (uint64_t)row);
}

static void *mask_row(const nnc_model *m, void *scratch, int64_t s) {
  return nnrt__at(scratch, m->real_bytes, m->dropout_mask_offset / m->real_bytes + s * m->n_dropout);
}

/* Unit u of the row keyed key: 1/(1 − p_u) when kept, else 0, in the model's precision. */
#define MASK_ROW(real, row, key, rates, units)                                                  \
  for (int64_t u = 0; u < (units); u++) {                                                      \
    double p = (rates)[u], U = (double)(dropout_hash((key) + (uint64_t)u) >> 11) * 0x1p-53;    \
    ((real *)(row))[u] = (real)(U >= p ? 1 / (1 - p) : 0);                                     \
  }

void nnrt__dropout_masks(const nnc_model *m, void *scratch, const int64_t *rows, int64_t n, uint64_t seed,
                         int64_t epoch) {
  for (int64_t s = 0; s < n; s++) {
    uint64_t key = nnrt__dropout_key(seed, epoch, rows[s]);
    void *row = mask_row(m, scratch, s);
    if (m->real_bytes == 4)
      MASK_ROW(float, row, key, m->dropout_rates, m->n_dropout)
    else
      MASK_ROW(double, row, key, m->dropout_rates, m->n_dropout)
  }
}

void nnrt__dropout_keep_all(const nnc_model *m, void *scratch, int64_t n, int as_trained) {
  for (int64_t s = 0; s < n; s++)
    for (int64_t u = 0; u < m->n_dropout; u++)
      nnrt__set(mask_row(m, scratch, s), m->real_bytes, u, as_trained ? 1 / (1 - m->dropout_rates[u]) : 1);
}
