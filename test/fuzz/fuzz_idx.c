/* fuzz_idx.c — libFuzzer target over the IDX reader (runtime/idx.c), plain and gzip.
 * Consumes: one byte of options (bit 0: the bytes are the labels file, else the images file;
 * bit 1: gzip them; bit 2: f32; bit 3: inputs only), then the file's bytes. The other file is
 * a valid one of 3 samples of 2×2 u8 values and 3 labels below 3, the network 4 inputs and 3
 * outputs. Produces: nothing; a crash, leak or sanitizer report is a bug. */
#include "fuzz_file.h"

#include "nnc/nnrt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned char images[] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2,
                                       1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
static const unsigned char labels[] = {0, 0, 8, 1, 0, 0, 0, 3, 0, 1, 2};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  uint8_t opt = data[0];
  int fuzz_labels = opt & 1;
  const char *fuzzed = fuzz_file_maybe_gz(0, data + 1, size - 1, opt & 2);
  nnc_data_source s;
  memset(&s, 0, sizeof s);
  s.format = NNC_FORMAT_IDX;
  s.header = -1;
  s.path = fuzz_labels ? fuzz_file(1, images, sizeof images) : fuzzed;
  s.labels = fuzz_labels ? fuzzed : fuzz_file(1, labels, sizeof labels);
  nnrt_dataset *d = NULL;
  nnrt_error err;
  int rc = nnrt_dataset_load(&s, 4, 3, opt & 4 ? 4 : 8, opt & 8 ? NNRT_LOAD_INPUTS_ONLY : 0, &d, &err);
  if ((rc == NNRT_OK) != (d != NULL))
    abort();
  nnrt_dataset_destroy(d);
  return 0;
}
