/* evaluate.c — the device's `eval`: compiled with -DNET=name -DUP=NAME against NAME.h (an
 * object with trained weights) and data.h (N_ROWS rows of inputs, `rows`, and of targets,
 * `targets`), it calls NAME_evaluate on all rows with a static scratch of exactly
 * NAME_SCRATCH_BYTES(N_ROWS) bytes and prints the summed loss it returns ("loss: ...", 9
 * significant digits), then each row's outputs. Needs no C library: only dev_write and
 * dev_exit (device.h). */
#include <stdint.h>

#include "device.h"
#include "net.h"
#include "data.h"
#include "format.h"

static _Alignas(64) unsigned char scratch[CAT(UP, _SCRATCH_BYTES)(N_ROWS)];
static real y[N_ROWS * N_OUT];

int main(void) {
  char line[N_OUT * 24 + 24];
  double loss = CAT(NET, _evaluate)(0, N_ROWS, &rows[0][0], &targets[0][0], y, scratch);
  append(append_real(append(line, "loss: "), loss), "\n");
  dev_write(line);
  for (int r = 0; r < N_ROWS; r++) {
    char *p = line;
    for (int j = 0; j < N_OUT; j++) p = append_real(j ? append(p, ",") : p, (double)y[r * N_OUT + j]);
    append(p, "\n");
    dev_write(line);
  }
  return 0;
}
