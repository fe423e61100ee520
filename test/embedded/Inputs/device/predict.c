/* predict.c — the device's `predict`: compiled with -DNET=name -DUP=NAME against NAME.h (an
 * object with trained weights) and inputs.h (N_ROWS rows of raw inputs, `rows`), it runs
 * NAME_forward on each row, one sample at a time, with a static scratch of exactly
 * NAME_FORWARD_SCRATCH_BYTES(1) bytes, then on all rows at once, and prints each row's
 * outputs as a line of comma-separated numbers (9 significant digits), the one-at-a-time
 * lines first. Needs no C library: only dev_write and dev_exit (device.h). */
#include <stdint.h>

#include "device.h"
#include "net.h"
#include "format.h"
#include "inputs.h"

static _Alignas(64) unsigned char scratch_one[CAT(UP, _FORWARD_SCRATCH_BYTES)(1)];
static _Alignas(64) unsigned char scratch_all[CAT(UP, _FORWARD_SCRATCH_BYTES)(N_ROWS)];
static real y[N_ROWS * N_OUT];

static void print_row(const real *out) {
  char line[N_OUT * 24 + 2], *p = line;
  for (int j = 0; j < N_OUT; j++) p = append_real(j ? append(p, ",") : p, (double)out[j]);
  append(p, "\n");
  dev_write(line);
}

int main(void) {
  for (int r = 0; r < N_ROWS; r++) {
    CAT(NET, _forward)(0, 1, rows[r], y, scratch_one);
    print_row(y);
  }
  CAT(NET, _forward)(0, N_ROWS, &rows[0][0], y, scratch_all);
  for (int r = 0; r < N_ROWS; r++) print_row(y + r * N_OUT);
  return 0;
}
