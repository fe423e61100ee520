/* two_models.c — links two objects of the xor network with different trained weights,
 * compiled with --prefix xor_a and --prefix xor_b, and prints each one's outputs for the four
 * corners of the unit square: "a:" lines first, then "b:". */
#include <stdio.h>

#include "xor_a.h"
#include "xor_b.h"

int main(void) {
  static const float x[4 * XOR_A_N_INPUTS] = {0, 0, 0, 1, 1, 0, 1, 1};
  static _Alignas(64) unsigned char scratch_a[XOR_A_FORWARD_SCRATCH_BYTES(4)];
  static _Alignas(64) unsigned char scratch_b[XOR_B_FORWARD_SCRATCH_BYTES(4)];
  xor_a_real ya[4];
  xor_b_real yb[4];
  xor_a_forward(NULL, 4, x, ya, scratch_a);
  xor_b_forward(NULL, 4, x, yb, scratch_b);
  for (int i = 0; i < 4; i++) printf("a: %.9g\n", (double)ya[i]);
  for (int i = 0; i < 4; i++) printf("b: %.9g\n", (double)yb[i]);
  printf("models: %s %s\n", xor_a_model.name, xor_b_model.name);
  return 0;
}
