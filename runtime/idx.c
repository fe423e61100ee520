/* runtime/idx.c — reads IDX files (the MNIST format), gzip-compressed or not.
 *
 * Consumes: an images file (n × d1 × … values of any IDX type) and, for training data, a
 * labels file (n integer labels), through zlib's gzopen which reads both plain and .gz ("-":
 * standard input, for one of the two).
 * Produces: an nnrt_dataset with n samples of d1·d2·… inputs in the model's precision and
 * one-hot targets, or a message `path: …` (wrong magic, unknown type, dimensions whose data
 * would pass 256 GiB, truncated, extra bytes, shape not matching the network, count mismatch
 * between images and labels, a value not finite or beyond the model's precision, bad label).
 * Both headers are checked before any data is read; a plain file's size must match its
 * header before anything is allocated, and compressed data is read only as far as the header
 * declares (plus one chunk to find extra bytes), into a buffer that grows as data arrives.
 * With NNRT__LOAD_SHARD (--shard-data) only this MPI rank's samples are kept, read one at a
 * time (read_shard), so the rank never holds the others' images.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "internal.h"
#include "mpi_api.h"

#define IDX_MAX_BYTES ((uint64_t)1 << 38)     /* 256 GiB of data in one file */
#define IDX_FIRST_CHUNK ((uint64_t)1 << 20)

typedef struct idx_file {
  const char *path;
  int type;            /* 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64 */
  int ndims;
  uint32_t dims[255];
  uint64_t count;      /* values */
  unsigned char *data; /* count × type size, big-endian */
} idx_file;

static int type_size(int type) {
  switch (type) {
  case 0x08: case 0x09: return 1;
  case 0x0B: return 2;
  case 0x0C: case 0x0D: return 4;
  case 0x0E: return 8;
  default: return 0;
  }
}

static int read_exact(gzFile f, const char *path, void *buf, uint64_t n, uint64_t *got,
                      nnrt_error *err) {
  *got = 0;
  while (*got < n) {
    uint64_t want = n - *got > (1u << 30) ? (1u << 30) : n - *got;
    int r = gzread(f, (char *)buf + *got, (unsigned)want);
    if (r < 0 || (r == 0 && nnrt__gz_failed(f)))
      return nnrt__gz_fail(f, path, err);
    if (r == 0)
      break;
    *got += (uint64_t)r;
  }
  return NNRT_OK;
}

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int read_header(gzFile f, idx_file *x, nnrt_error *err) {
  unsigned char h[4], d[4 * 255];
  uint64_t got;
  int rc = read_exact(f, x->path, h, 4, &got, err);
  if (rc)
    return rc;
  if (got == 0)
    return nnrt__fail(err, NNRT_EDATA, "%s: empty file", x->path);
  if (got < 4 || h[0] || h[1] || !type_size(h[2]) || h[3] == 0)
    return nnrt__fail(err, NNRT_EDATA, "%s: not an IDX file (magic 0x%02x%02x%02x%02x)", x->path,
                      h[0], got > 1 ? h[1] : 0, got > 2 ? h[2] : 0, got > 3 ? h[3] : 0);
  x->type = h[2];
  x->ndims = h[3];
  if ((rc = read_exact(f, x->path, d, 4u * (unsigned)x->ndims, &got, err)) != NNRT_OK)
    return rc;
  if (got < 4u * (unsigned)x->ndims)
    return nnrt__fail(err, NNRT_EDATA, "%s: truncated: the header of %d dimensions needs %d bytes, found %d",
                      x->path, x->ndims, 4 + 4 * x->ndims, 4 + (int)got);
  x->count = 1;
  for (int i = 0; i < x->ndims; i++) {
    x->dims[i] = be32(d + 4 * i);
    if (x->dims[i] && x->count > IDX_MAX_BYTES / (uint64_t)type_size(x->type) / x->dims[i])
      return nnrt__fail(err, NNRT_EDATA, "%s: dimensions too large: more than %llu bytes of data",
                        x->path, (unsigned long long)IDX_MAX_BYTES);
    x->count *= x->dims[i];
  }
  return NNRT_OK;
}

/* A plain file's size must be what its header declares: checked before anything is allocated.
 * (A compressed file's size says nothing; its data is read as it arrives.) */
static int check_plain_size(gzFile f, idx_file *x, nnrt_error *err) {
  struct stat st;
  uint64_t head = 4 + 4 * (uint64_t)x->ndims, bytes = x->count * (uint64_t)type_size(x->type);
  if (!gzdirect(f) || stat(x->path, &st) != 0 || !S_ISREG(st.st_mode) ||
      (uint64_t)st.st_size == head + bytes)
    return NNRT_OK;
  if ((uint64_t)st.st_size < head + bytes)
    return nnrt__fail(err, NNRT_EDATA, "%s: truncated: expected %llu bytes of data, found %llu",
                      x->path, (unsigned long long)bytes, (unsigned long long)((uint64_t)st.st_size - head));
  return nnrt__fail(err, NNRT_EDATA, "%s: %llu unexpected bytes after the data", x->path,
                    (unsigned long long)((uint64_t)st.st_size - head - bytes));
}

/* With NNRT__LOAD_SHARD, sample i of the file is kept by this rank only (--shard-data). */
static int keeps(nnrt_shape sh, uint64_t sample) {
  return !(sh.flags & NNRT__LOAD_SHARD) || nnrt__shard_keeps((int64_t)sample);
}

static int64_t kept_samples(nnrt_shape sh, uint64_t n) {
  return sh.flags & NNRT__LOAD_SHARD ? nnrt__shard_before((int64_t)n) : (int64_t)n;
}

/* Reads the declared bytes into a buffer that grows only as data arrives (a header that lies
 * costs nothing), then one more chunk: a byte past the declared data is an error, and a
 * stream that inflates without end is not read further. */
static int read_data(gzFile f, idx_file *x, nnrt_error *err) {
  uint64_t bytes = x->count * (uint64_t)type_size(x->type), have = 0, got;
  uint64_t cap = bytes < IDX_FIRST_CHUNK ? bytes : IDX_FIRST_CHUNK;
  unsigned char extra[256];
  int rc = check_plain_size(f, x, err);
  if (rc)
    return rc;
  if (!(x->data = nnrt__alloc(cap ? cap : 1)))
    return nnrt__oom(err);
  for (;;) {
    if ((rc = read_exact(f, x->path, x->data + have, cap - have, &got, err)) != NNRT_OK)
      return rc;
    have += got;
    if (have < cap || cap == bytes)
      break;
    cap = bytes - cap < cap ? bytes : 2 * cap;
    unsigned char *bigger = nnrt__realloc(x->data, cap);
    if (!bigger)
      return nnrt__oom(err);
    x->data = bigger;
  }
  if (have < bytes)
    return nnrt__fail(err, NNRT_EDATA, "%s: truncated: expected %llu bytes of data, found %llu",
                      x->path, (unsigned long long)bytes, (unsigned long long)have);
  if ((rc = read_exact(f, x->path, extra, sizeof extra, &got, err)) != NNRT_OK)
    return rc;
  if (got)
    return nnrt__fail(err, NNRT_EDATA, "%s: %llu%s unexpected bytes after the data", x->path,
                      (unsigned long long)got, got == sizeof extra ? " or more" : "");
  return nnrt__gz_check_end(f, x->path, err);
}

/* --shard-data: the images of this rank's samples only, read one sample at a time (the
 * others read into one sample's room and dropped), so a rank holds 1/K of the file; the same
 * checks of the end as read_data. x->count becomes the kept values. */
static int read_shard(gzFile f, idx_file *x, nnrt_shape sh, nnrt_error *err) {
  uint64_t per = x->count / x->dims[0], row = per * (uint64_t)type_size(x->type), got, kept = 0;
  uint64_t n_kept = (uint64_t)nnrt__shard_before((int64_t)x->dims[0]);
  unsigned char extra[256], *skip = nnrt__alloc(row ? row : 1);
  int rc = check_plain_size(f, x, err);
  if (!rc && (!skip || !(x->data = nnrt__alloc(n_kept * row > 0 ? n_kept * row : 1))))
    rc = nnrt__oom(err);
  for (uint64_t i = 0; i < x->dims[0] && !rc; i++) {
    int keep = keeps(sh, i);
    rc = read_exact(f, x->path, keep ? x->data + kept * row : skip, row, &got, err);
    if (!rc && got < row)
      rc = nnrt__fail(err, NNRT_EDATA, "%s: truncated: expected %llu bytes of data, found %llu", x->path,
                      (unsigned long long)(x->count * (uint64_t)type_size(x->type)),
                      (unsigned long long)(i * row + got));
    kept += keep;
  }
  nnrt__free(skip);
  x->count = kept * per;
  if (!rc && (rc = read_exact(f, x->path, extra, sizeof extra, &got, err)) == NNRT_OK && got)
    rc = nnrt__fail(err, NNRT_EDATA, "%s: %llu%s unexpected bytes after the data", x->path,
                    (unsigned long long)got, got == sizeof extra ? " or more" : "");
  return rc ? rc : nnrt__gz_check_end(f, x->path, err);
}

/* Opens path ("-": standard input, shown as <stdin>, as the CSV reader does) and reads its
 * header. */
static int idx_open(const char *path, idx_file *x, gzFile *f, nnrt_error *err) {
  int from_stdin = strcmp(path, "-") == 0, fd = from_stdin ? dup(0) : -1;
  memset(x, 0, sizeof *x);
  x->path = from_stdin ? "<stdin>" : path;
  errno = 0;
  *f = from_stdin ? (fd >= 0 ? gzdopen(fd, "rb") : NULL) : gzopen(path, "rb");
  if (!*f && fd >= 0)
    close(fd);
  if (!*f)
    return nnrt__fail(err, NNRT_EDATA, "%s: cannot open: %s", x->path,
                      errno ? strerror(errno) : "out of memory");
  return read_header(*f, x, err);
}

/* A label that is no class in [0, n): as exact as its type holds it (2.0000002 is not 2). */
static int bad_label(const idx_file *lb, double v, uint64_t i, int32_t n, nnrt_error *err) {
  int digits = lb->type == 0x0D ? 9 : lb->type == 0x0E ? 17 : 10;
  return nnrt__fail(err, NNRT_EDATA, "%s: label %.*g of sample %llu is out of range [0, %d)", lb->path, digits, v,
                    (unsigned long long)i + 1, (int)n);
}

static double idx_value(const idx_file *x, uint64_t i) {
  const unsigned char *p = x->data + i * (uint64_t)type_size(x->type);
  uint64_t u = 0;
  switch (x->type) {
  case 0x08: return p[0];
  case 0x09: return (int8_t)p[0];
  case 0x0B: return (int16_t)(uint16_t)(p[0] << 8 | p[1]);
  case 0x0C: return (int32_t)be32(p);
  case 0x0D: {
    uint32_t b = be32(p);
    float fv;
    memcpy(&fv, &b, 4);
    return fv;
  }
  default:
    for (int k = 0; k < 8; k++)
      u = u << 8 | p[k];
    double dv;
    memcpy(&dv, &u, 8);
    return dv;
  }
}

static int check_images(const idx_file *im, nnrt_shape sh, nnrt_error *err) {
  uint64_t per = im->dims[0] ? im->count / im->dims[0] : 1;
  if (im->ndims == 1)
    per = 1;
  if (im->dims[0] == 0)
    return nnrt__fail(err, NNRT_EDATA, "%s: no samples", im->path);
  if (per != (uint64_t)sh.n_inputs)
    return nnrt__fail(err, NNRT_EDATA, "%s: samples have %llu values but the network has %d input%s",
                      im->path, (unsigned long long)per, (int)sh.n_inputs, sh.n_inputs == 1 ? "" : "s");
  return NNRT_OK;
}

/* Unsigned bytes (most image files) are finite in either precision: stored without a check,
 * in a loop of their own types. */
static void store_bytes(const idx_file *im, nnrt_dataset *d) {
  const unsigned char *p = im->data;
  if (d->real_bytes == 4)
    for (uint64_t i = 0; i < im->count; i++)
      ((float *)d->x)[i] = p[i];
  else
    for (uint64_t i = 0; i < im->count; i++)
      ((double *)d->x)[i] = p[i];
}

/* Every value must be finite and within the model's precision (an f64 image in an f32 model). */
static int store_images(const idx_file *im, nnrt_shape sh, nnrt_dataset *d, nnrt_error *err) {
  uint64_t per = (uint64_t)d->n_inputs;
  if (im->type == 0x08) {
    store_bytes(im, d);
    return NNRT_OK;
  }
  int shard = (sh.flags & NNRT__LOAD_SHARD) && nnrt__sharded(); /* the kept samples: rank + k·K */
  for (uint64_t i = 0; i < im->count; i++) {
    double v = idx_value(im, i);
    int problem = nnrt__check_real(v, d->real_bytes);
    uint64_t sample = shard ? i / per * (uint64_t)nnrt__mpi_size() + (uint64_t)nnrt__mpi_rank() : i / per;
    if (problem)
      return nnrt__fail(err, NNRT_EDATA, "%s: sample %llu, value %llu: %g %s", im->path,
                        (unsigned long long)(sample + 1), (unsigned long long)(i % per + 1), v,
                        nnrt__number_problem(problem, d->real_bytes));
    nnrt__set(d->x, d->real_bytes, (int64_t)i, v);
  }
  return NNRT_OK;
}

static int check_labels(const idx_file *im, const idx_file *lb, nnrt_error *err) {
  if (lb->ndims != 1)
    return nnrt__fail(err, NNRT_EDATA, "%s: a label file has 1 dimension, this one has %d",
                      lb->path, lb->ndims);
  if (lb->dims[0] != im->dims[0])
    return nnrt__fail(err, NNRT_EDATA, "%s: %lu samples but %s has %lu labels", im->path,
                      (unsigned long)im->dims[0], lb->path, (unsigned long)lb->dims[0]);
  return NNRT_OK;
}

static int store_labels(const idx_file *lb, nnrt_shape sh, nnrt_dataset *d, nnrt_error *err) {
  int32_t no = d->n_outputs;
  int64_t at = 0;
  for (uint64_t i = 0; i < lb->count; i++) {
    double v = idx_value(lb, i);
    if (v != floor(v) || v < 0 || v >= no)
      return bad_label(lb, v, i, no, err);
    if (!keeps(sh, i))
      continue;
    for (int32_t o = 0; o < no; o++)
      nnrt__set(d->t, d->real_bytes, at * no + o, o == (int32_t)v);
    at++;
  }
  d->onehot = 1;
  return NNRT_OK;
}

/* Headers first (shapes and counts checked before any data is read), then the data. */
static int build(gzFile fi, idx_file *im, gzFile fl, idx_file *lb, nnrt_shape sh,
                 nnrt_dataset **out, nnrt_error *err) {
  int rc = check_images(im, sh, err);
  if (!rc && lb)
    rc = check_labels(im, lb, err);
  if (!rc)
    rc = sh.flags & NNRT__LOAD_SHARD ? read_shard(fi, im, sh, err) : read_data(fi, im, err);
  if (!rc && lb)
    rc = read_data(fl, lb, err);
  if (!rc)
    rc = nnrt_dataset_create(kept_samples(sh, im->dims[0]), sh.n_inputs, sh.n_outputs, sh.real_bytes, sh.flags,
                             out, err);
  if (!rc)
    rc = store_images(im, sh, *out, err);
  if (!rc && lb)
    rc = store_labels(lb, sh, *out, err);
  if (!rc && (sh.flags & NNRT__LOAD_SHARD))
    nnrt__shard_note_rows(im->dims[0]);
  if (rc && *out) {
    nnrt_dataset_destroy(*out);
    *out = NULL;
  }
  return rc;
}

int nnrt__idx_load(const nnc_data_source *src, nnrt_shape sh, nnrt_dataset **out, nnrt_error *err) {
  idx_file im, lb;
  gzFile fi = NULL, fl = NULL;
  int want_labels = !(sh.flags & NNRT_LOAD_INPUTS_ONLY);
  int rc;
  *out = NULL;
  memset(&im, 0, sizeof im);
  memset(&lb, 0, sizeof lb);
  if (want_labels && !src->labels)
    return nnrt__fail(err, NNRT_EDATA, "%s: an IDX source needs a labels file for its targets",
                      src->path);
  if (want_labels && !strcmp(src->path, "-") && !strcmp(src->labels, "-"))
    return nnrt__fail(err, NNRT_EUSAGE, "the images and their labels cannot both come from standard input "
                      "('-'); give a file for one of them");
  rc = idx_open(src->path, &im, &fi, err);
  if (!rc && want_labels)
    rc = idx_open(src->labels, &lb, &fl, err);
  if (!rc)
    rc = build(fi, &im, fl, want_labels ? &lb : NULL, sh, out, err);
  if (fi)
    gzclose(fi);
  if (fl)
    gzclose(fl);
  nnrt__free(im.data);
  nnrt__free(lb.data);
  return rc;
}
