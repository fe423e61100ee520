/* train.c — training on the device: compiled with -DNET=name -DUP=NAME against NAME.h (a
 * trainable object, no --weights) and data.h (N_ROWS rows `rows` of inputs and `targets`),
 * it does what `./NAME train --restarts 1 --seed SEED` does on the host for per-sample SGD
 * without momentum: NAME_init with SEED, then per epoch the runtime's shuffle of the rows
 * (xoshiro256** seeded from SEED and the epoch, runtime/rng.c and train.c) and
 * NAME_train_sequence over them with the inverse-decay rate of each step (runtime/step.c),
 * with the settings of the .nn file from the descriptor. Prints "accuracy: K/N" (outputs and
 * targets on the same side of 0.5), then the weights as `NAME weights export --format csv`
 * does. Needs no C library: only dev_write and dev_exit (device.h). */
#include <stdint.h>

#include "device.h"
#include "net.h"
#include "data.h"
#include "format.h"

#define MODEL CAT(NET, _model)
enum { CHUNK = 64 }; /* samples per train_sequence call, as the runtime's SEQUENCE_CHUNK */

static _Alignas(64) unsigned char scratch[CAT(UP, _SCRATCH_BYTES)(CHUNK)];
static real params[CAT(UP, _N_PARAMS)], xb[CHUNK * N_IN], tb[CHUNK * N_OUT], y[N_ROWS * N_OUT];
static double rates[CHUNK];
static int64_t order[N_ROWS];

/* runtime/rng.c: splitmix64 seeding a xoshiro256** stream, Fisher–Yates with rejection. */
static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t next(uint64_t *s) {
  uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

static uint64_t below(uint64_t *s, uint64_t n) {
  uint64_t limit = UINT64_MAX - UINT64_MAX % n, v;
  do v = next(s);
  while (v >= limit);
  return v % n;
}

static void shuffle_epoch(uint64_t seed, int64_t epoch) {
  uint64_t st = seed ^ (0xd1b54a32d192ed03ull * (uint64_t)(epoch + 1)), s[4];
  for (int i = 0; i < 4; i++) s[i] = splitmix64(&st);
  for (int64_t i = 0; i < N_ROWS; i++) order[i] = i;
  for (int64_t i = N_ROWS - 1; i > 0; i--) {
    int64_t j = (int64_t)below(s, (uint64_t)i + 1), tmp = order[i];
    order[i] = order[j];
    order[j] = tmp;
  }
}

/* runtime/step.c nnrt__rate_at, the schedules without pow(). */
static double rate_at(const nnc_train_settings *s, int64_t steps) {
  return s->decay == NNC_DECAY_INVERSE ? s->rate / (1 + s->decay_rate * (double)steps) : s->rate;
}

static void run_epoch(const nnc_train_settings *s, int64_t epoch, int64_t *steps) {
  shuffle_epoch(SEED, epoch);
  for (int64_t from = 0; from < N_ROWS; from += CHUNK) {
    int64_t n = N_ROWS - from < CHUNK ? N_ROWS - from : CHUNK;
    for (int64_t k = 0; k < n; k++) {
      for (int i = 0; i < N_IN; i++) xb[k * N_IN + i] = rows[order[from + k]][i];
      for (int j = 0; j < N_OUT; j++) tb[k * N_OUT + j] = targets[order[from + k]][j];
      rates[k] = rate_at(s, *steps + k);
    }
    *steps += n;
    CAT(NET, _train_sequence)(params, n, xb, tb, rates, scratch);
  }
}

static int correct(const real *out, const real *t) {
  for (int j = 0; j < N_OUT; j++)
    if ((out[j] > 0.5f) != (t[j] > 0.5f)) return 0;
  return 1;
}

int main(void) {
  const nnc_train_settings *s = MODEL.train;
  if (s->batch != 1 || s->momentum != 0 || (s->decay != NNC_DECAY_NONE && s->decay != NNC_DECAY_INVERSE)) {
    dev_write("train.c: only per-sample SGD without momentum and with inverse or no decay\n");
    return 1;
  }
  CAT(NET, _init)(params, SEED);
  int64_t steps = 0;
  for (int64_t e = 0; e < s->epochs; e++) run_epoch(s, e, &steps);
  CAT(NET, _forward)(params, N_ROWS, &rows[0][0], y, scratch);
  int hits = 0;
  for (int r = 0; r < N_ROWS; r++) hits += correct(y + r * N_OUT, targets[r]);
  char line[64];
  append(append_int(append(append_int(append(line, "accuracy: "), hits), "/"), N_ROWS), "\nindex,value\n");
  dev_write(line);
  for (long i = 0; i < CAT(UP, _N_PARAMS); i++) {
    append(append_real(append(append_int(line, i), ","), (double)params[i]), "\n");
    dev_write(line);
  }
  return 0;
}
