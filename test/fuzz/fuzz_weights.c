/* fuzz_weights.c — libFuzzer target over the weights readers (runtime/weights.c): the binary
 * file (nnrt_weights_load, with its scaling section) for the toy network in f64 and f32, and
 * the text import (JSON or CSV) of the same bytes. The file is read as given and again with
 * its checksum made right, so that mutations reach the checks behind the checksum.
 * Consumes: the bytes. Produces: nothing; a crash, leak or sanitizer report is a bug. */
#include "fuzz_file.h"

#include "nnc/nnrt.h"
#include "toy_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void load(const nnc_model *m, const char *path) {
  double params[64];
  nnrt_scaler *sc = NULL;
  nnrt_error err;
  if (m->n_params > 32)
    abort();
  nnrt_weights_load(path, m, params, &sc, &err);
  nnrt_scaler_destroy(sc);
}

static void import(const nnc_model *m, const uint8_t *data, size_t size) {
  double params[64];
  nnrt_error err;
  FILE *in = fmemopen((void *)data, size, "r");
  if (!in)
    return; /* fmemopen refuses size 0 on some libcs */
  nnrt_scaler *sc = NULL;
  nnrt_weights_import(in, "<fuzz>", m, params, &sc, &err);
  nnrt_scaler_destroy(sc);
  fclose(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fuzz_file(0, data, size);
  load(&toy_model_f64, path);
  load(&toy_model_f32, path);
  unsigned char *fixed = fuzz_fix_checksum(data, size);
  if (fixed) {
    path = fuzz_file(1, fixed, size);
    load(&toy_model_f64, path);
    load(&toy_model_f32, path);
    free(fixed);
  }
  import(&toy_model_f64, data, size);
  import(&toy_model_f32, data, size);
  return 0;
}
