/* call_mlp.c — calls the object nnc compiled from mlp.onnx through its header: one sample,
 * its outputs printed as predict prints them. */
#include <stdio.h>
#include <stdlib.h>

#include "mlp.h"

int main(void) {
  const mlp_real x[MLP_N_INPUTS] = {-1.25f, 0.5f, -0.5f, 1.0f};
  mlp_real y[MLP_N_OUTPUTS];
  void *scratch = aligned_alloc(64, ((size_t)MLP_SCRATCH_BYTES(1) + 63) / 64 * 64);
  mlp_forward(NULL, 1, x, y, scratch);
  for (int i = 0; i < MLP_N_OUTPUTS; i++) printf("%s%.9g", i ? "," : "", (double)y[i]);
  printf("\n");
  free(scratch);
  return 0;
}
