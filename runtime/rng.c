/* runtime/rng.c — the runtime's own seeded random numbers (never rand()).
 *
 * Consumes: a 64-bit seed. Produces: splitmix64 values (for seeding and hashing) and a
 * xoshiro256** stream, unbiased bounded integers and Fisher–Yates shuffles. The same seed
 * gives the same sequence on every platform.
 */
#include "internal.h"

uint64_t nnrt__splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void nnrt__rng_seed(nnrt_rng *r, uint64_t seed) {
  uint64_t st = seed;
  for (int i = 0; i < 4; i++)
    r->s[i] = nnrt__splitmix64(&st);
}

static uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

uint64_t nnrt__rng_next(nnrt_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

/* Rejection sampling: no modulo bias. */
uint64_t nnrt__rng_below(nnrt_rng *r, uint64_t n) {
  if (n <= 1)
    return 0;
  uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t v;
  do
    v = nnrt__rng_next(r);
  while (v >= limit);
  return v % n;
}

void nnrt__shuffle(int64_t *idx, int64_t n, nnrt_rng *r) {
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)nnrt__rng_below(r, (uint64_t)i + 1);
    int64_t tmp = idx[i];
    idx[i] = idx[j];
    idx[j] = tmp;
  }
}
