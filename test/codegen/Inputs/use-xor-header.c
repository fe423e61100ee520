/* A C program using every macro and prototype of the header nnc writes for xor.nn: it
 * compiles with -Wall -Wextra -Werror -pedantic, links with the object, and runs. */
#include <stdio.h>
#include <stdlib.h>

#include "xor.h"

int main(void) {
  static xor_real params[XOR_N_PARAMS], grad[XOR_N_PARAMS], velocity[XOR_N_PARAMS];
  xor_real x[4 * XOR_N_INPUTS] = {0, 0, 0, 1, 1, 0, 1, 1}, t[4 * XOR_N_OUTPUTS] = {0, 1, 1, 0};
  xor_real y[4 * XOR_N_OUTPUTS];
  size_t bytes = (size_t)((XOR_SCRATCH_BYTES(4) + 63) / 64 * 64);
  void *scratch = aligned_alloc(64, bytes);
  const nnc_model *m = &xor_model;
  if (!scratch || XOR_PRECISION != (int)sizeof(xor_real) || m->n_params != XOR_N_PARAMS) return 1;
  xor_init(params, 1);
  xor_forward(params, 4, x, y, scratch);
  double loss = xor_loss_grad(params, 4, x, t, grad, scratch);
  double step = xor_train_step(params, velocity, 4, x, t, 0.5, 0.9, scratch);
  printf("n_params %d n_inputs %d n_outputs %d loss %s\n", XOR_N_PARAMS, XOR_N_INPUTS, XOR_N_OUTPUTS,
         loss == step && loss > 0 ? "ok" : "bad");
  free(scratch);
  return 0;
}
