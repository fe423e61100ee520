/* fuzz_checkpoint.c — libFuzzer target over resuming a checkpoint (runtime/checkpoint.c:
 * nnrt__checkpoint_resume, which reads the weights file and decodes its CKPT, VELO, RBST and
 * GBST sections into a trainer of the toy network).
 * Consumes: the bytes as the checkpoint file, read as given and again with its checksum made
 * right (so that mutations reach the sections behind the checksum). Produces: nothing; a crash, leak or sanitizer
 * report is a bug. */
#include "fuzz_file.h"

#include "trainer.h"
#include "toy_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One trainer for the whole run, made once over a 4-sample dataset. */
static nnrt_trainer *trainer(void) {
  static nnrt_trainer *tr;
  static nnrt_dataset *d;
  nnrt_error err;
  if (tr)
    return tr;
  nnrt_train_options o;
  nnrt_train_options_init(&o, &toy_model_f64);
  o.verbosity = 0;
  o.s.restarts = 3;
  o.s.validation = 0.25;
  if (nnrt_dataset_create(4, toy_model_f64.n_inputs, 1, 8, 0, &d, &err) != NNRT_OK ||
      nnrt_trainer_create(&toy_model_f64, &o, d, &tr, &err) != NNRT_OK)
    abort();
  return tr;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  nnrt_trainer *tr = trainer();
  nnrt_error err;
  nnrt__checkpoint_resume(tr, fuzz_file(0, data, size), &err);
  unsigned char *fixed = fuzz_fix_checksum(data, size);
  if (fixed) {
    nnrt__checkpoint_resume(tr, fuzz_file(1, fixed, size), &err);
    free(fixed);
  }
  return 0;
}
