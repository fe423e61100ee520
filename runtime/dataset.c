/* runtime/dataset.c — datasets in the model's precision, input scaling, subsets.
 *
 * Consumes: an nnc_data_source (format auto, CSV or IDX) and the network's shape.
 * Produces: nnrt_dataset objects (x: n × n_inputs reals, t: n × n_outputs reals), a fitted
 * nnrt_scaler applied in place (a fit beyond f64 refused; nnrt__scaler_apply refuses a
 * scaled value beyond the model's precision), row subsets (validation split, batches), and
 * the check that nothing but gzip members and zero padding makes up a compressed file.
 * With format auto, a regular file whose first two bytes are zero is IDX, another regular file
 * CSV (refused with a labels file); a pipe is IDX with a labels file, else CSV. A source with
 * `targets inputs` reads its inputs alone and takes them as its targets too. Target scaling
 * (`target_scale`) is the input scaling applied to the targets.
 */
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "internal.h"
#include "mpi_api.h"

int nnrt_dataset_create(int64_t n, int32_t n_inputs, int32_t n_outputs, int32_t real_bytes,
                        int flags, nnrt_dataset **out, nnrt_error *err) {
  nnrt_dataset *d = nnrt__alloc(sizeof *d);
  *out = NULL;
  if (!d)
    return nnrt__oom(err);
  d->n = n;
  d->n_inputs = n_inputs;
  d->n_outputs = n_outputs;
  d->real_bytes = real_bytes;
  d->x = nnrt__alloc_array(n * (n_inputs ? n_inputs : 1), (size_t)real_bytes);
  if (!(flags & NNRT_LOAD_INPUTS_ONLY))
    d->t = nnrt__alloc_array(n * n_outputs, (size_t)real_bytes);
  if (!d->x || (!(flags & NNRT_LOAD_INPUTS_ONLY) && !d->t)) {
    nnrt_dataset_destroy(d);
    return nnrt__oom(err);
  }
  *out = d;
  return NNRT_OK;
}

void nnrt_dataset_destroy(nnrt_dataset *d) {
  if (!d)
    return;
  nnrt__free(d->x);
  nnrt__free(d->t);
  nnrt_labels_destroy(d->labels);
  nnrt__free(d);
}

double nnrt_dataset_input(const nnrt_dataset *d, int64_t sample, int32_t i) {
  return nnrt__get(d->x, d->real_bytes, sample * d->n_inputs + i);
}

double nnrt_dataset_target(const nnrt_dataset *d, int64_t sample, int32_t o) {
  return nnrt__get(d->t, d->real_bytes, sample * d->n_outputs + o);
}

int nnrt__gz_failed(gzFile f) {
  int zerr;
  gzerror(f, &zerr);
  return zerr != Z_OK && zerr != Z_STREAM_END;
}

/* zlib's message, without the "path: " it may start with. */
int nnrt__gz_fail(gzFile f, const char *path, nnrt_error *err) {
  int zerr;
  const char *m = gzerror(f, &zerr);
  const char *colon = strstr(m, ": ");
  if (zerr == Z_ERRNO)
    m = strerror(errno);
  else if (colon && (!strncmp(m, path, strlen(path)) || !strncmp(m, "<fd:", 4)))
    m = colon + 2;
  return nnrt__fail(err, NNRT_EDATA, "%s: read error: %s", path, m);
}

/* zlib reads concatenated gzip members as one stream but stops without a word at bytes after
 * the last member that do not start another (rows appended uncompressed to a .gz, say). So at
 * the end of a compressed regular file the members are walked again here, their output
 * discarded, and anything after the last member but zero padding is refused. */
static int gz_trailing(FILE *f, uint64_t *at, uint64_t *extra) {
  unsigned char in[1 << 14], out[1 << 14];
  z_stream z;
  int ended = 0;
  memset(&z, 0, sizeof z);
  *extra = *at = 0;
  if (inflateInit2(&z, 15 + 16) != Z_OK)
    return -1;
  for (;;) {
    if (z.avail_in == 0) {
      z.avail_in = (uInt)fread(in, 1, sizeof in, f);
      z.next_in = in;
      if (z.avail_in == 0)
        break;
    }
    if (ended) {                      /* after a member: another one, or the end */
      if (z.next_in[0] != 0x1f || (z.avail_in > 1 && z.next_in[1] != 0x8b))
        break;
      inflateReset(&z);
      ended = 0;
    }
    z.next_out = out;
    z.avail_out = sizeof out;
    uInt before = z.avail_in;
    int rc = inflate(&z, Z_NO_FLUSH);
    *at += before - z.avail_in;
    if (rc == Z_STREAM_END)
      ended = 1;
    else if (rc != Z_OK && rc != Z_BUF_ERROR)
      break;
  }
  inflateEnd(&z);
  if (!ended)
    return 0;                         /* a damaged stream: gzread has said so already */
  int only_zeros = 1;
  for (;;) {                          /* what follows the last member: zeros are padding */
    for (uInt i = 0; i < z.avail_in; i++)
      only_zeros &= z.next_in[i] == 0;
    *extra += z.avail_in;
    if ((z.avail_in = (uInt)fread(in, 1, sizeof in, f)) == 0)
      break;
    z.next_in = in;
  }
  return !only_zeros;
}

int nnrt__gz_check_end(gzFile f, const char *path, nnrt_error *err) {
  uint64_t at, extra;
  struct stat st;
  if (gzdirect(f) || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
    return NNRT_OK;
  FILE *raw = fopen(path, "rb");
  if (!raw)
    return NNRT_OK;
  int bad = gz_trailing(raw, &at, &extra);
  fclose(raw);
  if (bad > 0)
    return nnrt__fail(err, NNRT_EDATA, "%s: %llu bytes after the end of the gzip data (at byte %llu) "
                      "that are not gzip data", path, (unsigned long long)extra, (unsigned long long)at);
  return NNRT_OK;
}

/* IDX files start with two zero bytes; text never does. 1: IDX, 0: another regular file,
 * -1: not looked into. Only a regular file is looked into: reading a pipe's first bytes would
 * take them from the reader that follows. */
static int sniff_idx(const char *path) {
  unsigned char b[2] = {1, 1};
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
    return -1;
  gzFile f = gzopen(path, "rb");
  if (!f)
    return -1;
  int got = gzread(f, b, 2);
  gzclose(f);
  return got == 2 && b[0] == 0 && b[1] == 0;
}

/* A FANN training file starts with a line of three counts separated by spaces, as FANN writes
 * it (`4 2 1`); a CSV file never does (its fields are separated by commas, and a first row of
 * tab-separated numbers is CSV written with the wrong separator, said as such by the CSV
 * reader). Only a regular file is looked into. */
static int sniff_fann(const char *path) {
  char b[128] = {0};
  gzFile f = gzopen(path, "rb");
  if (!f)
    return 0;
  int got = gzread(f, b, sizeof b - 1);
  gzclose(f);
  if (got <= 0)
    return 0;
  int words = 0, i = 0;
  for (; i < got && b[i] != '\n'; i++) {
    if (b[i] == ' ' || b[i] == '\r')
      continue;
    if (!isdigit((unsigned char)b[i]))
      return 0;
    words += i == 0 || b[i - 1] == ' ';
  }
  return i < got && words == 3;
}

int nnrt__source_format(const nnc_data_source *src) {
  if (src->format != NNC_FORMAT_AUTO)
    return src->format;
  int idx = sniff_idx(src->path); /* the first bytes say; a pipe with labels holds IDX images */
  return idx == 1 || (idx < 0 && src->labels) ? NNC_FORMAT_IDX
         : idx == 0 && sniff_fann(src->path) ? NNC_FORMAT_FANN : NNC_FORMAT_CSV;
}

static int load_format(const nnc_data_source *src, nnrt_shape sh, nnrt_dataset **out, nnrt_error *err) {
  int format = nnrt__source_format(src);
  if ((sh.flags & NNRT__LOAD_SHARD) && format == NNC_FORMAT_FANN)
    return nnrt__fail(err, NNRT_EUSAGE, "%s: --shard-data reads CSV and IDX files; this one is in FANN's format",
                      src->path);
  if (format == NNC_FORMAT_IDX)
    return nnrt__idx_load(src, sh, out, err);
  if (format == NNC_FORMAT_FANN)
    return nnrt__fann_load(src, sh, out, err);
  if (src->labels) /* as the train block's 'labels' is refused on CSV data */
    return nnrt__fail(err, NNRT_EUSAGE, "%s is CSV data: a label file (%s) is for IDX images; select the "
                      "label column with --targets N --onehot", src->path, src->labels);
  return nnrt__csv_load(src, sh, out, err);
}

/* `targets inputs`: the inputs are read alone and copied as the targets (an autoencoder). */
static int load_autoencoder(const nnc_data_source *src, nnrt_shape sh, nnrt_dataset **out, nnrt_error *err) {
  size_t bytes;
  if (sh.n_inputs != sh.n_outputs)
    return nnrt__fail(err, NNRT_EUSAGE, "%s: 'targets inputs' needs as many outputs as inputs; the network has "
                      "%d inputs and %d outputs", src->path, (int)sh.n_inputs, (int)sh.n_outputs);
  sh.flags |= NNRT_LOAD_INPUTS_ONLY;
  int rc = load_format(src, sh, out, err);
  if (rc)
    return rc;
  bytes = (size_t)(*out)->n * (size_t)sh.n_inputs * (size_t)sh.real_bytes;
  (*out)->t = nnrt__alloc(bytes ? bytes : 1);
  if (!(*out)->t) {
    nnrt_dataset_destroy(*out);
    *out = NULL;
    return nnrt__oom(err);
  }
  memcpy((*out)->t, (*out)->x, bytes);
  return NNRT_OK;
}

int nnrt_dataset_load_mapped(const nnc_data_source *src, int32_t n_inputs, int32_t n_outputs,
                             int32_t real_bytes, int flags, const nnrt_labels *map, nnrt_dataset **out,
                             nnrt_error *err) {
  nnrt_shape sh = {n_inputs, n_outputs, real_bytes, flags, map};
  *out = NULL;
  if (!src || !src->path)
    return nnrt__fail(err, NNRT_EUSAGE, "no data file given");
  if (real_bytes != 4 && real_bytes != 8)
    return nnrt__fail(err, NNRT_EUSAGE, "unsupported precision: %d-byte reals", (int)real_bytes);
  if (src->targets_inputs && !(flags & NNRT_LOAD_INPUTS_ONLY))
    return load_autoencoder(src, sh, out, err);
  return load_format(src, sh, out, err);
}

int nnrt_dataset_load(const nnc_data_source *src, int32_t n_inputs, int32_t n_outputs,
                      int32_t real_bytes, int flags, nnrt_dataset **out, nnrt_error *err) {
  return nnrt_dataset_load_mapped(src, n_inputs, n_outputs, real_bytes, flags, NULL, out, err);
}

/* ---- scaling ---- */

static int scaler_alloc(int32_t n, int32_t mode, nnrt_scaler **out, nnrt_error *err) {
  nnrt_scaler *s = nnrt__alloc(sizeof *s);
  *out = NULL;
  if (!s)
    return nnrt__oom(err);
  s->mode = mode;
  s->n = n;
  s->offset = nnrt__alloc_array(n ? n : 1, sizeof(double));
  s->mul = nnrt__alloc_array(n ? n : 1, sizeof(double));
  if (!s->offset || !s->mul) {
    nnrt_scaler_destroy(s);
    return nnrt__oom(err);
  }
  *out = s;
  return NNRT_OK;
}

static void column_range(const nnrt_dataset *d, int32_t i, double *lo, double *hi) {
  *lo = INFINITY;
  *hi = -INFINITY;
  for (int64_t k = 0; k < d->n; k++) {
    double v = nnrt_dataset_input(d, k, i);
    *lo = v < *lo ? v : *lo;
    *hi = v > *hi ? v : *hi;
  }
}

/* Mean and standard deviation (Welford). Values are first multiplied by a power of two that
 * keeps their squares finite (1 unless the column spans more than 2^500), so the result is
 * exact scaling of the plain computation and never overflows. */
static void fit_zscore(const nnrt_dataset *d, int32_t i, double span, double *offset, double *mul) {
  int e = 0;
  double mean = 0, m2 = 0;
  if (span > 0x1p500)
    frexp(span, &e);
  for (int64_t k = 0; k < d->n; k++) {
    double v = ldexp(nnrt_dataset_input(d, k, i), -e), delta = v - mean;
    mean += delta / (double)(k + 1);
    m2 += delta * (v - mean);
  }
  double sd = d->n > 1 ? sqrt(m2 / (double)d->n) : 0;
  *offset = ldexp(mean, e);
  *mul = sd > 0 ? 1 / ldexp(sd, e) : 1;
}

static void fit_minmax(double lo, double hi, int64_t n, double *offset, double *mul) {
  *offset = n ? lo : 0;
  *mul = hi > lo ? 1 / (hi - lo) : 1;
}

/* A z-score or min-max fit needs the column's span and its multiplier finite in f64: values
 * from -1e308 to 1e308, or two values 1e-320 apart, cannot be scaled. */
static int check_fit(const char *what, int32_t i, double lo, double hi, double mul, nnrt_error *err) {
  if (isfinite(hi - lo) && isfinite(mul) && mul > 0)
    return NNRT_OK;
  return nnrt__fail(err, NNRT_EDATA, "training data: %s %d: values from %g to %g cannot be scaled: %s", what, (int)i,
                    lo, hi, isfinite(hi - lo) ? "they differ by less than f64 can invert"
                                              : "their range is beyond f64");
}

/* nnrt_scaler_fit; what ("input" or "target") names the columns in messages. */
static int scaler_fit(const nnrt_dataset *d, int32_t mode, double factor, const char *what, nnrt_scaler **out,
                      nnrt_error *err) {
  int rc = scaler_alloc(d->n_inputs, mode, out, err);
  if (rc)
    return rc;
  nnrt_scaler *s = *out;
  for (int32_t i = 0; i < d->n_inputs && !rc; i++) {
    double lo, hi;
    s->offset[i] = 0;
    s->mul[i] = 1;
    if (mode == NNC_SCALE_FACTOR) {
      s->mul[i] = factor;
      continue;
    }
    if (mode != NNC_SCALE_ZSCORE && mode != NNC_SCALE_MINMAX)
      continue;
    column_range(d, i, &lo, &hi);
    if (d->n == 0)
      continue;
    if (mode == NNC_SCALE_ZSCORE)
      fit_zscore(d, i, hi - lo, &s->offset[i], &s->mul[i]);
    else
      fit_minmax(lo, hi, d->n, &s->offset[i], &s->mul[i]);
    rc = check_fit(what, i, lo, hi, s->mul[i], err);
  }
  if (rc) {
    nnrt_scaler_destroy(s);
    *out = NULL;
  }
  return rc;
}

int nnrt_scaler_fit(const nnrt_dataset *d, int32_t mode, double factor, nnrt_scaler **out,
                    nnrt_error *err) {
  return scaler_fit(d, mode, factor, "input", out, err);
}

/* ---- the fit over every rank's shard (--shard-data): the whole file's statistics ---- */

/* Sum over ranks of each column's values (pass 0), or of squared deviations from mean (pass 1),
 * after the column's power-of-two pre-scaling e as in fit_zscore. */
static void shard_sums(const nnrt_dataset *d, const int *e, const double *mean, double *sum) {
  for (int32_t i = 0; i < d->n_inputs; i++) {
    double acc = 0;
    for (int64_t k = 0; k < d->n; k++) {
      double v = ldexp(nnrt_dataset_input(d, k, i), -e[i]);
      acc += mean ? (v - mean[i]) * (v - mean[i]) : v;
    }
    sum[i] = acc;
  }
  nnrt__mpi_sum_reals(sum, d->n_inputs, 8);
}

/* Column ranges of the whole file: hi[i] and -lo[i] maximised over ranks. */
static void shard_ranges(const nnrt_dataset *d, double *hi, double *neg_lo) {
  for (int32_t i = 0; i < d->n_inputs; i++) {
    double lo;
    column_range(d, i, &lo, &hi[i]);
    neg_lo[i] = -lo;
  }
  nnrt__mpi_max(hi, 2 * d->n_inputs);
}

static int shard_fit_columns(const nnrt_dataset *d, int64_t total, nnrt_scaler *s, double *buf, int *e,
                             nnrt_error *err) {
  int32_t n = d->n_inputs;
  double *hi = buf, *neg_lo = buf + n, *mean = buf + 2 * n, *sum = buf + 3 * n;
  int rc = NNRT_OK;
  shard_ranges(d, hi, neg_lo);
  for (int32_t i = 0; i < n; i++) {
    e[i] = 0;
    if (s->mode == NNC_SCALE_ZSCORE && hi[i] + neg_lo[i] > 0x1p500)
      frexp(hi[i] + neg_lo[i], &e[i]);
  }
  if (s->mode == NNC_SCALE_ZSCORE) {
    shard_sums(d, e, NULL, mean);
    for (int32_t i = 0; i < n; i++)
      mean[i] /= (double)(total ? total : 1);
    shard_sums(d, e, mean, sum);
  }
  for (int32_t i = 0; i < n && !rc && total > 0; i++) {
    double sd = total > 1 && s->mode == NNC_SCALE_ZSCORE ? sqrt(sum[i] / (double)total) : 0;
    if (s->mode == NNC_SCALE_ZSCORE) {
      s->offset[i] = ldexp(mean[i], e[i]);
      s->mul[i] = sd > 0 ? 1 / ldexp(sd, e[i]) : 1;
    } else {
      fit_minmax(-neg_lo[i], hi[i], total, &s->offset[i], &s->mul[i]);
    }
    rc = check_fit("input", i, -neg_lo[i], hi[i], s->mul[i], err);
  }
  return rc;
}

int nnrt__scaler_fit_shards(const nnrt_dataset *d, int64_t total, int32_t mode, double factor, nnrt_scaler **out,
                            nnrt_error *err) {
  if (mode != NNC_SCALE_ZSCORE && mode != NNC_SCALE_MINMAX)
    return nnrt_scaler_fit(d, mode, factor, out, err);
  int rc = scaler_alloc(d->n_inputs, mode, out, err);
  double *buf = rc ? NULL : nnrt__alloc_array(4 * (d->n_inputs ? d->n_inputs : 1), sizeof(double));
  int *e = rc ? NULL : nnrt__alloc_array(d->n_inputs ? d->n_inputs : 1, sizeof(int));
  if (!rc && (!buf || !e))
    rc = nnrt__oom(err);
  if (!rc)
    rc = shard_fit_columns(d, total, *out, buf, e, err);
  nnrt__free(buf);
  nnrt__free(e);
  if (rc) {
    nnrt_scaler_destroy(*out);
    *out = NULL;
  }
  return rc;
}

static int scaler_check(const nnrt_scaler *s, const nnrt_dataset *d, const char *path, const char *what,
                        int64_t first, nnrt_error *err);

static double scaled(const nnrt_scaler *s, const nnrt_dataset *d, int64_t at, int32_t i) {
  return (nnrt__get(d->x, d->real_bytes, at) - s->offset[i]) * s->mul[i];
}

/* f32 data: whether every scaled value is finite and within f32 (nnrt__check_real's test: a
 * value that is NaN, infinite or beyond f32 becomes NaN or infinite in f32), in one typed loop
 * without early exit; the general loop then finds the first that is not, for the message. */
static int scaled_f32_ok(const nnrt_scaler *s, const nnrt_dataset *d) {
  const float *x = d->x;
  int bad = 0;
  for (int64_t k = 0; k < d->n; k++, x += d->n_inputs)
    for (int32_t i = 0; i < d->n_inputs; i++)
      bad |= !(fabsf((float)(((double)x[i] - s->offset[i]) * s->mul[i])) <= FLT_MAX);
  return !bad;
}

/* f32 data scaled in place: the general loop's arithmetic (in double, rounded once to f32). */
static void scale_f32(const nnrt_scaler *s, nnrt_dataset *d) {
  float *x = d->x;
  for (int64_t k = 0; k < d->n; k++, x += d->n_inputs)
    for (int32_t i = 0; i < d->n_inputs; i++)
      x[i] = (float)(((double)x[i] - s->offset[i]) * s->mul[i]);
}

void nnrt_scaler_apply(const nnrt_scaler *s, nnrt_dataset *d) {
  if (!s || s->mode == NNC_SCALE_NONE || s->n != d->n_inputs)
    return;
  if (d->real_bytes == 4) {
    scale_f32(s, d);
    return;
  }
  for (int64_t k = 0; k < d->n; k++)
    for (int32_t i = 0; i < d->n_inputs; i++) {
      int64_t at = k * d->n_inputs + i;
      nnrt__set(d->x, d->real_bytes, at, scaled(s, d, at, i));
    }
}

int nnrt__scaler_apply(const nnrt_scaler *s, nnrt_dataset *d, const char *path, nnrt_error *err) {
  return nnrt__scaler_apply_from(s, d, path, 0, err);
}

int nnrt__scaler_apply_from(const nnrt_scaler *s, nnrt_dataset *d, const char *path, int64_t first, nnrt_error *err) {
  int rc = scaler_check(s, d, path, "input", first, err);
  if (!rc)
    nnrt_scaler_apply(s, d);
  return rc;
}

int nnrt__scaler_check(const nnrt_scaler *s, const nnrt_dataset *d, const char *path, int64_t first,
                       nnrt_error *err) {
  return scaler_check(s, d, path, "input", first, err);
}

static int scaler_check(const nnrt_scaler *s, const nnrt_dataset *d, const char *path, const char *what,
                        int64_t first, nnrt_error *err) {
  if (!s || s->mode == NNC_SCALE_NONE || s->n != d->n_inputs || (d->real_bytes == 4 && scaled_f32_ok(s, d)))
    return NNRT_OK;
  for (int64_t k = 0; k < d->n; k++)
    for (int32_t i = 0; i < d->n_inputs; i++) {
      int64_t at = k * d->n_inputs + i;
      double v = scaled(s, d, at, i);
      int problem = nnrt__check_real(v, d->real_bytes);
      if (problem)
        return nnrt__fail(err, NNRT_EDATA, "%s: sample %lld, %s %d: %g scaled by the training "
                          "data's statistics (offset %g, multiplier %g) is %g, %s", path,
                          (long long)(first + k + 1), what, (int)i, nnrt__get(d->x, d->real_bytes, at), s->offset[i],
                          s->mul[i], v, problem == NNRT_NUM_NOT_FINITE ? "not a finite number"
                          : d->real_bytes == 4 ? "out of range for f32" : "out of range for f64");
    }
  return NNRT_OK;
}

void nnrt_scaler_destroy(nnrt_scaler *s) {
  if (!s)
    return;
  nnrt__free(s->offset);
  nnrt__free(s->mul);
  nnrt__free(s);
}

/* ---- target scaling: the targets scaled as inputs are, through a view of them as inputs ---- */

static nnrt_dataset targets_view(const nnrt_dataset *d) {
  nnrt_dataset v = *d;
  v.x = d->t;
  v.n_inputs = d->n_outputs;
  v.t = NULL;
  v.labels = NULL;
  return v;
}

int nnrt__targets_fit(const nnrt_dataset *d, int32_t mode, nnrt_scaler **out, nnrt_error *err) {
  nnrt_dataset v = targets_view(d);
  return scaler_fit(&v, mode, 1, "target", out, err);
}

int nnrt__targets_apply(const nnrt_scaler *s, nnrt_dataset *d, const char *path, nnrt_error *err) {
  nnrt_dataset v = targets_view(d);
  int rc = !s || !d->t ? NNRT_OK : scaler_check(s, &v, path, "target", 0, err);
  if (!rc && s && d->t)
    nnrt_scaler_apply(s, &v);
  return rc;
}

int nnrt__targets_fit_shards(const nnrt_dataset *d, int64_t total, int32_t mode, nnrt_scaler **out,
                             nnrt_error *err) {
  nnrt_dataset v = targets_view(d);
  return nnrt__scaler_fit_shards(&v, total, mode, 1, out, err);
}

void nnrt__targets_from_inputs(const nnrt_scaler *s, nnrt_dataset *d) {
  if (!d->t || d->n_inputs != d->n_outputs)
    return;
  for (int64_t k = 0; k < d->n; k++)
    for (int32_t i = 0; i < d->n_inputs; i++) {
      int64_t at = k * d->n_inputs + i;
      nnrt__set(d->t, d->real_bytes, at, s && s->mode != NNC_SCALE_NONE ? scaled(s, d, at, i)
                                                                           : nnrt__get(d->x, d->real_bytes, at));
    }
}

/* ---- subsets ---- */

void nnrt__gather(const nnrt_dataset *d, const int64_t *idx, int64_t n, void *x, void *t) {
  size_t xrow = (size_t)d->n_inputs * (size_t)d->real_bytes;
  size_t trow = (size_t)d->n_outputs * (size_t)d->real_bytes;
  for (int64_t k = 0; k < n; k++) {
    memcpy((char *)x + (size_t)k * xrow, (const char *)d->x + (size_t)idx[k] * xrow, xrow);
    if (t && d->t)
      memcpy((char *)t + (size_t)k * trow, (const char *)d->t + (size_t)idx[k] * trow, trow);
  }
}

int nnrt__dataset_subset(const nnrt_dataset *d, const int64_t *idx, int64_t n,
                         nnrt_dataset **out, nnrt_error *err) {
  int rc = nnrt_dataset_create(n, d->n_inputs, d->n_outputs, d->real_bytes,
                               d->t ? 0 : NNRT_LOAD_INPUTS_ONLY, out, err);
  if (rc)
    return rc;
  (*out)->onehot = d->onehot;
  nnrt__gather(d, idx, n, (*out)->x, (*out)->t);
  return NNRT_OK;
}
