/* test/runtime/toy_main.c — the main nnc generates for every network, for the toy model. */
#include "nnc/nnrt.h"
#include "toy_model.h"

int main(int argc, char **argv) {
  return nnrt_main(&toy_model_f64, argc, argv);
}
