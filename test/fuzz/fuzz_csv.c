/* fuzz_csv.c — libFuzzer target over the CSV reader (runtime/csv.c through nnrt_dataset_load).
 * Consumes: one byte of options (bit 0-1: header detect/none/yes; bit 2: one-hot labels of 3
 * classes; bit 3: f32; bit 4: inputs only, as predict reads; bit 5: gzip the rest), then the
 * file's bytes. Produces: nothing; a crash, leak or sanitizer report is a bug. */
#include "fuzz_file.h"

#include "nnc/nnrt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  uint8_t opt = data[0];
  nnc_data_source s;
  memset(&s, 0, sizeof s);
  s.path = fuzz_file_maybe_gz(0, data + 1, size - 1, opt & 32);
  s.format = NNC_FORMAT_CSV;
  s.header = (opt & 3) == 0 ? -1 : (opt & 3) == 1 ? 0 : 1;
  s.onehot = (opt & 4) != 0;
  nnrt_dataset *d = NULL;
  nnrt_error err;
  int rc = nnrt_dataset_load(&s, 2, s.onehot ? 3 : 1, opt & 8 ? 4 : 8, opt & 16 ? NNRT_LOAD_INPUTS_ONLY : 0,
                             &d, &err);
  if ((rc == NNRT_OK) != (d != NULL))
    abort();
  nnrt_dataset_destroy(d);
  return 0;
}
