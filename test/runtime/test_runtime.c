/* test/runtime/test_runtime.c — unit and end-to-end tests of libnnrt.
 *
 * Consumes: the runtime library, the hand-written toy networks (toy_model.c), the data files
 * of test/runtime/data (malformed CSV inputs each with the exact message expected), and IDX
 * files generated here at run time (plain and gzip).
 * Produces: one line per failed assertion (file:line), then `N passed, N failed`; exit 1 if
 * any test failed. Generated files live in a fresh directory under /tmp, removed at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "trainer.h"
#include "nnc/nnrt.h"
#include "nnc/optim.h"
#include "toy_model.h"

/* ---- the harness ---- */

static int test_failed;

#define ASSERT(c)                                                                    \
  do {                                                                               \
    if (!(c)) {                                                                      \
      printf("%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #c);               \
      test_failed = 1;                                                               \
      return;                                                                        \
    }                                                                                \
  } while (0)

#define ASSERT_STR(got, want)                                                        \
  do {                                                                               \
    const char *got_ = (got), *want_ = (want);                                       \
    if (strcmp(got_, want_) != 0) {                                                  \
      printf("%s:%d: expected '%s'\n%*s got '%s'\n", __FILE__, __LINE__, want_,      \
             (int)strlen(__FILE__) + 8, "", got_);                                   \
      test_failed = 1;                                                               \
      return;                                                                        \
    }                                                                                \
  } while (0)

#define ASSERT_HAS(hay, needle)                                                      \
  do {                                                                               \
    const char *hay_ = (hay), *needle_ = (needle);                                   \
    if (!strstr(hay_, needle_)) {                                                    \
      printf("%s:%d: '%s' not found in:\n%s\n", __FILE__, __LINE__, needle_, hay_);  \
      test_failed = 1;                                                               \
      return;                                                                        \
    }                                                                                \
  } while (0)

static char tmpdir[64];

/* A path in the test's temporary directory (a ring of buffers, valid for a while). */
static const char *tp(const char *name) {
  static char bufs[16][256];
  static int next;
  char *b = bufs[next++ % 16];
  snprintf(b, 256, "%s/%s", tmpdir, name);
  return b;
}

static void write_file(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  if (f) {
    fwrite(data, 1, n, f);
    fclose(f);
  }
}

static long read_file(const char *path, char *buf, long cap) {
  FILE *f = fopen(path, "rb");
  long n = 0;
  if (f) {
    n = (long)fread(buf, 1, (size_t)cap - 1, f);
    fclose(f);
  }
  buf[n] = 0;
  return n;
}

static int files_equal(const char *a, const char *b) {
  static char x[1 << 16], y[1 << 16];
  long na = read_file(a, x, sizeof x), nb = read_file(b, y, sizeof y);
  return na > 0 && na == nb && memcmp(x, y, (size_t)na) == 0;
}

/* ---- running nnrt_main with its output captured ---- */

static struct { int code; char out[1 << 16], err[1 << 16]; } R;

static int redirect(int fd, const char *path, int flags) {
  int saved = dup(fd), f = open(path, flags, 0644);
  dup2(f, fd);
  close(f);
  return saved;
}

static void restore(int fd, int saved) {
  dup2(saved, fd);
  close(saved);
}

/* Runs `toy ARGS` (split at spaces) with stdin from in_path (or untouched). */
static int run_in(const nnc_model *m, const char *in_path, const char *fmt, ...) {
  char line[4096], *argv[64];
  int argc = 0;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  argv[argc++] = "toy";
  for (char *tok = strtok(line, " "); tok && argc < 63; tok = strtok(NULL, " "))
    argv[argc++] = tok;
  argv[argc] = NULL;
  fflush(stdout);
  fflush(stderr);
  int so = redirect(1, tp("stdout"), O_CREAT | O_TRUNC | O_WRONLY);
  int se = redirect(2, tp("stderr"), O_CREAT | O_TRUNC | O_WRONLY);
  int si = in_path ? redirect(0, in_path, O_RDONLY) : -1;
  R.code = nnrt_main(m, argc, argv);
  fflush(stdout);
  fflush(stderr);
  restore(1, so);
  restore(2, se);
  if (si >= 0)
    restore(0, si);
  read_file(tp("stdout"), R.out, sizeof R.out);
  read_file(tp("stderr"), R.err, sizeof R.err);
  return R.code;
}

#define run(m, ...) run_in(m, NULL, __VA_ARGS__)

/* ---- CSV ---- */

static nnc_data_source csv_source(const char *path) {
  nnc_data_source s;
  memset(&s, 0, sizeof s);
  s.path = path;
  s.format = NNC_FORMAT_AUTO;
  s.header = -1;
  return s;
}

static void test_csv_xor(void) {
  const char *files[] = {"xor.csv", "crlf_ok.csv", "quoted_ok.csv", "xor_ok.csv.gz"};
  for (int f = 0; f < 4; f++) {
    nnc_data_source s = csv_source(files[f]);
    nnrt_dataset *d;
    nnrt_error err;
    int rc = nnrt_dataset_load(&s, 2, 1, 8, 0, &d, &err);
    if (rc)
      printf("%s\n", err.msg);
    ASSERT(rc == NNRT_OK);
    ASSERT(d->n == 4 && d->n_inputs == 2 && d->n_outputs == 1);
    ASSERT(nnrt_dataset_input(d, 1, 1) == 1 && nnrt_dataset_target(d, 1, 0) == 1);
    ASSERT(nnrt_dataset_input(d, 3, 0) == 1 && nnrt_dataset_target(d, 3, 0) == 0);
    nnrt_dataset_destroy(d);
  }
}

static void test_csv_columns_onehot_f32(void) {
  const char *text = "id,label,x0,x1\n7,2,0.5,1.5\n8,0,-1,2e3\n";
  write_file(tp("cols.csv"), text, strlen(text));
  int32_t in[] = {2, 3}, tg[] = {1};
  nnc_data_source s = csv_source(tp("cols.csv"));
  s.n_input_cols = 2;
  s.input_cols = in;
  s.n_target_cols = 1;
  s.target_cols = tg;
  s.onehot = 1;
  nnrt_dataset *d;
  nnrt_error err;
  ASSERT(nnrt_dataset_load(&s, 2, 3, 4, 0, &d, &err) == NNRT_OK);
  ASSERT(d->n == 2 && d->onehot && d->real_bytes == 4);
  ASSERT(((float *)d->x)[0] == 0.5f && ((float *)d->x)[3] == 2000.0f);
  ASSERT(((float *)d->t)[0] == 0 && ((float *)d->t)[2] == 1 && ((float *)d->t)[3] == 1);
  nnrt_dataset_destroy(d);
}

typedef struct bad_csv {
  const char *file;
  int32_t n_in, n_out, onehot;
  const char *inputs, *targets; /* "a,b" lists or NULL */
  const char *message;
} bad_csv;

static const bad_csv bad_csvs[] = {
  {"bad_fields.csv", 2, 1, 0, NULL, NULL, "bad_fields.csv:3: expected 3 fields, found 2"},
  {"bad_number.csv", 2, 1, 0, NULL, NULL, "bad_number.csv:4: field 2: 'x1' is not a number"},
  {"empty.csv", 2, 1, 0, NULL, NULL, "empty.csv: empty file"},
  {"blank_only.csv", 2, 1, 0, NULL, NULL, "blank_only.csv: empty file"},
  {"header_only.csv", 2, 1, 0, NULL, NULL, "header_only.csv: no data rows after the header"},
  {"too_few_inputs.csv", 3, 1, 0, NULL, NULL,
   "too_few_inputs.csv: 2 input columns selected (0..1) but the network has 3 inputs"},
  {"label_range.csv", 2, 3, 1, NULL, NULL, "label_range.csv:2: field 3: label 3 is out of range [0, 3)"},
  {"label_frac.csv", 2, 3, 1, NULL, NULL, "label_frac.csv:1: field 3: label '1.5' is not an integer"},
  {"label_neg.csv", 2, 3, 1, NULL, NULL, "label_neg.csv:1: field 3: label -1 is out of range [0, 3)"},
  {"nan.csv", 2, 1, 0, NULL, NULL, "nan.csv:2: field 1: 'nan' is not a finite number"},
  {"inf.csv", 2, 1, 0, NULL, NULL, "inf.csv:2: field 2: 'inf' is not a finite number"},
  {"blank_middle.csv", 2, 1, 0, NULL, NULL, "blank_middle.csv:3: empty line"},
  {"empty_field.csv", 2, 1, 0, NULL, NULL, "empty_field.csv:2: field 2: '' is not a number"},
  {"extra_field.csv", 2, 1, 0, NULL, NULL, "extra_field.csv:2: expected 3 fields, found 4"},
  {"col_range.csv", 2, 1, 0, "0,5", NULL,
   "col_range.csv: input column 5 is out of range: rows have 3 fields (columns 0..2)"},
  {"target_range.csv", 2, 1, 0, NULL, "7",
   "target_range.csv: target column 7 is out of range: rows have 3 fields (columns 0..2)"},
  {"target_count.csv", 2, 1, 0, "0,1", "2,3",
   "target_count.csv: 2 target columns selected (2..3) but the network has 1 output"},
  {"binary.csv", 2, 1, 0, NULL, NULL, "binary.csv:1: NUL byte in a text line (not a CSV file?)"},
  {"header_late.csv", 2, 1, 0, NULL, NULL, "header_late.csv:3: field 1: 'a' is not a number"},
  {"trailing_comma.csv", 3, 1, 0, NULL, NULL, "trailing_comma.csv:1: field 4: '' is not a number"},
  {"space_field.csv", 2, 1, 0, NULL, NULL, "space_field.csv:1: field 2: '' is not a number"},
  {"overflow.csv", 2, 1, 0, NULL, NULL, "overflow.csv:1: field 2: '1e999' is out of range for f64 (max 1.8e308)"},
  {"onehot_two.csv", 2, 3, 1, "0,1", "2,3",
   "onehot_two.csv: one-hot labels need exactly one target column, 2 selected"},
  {"semicolons.csv", 2, 1, 0, NULL, NULL,
   "semicolons.csv: 0 input columns selected but the network has 2 inputs (the rows hold semicolons, not "
   "commas: say 'delimiter \";\"' in the data source, or --delimiter ';')"},
  {"truncated.csv.gz", 2, 1, 0, NULL, NULL, "truncated.csv.gz: read error: unexpected end of file"},
  {"no_such_file.csv", 2, 1, 0, NULL, NULL, "no_such_file.csv: cannot open: No such file or directory"},
};

static int32_t *parse_list(const char *s, int32_t *n) {
  static int32_t buf[2][16];
  static int which;
  int32_t *b = buf[which++ % 2];
  *n = 0;
  for (const char *p = s; p && *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ','))
    b[(*n)++] = atoi(p);
  return b;
}

static void test_csv_malformed(void) {
  int n = (int)(sizeof bad_csvs / sizeof bad_csvs[0]);
  ASSERT(n >= 20);
  for (int i = 0; i < n; i++) {
    const bad_csv *b = &bad_csvs[i];
    nnc_data_source s = csv_source(b->file);
    s.onehot = b->onehot;
    if (b->inputs)
      s.input_cols = parse_list(b->inputs, &s.n_input_cols);
    if (b->targets)
      s.target_cols = parse_list(b->targets, &s.n_target_cols);
    nnrt_dataset *d = NULL;
    nnrt_error err = {0, ""};
    int rc = nnrt_dataset_load(&s, b->n_in, b->n_out, 8, NNRT_LOAD_ZERO_BASED, &d, &err);
    ASSERT(d == NULL);
    ASSERT(rc == NNRT_EDATA);
    ASSERT_STR(err.msg, b->message);
  }
}

static void test_csv_stdin_predict_shape(void) {
  const char *text = "0,1\n1,1\n";
  write_file(tp("in.csv"), text, strlen(text));
  nnc_data_source s = csv_source(tp("in.csv"));
  nnrt_dataset *d;
  nnrt_error err;
  ASSERT(nnrt_dataset_load(&s, 2, 1, 8, NNRT_LOAD_INPUTS_ONLY, &d, &err) == NNRT_OK);
  ASSERT(d->n == 2 && d->t == NULL && nnrt_dataset_input(d, 1, 0) == 1);
  nnrt_dataset_destroy(d);
}

/* The one reader of numbers written as text, against each precision. */
static void test_parse_real(void) {
  static const struct { const char *text; int rb, want; double v; } cases[] = {
    {"1.5", 4, NNRT_NUM_OK, 1.5},           {"-.5e1", 8, NNRT_NUM_OK, -5},
    {"+3", 4, NNRT_NUM_OK, 3},              {"3.4028234e38", 4, NNRT_NUM_OK, 3.4028234e38},
    {"1e-50", 4, NNRT_NUM_OK, 1e-50},       {"1e-999999", 8, NNRT_NUM_OK, 0},
    {"1e39", 8, NNRT_NUM_OK, 1e39},         {"1e39", 4, NNRT_NUM_OUT_OF_RANGE, 0},
    {"-3.5e38", 4, NNRT_NUM_OUT_OF_RANGE, 0}, {"3.4028236e38", 4, NNRT_NUM_OUT_OF_RANGE, 0},
    {"1e309", 8, NNRT_NUM_OUT_OF_RANGE, 0}, {"nan", 8, NNRT_NUM_NOT_FINITE, 0},
    {"-Infinity", 4, NNRT_NUM_NOT_FINITE, 0}, {"INF", 8, NNRT_NUM_NOT_FINITE, 0},
    {"0x10", 8, NNRT_NUM_NOT_A_NUMBER, 0},  {"0x1p3", 8, NNRT_NUM_NOT_A_NUMBER, 0},
    {"", 8, NNRT_NUM_NOT_A_NUMBER, 0},      {" 1", 8, NNRT_NUM_NOT_A_NUMBER, 0},
    {"1e", 8, NNRT_NUM_NOT_A_NUMBER, 0},    {".", 8, NNRT_NUM_NOT_A_NUMBER, 0},
    {"1.2.3", 8, NNRT_NUM_NOT_A_NUMBER, 0}, {"nanx", 8, NNRT_NUM_NOT_A_NUMBER, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    double v = -1;
    int got = nnrt__parse_real(cases[i].text, cases[i].rb, &v);
    if (got != cases[i].want || (got == NNRT_NUM_OK && (float)v != (float)cases[i].v))
      printf("  '%s' f%d: got %d (%g), expected %d\n", cases[i].text, cases[i].rb * 8, got, v,
             cases[i].want);
    ASSERT(got == cases[i].want);
  }
  ASSERT(nnrt__check_real(NAN, 8) == NNRT_NUM_NOT_FINITE && nnrt__check_real(1e39, 4) == NNRT_NUM_OUT_OF_RANGE);
  ASSERT_STR(nnrt__number_problem(NNRT_NUM_OUT_OF_RANGE, 4), "is out of range for f32 (max 3.4e38)");
}

static int load_text(const char *text, int32_t rb, int header, int flags, nnrt_dataset **d,
                     nnrt_error *err) {
  write_file(tp("t.csv"), text, strlen(text));
  nnc_data_source s = csv_source(tp("t.csv"));
  s.header = header;
  return nnrt_dataset_load(&s, 2, 1, rb, flags, d, err);
}

/* Header detection, the byte-order mark, f32 range and the line bound, with their messages. */
static void test_csv_first_row_and_ranges(void) {
  nnrt_dataset *d = NULL;
  nnrt_error err = {0, ""};
  char want[512];
  ASSERT(load_text("\xEF\xBB\xBF" "1,2,0\n3,4,1\n", 8, -1, 0, &d, &err) == NNRT_OK);
  ASSERT(d->n == 2 && nnrt_dataset_input(d, 0, 0) == 1);
  nnrt_dataset_destroy(d);
  ASSERT(load_text("\xEF\xBB\xBF" "a,b\n3,4\n", 8, -1, NNRT_LOAD_INPUTS_ONLY, &d, &err) == NNRT_OK);
  ASSERT(d->n == 1);
  nnrt_dataset_destroy(d);
  ASSERT(load_text("1,2,0\n3,4,1\n", 8, 1, 0, &d, &err) == NNRT_OK && d->n == 1); /* `header` */
  nnrt_dataset_destroy(d);
  ASSERT(load_text("1.0,2.x,0\n3,4,1\n", 8, -1, 0, &d, &err) == NNRT_EDATA && !d);
  snprintf(want, sizeof want, "%s:1: field 2: '2.x' is not a number, but field 1 is: is the first "
           "row a header or data? (say 'header' or 'noheader' in the data source)", tp("t.csv"));
  ASSERT_STR(err.msg, want);
  ASSERT(load_text("x,y,z\n1,2,0\n", 8, 0, 0, &d, &err) == NNRT_EDATA); /* `noheader` */
  snprintf(want, sizeof want, "%s:1: field 1: 'x' is not a number", tp("t.csv"));
  ASSERT_STR(err.msg, want);
  ASSERT(load_text("x,y,z\n1,1e39,0\n", 4, -1, 0, &d, &err) == NNRT_EDATA);
  snprintf(want, sizeof want, "%s:2: field 2: '1e39' is out of range for f32 (max 3.4e38)", tp("t.csv"));
  ASSERT_STR(err.msg, want);
  ASSERT(load_text("x,y,z\n1,1e39,0\n", 8, -1, 0, &d, &err) == NNRT_OK);
  nnrt_dataset_destroy(d);
  nnrt_shape sh = {2, 1, 8, 0, NULL};
  size_t max = nnrt__csv_max_line(sh);
  char *big = malloc(max + 16);
  memset(big, '1', max + 8);
  strcpy(big + max + 8, ",0\n");
  int rc = load_text(big, 8, -1, 0, &d, &err);
  free(big);
  ASSERT(rc == NNRT_EDATA);
  snprintf(want, sizeof want, "%s:1: line longer than %zu bytes (not a CSV file?)", tp("t.csv"), max);
  ASSERT_STR(err.msg, want);
}

/* ---- IDX ---- */

static size_t idx_header(unsigned char *b, int type, int ndims, const uint32_t *dims) {
  b[0] = b[1] = 0;
  b[2] = (unsigned char)type;
  b[3] = (unsigned char)ndims;
  for (int i = 0; i < ndims; i++)
    for (int k = 0; k < 4; k++)
      b[4 + 4 * i + k] = (unsigned char)(dims[i] >> (24 - 8 * k));
  return 4 + 4 * (size_t)ndims;
}

static void write_gz(const char *path, const void *data, size_t n) {
  gzFile f = gzopen(path, "wb");
  gzwrite(f, data, (unsigned)n);
  gzclose(f);
}

/* images: n × 2 × 2 u8 (value = 10·sample + pixel); labels: n u8 (sample mod 3). */
static void make_idx(const char *img, const char *lab, uint32_t n, uint32_t n_labels, int gz) {
  unsigned char b[1024];
  uint32_t dims[3] = {n, 2, 2};
  size_t h = idx_header(b, 0x08, 3, dims);
  for (uint32_t k = 0; k < 4 * n; k++)
    b[h + k] = (unsigned char)(10 * (k / 4) + k % 4);
  (gz ? write_gz : write_file)(img, b, h + 4 * n);
  h = idx_header(b, 0x08, 1, &n_labels);
  for (uint32_t k = 0; k < n_labels; k++)
    b[h + k] = (unsigned char)(k % 3);
  (gz ? write_gz : write_file)(lab, b, h + n_labels);
}

static nnc_data_source idx_source(const char *img, const char *lab) {
  nnc_data_source s = csv_source(img);
  s.labels = lab;
  return s;
}

static void test_idx_plain_and_gz(void) {
  for (int gz = 0; gz < 2; gz++) {
    const char *img = tp(gz ? "img.gz" : "img"), *lab = tp(gz ? "lab.gz" : "lab");
    make_idx(img, lab, 5, 5, gz);
    nnc_data_source s = idx_source(img, lab);
    nnrt_dataset *d;
    nnrt_error err;
    ASSERT(nnrt_dataset_load(&s, 4, 3, 4, 0, &d, &err) == NNRT_OK);
    ASSERT(d->n == 5 && d->onehot);
    ASSERT(nnrt_dataset_input(d, 4, 3) == 43);
    ASSERT(nnrt_dataset_target(d, 4, 1) == 1 && nnrt_dataset_target(d, 4, 0) == 0);
    nnrt_dataset_destroy(d);
  }
}

static void test_idx_types(void) {
  unsigned char b[64];
  uint32_t dims[2] = {2, 2};
  size_t h = idx_header(b, 0x0D, 2, dims); /* f32 big-endian: 1.5, -2, 0.25, 8 */
  float vals[4] = {1.5f, -2, 0.25f, 8};
  for (int i = 0; i < 4; i++) {
    uint32_t u;
    memcpy(&u, &vals[i], 4);
    for (int k = 0; k < 4; k++)
      b[h + 4 * i + k] = (unsigned char)(u >> (24 - 8 * k));
  }
  write_file(tp("f32.idx"), b, h + 16);
  nnc_data_source s = idx_source(tp("f32.idx"), NULL);
  nnrt_dataset *d;
  nnrt_error err;
  ASSERT(nnrt_dataset_load(&s, 2, 1, 8, NNRT_LOAD_INPUTS_ONLY, &d, &err) == NNRT_OK);
  ASSERT(nnrt_dataset_input(d, 0, 1) == -2 && nnrt_dataset_input(d, 1, 1) == 8);
  nnrt_dataset_destroy(d);
}

typedef struct bad_idx {
  const char *name;
  const unsigned char *bytes;
  size_t n;
} bad_idx;

static void expect_idx_error(const char *img, const char *lab, int n_in, int n_out,
                             const char *want, int *ok) {
  nnc_data_source s = idx_source(img, lab);
  s.format = NNC_FORMAT_IDX;
  nnrt_dataset *d = NULL;
  nnrt_error err = {0, ""};
  int rc = nnrt_dataset_load(&s, n_in, n_out, 8, 0, &d, &err);
  char full[512];
  snprintf(full, sizeof full, want, tmpdir, tmpdir);
  *ok = rc == NNRT_EDATA && d == NULL && strcmp(err.msg, full) == 0;
  if (!*ok)
    printf("  expected '%s'\n  got      '%s'\n", full, err.msg);
}

static void test_idx_malformed(void) {
  unsigned char b[256];
  uint32_t dims[3] = {3, 2, 2};
  int ok;
  make_idx(tp("good.img"), tp("good.lab"), 3, 3, 0);
  write_file(tp("empty.idx"), "", 0);
  expect_idx_error(tp("empty.idx"), tp("good.lab"), 4, 3, "%s/empty.idx: empty file", &ok);
  ASSERT(ok);
  write_file(tp("text.idx"), "P5\n1 2", 6);
  expect_idx_error(tp("text.idx"), tp("good.lab"), 4, 3, "%s/text.idx: not an IDX file (magic 0x50350a31)", &ok);
  ASSERT(ok);
  size_t h = idx_header(b, 0x07, 3, dims);
  write_file(tp("type.idx"), b, h + 12);
  expect_idx_error(tp("type.idx"), tp("good.lab"), 4, 3, "%s/type.idx: not an IDX file (magic 0x00000703)", &ok);
  ASSERT(ok);
  h = idx_header(b, 0x08, 3, dims);
  write_file(tp("short_header.idx"), b, 9);
  expect_idx_error(tp("short_header.idx"), tp("good.lab"), 4, 3,
                   "%s/short_header.idx: truncated: the header of 3 dimensions needs 16 bytes, found 9", &ok);
  ASSERT(ok);
  memset(b + h, 7, 12);
  write_file(tp("short_data.idx"), b, h + 11);
  expect_idx_error(tp("short_data.idx"), tp("good.lab"), 4, 3,
                   "%s/short_data.idx: truncated: expected 12 bytes of data, found 11", &ok);
  ASSERT(ok);
  write_file(tp("extra.idx"), b, h + 12 + 3);
  expect_idx_error(tp("extra.idx"), tp("good.lab"), 4, 3, "%s/extra.idx: 3 unexpected bytes after the data", &ok);
  ASSERT(ok);
  expect_idx_error(tp("good.img"), tp("good.lab"), 5, 3,
                   "%s/good.img: samples have 4 values but the network has 5 inputs", &ok);
  ASSERT(ok);
  make_idx(tp("m.img"), tp("m.lab"), 3, 2, 1);
  expect_idx_error(tp("m.img"), tp("m.lab"), 4, 3, "%s/m.img: 3 samples but %s/m.lab has 2 labels", &ok);
  ASSERT(ok);
  expect_idx_error(tp("good.img"), tp("good.lab"), 4, 2,
                   "%s/good.lab: label 2 of sample 3 is out of range [0, 2)", &ok);
  ASSERT(ok);
  expect_idx_error(tp("good.img"), tp("good.img"), 4, 3,
                   "%s/good.img: a label file has 1 dimension, this one has 3", &ok);
  ASSERT(ok);
  expect_idx_error(tp("good.img"), NULL, 4, 3,
                   "%s/good.img: an IDX source needs a labels file for its targets", &ok);
  ASSERT(ok);
  expect_idx_error(tp("good.img"), tp("missing.lab"), 4, 3,
                   "%s/missing.lab: cannot open: No such file or directory", &ok);
  ASSERT(ok);
  write_gz(tp("cut.gz"), b, h + 12);
  long n = read_file(tp("cut.gz"), (char *)b, sizeof b);
  write_file(tp("cut.gz"), b, (size_t)n - 6);
  expect_idx_error(tp("cut.gz"), tp("good.lab"), 4, 3, "%s/cut.gz: read error: unexpected end of file", &ok);
  ASSERT(ok);
  uint32_t wrap[4] = {1, 4, 0x80010001u, 0x7fff0001u}; /* 4·(2^62+1) ≡ 4 (mod 2^64) */
  h = idx_header(b, 0x08, 4, wrap);
  write_file(tp("wrap.idx"), b, h + 4);
  expect_idx_error(tp("wrap.idx"), tp("good.lab"), 4, 3,
                   "%s/wrap.idx: dimensions too large: more than 274877906944 bytes of data", &ok);
  ASSERT(ok);
  uint32_t big[3] = {0x80000000u, 2, 2}; /* 8 GiB declared, 4 bytes present */
  h = idx_header(b, 0x08, 3, big);
  write_file(tp("big.idx"), b, h + 4);
  write_gz(tp("big.gz"), b, h + 4);
  nnc_data_source s = idx_source(tp("big.gz"), NULL);
  nnrt_dataset *d = NULL;
  nnrt_error err = {0, ""};
  ASSERT(nnrt_dataset_load(&s, 4, 3, 8, NNRT_LOAD_INPUTS_ONLY, &d, &err) == NNRT_EDATA);
  ASSERT_HAS(err.msg, "big.gz: truncated: expected 8589934592 bytes of data, found 4");
  s = idx_source(tp("big.idx"), NULL);
  ASSERT(nnrt_dataset_load(&s, 4, 3, 8, NNRT_LOAD_INPUTS_ONLY, &d, &err) == NNRT_EDATA);
  ASSERT_HAS(err.msg, "big.idx: truncated: expected 8589934592 bytes of data, found 4");
}

static void test_fashion_mnist(void) {
  const char *img = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
  if (access(img, R_OK) != 0) {
    printf("  (Fashion-MNIST not installed: skipped)\n");
    return;
  }
  nnc_data_source s = idx_source(img, "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz");
  nnrt_dataset *d;
  nnrt_error err;
  ASSERT(nnrt_dataset_load(&s, 784, 10, 4, 0, &d, &err) == NNRT_OK);
  ASSERT(d->n == 10000 && d->onehot);
  double sum = 0, mx = 0;
  for (int64_t k = 0; k < d->n * 10; k++)
    sum += ((float *)d->t)[k];
  for (int64_t k = 0; k < d->n * 784; k++)
    mx = fmax(mx, ((float *)d->x)[k]);
  ASSERT(sum == 10000 && mx == 255);
  nnrt_dataset_destroy(d);
}

/* ---- scaling ---- */

static void test_scaler(void) {
  nnrt_dataset *a, *b;
  nnrt_scaler *s;
  nnrt_error err;
  ASSERT(nnrt_dataset_create(4, 1, 1, 8, 0, &a, &err) == NNRT_OK);
  ASSERT(nnrt_dataset_create(1, 1, 1, 8, 0, &b, &err) == NNRT_OK);
  double v[4] = {1, 2, 3, 6};
  memcpy(a->x, v, sizeof v);
  ((double *)b->x)[0] = 6;
  ASSERT(nnrt_scaler_fit(a, NNC_SCALE_MINMAX, 0, &s, &err) == NNRT_OK);
  nnrt_scaler_apply(s, a);
  nnrt_scaler_apply(s, b);
  ASSERT(((double *)a->x)[0] == 0 && ((double *)a->x)[3] == 1 && ((double *)b->x)[0] == 1);
  nnrt_scaler_destroy(s);
  memcpy(a->x, v, sizeof v);
  ASSERT(nnrt_scaler_fit(a, NNC_SCALE_ZSCORE, 0, &s, &err) == NNRT_OK);
  ASSERT(fabs(s->offset[0] - 3) < 1e-12 && fabs(s->mul[0] - 1 / sqrt(3.5)) < 1e-12);
  nnrt_scaler_destroy(s);
  ASSERT(nnrt_scaler_fit(a, NNC_SCALE_FACTOR, 1.0 / 255, &s, &err) == NNRT_OK);
  nnrt_scaler_apply(s, a);
  ASSERT(((double *)a->x)[3] == 6.0 / 255);
  nnrt_scaler_destroy(s);
  nnrt_dataset_destroy(a);
  nnrt_dataset_destroy(b);
}

/* ---- weights ---- */

static void toy_params(const nnc_model *m, void *p, uint64_t seed) {
  m->init(p, seed);
}

static void test_weights_roundtrip(void) {
  const nnc_model *models[] = {&toy_model_f64, &toy_model_f32};
  for (int i = 0; i < 2; i++) {
    const nnc_model *m = models[i];
    double p[13], q[13];
    nnrt_scaler sc = {NNC_SCALE_ZSCORE, 2, (double[]){1, 2}, (double[]){0.5, 0.25}}, *back;
    nnrt_error err;
    toy_params(m, p, 42);
    ASSERT(nnrt_weights_save(tp("rt.weights"), m, p, &sc, &err) == NNRT_OK);
    ASSERT(access(tp("rt.weights.tmp"), F_OK) != 0);
    ASSERT(nnrt_weights_load(tp("rt.weights"), m, q, &back, &err) == NNRT_OK);
    ASSERT(memcmp(p, q, (size_t)m->n_params * (size_t)m->real_bytes) == 0);
    ASSERT(back && back->mode == NNC_SCALE_ZSCORE && back->offset[1] == 2 && back->mul[1] == 0.25);
    nnrt_scaler_destroy(back);
  }
}

/* files.c: a symlink at the destination is replaced, not followed; the mode of a replaced
 * file is kept; a new file never replaces one; a temporary is gone after an abort. */
static void test_files_whole_or_nothing(void) {
  char buf[64], chosen[512];
  nnrt_error err;
  nnrt_out o;
  struct stat st;
  write_file(tp("victim"), "precious", 8);
  unlink(tp("dest"));
  ASSERT(symlink(tp("victim"), tp("dest")) == 0);
  ASSERT(nnrt__write_atomic(tp("dest"), "new", 3, &err) == NNRT_OK);
  ASSERT(lstat(tp("dest"), &st) == 0 && S_ISREG(st.st_mode));
  ASSERT(read_file(tp("victim"), buf, sizeof buf) == 8);
  chmod(tp("dest"), 0600);
  ASSERT(nnrt__write_atomic(tp("dest"), "newer", 5, &err) == NNRT_OK);
  ASSERT(stat(tp("dest"), &st) == 0 && (st.st_mode & 0777) == 0600);
  ASSERT(nnrt__write_new(tp("dest"), "x", 1, chosen, sizeof chosen, &err) == NNRT_OK);
  ASSERT_STR(chosen, tp("dest.2"));
  ASSERT(read_file(tp("dest"), buf, sizeof buf) == 5);
  ASSERT(nnrt__out_open(&o, tp("dest"), &err) == NNRT_OK);
  fputs("partial", o.f);
  snprintf(chosen, sizeof chosen, "%s", o.tmp);
  nnrt__out_abort(&o);
  ASSERT(access(chosen, F_OK) != 0);
  ASSERT(nnrt__write_atomic(tp("nowhere/dest"), "x", 1, &err) == NNRT_EIO);
  ASSERT_HAS(err.msg, "nowhere/dest: cannot write: No such file or directory");
  ASSERT(nnrt__check_output("--save", tp(""), &err) == NNRT_EUSAGE);
  ASSERT_HAS(err.msg, "is a directory; give a file name");
  ASSERT(nnrt__same_file(tp("dest"), tp("./dest")) && !nnrt__same_file(tp("dest"), tp("dest.2")));
  ASSERT(nnrt__same_file(tp("new1"), tp("./new1")));
}

static void expect_load_error(const nnc_model *m, const char *path, const char *want_fmt) {
  double p[13];
  char want[512];
  nnrt_error err = {0, ""};
  snprintf(want, sizeof want, want_fmt, path);
  int rc = nnrt_weights_load(path, m, p, NULL, &err);
  if (rc != NNRT_EDATA || strcmp(err.msg, want) != 0) {
    printf("%s:%d: expected '%s'\n  got '%s'\n", __FILE__, __LINE__, want, err.msg);
    test_failed = 1;
  }
}

static void patch(const char *src, const char *dst, long at, int xor_mask, long cut) {
  static char buf[4096];
  long n = read_file(src, buf, sizeof buf);
  if (at >= 0)
    buf[at] ^= (char)xor_mask;
  write_file(dst, buf, (size_t)(n - cut));
}

static void test_weights_refusals(void) {
  double p[13];
  nnrt_error err;
  nnc_model other = toy_model_f64, fewer = toy_model_f64, single = toy_model_f32;
  other.fingerprint ^= 0xff;
  fewer.n_params = 12;
  single.fingerprint = toy_model_f64.fingerprint;
  toy_params(&toy_model_f64, p, 1);
  const char *w = tp("ok.weights");
  ASSERT(nnrt_weights_save(w, &toy_model_f64, p, NULL, &err) == NNRT_OK);
  expect_load_error(&other, w, "%s: weights of another network (fingerprint 0x746f790000000008; "
                               "network 'toy' has 0x746f7900000000f7)");
  expect_load_error(&fewer, w, "%s: 13 parameters, the network has 12");
  expect_load_error(&single, w, "%s: f64 weights, the network is f32");
  patch(w, tp("flip.weights"), 48 + 8 * 5 + 3, 0x10, 0);
  expect_load_error(&toy_model_f64, tp("flip.weights"), "%s: checksum mismatch: the file is corrupted");
  patch(w, tp("flip_fp.weights"), 9, 0x01, 0);
  expect_load_error(&toy_model_f64, tp("flip_fp.weights"), "%s: checksum mismatch: the file is corrupted");
  patch(w, tp("cut.weights"), -1, 0, 9);
  expect_load_error(&toy_model_f64, tp("cut.weights"), "%s: truncated: expected 152 bytes, found 143");
  patch(w, tp("head.weights"), -1, 0, 152 - 20);
  expect_load_error(&toy_model_f64, tp("head.weights"), "%s: truncated: the header needs 48 bytes, found 20");
  patch(w, tp("version.weights"), 4, 0x03, 0);
  expect_load_error(&toy_model_f64, tp("version.weights"), "%s: weights format version 2, this runtime reads version 1");
  patch(w, tp("magic.weights"), 0, 0x20, 0);
  expect_load_error(&toy_model_f64, tp("magic.weights"), "%s: not an nnc weights file");
  write_file(tp("empty.weights"), "", 0);
  expect_load_error(&toy_model_f64, tp("empty.weights"), "%s: empty file");
  static char buf[512];
  long n = read_file(w, buf, sizeof buf);
  memcpy(buf + n, "xyz", 3);
  write_file(tp("long.weights"), buf, (size_t)n + 3);
  expect_load_error(&toy_model_f64, tp("long.weights"), "%s: 3 unexpected bytes after the end of the weights");
  expect_load_error(&toy_model_f64, tp("none.weights"), "%s: cannot open: No such file or directory");
  expect_load_error(&toy_model_f64, "/dev/zero", "%s: not an nnc weights file");
  n = read_file(w, buf, sizeof buf);
  buf[16] = 0x7f; /* 2^63 + 13 parameters declared: refused before the body is read */
  buf[23] = (char)0x80;
  write_file(tp("lies.weights"), buf, (size_t)n);
  expect_load_error(&toy_model_f64, tp("lies.weights"), "%s: corrupted header");
}

static void test_weights_text(void) {
  const nnc_model *models[] = {&toy_model_f64, &toy_model_f32};
  const char *formats[] = {"json", "csv"};
  for (int i = 0; i < 4; i++) {
    const nnc_model *m = models[i / 2];
    double p[13], q[13];
    nnrt_scaler sc = {NNC_SCALE_MINMAX, 2, (double[]){-1.5, 0.1}, (double[]){0.3, 1e-7}}, *back;
    nnrt_error err;
    toy_params(m, p, 7);
    FILE *f = fopen(tp("w.txt"), "w");
    ASSERT(nnrt_weights_export(f, m, p, &sc, formats[i % 2], &err) == NNRT_OK);
    fclose(f);
    f = fopen(tp("w.txt"), "r");
    ASSERT(nnrt_weights_import(f, "w.txt", m, q, &back, &err) == NNRT_OK);
    fclose(f);
    ASSERT(memcmp(p, q, (size_t)m->n_params * (size_t)m->real_bytes) == 0);
    ASSERT(back && back->mode == NNC_SCALE_MINMAX && back->n == 2);
    ASSERT(memcmp(back->offset, sc.offset, 2 * sizeof(double)) == 0 && memcmp(back->mul, sc.mul, 2 * sizeof(double)) == 0);
    nnrt_scaler_destroy(back);
  }
  /* through the command line, with errors */
  double p[13];
  nnrt_error err;
  toy_params(&toy_model_f64, p, 3);
  ASSERT(nnrt_weights_save(tp("t.weights"), &toy_model_f64, p, NULL, &err) == NNRT_OK);
  ASSERT(run(&toy_model_f64, "weights export --weights %s --format csv", tp("t.weights")) == 0);
  write_file(tp("t.csv"), R.out, strlen(R.out));
  ASSERT(run_in(&toy_model_f64, tp("t.csv"), "weights import --weights %s", tp("t2.weights")) == 0);
  ASSERT(files_equal(tp("t.weights"), tp("t2.weights")));
  write_file(tp("short.csv"), "index,value\n0,1\n1,2\n", 20);
  ASSERT(run_in(&toy_model_f64, tp("short.csv"), "weights import --weights %s", tp("t3.weights")) == 1);
  ASSERT_STR(R.err, "error: <stdin>: 2 parameters, the network has 13\n");
  write_file(tp("bad.csv"), "index,value\n0,1\n1,zz\n", 21);
  ASSERT(run_in(&toy_model_f64, tp("bad.csv"), "weights import --weights %s", tp("t3.weights")) == 1);
  ASSERT_STR(R.err, "error: <stdin>:3: field 2: 'zz' is not a number\n");
  write_file(tp("big.json"), "{\"params\": [1e39]}", 18);
  ASSERT(run_in(&toy_model_f32, tp("big.json"), "weights import --weights %s", tp("t3.weights")) == 1);
  ASSERT_STR(R.err, "error: <stdin>:1: parameter 0: '1e39' is out of range for f32 (max 3.4e38)\n");
  ASSERT(run(&toy_model_f64, "weights export --weights %s --format xml", tp("t.weights")) == 2);
  ASSERT_STR(R.err, "error: --format: expected json or csv, got 'xml'\n");
}

/* ---- training through nnrt_main ---- */

static void test_xor_trains_to_100(void) {
  ASSERT(run(&toy_model_f64, "train --quiet --save %s", tp("xor.weights")) == 0);
  ASSERT_HAS(R.out, "restart 5/5");
  ASSERT_HAS(R.out, "train  accuracy 100.00% (4/4)");
  ASSERT(run(&toy_model_f64, "eval --weights %s", tp("xor.weights")) == 0);
  ASSERT_HAS(R.out, "accuracy 100.00% (4/4)");
  ASSERT_HAS(R.out, "confusion matrix");
  write_file(tp("q.csv"), "x,y\n0,0\n1,1\n0,1\n", 16);
  ASSERT(run(&toy_model_f64, "predict --weights %s --input %s --class", tp("xor.weights"), tp("q.csv")) == 0);
  ASSERT_STR(R.out, "0\n0\n1\n");
  ASSERT(run_in(&toy_model_f64, tp("q.csv"), "predict --weights %s", tp("xor.weights")) == 0);
  ASSERT(strlen(R.out) > 6 && R.out[0] == '0' && R.out[1] == '.');
}

static void test_xor_f32_minibatch(void) {
  ASSERT(run(&toy_model_f32, "train --quiet --batch 2 --rate 4 --epochs 4000 --save %s", tp("x32.weights")) == 0);
  ASSERT_HAS(R.out, "train  accuracy 100.00% (4/4)");
}

static void test_threads_reproducible(void) {
  const char *common = "train --quiet --batch 3 --momentum 0.5 --epochs 50 --restarts 2 --data xor.csv";
  ASSERT(run(&toy_model_f64, "%s --threads 2 --save %s", common, tp("a.w")) == 0);
  ASSERT(run(&toy_model_f64, "%s --threads 2 --save %s", common, tp("b.w")) == 0);
  ASSERT(files_equal(tp("a.w"), tp("b.w")));
  ASSERT(run(&toy_model_f64, "%s --threads 1 --save %s", common, tp("c.w")) == 0);
  ASSERT(run(&toy_model_f64, "train --quiet --epochs 2 --threads 2 --save %s", tp("d.w")) == 0);
  ASSERT_HAS(R.out, "note: batch 1 (per-sample SGD) runs on one thread; --threads 2 ignored");
}

static void test_resume_continues(void) {
  const char *common = "train --restarts 2 --momentum 0.9 --validation 0.25 --rate 0.5";
  ASSERT(run(&toy_model_f64, "%s --epochs 6 --save %s", common, tp("straight.w")) == 0);
  ASSERT(run(&toy_model_f64, "%s --epochs 6 --save %s --checkpoint %s --checkpoint-every 3", common,
             tp("first.w"), tp("c.ckpt")) == 0);
  /* the last checkpoint was written after epoch 6 of restart 2: resume from epoch 3 instead */
  ASSERT(run(&toy_model_f64, "%s --epochs 3 --restarts 1 --save %s --checkpoint %s --checkpoint-every 3",
             "train --momentum 0.9 --validation 0.25 --rate 0.5", tp("half.w"), tp("h.ckpt")) == 0);
  ASSERT(run(&toy_model_f64, "%s --epochs 6 --resume %s --save %s", common, tp("h.ckpt"), tp("resumed.w")) == 0);
  ASSERT_HAS(R.out, "resuming from");
  ASSERT_HAS(R.out, "restart 1/2 after epoch 3/6");
  ASSERT(strncmp(R.err, "[1/2] epoch 4/6", 15) == 0);
  ASSERT(files_equal(tp("straight.w"), tp("resumed.w")));
  ASSERT(files_equal(tp("straight.w"), tp("first.w")));
  /* a checkpoint is a weights file too */
  ASSERT(run(&toy_model_f64, "eval --weights %s", tp("h.ckpt")) == 0);
}

/* Rewrites checkpoint src to dst with the OPTM section's bytes changed by edit (its length
 * may change up to the section's size + 8); the checksum stays right. */
static void rewrite_optm(const char *src, const char *dst, void (*edit)(unsigned char *, uint64_t *)) {
  nnrt_wfile wf;
  nnrt_error err;
  static unsigned char buf[1 << 16];
  nnrt_section secs[16];
  ASSERT(nnrt__wfile_read(src, &toy_model_f64, &wf, &err) == NNRT_OK);
  for (int i = 0; i < wf.n_sections; i++) {
    secs[i] = wf.sections[i];
    if (!memcmp(secs[i].tag, "OPTM", 4)) {
      memcpy(buf, secs[i].data, secs[i].len);
      edit(buf, &secs[i].len);
      secs[i].data = buf;
    }
  }
  ASSERT(nnrt__wfile_write(dst, &toy_model_f64, wf.params, secs, wf.n_sections, NULL, 0, &err) == NNRT_OK);
  nnrt__wfile_free(&wf);
}

static void optm_two_slots(unsigned char *p, uint64_t *len) { p[4] = 2; (void)len; }
static void optm_short(unsigned char *p, uint64_t *len) { (void)p; *len = 6; }
static void optm_nan(unsigned char *p, uint64_t *len) {
  double nan = NAN;
  memcpy(p + *len - 8, &nan, 8);
}
static void optm_optimizer_9(unsigned char *p, uint64_t *len) { p[0] = 9; (void)len; }

/* An optimizer's checkpoint: resumed by it bit-exactly, refused by another, and refused when
 * its OPTM section is damaged (wrong slots, short, NaN, unknown optimizer). */
static void test_optimizer_checkpoints(void) {
  const char *common = "train --quiet --restarts 1 --optimizer adam --rate 0.05 --batch 2 --amsgrad";
  ASSERT(run(&toy_model_f64, "%s --epochs 4 --save %s", common, tp("adam.w")) == 0);
  ASSERT(run(&toy_model_f64, "%s --epochs 2 --save %s --checkpoint %s --checkpoint-every 2", common, tp("a2.w"),
             tp("a.ckpt")) == 0);
  ASSERT(run(&toy_model_f64, "%s --epochs 4 --resume %s --save %s", common, tp("a.ckpt"), tp("ar.w")) == 0);
  ASSERT(files_equal(tp("adam.w"), tp("ar.w")));
  ASSERT(run(&toy_model_f64, "train --quiet --restarts 1 --epochs 4 --resume %s", tp("a.ckpt")) == 2);
  ASSERT_HAS(R.err, "the checkpoint holds the state of adam, but this training uses sgd; resume with --optimizer adam");
  ASSERT(run(&toy_model_f64, "train --quiet --restarts 1 --epochs 4 --save %s --checkpoint %s --checkpoint-every 2", tp("s.w"),
             tp("s.ckpt")) == 0);
  ASSERT(run(&toy_model_f64, "%s --epochs 4 --resume %s", common, tp("s.ckpt")) == 2);
  ASSERT_HAS(R.err, "the checkpoint holds the state of sgd, but this training uses adam; resume with --optimizer sgd");
  rewrite_optm(tp("a.ckpt"), tp("slots.ckpt"), optm_two_slots);
  ASSERT(run(&toy_model_f64, "%s --epochs 4 --resume %s", common, tp("slots.ckpt")) == 1);
  ASSERT_HAS(R.err, "checkpoint section OPTM has");
  ASSERT_HAS(R.err, "for 2 state slots, must have");
  rewrite_optm(tp("a.ckpt"), tp("short.ckpt"), optm_short);
  ASSERT(run(&toy_model_f64, "%s --epochs 4 --resume %s", common, tp("short.ckpt")) == 1);
  ASSERT_HAS(R.err, "checkpoint section OPTM has 6 bytes, fewer than its header's 8");
  rewrite_optm(tp("a.ckpt"), tp("nan.ckpt"), optm_nan);
  ASSERT(run(&toy_model_f64, "%s --epochs 4 --resume %s", common, tp("nan.ckpt")) == 1);
  ASSERT_HAS(R.err, "checkpoint section OPTM holds a value that is not finite");
  rewrite_optm(tp("a.ckpt"), tp("nine.ckpt"), optm_optimizer_9);
  ASSERT(run(&toy_model_f64, "%s --epochs 4 --resume %s", common, tp("nine.ckpt")) == 2);
  ASSERT_HAS(R.err, "the checkpoint holds the state of an unknown optimizer, but this training uses adam");
}

/* A checkpoint of decay plateau carries its state (SCHD): resumed bit-exactly; refused by
 * plateau when it has none (written with another schedule) or when the state is damaged. */
static void test_plateau_checkpoints(void) {
  const char *common = "train --quiet --restarts 1 --batch 2 --rate 0.5 --schedule plateau --factor 0.5 "
                       "--plateau-patience 0 --threshold 0.5";
  ASSERT(run(&toy_model_f64, "%s --epochs 6 --save %s", common, tp("p.w")) == 0);
  ASSERT(run(&toy_model_f64, "%s --epochs 3 --save %s --checkpoint %s --checkpoint-every 3", common, tp("p3.w"),
             tp("p.ckpt")) == 0);
  ASSERT(run(&toy_model_f64, "%s --epochs 6 --resume %s --save %s", common, tp("p.ckpt"), tp("pr.w")) == 0);
  ASSERT(files_equal(tp("p.w"), tp("pr.w")));
  ASSERT(run(&toy_model_f64, "train --quiet --restarts 1 --batch 2 --epochs 3 --save %s --checkpoint %s "
             "--checkpoint-every 3", tp("n.w"), tp("n.ckpt")) == 0);
  ASSERT(run(&toy_model_f64, "%s --epochs 6 --resume %s", common, tp("n.ckpt")) == 2);
  ASSERT_HAS(R.err, "the checkpoint has no state of 'decay plateau' (section SCHD)");
  nnrt_wfile wf;
  nnrt_error err;
  nnrt_section secs[16];
  unsigned char bad[32];
  ASSERT(nnrt__wfile_read(tp("p.ckpt"), &toy_model_f64, &wf, &err) == NNRT_OK);
  for (int i = 0; i < wf.n_sections; i++) {
    secs[i] = wf.sections[i];
    if (!memcmp(secs[i].tag, "SCHD", 4)) {
      memcpy(bad, secs[i].data, 32);
      memset(bad, 0, 8); /* a rate of 0 */
      secs[i].data = bad;
    }
  }
  ASSERT(nnrt__wfile_write(tp("bad.ckpt"), &toy_model_f64, wf.params, secs, wf.n_sections, NULL, 0, &err) == NNRT_OK);
  nnrt__wfile_free(&wf);
  ASSERT(run(&toy_model_f64, "%s --epochs 6 --resume %s", common, tp("bad.ckpt")) == 1);
  ASSERT_HAS(R.err, "checkpoint section SCHD holds rate 0");
}

/* With shuffling off every epoch visits the samples in data order, whatever the seed: two runs
 * from the same weights with different seeds end on the same weights; with shuffling on they
 * differ. */
static void test_shuffle_off(void) {
  const char *common = "train --quiet --epochs 1 --restarts 1 --batch 1 --rate 0.5";
  ASSERT(run(&toy_model_f64, "train --quiet --epochs 0 --save %s", tp("start.w")) == 0);
  ASSERT(run(&toy_model_f64, "%s --no-shuffle --seed 1 --resume %s --save %s", common, tp("start.w"),
             tp("off1.w")) == 0);
  ASSERT(run(&toy_model_f64, "%s --no-shuffle --seed 2 --resume %s --save %s", common, tp("start.w"),
             tp("off2.w")) == 0);
  ASSERT(files_equal(tp("off1.w"), tp("off2.w")));
  ASSERT(run(&toy_model_f64, "%s --shuffle --seed 1 --resume %s --save %s", common, tp("start.w"),
             tp("on1.w")) == 0);
  ASSERT(run(&toy_model_f64, "%s --seed 2 --resume %s --save %s", common, tp("start.w"), tp("on2.w")) == 0);
  ASSERT(!files_equal(tp("on1.w"), tp("on2.w")));
  /* the train block's `shuffle off`, and --shuffle turning it back on */
  nnc_train_settings ordered = *toy_model_f64.train;
  nnc_model m = toy_model_f64;
  ordered.shuffle_off = 1;
  m.train = &ordered;
  ASSERT(run(&m, "%s --seed 2 --resume %s --save %s", common, tp("start.w"), tp("block.w")) == 0);
  ASSERT(files_equal(tp("off1.w"), tp("block.w")));
  ASSERT(run(&m, "%s --shuffle --seed 2 --resume %s --save %s", common, tp("start.w"), tp("on3.w")) == 0);
  ASSERT(files_equal(tp("on2.w"), tp("on3.w")));
  ASSERT(run(&m, "info") == 0);
  ASSERT_HAS(R.out, "shuffle    off");
}

static void test_interrupt_and_resume(void) {
  const char *common = "train --epochs 5 --restarts 1 --momentum 0.5";
  ASSERT(run(&toy_model_f64, "%s --save %s", common, tp("s.w")) == 0);
  toy_hooks.interrupt_after = 10; /* inside epoch 3 (4 samples per epoch) */
  ASSERT(run(&toy_model_f64, "%s --save %s --checkpoint %s", common, tp("i.w"), tp("i.ckpt")) == 130);
  toy_hooks.interrupt_after = 0;
  ASSERT_HAS(R.err, "interrupted in epoch 3: checkpoint after epoch 2 written to");
  ASSERT(access(tp("i.w"), F_OK) != 0);
  ASSERT(run(&toy_model_f64, "%s --save %s --resume %s", common, tp("i.w"), tp("i.ckpt")) == 0);
  ASSERT(strncmp(R.err, "epoch 3/5", 9) == 0);
  ASSERT(files_equal(tp("s.w"), tp("i.w")));
}

static void test_divergence_keeps_last_good(void) {
  toy_hooks.nan_after = 7;
  ASSERT(run(&toy_model_f64, "train --epochs 5 --restarts 1 --save %s", tp("nan.w")) == 1);
  toy_hooks.nan_after = 0;
  ASSERT_HAS(R.err, "error: epoch 2: the loss became nan: training diverged (try a smaller --rate than 1); "
                    "the last good weights were saved to");
  ASSERT_HAS(R.err, "nan.w.diverged (not to ");
  /* only a run that succeeds writes the save path */
  ASSERT(access(tp("nan.w"), F_OK) != 0);
  double p[13];
  nnrt_error err;
  ASSERT(nnrt_weights_load(tp("nan.w.diverged"), &toy_model_f64, p, NULL, &err) == NNRT_OK);
  for (int i = 0; i < 13; i++)
    ASSERT(isfinite(p[i]));
}

/* A weight that becomes NaN in the last step of an epoch, after its loss was summed, is
 * divergence: the weights of that epoch are not kept as good. */
static void test_divergence_sees_nan_weights(void) {
  toy_hooks.nan_weight_after = 8; /* the last step of epoch 2 (4 samples per epoch) */
  ASSERT(run(&toy_model_f64, "train --epochs 5 --restarts 1 --save %s", tp("nanw.w")) == 1);
  toy_hooks.nan_weight_after = 0;
  ASSERT_HAS(R.err, "error: epoch 2: parameter 12 became nan: training diverged (try a smaller --rate than 1); "
                    "the last good weights were saved to");
  ASSERT(access(tp("nanw.w"), F_OK) != 0);
  double p[13];
  nnrt_error err;
  ASSERT(nnrt_weights_load(tp("nanw.w.diverged"), &toy_model_f64, p, NULL, &err) == NNRT_OK);
  for (int i = 0; i < 13; i++)
    ASSERT(isfinite(p[i]));
}

/* A restart that diverges does not end training: the others go on, the best of them is
 * saved (exit 0) and a warning counts the diverged ones. */
static void test_diverged_restart_others_go_on(void) {
  toy_hooks.nan_after = 7; /* epoch 2 of restart 1 */
  ASSERT(run(&toy_model_f64, "train --epochs 5 --restarts 3 --quiet --save %s", tp("r3.w")) == 0);
  toy_hooks.nan_after = 0;
  ASSERT_HAS(R.out, "restart 1/3  seed 1  diverged: epoch 2: the loss became nan\n");
  ASSERT_HAS(R.out, "restart 3/3  seed 3  epochs 5");
  ASSERT_HAS(R.err, "warning: 1 of 3 restarts diverged (try a smaller --rate than 1); the best of the others is kept\n");
  ASSERT(access(tp("r3.w"), F_OK) == 0);
  ASSERT(access(tp("r3.w.diverged"), F_OK) != 0);
}

/* Every restart diverged: the error counts them, the best last good weights go to
 * SAVE.diverged. */
static void test_all_restarts_diverged(void) {
  toy_hooks.nan_every = 7;
  toy_hooks.nan_calls = 0;
  ASSERT(run(&toy_model_f64, "train --epochs 5 --restarts 2 --quiet --save %s", tp("r2.w")) == 1);
  toy_hooks.nan_every = 0;
  ASSERT_HAS(R.out, "restart 1/2  seed 1  diverged: epoch 2: the loss became nan\n");
  ASSERT_HAS(R.err, "error: all 2 restarts diverged; restart 2: epoch 2: the loss became nan: training diverged "
                    "(try a smaller --rate than 1); the last good weights were saved to");
  ASSERT(access(tp("r2.w"), F_OK) != 0);
  ASSERT(access(tp("r2.w.diverged"), F_OK) == 0);
}

/* The advice names unscaled targets (regression only), unscaled inputs, then the step size. */
static void test_advice(void) {
  char buf[512];
  nnrt_advice_facts f = {0.1, 0, 0, 0, 1, 4, 0, 284, 346, 0, 0, 0, 0};
  nnrt__advice_text(&f, 1, buf, sizeof buf);
  ASSERT_STR(buf, "likely cause: the targets are not scaled, output 0 reaches 346: add 'target_scale zscore' to "
                  "the data; the inputs are not scaled, input 4 reaches 284: add 'scale zscore' to the data; else "
                  "try a smaller --rate than 0.1");
  f.targets_scaled = 1;
  f.momentum = 0.9;
  nnrt__advice_text(&f, 1, buf, sizeof buf);
  ASSERT_STR(buf, "likely cause: the inputs are not scaled, input 4 reaches 284: add 'scale zscore' to the data; "
                  "else try a smaller --rate or --momentum: rate 0.1 with momentum 0.9 steps like rate 1");
  f.inputs_scaled = 1;
  nnrt__advice_text(&f, 0, buf, sizeof buf);
  ASSERT_STR(buf, "try another --rate than 0.1, or more --epochs");
  f.inputs_scaled = f.targets_scaled = f.regression = 0; /* a classifier's targets are 0/1 */
  f.input_max = 9;
  nnrt__advice_text(&f, 1, buf, sizeof buf);
  ASSERT_STR(buf, "try a smaller --rate or --momentum: rate 0.1 with momentum 0.9 steps like rate 1");
  nnrt__advice_text(&f, 1, buf, 12); /* cut, still terminated */
  ASSERT_STR(buf, "try a small");
  f.weight_decay = 37; /* rate·W = 3.7: below the heavy ball's limit 2·(1 + 0.9) */
  nnrt__advice_text(&f, 1, buf, sizeof buf);
  ASSERT_STR(buf, "try a smaller --rate or --momentum: rate 0.1 with momentum 0.9 steps like rate 1");
  f.weight_decay = 40;
  nnrt__advice_text(&f, 1, buf, sizeof buf);
  ASSERT_STR(buf, "likely cause: the weight decay overshoots, rate 0.1 · weight_decay 40 = 4 is above 2 · (1 + "
                  "momentum 0.9) = 3.8: give a --weight-decay below 38; else try a smaller --rate or --momentum: "
                  "rate 0.1 with momentum 0.9 steps like rate 1");
  f.decoupled = 1; /* adamw: p·(1 − rate·W) grows beyond 2, whatever the moments */
  f.momentum = 0;
  f.weight_decay = 25;
  nnrt__advice_text(&f, 1, buf, sizeof buf);
  ASSERT_STR(buf, "likely cause: the weight decay overshoots, rate 0.1 · weight_decay 25 = 2.5 is above 2: give a "
                  "--weight-decay below 20; else try a smaller --rate than 0.1");
  f.weight_decay = 0;
  f.beta1 = 0.9; /* β1 < √β2: bounded steps, not named */
  f.beta2 = 0.999;
  nnrt__advice_text(&f, 1, buf, sizeof buf);
  ASSERT_STR(buf, "try a smaller --rate than 0.1");
  f.beta2 = 0.25;
  nnrt__advice_text(&f, 1, buf, sizeof buf);
  ASSERT_STR(buf, "likely cause: beta1 0.9 is above √beta2 = 0.5: the first moment outgrows the second's root and a "
                  "step is no longer bounded by the rate; give a --beta2 of at least beta1² = 0.81; else try a "
                  "smaller --rate than 0.1");
}

static void test_majority_fraction(void) {
  nnrt_dataset *d;
  nnrt_error err;
  ASSERT(nnrt_dataset_create(5, 1, 3, 8, 0, &d, &err) == NNRT_OK);
  int cls[5] = {2, 0, 2, 1, 2};
  for (int s = 0; s < 5; s++)
    ((double *)d->t)[3 * s + cls[s]] = 1;
  ASSERT(fabs(nnrt__majority_fraction(d) - 0.6) < 1e-12);
  nnrt_dataset_destroy(d);
  ASSERT(nnrt_dataset_create(4, 1, 1, 4, 0, &d, &err) == NNRT_OK);
  ((float *)d->t)[1] = 1; /* one output: class 1 when >= 0.5 */
  ASSERT(fabs(nnrt__majority_fraction(d) - 0.75) < 1e-12);
  nnrt_dataset_destroy(d);
}

static void test_early_stopping(void) {
  ASSERT(run(&toy_model_f64, "train --epochs 500 --restarts 1 --validation 0.5 --patience 3 --rate 0.1 "
                             "--quiet --save %s", tp("es.w")) == 0);
  ASSERT_HAS(R.out, "early stop after epoch");
  ASSERT_HAS(R.out, "kept the weights of epoch ");
}

/* Each restart line shows the validation loss the restarts are compared on, and its epoch;
 * the kept restart's is the summary's. */
static void test_restart_lines_show_choice(void) {
  char want[128];
  ASSERT(run(&toy_model_f64, "train --epochs 6 --restarts 2 --validation 0.5 --quiet --save %s", tp("rs.w")) == 0);
  const char *kept = strstr(R.out, "kept restart ");
  ASSERT(kept);
  int r = 0;
  double loss = 0;
  ASSERT(sscanf(kept, "kept restart %d/2 (validation loss %lf)", &r, &loss) == 2);
  snprintf(want, sizeof want, "restart %d/2  seed %d  epochs 6", r, r);
  const char *line = strstr(R.out, want);
  ASSERT(line);
  snprintf(want, sizeof want, "val_loss %.6g (epoch ", loss);
  ASSERT(strstr(line, want) && strstr(line, want) < strchr(line, '\n'));
}

static void test_log_and_plot(void) {
  ASSERT(run(&toy_model_f64, "train --epochs 7 --restarts 2 --validation 0.25 --save %s --log %s --plot %s",
             tp("lp.w"), tp("log.csv"), tp("plot.svg")) == 0);
  static char buf[1 << 14];
  read_file(tp("log.csv"), buf, sizeof buf);
  int lines = 0;
  for (char *p = buf; *p; p++)
    lines += *p == '\n';
  ASSERT(lines == 1 + 14);
  ASSERT(strncmp(buf, "restart,epoch,loss,acc,val_loss,val_acc,rate,seconds\n1,1,", 56) == 0);
  read_file(tp("plot.svg"), buf, sizeof buf);
  ASSERT_HAS(buf, "<svg");
  ASSERT_HAS(buf, "<polyline");
  ASSERT_HAS(buf, "validation loss");
  ASSERT_HAS(buf, "</svg>");
  /* plain progress lines, one per epoch */
  ASSERT_HAS(R.err, "[2/2] epoch 7/7  loss ");
  ASSERT_HAS(R.err, "samples/s\n");
}

static void test_usage_errors(void) {
  struct { const char *args; int code; const char *err; } cases[] = {
    {"train --rate abc", 2, "error: --rate: expected a number in (0, 1000000], got 'abc'\n"},
    {"train --rate -1", 2, "error: --rate: expected a number in (0, 1000000], got '-1'\n"},
    {"train --rate 1000001", 2, "error: --rate: expected a number in (0, 1000000], got '1000001'\n"},
    {"train --rate nan", 2, "error: --rate: expected a number in (0, 1000000], got 'nan'\n"},
    {"train --epochs 1.5", 2, "error: --epochs: expected an integer from 0 to 1000000000, got '1.5'\n"},
    {"train --epochs 1000000001", 2, "error: --epochs: expected an integer from 0 to 1000000000, got '1000000001'\n"},
    {"train --batch 0", 2, "error: --batch: expected an integer from 1 to 1048576 (1: per-sample SGD), got '0'\n"},
    {"train --batch 1048577", 2, "error: --batch: expected an integer from 1 to 1048576 (1: per-sample SGD), "
                                 "got '1048577'\n"},
    {"train --restarts 1000001", 2, "error: --restarts: expected an integer from 1 to 1000000, got '1000001'\n"},
    {"train --threads 257", 2, "error: --threads: expected an integer from 1 to 256, got '257'\n"},
    {"train --patience 1000000001", 2, "error: --patience: expected an integer from 0 to 1000000000 (0: off), "
                                      "got '1000000001'\n"},
    {"train --checkpoint-every -1", 2, "error: --checkpoint-every: expected an integer from 0 to 1000000000 "
                                       "(0: only on interrupt), got '-1'\n"},
    {"train --validation 1", 2, "error: --validation: expected a number in [0, 1) (0: none), got '1'\n"},
    {"gradcheck --samples 0", 2, "error: --samples: expected an integer from 1 to 1000000, got '0'\n"},
    {"eval --metric accuracy", 2, "error: --metric: expected auto, classification, multilabel or regression, "
                                  "got 'accuracy'\n"},
    {"predict --metric regression", 2, "error: unknown flag '--metric' for 'predict' (see 'toy predict --help')\n"},
    {"train --momentum 1", 2, "error: --momentum: expected a number in [0, 1), got '1'\n"},
    {"train --optimizer adagrad", 2, "error: --optimizer: expected sgd, adam, adamw, rmsprop, rprop or irprop, "
                                     "got 'adagrad'\n"},
    {"train --optimizer rprop --eta-minus 1", 2, "error: --eta-minus: expected a number in (0, 1), got '1'\n"},
    {"train --optimizer irprop --eta-plus 1", 2, "error: --eta-plus: expected a number in (1, 1000000], got '1'\n"},
    {"train --optimizer rprop --step-min -1", 2, "error: --step-min: expected a number in [0, 1000000], got '-1'\n"},
    {"train --optimizer rprop --step-min 2 --step-max 1", 2, "error: the smallest step size 2 is above the largest 1: "
                                                             "give --step-min at most --step-max\n"},
    {"train --optimizer rprop --schedule cosine --period 5", 2, "error: --schedule is not a setting of rprop: its "
                                                                "step sizes adapt by themselves (--rate is the first "
                                                                "step size; choose another optimizer with --optimizer)\n"},
    {"train --optimizer irprop --warmup 3", 2, "error: --warmup is not a setting of irprop: its step sizes adapt by "
                                               "themselves (--rate is the first step size; choose another optimizer "
                                               "with --optimizer)\n"},
    {"train --step-max 1", 2, "error: --step-max is not a hyperparameter of sgd, the optimizer of this training "
                              "(choose another with --optimizer)\n"},
    {"train --optimizer adam --beta1 1", 2, "error: --beta1: expected a number in [0, 1), got '1'\n"},
    {"train --optimizer adam --beta2 -0.1", 2, "error: --beta2: expected a number in [0, 1), got '-0.1'\n"},
    {"train --optimizer rmsprop --eps 0", 2, "error: --eps: expected a number in (0, 1], got '0'\n"},
    {"train --weight-decay 1001", 2, "error: --weight-decay: expected a number in [0, 1000] (0: none), got '1001'\n"},
    {"train --optimizer rmsprop --alpha 1", 2, "error: --alpha: expected a number in [0, 1), got '1'\n"},
    {"train --beta1 0.5", 2, "error: --beta1 is not a hyperparameter of sgd, the optimizer of this training "
                             "(choose another with --optimizer)\n"},
    {"train --optimizer adam --momentum 0.9", 2, "error: --momentum is not a hyperparameter of adam, the optimizer "
                                                 "of this training (choose another with --optimizer)\n"},
    {"train --centered --optimizer adamw", 2, "error: --centered is not a hyperparameter of adamw, the optimizer "
                                              "of this training (choose another with --optimizer)\n"},
    {"train --schedule linear", 2, "error: --schedule: expected none, cosine, cosine_restarts or plateau (inverse, "
                                   "exponential and step are set in the train block), got 'linear'\n"},
    {"train --schedule cosine", 2, "error: --schedule cosine needs its period: give --period N (epochs)\n"},
    {"train --period 5", 2, "error: --period is not a constant of decay inverse, the schedule of this training "
                            "(choose another with --schedule)\n"},
    {"train --schedule cosine --period 5 --factor 0.5", 2, "error: --factor is not a constant of decay cosine, the "
                                                           "schedule of this training (choose another with --schedule)\n"},
    {"train --schedule plateau --factor 1", 2, "error: --factor: expected a number in (0, 1), got '1'\n"},
    {"train --schedule plateau --plateau-patience -1", 2, "error: --plateau-patience: expected an integer from 0 to "
                                                          "1000000000, got '-1'\n"},
    {"train --schedule plateau --threshold 1", 2, "error: --threshold: expected a number in [0, 1), got '1'\n"},
    {"train --schedule plateau --cooldown 0.5", 2, "error: --cooldown: expected an integer from 0 to 1000000000, "
                                                   "got '0.5'\n"},
    {"train --schedule cosine_restarts --period 2 --period-mult 0", 2, "error: --period-mult: expected an integer "
                                                                       "from 1 to 1000000, got '0'\n"},
    {"train --schedule cosine --period 0", 2, "error: --period: expected an integer from 1 to 1000000000, got '0'\n"},
    {"train --min-rate -1", 2, "error: --min-rate: expected a number in [0, 1000000], got '-1'\n"},
    {"train --warmup -1", 2, "error: --warmup: expected an integer from 0 to 1000000000 (0: none), got '-1'\n"},
    {"train --warmup-from 0", 2, "error: --warmup-from: expected a number in (0, 1], got '0'\n"},
    {"train --warmup-steps=on", 2, "error: --warmup-steps takes no value\n"},
    {"train --clip-norm -1", 2, "error: --clip-norm: expected a number in [0, 1000000000] (0: off), got '-1'\n"},
    {"train --clip-value nan", 2, "error: --clip-value: expected a number in [0, 1000000000] (0: off), got 'nan'\n"},
    {"train --dampening 2", 2, "error: --dampening: expected a number in [0, 1] (0: none), got '2'\n"},
    {"train --optimizer adam --dampening 0.5", 2, "error: --dampening is not a hyperparameter of adam, the optimizer "
                                                  "of this training (choose another with --optimizer)\n"},
    {"train --momentum 0.9 --nesterov --dampening 0.1", 2, "error: Nesterov momentum needs a dampening of 0 (as "
                                                           "PyTorch's SGD requires)\n"},
    {"train --nesterov", 2, "error: Nesterov momentum needs a momentum above 0: give --momentum M (e.g. 0.9)\n"},
    {"train --amsgrad=on", 2, "error: --amsgrad takes no value\n"},
    {"train --patience 3", 2, "error: early stopping (patience 3) needs validation data, but validation is 0: "
                              "give --validation V (e.g. --validation 0.1), or --patience 0\n"},
    {"train --data xor.csv --inputs 0..1 --targets 1", 2,
     "error: --inputs/--targets/--onehot: column 1 is both an input and a target\n"},
    {"train --data xor.csv --targets 2,3", 2, "error: --targets selects 2 target columns but the network has 1 output "
                                              "(add --onehot if the column is a class index)\n"},
    {"train --data xor.csv --targets 1,2 --onehot", 2,
     "error: --inputs/--targets/--onehot: 'onehot' needs exactly one target column (the class index), got 2\n"},
    {"train --data xor.csv --labels xor.csv", 2, "error: xor.csv is CSV data: a label file (xor.csv) is for IDX "
                                                 "images; select the label column with --targets N --onehot\n"},
    {"train --data xor.csv --optimizer rprop --batch 2", 2, "error: rprop updates once per epoch from the whole "
     "training set's gradient: batch 2 is smaller than the 4 training samples (drop --batch, or choose another "
     "--optimizer)\n"},
    {"train --data xor.csv --test-labels xor.csv", 2, "error: --test-labels needs test data: give --test FILE\n"},
    {"train --data xor.csv --labels xor.csv --inputs 0..1", 2, "error: --inputs, --targets and --onehot select "
     "CSV columns; the data are IDX images (their pixels the inputs, their labels the one-hot targets)\n"},
    {"eval --seed 3 --weights w.w", 2, "error: --seed seeds the initial weights of --initial; 'eval' without "
                                       "--initial reads its weights from a file\n"},
    {"train --inputs 3..1", 2, "error: --inputs: expected column indices like 0..3,5 (ranges low to high, each column once), got '3..1'\n"},
    {"train --inputs +1,2", 2, "error: --inputs: expected column indices like 0..3,5 (ranges low to high, each column once), got '+1,2'\n"},
    {"train --targets -0", 2, "error: --targets: expected column indices like 0..3,5 (ranges low to high, each column once), got '-0'\n"},
    {"train --inputs 0,0", 2, "error: --inputs: column 0 is listed twice in '0,0'\n"},
    {"train --inputs 0..2,1", 2, "error: --inputs: column 1 is listed twice in '0..2,1'\n"},
    {"train --rate 0x10", 2, "error: --rate: expected a number in (0, 1000000], got '0x10'\n"},
    {"train --rate 1e", 2, "error: --rate: expected a number in (0, 1000000], got '1e'\n"},
    {"train --momentum .5.", 2, "error: --momentum: expected a number in [0, 1), got '.5.'\n"},
    {"train --epochs 1.0", 2, "error: --epochs: expected an integer from 0 to 1000000000, got '1.0'\n"},
    {"train --epochs +5", 2, "error: --epochs: expected an integer from 0 to 1000000000, got '+5'\n"},
    {"train --batch 1e2", 2, "error: --batch: expected an integer from 1 to 1048576 (1: per-sample SGD), "
                             "got '1e2'\n"},
    {"train --seed +4", 2, "error: --seed: expected a non-negative integer, got '+4'\n"},
    {"train --seed 18446744073709551616", 2, "error: --seed: expected a non-negative integer, "
                                             "got '18446744073709551616'\n"},
    {"train --shuffle --no-shuffle", 2, "error: --shuffle and --no-shuffle contradict each other: give one\n"},
    {"train --seed -4", 2, "error: --seed: expected a non-negative integer, got '-4'\n"},
    {"train --frobnicate", 2, "error: unknown flag '--frobnicate' for 'train' (see 'toy train --help')\n"},
    {"eval --rate 1", 2, "error: unknown flag '--rate' for 'eval' (see 'toy eval --help')\n"},
    {"train --epochs", 2, "error: --epochs: missing value (N)\n"},
    {"train stray", 2, "error: unexpected argument 'stray' for 'train' (see 'toy train --help')\n"},
    {"fly", 2, "error: unknown command 'fly' (expected train, eval, predict, info, weights or gradcheck; "
               "see 'toy --help')\n"},
    {"weights", 2, "error: weights: expected 'export' or 'import' (see 'toy weights --help')\n"},
    {"train --data missing.csv", 1, "error: missing.csv: cannot open: No such file or directory\n"},
    {"train --data bad_fields.csv", 1, "error: bad_fields.csv:3: expected 3 fields, found 2\n"},
    {"train --data xor.csv --inputs 0", 2, "error: --inputs selects 1 input column but the network has 2 inputs\n"},
    {"eval --weights nothing.w", 1, "error: nothing.w: cannot open: No such file or directory\n"},
    {"train --data label_range.csv", 1, "error: label_range.csv: sample 1: target 2 is outside [0, 1], "
                                        "but the network's single output is a class probability\n"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int code = run(&toy_model_f64, "%s", cases[i].args);
    if (code != cases[i].code)
      printf("  '%s' exited %d\n", cases[i].args, code);
    ASSERT(code == cases[i].code);
    ASSERT_STR(R.err, cases[i].err);
  }
  ASSERT(run(&toy_model_f64, "--help") == 0);
  ASSERT_HAS(R.out, "usage: toy COMMAND");
  ASSERT(run(&toy_model_f64, "train --help") == 0);
  ASSERT_HAS(R.out, "--checkpoint-every N");
  ASSERT(run(&toy_model_f64, "predict --help") == 0);
  ASSERT_HAS(R.out, "--input FILE");
  ASSERT(run(&toy_model_f64, "info") == 0);
  ASSERT_HAS(R.out, "parameters   13");
  ASSERT_HAS(R.out, "precision    f64");
}

static void test_gradcheck(void) {
  ASSERT(run(&toy_model_f64, "gradcheck") == 0);
  ASSERT_HAS(R.out, "PASS");
  ASSERT(run(&toy_model_f32, "gradcheck --samples 3") == 0);
  ASSERT_HAS(R.out, "PASS");
  toy_hooks.bad_grad = 4;
  int code = run(&toy_model_f64, "gradcheck");
  toy_hooks.bad_grad = 0;
  ASSERT(code == 1);
  ASSERT_HAS(R.out, "parameter 3");
  ASSERT_HAS(R.out, "FAIL");
  toy_hooks.bad_grad = 2; /* a wrong derivative is found in f32 too */
  code = run(&toy_model_f32, "gradcheck --samples 3");
  toy_hooks.bad_grad = 0;
  ASSERT(code == 1);
  ASSERT_HAS(R.out, "parameter 1");
  ASSERT_HAS(R.out, "FAIL");
}

/* f(x) = x³ at x = 1.7 evaluated in f32: the derivative 3x² passes the f32 criterion with the
 * f32 step, a derivative 1% off (or one with a wrong sign, or NaN) fails it. */
static float cube_f32(float x) { return x * x * x; }

static double cube_central_difference(double x, double eps) {
  double h = cbrt(eps) * fmax(1.0, fabs(x));
  float hi = (float)(x + h), lo = (float)(x - h);
  return ((double)cube_f32(hi) - (double)cube_f32(lo)) / ((double)hi - (double)lo);
}

static void test_gradcheck_criterion(void) {
  double eps = nnrt__gradcheck_eps(4), x = 1.7, n = cube_central_difference(x, eps);
  double tol = nnrt__gradcheck_tolerance(eps), scale = 3 * x * x;
  ASSERT(tol > 1e-3 && tol < 1e-2);
  ASSERT(nnrt__gradcheck_tolerance(nnrt__gradcheck_eps(8)) < 1e-7);
  ASSERT(nnrt__gradcheck_error(3 * x * x, n, scale) <= tol);
  ASSERT(nnrt__gradcheck_error(1.01 * 3 * x * x, n, scale) > tol);
  ASSERT(nnrt__gradcheck_error(-3 * x * x, n, scale) > tol);
  ASSERT(nnrt__gradcheck_error(NAN, n, scale) > tol);
  /* a small component is judged against its sample's gradient: 1e-6 off in a 1e-5 component
   * of a gradient whose largest component is 1 passes, 1e-2 off fails */
  ASSERT(nnrt__gradcheck_error(1e-5, 1.1e-5, 1.0) <= tol);
  ASSERT(nnrt__gradcheck_error(1e-5, 1e-2, 1.0) > tol);
}

static void test_eval_regression(void) {
  nnc_model reg = toy_model_f64;
  double p[13];
  nnrt_error err;
  reg.classifier = 0;
  toy_params(&reg, p, 5);
  ASSERT(nnrt_weights_save(tp("reg.w"), &reg, p, NULL, &err) == NNRT_OK);
  ASSERT(run(&reg, "eval --weights %s --data xor.csv", tp("reg.w")) == 0);
  ASSERT_HAS(R.out, "mse ");
  ASSERT_HAS(R.out, "r2 ");
  ASSERT(run(&toy_model_f64, "eval --weights %s --data xor.csv --metric regression", tp("reg.w")) == 0);
  ASSERT_HAS(R.out, "\nmetric regression\n");
  ASSERT_HAS(R.out, "rmse ");
  ASSERT(!strstr(R.out, "accuracy") && !strstr(R.out, "confusion"));
  ASSERT(run(&toy_model_f64, "eval --weights %s --data xor.csv", tp("reg.w")) == 0);
  ASSERT_HAS(R.out, "class precision    recall        f1   support\n"
                    "0             -    0.0000    0.0000         2\n");
  ASSERT_HAS(R.out, "confusion matrix");
}

/* ---- class labels and metrics ---- */

/* Loads text as 2 inputs and a class label column for 3 outputs, through map (or building one). */
static int load_labeled(const char *text, int flags, const nnrt_labels *map, nnrt_dataset **d, nnrt_error *err) {
  write_file(tp("l.csv"), text, strlen(text));
  nnc_data_source s = csv_source(tp("l.csv"));
  s.onehot = 1;
  return nnrt_dataset_load_mapped(&s, 2, 3, 8, flags, map, d, err);
}

static int32_t class_at(const nnrt_dataset *d, int64_t k) {
  for (int32_t o = 0; o < d->n_outputs; o++)
    if (nnrt_dataset_target(d, k, o) == 1)
      return o;
  return -1;
}

/* Labels 0..K−1 need no map; strings and 1..K get one, sorted (numbers by value), whatever
 * their order in the file; a label map reads other data and refuses labels it lacks. */
static void test_label_map(void) {
  nnrt_dataset *d = NULL, *t = NULL;
  nnrt_error err = {0, ""};
  char want[512];
  ASSERT(load_labeled("1,2,2\n3,4,0\n", 0, NULL, &d, &err) == NNRT_OK);
  ASSERT(d->labels == NULL && class_at(d, 0) == 2 && class_at(d, 1) == 0);
  nnrt_dataset_destroy(d);
  ASSERT(load_labeled("1,2,3\n3,4,1\n5,6,2\n7,8,3\n", 0, NULL, &d, &err) == NNRT_OK);
  ASSERT(d->labels && d->labels->n == 3 && !strcmp(d->labels->names[0], "1") && !strcmp(d->labels->names[2], "3"));
  ASSERT(class_at(d, 0) == 2 && class_at(d, 1) == 0 && class_at(d, 3) == 2);
  nnrt_dataset_destroy(d);
  ASSERT(load_labeled("1,2,10\n3,4,9\n5,6,100\n", 0, NULL, &d, &err) == NNRT_OK);
  ASSERT(!strcmp(d->labels->names[0], "9") && !strcmp(d->labels->names[1], "10") && class_at(d, 2) == 2);
  nnrt_dataset_destroy(d);
  ASSERT(load_labeled("1,2,10\n3,4,1e1\n5,6,9\n", 0, NULL, &d, &err) == NNRT_OK);
  ASSERT(d->labels->n == 2 && !strcmp(d->labels->names[1], "10") && class_at(d, 1) == 1 && class_at(d, 2) == 0);
  ASSERT(load_labeled("1,2,10.0\n3,4,9\n", 0, d->labels, &t, &err) == NNRT_OK);
  ASSERT(class_at(t, 0) == 1 && class_at(t, 1) == 0);
  nnrt_dataset_destroy(t);
  nnrt_dataset_destroy(d);
  ASSERT(load_labeled("1,2,virginica\n3,4,setosa\n5,6,\"ver,sicolor\"\n", 0, NULL, &d, &err) == NNRT_OK);
  ASSERT(!strcmp(d->labels->names[0], "setosa") && !strcmp(d->labels->names[1], "ver,sicolor"));
  ASSERT(class_at(d, 0) == 2 && class_at(d, 1) == 0 && class_at(d, 2) == 1);
  ASSERT(load_labeled("1,2,setosa\n3,4,virginica\n5,6,iris\n", 0, d->labels, &t, &err) == NNRT_EDATA);
  snprintf(want, sizeof want, "%s:3: field 3: label 'iris' is not one of the 3 classes seen in training "
           "(setosa, ver,sicolor, virginica)", tp("l.csv"));
  ASSERT_STR(err.msg, want);
  ASSERT(t == NULL);
  ASSERT(load_labeled("1,2,virginica\n3,4,setosa\n", 0, d->labels, &t, &err) == NNRT_OK);
  ASSERT(t->labels == NULL && class_at(t, 0) == 2 && class_at(t, 1) == 0);
  nnrt_dataset_destroy(t);
  nnrt_dataset_destroy(d);
  ASSERT(load_labeled("1,2,a\n3,4,b\n5,6,c\n7,8,a\n9,9,d\n", 0, NULL, &d, &err) == NNRT_EDATA);
  snprintf(want, sizeof want, "%s:5: field 3: label 'd' would be class 4, but the network has 3 outputs "
           "(labels so far: a, b, c)", tp("l.csv"));
  ASSERT_STR(err.msg, want);
  ASSERT(load_labeled("1,2,a\n3,4,\n", 0, NULL, &d, &err) == NNRT_EDATA);
  ASSERT_HAS(err.msg, "l.csv:2: field 3: the class label is empty");
  ASSERT(load_labeled("1,2,1\n3,4,3\n", NNRT_LOAD_ZERO_BASED, NULL, &d, &err) == NNRT_EDATA);
  ASSERT_HAS(err.msg, "l.csv:2: field 3: label 3 is out of range [0, 3)");
}

/* Saves p with the label map l (and nothing else) to path. */
static int save_labels(const char *path, const nnc_model *m, const double *p, nnrt_labels *l, nnrt_error *err) {
  nnrt_weights_extras x = {NULL, l, NULL};
  return nnrt_weights_save_ex(path, m, p, &x, err);
}

/* The LBLS and TSCL sections: saved and read back; damaged ones refused; files without them load. */
static void test_weights_labels(void) {
  /* (the parameters are the toy's: 13; the sections are checked against n_outputs) */
  nnc_model three_outputs = toy_model_f64;
  const nnc_model *m = &three_outputs;
  three_outputs.n_outputs = 3;
  double p[13] = {0}, q[13];
  char *names[] = {"no", "yes"};
  nnrt_labels l = {2, names};
  nnrt_weights_extras back;
  nnrt_error err;
  ASSERT(save_labels(tp("l.w"), m, p, &l, &err) == NNRT_OK);
  int rc = nnrt_weights_load_ex(tp("l.w"), m, q, &back, &err);
  ASSERT_STR(rc ? err.msg : "", "");
  ASSERT(back.labels && back.labels->n == 2 && !strcmp(back.labels->names[1], "yes") && !back.targets);
  nnrt_weights_extras_clear(&back);
  ASSERT(nnrt_weights_load(tp("l.w"), m, q, NULL, &err) == NNRT_OK);
  ASSERT(nnrt_weights_save(tp("n.w"), m, p, NULL, &err) == NNRT_OK);
  ASSERT(nnrt_weights_load_ex(tp("n.w"), m, q, &back, &err) == NNRT_OK && back.labels == NULL);
  char *dup[] = {"a", "a"};
  nnrt_labels same = {2, dup};
  ASSERT(save_labels(tp("d.w"), m, p, &same, &err) == NNRT_OK);
  ASSERT(nnrt_weights_load_ex(tp("d.w"), m, q, &back, &err) == NNRT_EDATA && back.labels == NULL);
  ASSERT_HAS(err.msg, "corrupted class label section: label 2 repeats label 1");
  char *four[] = {"a", "b", "c", "d"};
  nnrt_labels many = {4, four};
  ASSERT(save_labels(tp("m.w"), m, p, &many, &err) == NNRT_OK);
  ASSERT(nnrt_weights_load_ex(tp("m.w"), m, q, &back, &err) == NNRT_EDATA);
  ASSERT_HAS(err.msg, "4 labels for a network of 3 outputs");
  double off[3] = {1, 2, 3}, mul[3] = {0.5, 0.25, 2};
  nnrt_scaler ts = {NNC_SCALE_ZSCORE, 3, off, mul};
  nnrt_weights_extras x = {NULL, &l, &ts};
  ASSERT(nnrt_weights_save_ex(tp("t.w"), m, p, &x, &err) == NNRT_OK);
  ASSERT(nnrt_weights_load_ex(tp("t.w"), m, q, &back, &err) == NNRT_OK);
  ASSERT(back.targets && back.targets->n == 3 && back.targets->mul[2] == 2 && back.labels && !back.scaler);
  nnrt_weights_extras_clear(&back);
  ts.mode = NNC_SCALE_FACTOR;
  ASSERT(nnrt_weights_save_ex(tp("f.w"), m, p, &x, &err) == NNRT_OK);
  ASSERT(nnrt_weights_load_ex(tp("f.w"), m, q, &back, &err) == NNRT_EDATA);
  ASSERT_HAS(err.msg, "f.w: target scaling section: ");
}

/* A dataset of n samples with the given inputs and targets (row-major). */
static nnrt_dataset *make_set(int64_t n, int32_t ni, int32_t no, const double *x, const double *t) {
  nnrt_dataset *d = NULL;
  nnrt_error err;
  if (nnrt_dataset_create(n, ni, no, 8, 0, &d, &err))
    return NULL;
  memcpy(d->x, x, (size_t)(n * ni) * sizeof(double));
  memcpy(d->t, t, (size_t)(n * no) * sizeof(double));
  return d;
}

/* A model compiled for an extension this CPU lacks (bit 63 names none, so no CPU has it) is
 * refused, naming it, by every entry point that would run its code; none of it runs. */
static void test_cpu_refusal(void) {
  nnc_model m = toy_model_f64;
  m.x86_features = 1ull << 63;
  double x[4] = {0, 1, 1, 0}, t[2] = {1, 1}, y[2];
  nnrt_dataset *d = make_set(2, 2, 1, x, t);
  double *p = calloc((size_t)m.n_params, sizeof(double));
  ASSERT(d && p);
  nnrt_error err;
  nnrt_metrics mt;
  memset(&mt, 0, sizeof mt);
  nnrt_gradcheck_result gc;
  nnrt_train_options o;
  nnrt_train_options_init(&o, &m);
  nnrt_trainer *tr = NULL;
  const char *lacks = "was compiled for a CPU with an unknown extension, which this CPU lacks";
  ASSERT(nnrt_cpu_check(&m, &err) == NNRT_EUSAGE);
  ASSERT_HAS(err.msg, lacks);
  ASSERT(nnrt_predict(&m, p, d, y, &err) == NNRT_EUSAGE);
  ASSERT_HAS(err.msg, lacks);
  ASSERT(nnrt_evaluate(&m, p, d, 0, &mt, &err) == NNRT_EUSAGE);
  ASSERT_HAS(err.msg, lacks);
  ASSERT(nnrt_gradcheck(&m, p, d, 1, 0, &gc, &err) == NNRT_EUSAGE);
  ASSERT_HAS(err.msg, lacks);
  ASSERT(nnrt_trainer_create(&m, &o, d, &tr, &err) == NNRT_EUSAGE && tr == NULL);
  ASSERT_HAS(err.msg, lacks);
  ASSERT(nnrt_cpu_check(&toy_model_f64, &err) == NNRT_OK);
  free(p);
  nnrt_dataset_destroy(d);
}

/* AUTO decides by the targets: one-hot rows classify, 0/1 rows with several 1s are multi-label,
 * targets equal to the inputs (an autoencoder) and other values are regression. */
static void test_metric_resolve(void) {
  nnc_model m = toy_model_f64;
  double x[4] = {0, 1, 1, 0}, onehot[4] = {1, 0, 0, 1}, multi[4] = {1, 1, 0, 0}, soft[4] = {0.2, 0.8, 1, 0};
  nnrt_dataset *a = make_set(2, 2, 2, x, onehot), *b = make_set(2, 2, 2, x, multi);
  nnrt_dataset *c = make_set(2, 2, 2, x, soft), *e = make_set(2, 2, 2, x, x);
  ASSERT(a && b && c && e);
  m.classifier = 1;
  ASSERT(nnrt_metric_resolve(&m, NNC_METRIC_AUTO, a) == NNC_METRIC_CLASSIFICATION);
  ASSERT(nnrt_metric_resolve(&m, NNC_METRIC_AUTO, b) == NNC_METRIC_MULTILABEL);
  ASSERT(nnrt_metric_resolve(&m, NNC_METRIC_AUTO, c) == NNC_METRIC_REGRESSION);
  ASSERT(nnrt_metric_resolve(&m, NNC_METRIC_AUTO, e) == NNC_METRIC_REGRESSION);
  ASSERT(nnrt_metric_resolve(&m, NNC_METRIC_REGRESSION, a) == NNC_METRIC_REGRESSION);
  m.classifier = 0;
  ASSERT(nnrt_metric_resolve(&m, NNC_METRIC_AUTO, a) == NNC_METRIC_REGRESSION);
  nnrt_dataset_destroy(a);
  nnrt_dataset_destroy(b);
  nnrt_dataset_destroy(c);
  nnrt_dataset_destroy(e);
}

/* Outputs of a 2-input, 2-output identity network: y = x. */
static void identity_forward(const void *params, int64_t n, const void *x, void *y, void *scratch) {
  (void)params, (void)scratch;
  memcpy(y, x, (size_t)(2 * n) * sizeof(double));
}

/* Multi-label scores by hand: 3 samples of 2 labels, predictions = inputs ≥ 0.5. */
static void test_multilabel_scores(void) {
  nnc_model m = toy_model_f64;
  double x[6] = {1, 1, 1, 0, 0, 0}, t[6] = {1, 1, 1, 1, 0, 1};
  nnrt_dataset *d = make_set(3, 2, 2, x, t);
  nnrt_metrics mt;
  nnrt_error err;
  ASSERT(d);
  m.n_inputs = m.n_outputs = 2;
  m.forward = identity_forward;
  m.evaluate = NULL;
  m.scratch_fixed = m.scratch_per_sample = 0;
  ASSERT(nnrt_evaluate_as(&m, NULL, d, NNC_METRIC_MULTILABEL, NULL, NNRT_EVAL_NO_LOSS | NNRT_EVAL_CONFUSION, &mt, &err) == 0);
  ASSERT(mt.metric == NNC_METRIC_MULTILABEL && mt.confusion == NULL);
  ASSERT(fabs(mt.accuracy - 1.0 / 3) < 1e-12);      /* only sample 1 has both labels right */
  ASSERT(fabs(mt.hamming - 4.0 / 6) < 1e-12);
  ASSERT(mt.tp[0] == 2 && mt.fp[0] == 0 && mt.fn[0] == 0);
  ASSERT(mt.tp[1] == 1 && mt.fp[1] == 0 && mt.fn[1] == 2);
  nnrt_metrics_clear(&mt);
  ASSERT(nnrt_evaluate_as(&m, NULL, d, NNC_METRIC_REGRESSION, NULL, NNRT_EVAL_NO_LOSS, &mt, &err) == 0);
  ASSERT(fabs(mt.mse - 2.0 / 6) < 1e-12 && fabs(mt.mae - 2.0 / 6) < 1e-12 && fabs(mt.rmse - sqrt(2.0 / 6)) < 1e-12);
  nnrt_metrics_clear(&mt);
  nnrt_dataset_destroy(d);
}

/* cosine, cosine_restarts, warmup in epochs and in steps, reduce-on-plateau, clipping. */
/* The update rules take subnormal state as zero (x86 cores stall on each subnormal operand):
 * a moment decaying below 1.2e-38 becomes 0, the parameters move as without the flush, and the
 * caller's floating-point mode is what it was (a subnormal result survives after the call). */
static void test_optim_flushes_subnormal_state(void) {
  enum { N = 4 };
  nnc_model m = {.real_bytes = 4, .n_params = N};
  nnc_train_settings s = {0};
  float params[N] = {0.5f, -0.25f, 1, 2}, grad[N] = {0, 0, 0, 1e-3f};
  float state[2 * N] = {1.25e-38f, 1e-20f, 1e-30f, 0, 1e-3f, 1e-3f, 1e-3f, 0};
  s.optimizer = NNC_OPT_ADAM;
  nnc_optimizer_defaults(&s, NNC_OPT_ADAM);
  nnrt__optim_update(&m, &s, params, state, grad, 0, N, 0.001, 1, 2);
  ASSERT(state[0] == 0);                               /* 0.9 · 1.25e-38 is subnormal: flushed */
  ASSERT(state[1] == 0.9f * 1e-20f && state[2] == 0.9f * 1e-30f); /* normal ones decay */
  ASSERT(params[0] == 0.5f && params[3] < 2);
  volatile float tiny = 1e-30f;
  ASSERT(tiny * 1e-10f != 0);                          /* the caller's mode came back */
  /* Every rule and precision: rmsprop's f64 mean square decaying below 2.2e-308. */
  nnc_model m64 = {.real_bytes = 8, .n_params = 2};
  double p64[2] = {1, 1}, g64[2] = {0, 0}, s64[2] = {2.24e-308, 1e-300};
  s.optimizer = NNC_OPT_RMSPROP;
  nnc_optimizer_defaults(&s, NNC_OPT_RMSPROP);
  nnrt__optim_update(&m64, &s, p64, s64, g64, 0, 2, 0.01, 1, 1);
  ASSERT(s64[0] == 0 && s64[1] == 0.99 * 1e-300 && p64[0] == 1);
  volatile double tiny64 = 1e-300;
  ASSERT(tiny64 * 1e-10 != 0);
}

static void test_cosine_warmup_plateau_clip(void) {
  nnc_train_settings s = {0};
  nnrt_plateau p;
  s.rate = 2;
  s.decay = NNC_DECAY_COSINE;
  s.sched.period = 4;
  s.sched.min_rate = 1;
  ASSERT(nnrt__rate_at(&s, NULL, 0, 0) == 2 && nnrt__rate_at(&s, NULL, 0, 2) == 1.5 && nnrt__rate_at(&s, NULL, 0, 4) == 1);
  s.decay = NNC_DECAY_COSINE_RESTARTS;
  s.sched.period = 2;
  s.sched.period_mult = 2; /* periods [0, 2), [2, 6), [6, 14) */
  ASSERT(nnrt__rate_at(&s, NULL, 0, 1) == 1.5 && nnrt__rate_at(&s, NULL, 0, 2) == 2 && nnrt__rate_at(&s, NULL, 0, 4) == 1.5);
  ASSERT(nnrt__rate_at(&s, NULL, 0, 6) == 2 && nnrt__rate_at(&s, NULL, 0, 10) == 1.5);
  s.sched.period_mult = 1;
  ASSERT(nnrt__rate_at(&s, NULL, 0, 1000000001) == 1.5);
  s.decay = NNC_DECAY_COSINE;
  s.sched.period = 4;
  s.sched.warmup = 2; /* epochs 0, 1 warm up; the cosine starts at epoch 2 */
  s.sched.warmup_from = 0.5;
  ASSERT(nnrt__rate_at(&s, NULL, 0, 0) == 1 && nnrt__rate_at(&s, NULL, 0, 1) == 1.5);
  ASSERT(nnrt__rate_at(&s, NULL, 0, 2) == 2 && nnrt__rate_at(&s, NULL, 0, 4) == 1.5);
  s.sched.warmup_steps = 1; /* updates 0, 1 warm up, the cosine's epochs unchanged */
  ASSERT(nnrt__rate_at(&s, NULL, 1, 0) == 1.5 && nnrt__rate_at(&s, NULL, 2, 2) == 1.5);
  memset(&s.sched, 0, sizeof s.sched);
  s.decay = NNC_DECAY_PLATEAU;
  s.sched.factor = 0.5;
  s.sched.patience = 1;
  s.sched.cooldown = 1;
  s.sched.min_rate = 0.4;
  nnrt__plateau_start(&p, &s);
  /* the same loss every epoch: bad epochs 0, 1, 2 → halve (cooldown 1), 0, 1, 2 → halve, ... */
  double want[] = {2, 2, 1, 1, 1, 0.5, 0.5, 0.5, 0.4};
  for (int e = 0; e < 9; e++) {
    nnrt__plateau_step(&p, &s, 1, e);
    ASSERT(nnrt__rate_at(&s, &p, 0, e + 1) == want[e]);
  }
  double g[4] = {3, -4, 0.5, -0.5};
  nnc_model m = {0};
  m.n_params = 4;
  m.real_bytes = 8;
  s.sched.clip_value = 1; /* g/2 clamped to ±1: sums to ±2 */
  nnrt__clip_grad(&m, &s, g, 0.5);
  ASSERT(g[0] == 2 && g[1] == -2 && g[2] == 0.5 && g[3] == -0.5);
  s.sched.clip_value = 0;
  s.sched.clip_norm = 0.5; /* ‖g/2‖ = √(1 + 1 + 0.0625 + 0.0625) */
  nnrt__clip_grad(&m, &s, g, 0.5);
  double norm = 0;
  for (int i = 0; i < 4; i++)
    norm += g[i] * g[i] / 4;
  ASSERT(fabs(sqrt(norm) - 0.5) < 1e-5);
}

static void test_schedules_and_rng(void) {
  nnc_train_settings s = {0};
  s.rate = 2;
  s.decay = NNC_DECAY_INVERSE;
  s.decay_rate = 0.5;
  ASSERT(nnrt__rate_at(&s, NULL, 0, 0) == 2 && nnrt__rate_at(&s, NULL, 6, 0) == 0.5);
  s.decay = NNC_DECAY_EXPONENTIAL;
  ASSERT(nnrt__rate_at(&s, NULL, 99, 0) == 2 && nnrt__rate_at(&s, NULL, 99, 2) == 0.5);
  s.decay = NNC_DECAY_STEP;
  s.decay_every = 3;
  ASSERT(nnrt__rate_at(&s, NULL, 9, 2) == 2 && nnrt__rate_at(&s, NULL, 9, 3) == 1 && nnrt__rate_at(&s, NULL, 9, 6) == 0.5);
  s.decay = NNC_DECAY_NONE;
  ASSERT(nnrt__rate_at(&s, NULL, 1000, 1000) == 2);
  nnrt_rng a, b;
  int64_t x[50], y[50], seen[50] = {0};
  for (int i = 0; i < 50; i++)
    x[i] = y[i] = i;
  nnrt__rng_seed(&a, 9);
  nnrt__rng_seed(&b, 9);
  nnrt__shuffle(x, 50, &a);
  nnrt__shuffle(y, 50, &b);
  ASSERT(memcmp(x, y, sizeof x) == 0);
  for (int i = 0; i < 50; i++)
    seen[x[i]]++;
  for (int i = 0; i < 50; i++)
    ASSERT(seen[i] == 1);
  for (int i = 0; i < 1000; i++)
    ASSERT(nnrt__rng_below(&a, 7) < 7);
}

/* ---- out of memory ---- */

static long alloc_budget = -1;

static void *failing_realloc(void *ud, void *ptr, size_t size) {
  (void)ud;
  if (size == 0) {
    free(ptr);
    return NULL;
  }
  if (alloc_budget == 0)
    return NULL;
  if (alloc_budget > 0)
    alloc_budget--;
  return realloc(ptr, size);
}

/* Every allocation of load + scale + train + save fails in turn: ENOMEM each time, no leak. */
static int oom_round(void) {
  nnc_data_source s = csv_source("xor.csv");
  nnrt_dataset *d = NULL;
  nnrt_scaler *sc = NULL;
  nnrt_trainer *tr = NULL;
  nnrt_train_options o;
  nnrt_error err;
  int rc = nnrt_dataset_load(&s, 2, 1, 8, 0, &d, &err);
  if (!rc)
    rc = nnrt_scaler_fit(d, NNC_SCALE_ZSCORE, 0, &sc, &err);
  nnrt_train_options_init(&o, &toy_model_f64);
  o.s.epochs = 2;
  o.s.restarts = 2;
  o.s.batch = 2;
  o.threads = 2;
  o.s.validation = 0.25;
  o.verbosity = 0;
  o.save_path = tp("oom.w");
  if (!rc)
    rc = nnrt_trainer_create(&toy_model_f64, &o, d, &tr, &err);
  if (!rc)
    rc = nnrt_trainer_run(tr, sc, NULL, &err);
  nnrt_trainer_destroy(tr);
  nnrt_scaler_destroy(sc);
  nnrt_dataset_destroy(d);
  return rc;
}

static void test_out_of_memory(void) {
  int rc = NNRT_ENOMEM;
  long k;
  for (k = 0; k < 10000 && rc == NNRT_ENOMEM; k++) {
    alloc_budget = k;
    nnrt_set_allocator(failing_realloc, NULL);
    rc = oom_round();
    nnrt_set_allocator(NULL, NULL);
    if (rc != NNRT_OK && rc != NNRT_ENOMEM)
      printf("  allocation %ld: status %d\n", k, rc);
  }
  ASSERT(rc == NNRT_OK);
  ASSERT(k > 20);
}

/* ---- ONNX export ---- */

/* The export plan of the toy network (nnc/model.h): x[2] → h[3] sigmoid → y sigmoid, each
 * with a bias neuron, parameters in toy_model.c's order. */
static const uint64_t toy_plan[] = {
  NNC_ONNX_PLAN_MAGIC, 5, 2, 2, 4,
  0, 2, 0, 0, 0, 1, 'x', 0,                                        /* input x[2] */
  1, 1, 0, 0, (uint64_t)-1, 2, 'b' | '1' << 8, 0,                  /* bias b1 */
  2, 3, 1, 0, (uint64_t)-1, 1, 'h', 2,                             /* hidden h[3] sigmoid */
  0, 0, 0, 0, 6, 0,   0, 1, 0, 6, 3, 0,                            /*   dense x, bias b1 */
  1, 1, 0, 0, (uint64_t)-1, 2, 'b' | '2' << 8, 0,                  /* bias b2 */
  3, 1, 1, 0, 0, 1, 'y', 2,                                        /* output y sigmoid */
  0, 2, 0, 9, 3, 0,   0, 3, 0, 12, 1, 0,                           /*   dense h, bias b2 */
};

static int holds(const unsigned char *bytes, size_t len, const char *word) {
  size_t n = strlen(word);
  for (size_t i = 0; i + n <= len; i++)
    if (!memcmp(bytes + i, word, n))
      return 1;
  return 0;
}

static int toy_export(size_t plan_words, unsigned char **bytes, size_t *len, nnrt_error *err) {
  nnc_model m = toy_model_f64;
  double params[13];
  for (int i = 0; i < 13; i++)
    params[i] = 0.25 * i - 1;
  m.onnx_plan = (const unsigned char *)toy_plan; /* words little-endian: this host's order */
  m.onnx_plan_bytes = (int64_t)(plan_words * 8);
  return nnrt_onnx_model(&m, params, NULL, NULL, bytes, len, err);
}

/* A model without a plan is refused; the toy's plan gives a ModelProto (ir_version 7 first,
 * the operators in it); a truncated plan is malformed; every allocation failing in turn
 * gives ENOMEM and nothing else. */
static void test_onnx_export(void) {
  unsigned char *bytes = NULL;
  size_t len = 0;
  nnrt_error err;
  const uint16_t one = 1;
  if (*(const unsigned char *)&one != 1)
    return; /* the plan above is written in this host's byte order */
  ASSERT(nnrt_onnx_model(&toy_model_f64, NULL, NULL, NULL, &bytes, &len, &err) == NNRT_EUSAGE);
  ASSERT(strstr(err.msg, "carries no description of its network") != NULL);
  size_t words = sizeof toy_plan / sizeof toy_plan[0];
  ASSERT(toy_export(words, &bytes, &len, &err) == NNRT_OK);
  ASSERT(len > 200 && bytes[0] == 0x08 && bytes[1] == 7);
  ASSERT(holds(bytes, len, "Gemm") && holds(bytes, len, "Sigmoid"));
  free(bytes);
  ASSERT(toy_export(words - 1, &bytes, &len, &err) == NNRT_EDATA && !bytes);
  ASSERT(strstr(err.msg, "export plan is malformed") != NULL);
  int rc = NNRT_ENOMEM;
  long k;
  for (k = 0; k < 10000 && rc == NNRT_ENOMEM; k++) {
    alloc_budget = k;
    nnrt_set_allocator(failing_realloc, NULL);
    rc = toy_export(words, &bytes, &len, &err);
    nnrt_set_allocator(NULL, NULL);
    ASSERT(rc == NNRT_OK || (rc == NNRT_ENOMEM && !bytes));
  }
  ASSERT(rc == NNRT_OK && k > 10);
  free(bytes);
}

/* ---- main ---- */

typedef struct test_case { const char *name; void (*fn)(void); } test_case;

static const test_case tests[] = {
  {"csv_xor", test_csv_xor},
  {"csv_columns_onehot_f32", test_csv_columns_onehot_f32},
  {"csv_malformed", test_csv_malformed},
  {"csv_inputs_only", test_csv_stdin_predict_shape},
  {"parse_real", test_parse_real},
  {"csv_first_row_and_ranges", test_csv_first_row_and_ranges},
  {"idx_plain_and_gz", test_idx_plain_and_gz},
  {"idx_types", test_idx_types},
  {"idx_malformed", test_idx_malformed},
  {"fashion_mnist", test_fashion_mnist},
  {"scaler", test_scaler},
  {"weights_roundtrip", test_weights_roundtrip},
  {"files_whole_or_nothing", test_files_whole_or_nothing},
  {"weights_refusals", test_weights_refusals},
  {"weights_text", test_weights_text},
  {"xor_trains_to_100", test_xor_trains_to_100},
  {"xor_f32_minibatch", test_xor_f32_minibatch},
  {"threads_reproducible", test_threads_reproducible},
  {"resume_continues", test_resume_continues},
  {"interrupt_and_resume", test_interrupt_and_resume},
  {"shuffle_off", test_shuffle_off},
  {"divergence_keeps_last_good", test_divergence_keeps_last_good},
  {"divergence_sees_nan_weights", test_divergence_sees_nan_weights},
  {"diverged_restart_others_go_on", test_diverged_restart_others_go_on},
  {"all_restarts_diverged", test_all_restarts_diverged},
  {"advice", test_advice},
  {"majority_fraction", test_majority_fraction},
  {"early_stopping", test_early_stopping},
  {"restart_lines_show_choice", test_restart_lines_show_choice},
  {"log_and_plot", test_log_and_plot},
  {"usage_errors", test_usage_errors},
  {"optimizer_checkpoints", test_optimizer_checkpoints},
  {"gradcheck", test_gradcheck},
  {"gradcheck_criterion", test_gradcheck_criterion},
  {"eval_regression", test_eval_regression},
  {"label_map", test_label_map},
  {"weights_labels", test_weights_labels},
  {"metric_resolve", test_metric_resolve},
  {"cpu_refusal", test_cpu_refusal},
  {"multilabel_scores", test_multilabel_scores},
  {"schedules_and_rng", test_schedules_and_rng},
  {"cosine_warmup_plateau_clip", test_cosine_warmup_plateau_clip},
  {"optim_flushes_subnormal_state", test_optim_flushes_subnormal_state},
  {"plateau_checkpoints", test_plateau_checkpoints},
  {"out_of_memory", test_out_of_memory},
  {"onnx_export", test_onnx_export},
};

static void remove_tmpdir(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", tmpdir);
}

int main(int argc, char **argv) {
  int passed = 0, failed = 0;
  strcpy(tmpdir, "/tmp/nnrt-test-XXXXXX");
  if (!mkdtemp(tmpdir) || chdir(NNRT_TEST_DATA_DIR) != 0) {
    perror("test setup");
    return 1;
  }
  for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
    if (argc > 1 && !strstr(tests[i].name, argv[1]))
      continue;
    test_failed = 0;
    double t0 = nnrt__now();
    tests[i].fn();
    printf("%s %s (%.2f s)\n", test_failed ? "FAIL" : "ok  ", tests[i].name, nnrt__now() - t0);
    test_failed ? failed++ : passed++;
  }
  remove_tmpdir();
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
