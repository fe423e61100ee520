/* test/runtime/toy_model_f32.c — the toy network of toy_model.c in single precision. */
#define TOY_REAL float
#define TOY_SUFFIX f32
#include "toy_model.c"
