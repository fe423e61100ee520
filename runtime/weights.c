/* runtime/weights.c — the binary weights file, its trailer sections, and its text forms.
 *
 * Consumes: a model descriptor, n_params reals, optional sections (input scaling, class label
 * map, target scaling, checkpoint state).
 * Produces: `NNCW` files (layout in nnc/nnrt.h) written whole or not at all (files.c), and
 * on reading either the checked parameters or a message saying exactly what is
 * wrong: not a weights file, version, truncated, trailing bytes, checksum (a corrupted byte),
 * another network (fingerprint), parameter count, precision, a parameter not finite, an
 * unusable input scaling. Reading checks the header against the model before the body: a
 * regular file must have the declared size, and nothing (a pipe, a device) is read past it.
 * Trailer sections with unknown tags are skipped, a repeated tag refused.
 * Text export/import as JSON or CSV, the input scaling included; import reads at most 1 MiB
 * plus 64 bytes per parameter, checks JSON as JSON (one object, distinct keys, bounded
 * nesting), and reads every number through the runtime's one number reader in the model's
 * precision (`name:line: ...`).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define HEADER_BYTES 48
#define CHECKSUM_AT 40

void nnrt__put_u64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

uint64_t nnrt__get_u64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

static void put_u32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t fnv1a(uint64_t h, const unsigned char *p, uint64_t n) {
  for (uint64_t i = 0; i < n; i++)
    h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

/* FNV-1a 64 over the whole image except the checksum field itself. */
static uint64_t image_checksum(const unsigned char *img, uint64_t size) {
  uint64_t h = fnv1a(0xcbf29ce484222325ull, img, CHECKSUM_AT);
  return fnv1a(h, img + CHECKSUM_AT + 8, size - CHECKSUM_AT - 8);
}

/* Reals in little-endian byte order, whatever the host's. */
void nnrt__put_reals(unsigned char *p, const void *vals, int64_t n, int32_t rb) {
  for (int64_t i = 0; i < n; i++, p += rb) {
    if (rb == 4) {
      uint32_t u;
      memcpy(&u, (const float *)vals + i, 4);
      put_u32(p, u);
    } else {
      uint64_t u;
      memcpy(&u, (const double *)vals + i, 8);
      nnrt__put_u64(p, u);
    }
  }
}

void nnrt__get_reals(void *vals, const unsigned char *p, int64_t n, int32_t rb) {
  for (int64_t i = 0; i < n; i++, p += rb) {
    if (rb == 4) {
      uint32_t u = get_u32(p);
      memcpy((float *)vals + i, &u, 4);
    } else {
      uint64_t u = nnrt__get_u64(p);
      memcpy((double *)vals + i, &u, 8);
    }
  }
}

/* ---- writing ---- */

static unsigned char *build_image(const nnc_model *m, const void *params, const nnrt_section *sec,
                                  int n_sec, uint64_t *size) {
  uint64_t vbytes = (uint64_t)m->n_params * (uint64_t)m->real_bytes, tbytes = 0;
  for (int i = 0; i < n_sec; i++)
    tbytes += 16 + sec[i].len;
  *size = HEADER_BYTES + vbytes + tbytes;
  unsigned char *img = nnrt__alloc(*size), *p;
  if (!img)
    return NULL;
  memcpy(img, "NNCW", 4);
  put_u32(img + 4, NNRT_WEIGHTS_VERSION);
  nnrt__put_u64(img + 8, m->fingerprint);
  nnrt__put_u64(img + 16, (uint64_t)m->n_params);
  put_u32(img + 24, (uint32_t)m->real_bytes);
  put_u32(img + 28, (uint32_t)n_sec);
  nnrt__put_u64(img + 32, tbytes);
  nnrt__put_reals(img + HEADER_BYTES, params, m->n_params, m->real_bytes);
  p = img + HEADER_BYTES + vbytes;
  for (int i = 0; i < n_sec; i++) {
    memcpy(p, sec[i].tag, 4);
    nnrt__put_u64(p + 8, sec[i].len);
    if (sec[i].len)
      memcpy(p + 16, sec[i].data, sec[i].len);
    p += 16 + sec[i].len;
  }
  nnrt__put_u64(img + CHECKSUM_AT, image_checksum(img, *size));
  return img;
}

/* The image goes through files.c: replacing path whole (chosen NULL), or as a new file whose
 * name is put in chosen. */
int nnrt__wfile_write(const char *path, const nnc_model *m, const void *params,
                      const nnrt_section *sections, int n_sections, char *chosen, size_t cap,
                      nnrt_error *err) {
  uint64_t size;
  unsigned char *img = build_image(m, params, sections, n_sections, &size);
  if (!img)
    return nnrt__oom_writing(err, path);
  int rc = chosen ? nnrt__write_new(path, img, size, chosen, cap, err)
                  : nnrt__write_atomic(path, img, size, err);
  nnrt__free(img);
  return rc;
}

/* ---- reading ---- */

/* The most trailer bytes a file of m may declare: room for 16 sections, eight copies of the
 * parameters and of two reals per input, and 64 KiB. Generous: it only keeps a header that
 * lies from making the reader wait for terabytes. */
static uint64_t max_trailer(const nnc_model *m) {
  uint64_t pbytes = (uint64_t)m->n_params * (uint64_t)m->real_bytes;
  return 16 * 16 + 8 * pbytes + 8 * 16 * (uint64_t)m->n_inputs + (64 << 10) + nnrt__labels_max_bytes(m) +
         8 + 16 * (uint64_t)m->n_outputs;
}

static int check_fingerprint(const char *path, const unsigned char *img, const nnc_model *m,
                             nnrt_error *err) {
  uint64_t fp = nnrt__get_u64(img + 8);
  if (fp != m->fingerprint)
    return nnrt__fail(err, NNRT_EDATA,
                      "%s: weights of another network (fingerprint 0x%016llx; network '%s' has 0x%016llx)",
                      path, (unsigned long long)fp, m->name, (unsigned long long)m->fingerprint);
  return NNRT_OK;
}

/* The header alone: magic, version, and sizes that fit the model, before the body is read. */
static int check_header(const char *path, const unsigned char *h, uint64_t n, const nnc_model *m,
                        nnrt_error *err) {
  if (n == 0)
    return nnrt__fail(err, NNRT_EDATA, "%s: empty file", path);
  if (n < 4 || memcmp(h, "NNCW", 4) != 0)
    return nnrt__fail(err, NNRT_EDATA, "%s: not an nnc weights file", path);
  if (n < HEADER_BYTES)
    return nnrt__fail(err, NNRT_EDATA, "%s: truncated: the header needs %d bytes, found %llu", path,
                      HEADER_BYTES, (unsigned long long)n);
  uint32_t version = get_u32(h + 4);
  if (version != NNRT_WEIGHTS_VERSION)
    return nnrt__fail(err, NNRT_EDATA, "%s: weights format version %u, this runtime reads version %d",
                      path, version, NNRT_WEIGHTS_VERSION);
  uint64_t np = nnrt__get_u64(h + 16), rb = get_u32(h + 24), tb = nnrt__get_u64(h + 32);
  if ((rb != 4 && rb != 8) || np > ((uint64_t)1 << 40) || tb > ((uint64_t)1 << 40) ||
      get_u32(h + 28) > 16)
    return nnrt__fail(err, NNRT_EDATA, "%s: corrupted header", path);
  int fits = np == (uint64_t)m->n_params && rb == (uint64_t)m->real_bytes;
  if (!fits && nnrt__get_u64(h + 8) != m->fingerprint) /* sizes and fingerprint: another network */
    return check_fingerprint(path, h, m, err);
  if (np != (uint64_t)m->n_params)
    return nnrt__fail(err, NNRT_EDATA, "%s: %llu parameters, the network has %lld", path,
                      (unsigned long long)np, (long long)m->n_params);
  if (rb != (uint64_t)m->real_bytes)
    return nnrt__fail(err, NNRT_EDATA, "%s: f%u weights, the network is f%d", path,
                      (unsigned)rb * 8, (int)m->real_bytes * 8);
  if (tb > max_trailer(m))
    return nnrt__fail(err, NNRT_EDATA, "%s: corrupted header: %llu bytes of trailer sections, "
                      "more than a file of this network holds", path, (unsigned long long)tb);
  return NNRT_OK;
}

static uint64_t declared_size(const unsigned char *h) {
  return HEADER_BYTES + nnrt__get_u64(h + 16) * get_u32(h + 24) + nnrt__get_u64(h + 32);
}

/* A regular file's size must be the declared one, checked before the body is allocated. */
static int check_file_size(FILE *f, const char *path, uint64_t want, nnrt_error *err) {
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size == want)
    return NNRT_OK;
  if ((uint64_t)st.st_size < want)
    return nnrt__fail(err, NNRT_EDATA, "%s: truncated: expected %llu bytes, found %llu", path,
                      (unsigned long long)want, (unsigned long long)st.st_size);
  return nnrt__fail(err, NNRT_EDATA, "%s: %llu unexpected bytes after the end of the weights",
                    path, (unsigned long long)((uint64_t)st.st_size - want));
}

/* Reads the rest of the declared image into img (holding the header), growing it only as data
 * arrives, then tries one byte more: a pipe or device that goes on is refused there. */
static int read_body(FILE *f, const char *path, unsigned char **img, uint64_t want, nnrt_error *err) {
  uint64_t have = HEADER_BYTES, cap = HEADER_BYTES;
  unsigned char one;
  while (have == cap && cap < want) {
    cap = want - cap < cap + (1 << 20) ? want : 2 * cap + (1 << 20);
    unsigned char *bigger = nnrt__realloc(*img, cap);
    if (!bigger)
      return nnrt__oom(err);
    *img = bigger;
    have += fread(*img + have, 1, cap - have, f);
  }
  if (ferror(f))
    return nnrt__fail(err, NNRT_EDATA, "%s: read error: %s", path, strerror(errno));
  if (have < want)
    return nnrt__fail(err, NNRT_EDATA, "%s: truncated: expected %llu bytes, found %llu", path,
                      (unsigned long long)want, (unsigned long long)have);
  if (fread(&one, 1, 1, f) == 1)
    return nnrt__fail(err, NNRT_EDATA, "%s: unexpected bytes after the end of the weights "
                      "(%llu bytes declared)", path, (unsigned long long)want);
  return NNRT_OK;
}

/* The whole file, its header checked against the model first: never more than it declares. */
static int read_image(const char *path, const nnc_model *m, unsigned char **img, uint64_t *size,
                      nnrt_error *err) {
  int fd = strcmp(path, "-") ? -1 : dup(0); /* "-": standard input, as for data files */
  FILE *f = strcmp(path, "-") ? fopen(path, "rb") : fd >= 0 ? fdopen(fd, "rb") : NULL;
  int rc;
  *img = NULL;
  if (!f && fd >= 0)
    close(fd);
  if (!f)
    return nnrt__fail(err, NNRT_EDATA, "%s: cannot open: %s", path, strerror(errno));
  unsigned char *buf = nnrt__alloc(HEADER_BYTES);
  size_t n = buf ? fread(buf, 1, HEADER_BYTES, f) : 0;
  if (!buf)
    rc = nnrt__oom(err);
  else if (ferror(f))
    rc = nnrt__fail(err, NNRT_EDATA, "%s: read error: %s", path, strerror(errno));
  else if ((rc = check_header(path, buf, n, m, err)) == NNRT_OK &&
           (rc = check_file_size(f, path, declared_size(buf), err)) == NNRT_OK)
    rc = read_body(f, path, &buf, declared_size(buf), err);
  fclose(f);
  if (rc) {
    nnrt__free(buf);
    return rc;
  }
  *img = buf;
  *size = declared_size(buf);
  return NNRT_OK;
}

static int check_checksum(const char *path, const unsigned char *img, uint64_t size, nnrt_error *err) {
  if (nnrt__get_u64(img + CHECKSUM_AT) != image_checksum(img, size))
    return nnrt__fail(err, NNRT_EDATA, "%s: checksum mismatch: the file is corrupted", path);
  return NNRT_OK;
}

/* Every parameter must be finite in the model's precision. */
static int check_params(const char *path, const nnrt_wfile *wf, const nnc_model *m, nnrt_error *err) {
  const unsigned char *p = wf->params;
  for (int64_t i = 0; i < m->n_params; i++) {
    double v;
    if (m->real_bytes == 4) {
      float fv;
      uint32_t u = get_u32(p + 4 * i);
      memcpy(&fv, &u, 4);
      v = fv;
    } else {
      uint64_t u = nnrt__get_u64(p + 8 * i);
      memcpy(&v, &u, 8);
    }
    if (!isfinite(v))
      return nnrt__fail(err, NNRT_EDATA, "%s: parameter %lld is %g, not a finite number", path,
                        (long long)i, v);
  }
  return NNRT_OK;
}

/* A section tag for messages: its four bytes, unprintable ones as '?'. */
static const char *tag_shown(const unsigned char *tag, char buf[5]) {
  for (int i = 0; i < 4; i++)
    buf[i] = tag[i] >= 0x20 && tag[i] < 0x7f ? (char)tag[i] : '?';
  buf[4] = 0;
  return buf;
}

/* The trailer: at most 16 sections, each a 4-byte tag, 4 reserved bytes, a length and its
 * data. A tag this runtime does not know is skipped (a later version may add sections); a tag
 * given twice is refused, as which one holds would be a guess. */
static int parse_sections(const char *path, nnrt_wfile *wf, nnrt_error *err) {
  const unsigned char *img = wf->image;
  uint32_t n = get_u32(img + 28);
  char tag[5];
  uint64_t at = HEADER_BYTES + (uint64_t)nnrt__get_u64(img + 16) * get_u32(img + 24);
  for (uint32_t i = 0; i < n; i++) {
    if (at + 16 > wf->size || nnrt__get_u64(img + at + 8) > wf->size - at - 16 || i >= 16)
      return nnrt__fail(err, NNRT_EDATA, "%s: corrupted trailer section %u", path, i);
    if (nnrt__wfile_section(wf, (const char *)img + at))
      return nnrt__fail(err, NNRT_EDATA, "%s: corrupted trailer: section %u repeats the tag '%s'",
                        path, i, tag_shown(img + at, tag));
    nnrt_section *s = &wf->sections[wf->n_sections++];
    memcpy(s->tag, img + at, 4);
    s->len = nnrt__get_u64(img + at + 8);
    s->data = img + at + 16;
    at += 16 + s->len;
  }
  if (at != wf->size)
    return nnrt__fail(err, NNRT_EDATA, "%s: corrupted trailer", path);
  return NNRT_OK;
}

/* ---- a stream read twice ----
 * `train --resume` reads the file's label map and scaling before it loads the data, and the
 * trainer reads the file again to resume from it; a pipe (--resume /dev/stdin) gives its bytes
 * once. nnrt__weights_load_keep keeps the image of a pipe, FIFO or socket, which the next read of
 * the same stream takes instead of reading it (one held at a time). */
static struct {
  dev_t dev;
  ino_t ino;
  unsigned char *img;     /* NULL: none held */
  uint64_t size;
} kept_stream;

/* Whether path is a stream (its identity into st). */
static int is_stream(const char *path, struct stat *st) {
  int got = strcmp(path, "-") ? stat(path, st) : fstat(0, st);
  return got == 0 && (S_ISFIFO(st->st_mode) || S_ISSOCK(st->st_mode));
}

/* The held image of path's stream, taken (1), or 0. */
static int take_kept(const char *path, unsigned char **img, uint64_t *size) {
  struct stat st;
  if (!kept_stream.img || !is_stream(path, &st) || st.st_dev != kept_stream.dev || st.st_ino != kept_stream.ino)
    return 0;
  *img = kept_stream.img;
  *size = kept_stream.size;
  kept_stream.img = NULL;
  return 1;
}

int nnrt__wfile_read(const char *path, const nnc_model *m, nnrt_wfile *wf, nnrt_error *err) {
  unsigned char *img;
  memset(wf, 0, sizeof *wf);
  int rc = take_kept(path, &img, &wf->size) ? NNRT_OK : read_image(path, m, &img, &wf->size, err);
  if (rc)
    return rc;
  wf->image = img;
  wf->params = img + HEADER_BYTES;
  if ((rc = check_checksum(path, img, wf->size, err)) == NNRT_OK &&
      (rc = check_fingerprint(path, img, m, err)) == NNRT_OK &&
      (rc = check_params(path, wf, m, err)) == NNRT_OK)
    rc = parse_sections(path, wf, err);
  if (rc)
    nnrt__wfile_free(wf);
  return rc;
}

static int wfile_read_keep(const char *path, const nnc_model *m, nnrt_wfile *wf, nnrt_error *err) {
  struct stat st;
  int rc = nnrt__wfile_read(path, m, wf, err);
  if (rc || !is_stream(path, &st))
    return rc;
  nnrt__free(kept_stream.img);
  if (!(kept_stream.img = nnrt__alloc(wf->size))) {
    nnrt__wfile_free(wf);
    return nnrt__oom(err);
  }
  memcpy(kept_stream.img, wf->image, wf->size);
  kept_stream.size = wf->size;
  kept_stream.dev = st.st_dev;
  kept_stream.ino = st.st_ino;
  return NNRT_OK;
}

void nnrt__wfile_free(nnrt_wfile *wf) {
  nnrt__free(wf->image);
  memset(wf, 0, sizeof *wf);
}

const nnrt_section *nnrt__wfile_section(const nnrt_wfile *wf, const char *tag) {
  for (int i = 0; i < wf->n_sections; i++)
    if (memcmp(wf->sections[i].tag, tag, 4) == 0)
      return &wf->sections[i];
  return NULL;
}

/* ---- the scaler section ---- */

int nnrt__scaler_encode(const nnrt_scaler *s, void **buf, uint64_t *len, nnrt_error *err) {
  *len = 8 + 16 * (uint64_t)s->n;
  unsigned char *p = nnrt__alloc(*len);
  *buf = p;
  if (!p)
    return nnrt__oom(err);
  put_u32(p, (uint32_t)s->n);
  put_u32(p + 4, (uint32_t)s->mode);
  nnrt__put_reals(p + 8, s->offset, s->n, 8);
  nnrt__put_reals(p + 8 + 8 * (uint64_t)s->n, s->mul, s->n, 8);
  return NNRT_OK;
}

static const char *const scale_modes[] = {"none", "factor", "zscore", "minmax"};

/* Every statistic usable: z-score and min-max offsets finite and multipliers finite and
 * positive (a fit never gives another); a factor's offsets 0 and multipliers finite. */
static int scaler_check_values(const nnrt_scaler *s, const char *where, nnrt_error *err) {
  if (s->mode < NNC_SCALE_FACTOR || s->mode > NNC_SCALE_MINMAX)
    return nnrt__fail(err, NNRT_EDATA, "%s: unknown input scaling mode %d", where, (int)s->mode);
  for (int32_t i = 0; i < s->n; i++) {
    double a = s->offset[i], b = s->mul[i];
    int bad = s->mode == NNC_SCALE_FACTOR ? a != 0 || !isfinite(b) : !isfinite(a) || !isfinite(b) || !(b > 0);
    if (bad)
      return nnrt__fail(err, NNRT_EDATA, "%s: input %d: offset %g and multiplier %g are not a %s scaling "
                        "(%s)", where, (int)i, a, b, scale_modes[s->mode],
                        s->mode == NNC_SCALE_FACTOR ? "offset 0, finite multiplier"
                                                    : "finite offset, finite positive multiplier");
  }
  return NNRT_OK;
}

/* A SCAL (what "input") or TSCL (what "target") section for n inputs or outputs. */
static int decode_scaling(const nnrt_section *sec, int32_t n, const char *what, nnrt_scaler **out,
                          nnrt_error *err, const char *path) {
  const unsigned char *p = sec->data;
  char where[1100];
  *out = NULL;
  if (sec->len < 8 || get_u32(p) != (uint32_t)n || sec->len != 8 + 16 * (uint64_t)n) {
    char got[32] = "";
    if (sec->len >= 8)
      snprintf(got, sizeof got, ", for %u %ss", get_u32(p), !strcmp(what, "input") ? "input" : "output");
    return nnrt__fail(err, NNRT_EDATA, "%s: the %s scaling section (%llu bytes%s) does not fit the network's "
                      "%d %ss (%llu bytes)", path, what, (unsigned long long)sec->len, got, (int)n,
                      !strcmp(what, "input") ? "input" : "output", (unsigned long long)(8 + 16 * (uint64_t)n));
  }
  nnrt_scaler *s = nnrt__alloc(sizeof *s);
  if (!s)
    return nnrt__oom(err);
  s->n = n;
  s->mode = (int32_t)get_u32(p + 4);
  s->offset = nnrt__alloc_array(n ? n : 1, sizeof(double));
  s->mul = nnrt__alloc_array(n ? n : 1, sizeof(double));
  if (!s->offset || !s->mul) {
    nnrt_scaler_destroy(s);
    return nnrt__oom(err);
  }
  nnrt__get_reals(s->offset, p + 8, n, 8);
  nnrt__get_reals(s->mul, p + 8 + 8 * (uint64_t)n, n, 8);
  snprintf(where, sizeof where, "%s: %s scaling section", path, what);
  int rc = scaler_check_values(s, where, err);
  if (rc)
    nnrt_scaler_destroy(s);
  else
    *out = s;
  return rc;
}

int nnrt__scaler_decode(const nnrt_section *sec, int32_t n_inputs, nnrt_scaler **out,
                        nnrt_error *err, const char *path) {
  return decode_scaling(sec, n_inputs, "input", out, err, path);
}

/* "z-score", "min-max", "a factor of 0.5" or "no scaling", for messages. */
static const char *describe_scaling(int32_t mode, double factor, char *buf, size_t size) {
  static const char *const names[] = {"no scaling", "", "z-score", "min-max"};
  if (mode == NNC_SCALE_FACTOR)
    snprintf(buf, size, "a factor of %.9g", factor);
  else
    snprintf(buf, size, "%s", mode >= 0 && mode <= NNC_SCALE_MINMAX ? names[mode] : "?");
  return buf;
}

int nnrt_scaler_matches(const nnrt_scaler *s, const nnc_model *m, const char *path, nnrt_error *err) {
  const nnc_data_source *src = &m->train->data;
  char want[64], got[64];
  if (!s)
    return NNRT_OK;
  int same = s->mode == src->scale;
  for (int32_t i = 0; same && s->mode == NNC_SCALE_FACTOR && i < s->n; i++)
    same = s->mul[i] == src->scale_factor;
  if (same)
    return NNRT_OK;
  return nnrt__fail(err, NNRT_EDATA, "%s: the weights were trained on inputs scaled by %s, but network '%s' "
                    "declares %s (the `scale` of its data source)", path,
                    describe_scaling(s->mode, s->n ? s->mul[0] : 0, got, sizeof got), m->name,
                    describe_scaling(src->scale, src->scale_factor, want, sizeof want));
}

/* ---- the label map section ---- */

uint64_t nnrt__labels_max_bytes(const nnc_model *m) {
  return 4 + (uint64_t)m->n_outputs * (4 + NNRT_LABEL_MAX);
}

int nnrt__labels_encode(const nnrt_labels *l, void **buf, uint64_t *len, nnrt_error *err) {
  uint64_t n = 4;
  for (int32_t i = 0; i < l->n; i++)
    n += 4 + strlen(l->names[i]);
  unsigned char *p = nnrt__alloc(n);
  *buf = p;
  *len = n;
  if (!p)
    return nnrt__oom(err);
  put_u32(p, (uint32_t)l->n);
  p += 4;
  for (int32_t i = 0; i < l->n; i++) {
    uint32_t k = (uint32_t)strlen(l->names[i]);
    put_u32(p, k);
    memcpy(p + 4, l->names[i], k);
    p += 4 + k;
  }
  return NNRT_OK;
}

/* One label of the section at *at: its length within the section and the label rules. */
/* Whether a label's k bytes hold a control character (NUL, ESC, a line end, DEL): labels read
 * from data never do, and one in a crafted file would reach the terminal through eval and
 * predict --class. */
static int has_control(const unsigned char *s, uint32_t k) {
  for (uint32_t i = 0; i < k; i++)
    if (s[i] < 0x20 || s[i] == 0x7f)
      return 1;
  return 0;
}

static int decode_label(const nnrt_section *sec, uint64_t *at, nnrt_labels *l, int32_t i, const char *path,
                        nnrt_error *err) {
  const unsigned char *p = sec->data;
  uint32_t k = *at + 4 <= sec->len ? get_u32(p + *at) : 0;
  if (*at + 4 > sec->len || k == 0 || k > NNRT_LABEL_MAX || *at + 4 + k > sec->len ||
      has_control(p + *at + 4, k))
    return nnrt__fail(err, NNRT_EDATA, "%s: corrupted class label section: label %d", path, (int)i + 1);
  l->names[i] = nnrt__alloc(k + 1);
  if (!l->names[i])
    return nnrt__oom(err);
  memcpy(l->names[i], p + *at + 4, k);
  *at += 4 + k;
  for (int32_t j = 0; j < i; j++)
    if (!strcmp(l->names[j], l->names[i]))
      return nnrt__fail(err, NNRT_EDATA, "%s: corrupted class label section: label %d repeats label %d", path,
                        (int)i + 1, (int)j + 1);
  return NNRT_OK;
}

int nnrt__labels_decode(const nnrt_section *sec, int32_t n_outputs, nnrt_labels **out, nnrt_error *err,
                        const char *path) {
  uint32_t n = sec->len >= 4 ? get_u32(sec->data) : 0;
  uint64_t at = 4;
  int rc = NNRT_OK;
  *out = NULL;
  if (sec->len < 4 || n == 0 || n > (uint32_t)n_outputs)
    return nnrt__fail(err, NNRT_EDATA, "%s: corrupted class label section: %u labels for a network of %d "
                      "output%s", path, n, (int)n_outputs, n_outputs == 1 ? "" : "s");
  nnrt_labels *l = nnrt__labels_new((int32_t)n);
  if (!l)
    return nnrt__oom(err);
  for (int32_t i = 0; i < (int32_t)n && !rc; i++)
    rc = decode_label(sec, &at, l, i, path, err);
  if (!rc && at != sec->len)
    rc = nnrt__fail(err, NNRT_EDATA, "%s: corrupted class label section: %llu bytes after its labels", path,
                    (unsigned long long)(sec->len - at));
  if (rc)
    nnrt_labels_destroy(l);
  else
    *out = l;
  return rc;
}

/* ---- public save/load ---- */

/* The sections of x: SCAL, LBLS, TSCL, each encoded into bufs[i] (freed by the caller). */
static int encode_extras(const nnrt_weights_extras *x, nnrt_section *sec, void **bufs, int *n, nnrt_error *err) {
  static const char tags[3][4] = {{'S', 'C', 'A', 'L'}, {'L', 'B', 'L', 'S'}, {'T', 'S', 'C', 'L'}};
  int rc = NNRT_OK;
  *n = 0;
  for (int i = 0; i < 3 && !rc && x; i++) {
    const nnrt_scaler *sc = i == 0 ? x->scaler : i == 2 ? x->targets : NULL;
    uint64_t len = 0;
    bufs[i] = NULL;
    if (sc && sc->mode != NNC_SCALE_NONE)
      rc = nnrt__scaler_encode(sc, &bufs[i], &len, err);
    else if (i == 1 && x->labels)
      rc = nnrt__labels_encode(x->labels, &bufs[i], &len, err);
    if (!rc && bufs[i]) {
      memcpy(sec[*n].tag, tags[i], 4);
      sec[*n].len = len;
      sec[(*n)++].data = bufs[i];
    }
  }
  return rc;
}

/* Saves params with the sections of x: over path, or as a new file (chosen != NULL). */
static int save_weights(const char *path, const nnc_model *m, const void *params, const nnrt_weights_extras *x,
                        char *chosen, size_t cap, nnrt_error *err) {
  nnrt_section sec[3];
  void *bufs[3] = {NULL, NULL, NULL};
  int n = 0, rc = encode_extras(x, sec, bufs, &n, err);
  if (!rc)
    rc = nnrt__wfile_write(path, m, params, sec, n, chosen, cap, err);
  for (int i = 0; i < 3; i++)
    nnrt__free(bufs[i]);
  return rc;
}

int nnrt_weights_save(const char *path, const nnc_model *m, const void *params,
                      const nnrt_scaler *scaler, nnrt_error *err) {
  nnrt_weights_extras x = {(nnrt_scaler *)scaler, NULL, NULL};
  return save_weights(path, m, params, &x, NULL, 0, err);
}

int nnrt_weights_save_ex(const char *path, const nnc_model *m, const void *params,
                         const nnrt_weights_extras *x, nnrt_error *err) {
  return save_weights(path, m, params, x, NULL, 0, err);
}

int nnrt__weights_save_new(const char *name, const nnc_model *m, const void *params, const nnrt_weights_extras *x,
                           char *chosen, size_t cap, nnrt_error *err) {
  return save_weights(name, m, params, x, chosen, cap, err);
}

void nnrt_weights_extras_clear(nnrt_weights_extras *x) {
  nnrt_scaler_destroy(x->scaler);
  nnrt_labels_destroy(x->labels);
  nnrt_scaler_destroy(x->targets);
  memset(x, 0, sizeof *x);
}

/* The target scaling section: as SCAL over the outputs, z-score or min-max only. */
static int decode_targets(const nnrt_section *sec, const nnc_model *m, const char *path, nnrt_scaler **out,
                          nnrt_error *err) {
  int rc = decode_scaling(sec, m->n_outputs, "target", out, err, path);
  if (!rc && (*out)->mode != NNC_SCALE_ZSCORE && (*out)->mode != NNC_SCALE_MINMAX) {
    rc = nnrt__fail(err, NNRT_EDATA, "%s: target scaling section: mode %s, not zscore or minmax", path,
                    scale_modes[(*out)->mode]);
    nnrt_scaler_destroy(*out);
    *out = NULL;
  }
  return rc;
}

/* The weights and their extras; keep: a stream's image is kept for its next read. */
static int load_ex(const char *path, const nnc_model *m, void *params, nnrt_weights_extras *x, int keep,
                   nnrt_error *err) {
  nnrt_wfile wf;
  memset(x, 0, sizeof *x);
  int rc = keep ? wfile_read_keep(path, m, &wf, err) : nnrt__wfile_read(path, m, &wf, err);
  if (rc)
    return rc;
  nnrt__get_reals(params, wf.params, m->n_params, m->real_bytes);
  const nnrt_section *sc = nnrt__wfile_section(&wf, "SCAL"), *lb = nnrt__wfile_section(&wf, "LBLS");
  const nnrt_section *ts = nnrt__wfile_section(&wf, "TSCL");
  if (sc)
    rc = nnrt__scaler_decode(sc, m->n_inputs, &x->scaler, err, path);
  if (!rc && lb)
    rc = nnrt__labels_decode(lb, m->n_outputs, &x->labels, err, path);
  if (!rc && ts)
    rc = decode_targets(ts, m, path, &x->targets, err);
  if (rc)
    nnrt_weights_extras_clear(x);
  nnrt__wfile_free(&wf);
  return rc;
}

int nnrt_weights_load_ex(const char *path, const nnc_model *m, void *params, nnrt_weights_extras *x,
                         nnrt_error *err) {
  return load_ex(path, m, params, x, 0, err);
}

int nnrt__weights_load_keep(const char *path, const nnc_model *m, void *params, nnrt_weights_extras *x,
                            nnrt_error *err) {
  return load_ex(path, m, params, x, 1, err);
}

int nnrt_weights_load(const char *path, const nnc_model *m, void *params,
                      nnrt_scaler **scaler_out, nnrt_error *err) {
  nnrt_weights_extras x;
  int rc = nnrt_weights_load_ex(path, m, params, &x, err);
  if (scaler_out) {
    *scaler_out = x.scaler;
    x.scaler = NULL;
  }
  nnrt_weights_extras_clear(&x);
  return rc;
}

/* ---- text forms ---- */

static void print_real(FILE *out, const void *params, int32_t rb, int64_t i) {
  fprintf(out, rb == 4 ? "%.9g" : "%.17g", nnrt__get(params, rb, i));
}

/* The input scaling as JSON: "scale": {"mode": "zscore", "offset": [...], "multiplier": [...]}. */
static void json_export_scaler(FILE *out, const nnrt_scaler *s) {
  fprintf(out, "  \"scale\": {\n    \"mode\": \"%s\",", scale_modes[s->mode]);
  for (int half = 0; half < 2; half++) {
    const double *v = half ? s->mul : s->offset;
    fprintf(out, "\n    \"%s\": [", half ? "multiplier" : "offset");
    for (int32_t i = 0; i < s->n; i++)
      fprintf(out, "%s%.17g", i ? ", " : "", v[i]);
    fprintf(out, "]%s", half ? "\n  },\n" : ",");
  }
}

/* The input scaling as CSV rows after the parameters: `scale,MODE`, then
 * `scale.offset[i],A` and `scale.multiplier[i],B` for every input. */
static void csv_export_scaler(FILE *out, const nnrt_scaler *s) {
  fprintf(out, "scale,%s\n", scale_modes[s->mode]);
  for (int32_t i = 0; i < s->n; i++)
    fprintf(out, "scale.offset[%d],%.17g\n", (int)i, s->offset[i]);
  for (int32_t i = 0; i < s->n; i++)
    fprintf(out, "scale.multiplier[%d],%.17g\n", (int)i, s->mul[i]);
}

int nnrt_weights_export(FILE *out, const nnc_model *m, const void *params, const nnrt_scaler *scaler,
                        const char *format, nnrt_error *err) {
  int json = strcmp(format, "json") == 0;
  if (!json && strcmp(format, "csv") != 0)
    return nnrt__fail(err, NNRT_EUSAGE, "--format: expected json or csv, got '%s'", format);
  if (scaler && scaler->mode == NNC_SCALE_NONE)
    scaler = NULL;
  if (json) {
    fprintf(out, "{\n  \"model\": \"%s\",\n  \"fingerprint\": \"0x%016llx\",\n  \"real_bytes\": %d,\n"
                 "  \"n_params\": %lld,\n",
            m->name, (unsigned long long)m->fingerprint, (int)m->real_bytes, (long long)m->n_params);
    if (scaler)
      json_export_scaler(out, scaler);
    fprintf(out, "  \"params\": [");
  } else
    fprintf(out, "index,value\n");
  for (int64_t i = 0; i < m->n_params; i++) {
    if (json)
      fprintf(out, "%s\n    ", i ? "," : "");
    else
      fprintf(out, "%lld,", (long long)i);
    print_real(out, params, m->real_bytes, i);
    if (!json)
      fputc('\n', out);
  }
  if (json)
    fprintf(out, "\n  ]\n}\n");
  else if (scaler)
    csv_export_scaler(out, scaler);
  if (fflush(out) != 0 || ferror(out))
    return nnrt__fail(err, NNRT_EIO, "write error: %s", strerror(errno));
  return NNRT_OK;
}

/* The whole text, at most max bytes, without a leading byte-order mark. */
static int read_all(FILE *in, const char *name, size_t max, char **text, nnrt_error *err) {
  size_t cap = 4096, n = 0;
  char *buf = nnrt__alloc(cap);
  while (buf) {
    n += fread(buf + n, 1, cap - n - 1, in);
    if (n < cap - 1 || n > max)
      break;
    char *bigger = nnrt__realloc(buf, cap * 2);
    if (!bigger)
      nnrt__free(buf);
    buf = bigger;
    cap *= 2;
  }
  if (!buf)
    return nnrt__oom(err);
  buf[n] = 0;
  int rc = NNRT_OK;
  if (n > max)
    rc = nnrt__fail(err, NNRT_EDATA, "%s: more than %zu bytes: too long for the text of the "
                    "network's parameters", name, max);
  else if (ferror(in) || strlen(buf) != n)
    rc = nnrt__fail(err, NNRT_EDATA, "%s: read error or binary data", name);
  if (rc) {
    nnrt__free(buf);
    return rc;
  }
  if (n >= 3 && !memcmp(buf, NNRT_UTF8_BOM, 3))
    memmove(buf, buf + 3, n - 2);
  *text = buf;
  return NNRT_OK;
}

/* The longest text import read: 1 MiB plus 64 bytes per parameter. */
static size_t max_text(const nnc_model *m) {
  return ((size_t)1 << 20) + 64 * (size_t)m->n_params;
}

static int line_of(const char *text, const char *at) {
  int line = 1;
  for (; text < at; text++)
    line += *text == '\n';
  return line;
}

/* ---- the input scaling in text forms ---- */

/* A scaler being read: the mode, then n offsets and n multipliers. */
typedef struct text_scaler {
  nnrt_scaler *s;             /* NULL until the mode is read */
  int32_t n_offsets, n_muls;
} text_scaler;

static int scale_mode_named(const char *name, size_t len) {
  for (int i = NNC_SCALE_FACTOR; i <= NNC_SCALE_MINMAX; i++)
    if (strlen(scale_modes[i]) == len && !strncmp(scale_modes[i], name, len))
      return i;
  return -1;
}

static int text_scaler_start(text_scaler *ts, const char *mode, size_t len, const char *where,
                             int32_t n_inputs, nnrt_error *err) {
  int k = scale_mode_named(mode, len);
  if (ts->s)
    return nnrt__fail(err, NNRT_EDATA, "%s: the input scaling is given twice", where);
  if (k < 0)
    return nnrt__fail(err, NNRT_EDATA, "%s: unknown input scaling mode '%.*s' (expected factor, zscore or "
                      "minmax)", where, (int)(len > 40 ? 40 : len), mode);
  ts->s = nnrt__alloc(sizeof *ts->s);
  if (!ts->s)
    return nnrt__oom(err);
  ts->s->mode = k;
  ts->s->n = n_inputs;
  ts->s->offset = nnrt__alloc_array(n_inputs ? n_inputs : 1, sizeof(double));
  ts->s->mul = nnrt__alloc_array(n_inputs ? n_inputs : 1, sizeof(double));
  return ts->s->offset && ts->s->mul ? NNRT_OK : nnrt__oom(err);
}

/* Adds the next offset (half 0) or multiplier (half 1). */
static int text_scaler_add(text_scaler *ts, int half, double v, const char *where, nnrt_error *err) {
  int32_t *count = half ? &ts->n_muls : &ts->n_offsets;
  if (!ts->s)
    return nnrt__fail(err, NNRT_EDATA, "%s: a scaling value before the scaling mode", where);
  if (*count >= ts->s->n)
    return nnrt__fail(err, NNRT_EDATA, "%s: more than the network's %d input scaling %ss", where,
                      (int)ts->s->n, half ? "multiplier" : "offset");
  (half ? ts->s->mul : ts->s->offset)[(*count)++] = v;
  return NNRT_OK;
}

/* A complete, usable scaler handed to *out (or none if the text gave none). */
static int text_scaler_finish(text_scaler *ts, const char *name, nnrt_scaler **out, nnrt_error *err) {
  char where[1100];
  if (!ts->s)
    return NNRT_OK;
  if (ts->n_offsets != ts->s->n || ts->n_muls != ts->s->n)
    return nnrt__fail(err, NNRT_EDATA, "%s: the input scaling has %d offsets and %d multipliers, the network "
                      "has %d inputs", name, (int)ts->n_offsets, (int)ts->n_muls, (int)ts->s->n);
  snprintf(where, sizeof where, "%s: scale", name);
  int rc = scaler_check_values(ts->s, where, err);
  if (!rc && out) {
    *out = ts->s;
    ts->s = NULL;
  }
  return rc;
}

/* ---- the JSON form's structure ----
 * The text is checked as JSON first (RFC 8259: one object, nothing after it, strings with
 * valid escapes, no trailing commas, nesting at most 32 deep), every object's keys distinct.
 * Values that are numbers or words are tokens here; the number reader judges them later with
 * the parameter's line. The values of the keys nnc reads (the object's "fingerprint",
 * "scale", "params", and the scale's "mode", "offset", "multiplier") are noted; other keys
 * are skipped. */

#define JSON_MAX_DEPTH 32

typedef struct json_doc {
  const char *text, *name;
  const char *fingerprint, *scale, *params;      /* values in the top object, or NULL */
  const char *mode, *offset, *multiplier;       /* values in the "scale" object, or NULL */
} json_doc;

static const char *skip_space(const char *p) {
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
    p++;
  return p;
}

static int json_fail(const json_doc *j, const char *at, const char *what, nnrt_error *err) {
  return nnrt__fail(err, NNRT_EDATA, "%s:%d: not valid JSON: %s", j->name, line_of(j->text, at), what);
}

/* A string at *p (which is '"'); *p moves past it. */
static int json_string(const json_doc *j, const char **p, nnrt_error *err) {
  const char *q = *p + 1;
  for (; *q != '"'; q++) {
    if ((unsigned char)*q < 0x20)
      return json_fail(j, q, *q ? "a control character or line end inside a string"
                                : "a string is not closed", err);
    if (*q != '\\')
      continue;
    q++;
    if (*q == 'u') {
      for (int k = 1; k <= 4; k++)
        if (!isxdigit((unsigned char)q[k]))
          return json_fail(j, q, "a \\u escape needs four hexadecimal digits", err);
      q += 4;
    } else if (!*q || !strchr("\"\\/bfnrt", *q)) {
      return json_fail(j, q, "an unknown escape in a string", err);
    }
  }
  *p = q + 1;
  return NNRT_OK;
}

/* Whether the string at k (its opening quote) is exactly "word". */
static int key_is(const char *k, const char *word) {
  size_t n = strlen(word);
  return !strncmp(k + 1, word, n) && k[n + 1] == '"';
}

static int json_value(json_doc *j, const char **p, int depth, int role, nnrt_error *err);

/* Notes where the value of key k starts, for the objects whose keys nnc reads (role 1: the
 * top object, 2: its "scale"); returns the role of the value (2 for the scale object), or -1
 * for a key noted before. */
static int note_key(json_doc *j, int role, const char *k, const char *value) {
  const char *const names[] = {"fingerprint", "scale", "params", "mode", "offset", "multiplier"};
  const char **slots[] = {&j->fingerprint, &j->scale, &j->params, &j->mode, &j->offset, &j->multiplier};
  for (int i = role == 1 ? 0 : 3, n = role == 1 ? 3 : 6; role && i < n; i++)
    if (key_is(k, names[i])) {
      if (*slots[i])
        return -1;
      *slots[i] = value;
      return i == 1 ? 2 : 0;
    }
  return 0;
}

static int json_object(json_doc *j, const char **p, int depth, int role, nnrt_error *err) {
  const char *q = skip_space(*p + 1), *keys[256];
  int n_keys = 0, rc;
  if (*q == '}') {
    *p = q + 1;
    return NNRT_OK;
  }
  for (;;) {
    const char *k = q;
    if (*k != '"')
      return json_fail(j, k, "expected a key in quotes", err);
    if ((rc = json_string(j, &q, err)) != NNRT_OK)
      return rc;
    for (int i = 0; i < n_keys; i++)
      if (q - k == strchr(keys[i] + 1, '"') + 1 - keys[i] && !strncmp(keys[i], k, (size_t)(q - k)))
        return json_fail(j, k, "a key is repeated in one object", err);
    if (n_keys < 256)           /* the keys nnc reads are checked beyond, in note_key */
      keys[n_keys++] = k;
    q = skip_space(q);
    if (*q != ':')
      return json_fail(j, q, "expected ':' after a key", err);
    q = skip_space(q + 1);
    int value_role = note_key(j, role, k, q);
    if (value_role < 0)
      return json_fail(j, k, "a key is repeated in one object", err);
    if ((rc = json_value(j, &q, depth + 1, value_role, err)) != NNRT_OK)
      return rc;
    q = skip_space(q);
    if (*q == '}')
      break;
    if (*q != ',')
      return json_fail(j, q, "expected ',' or '}'", err);
    q = skip_space(q + 1);
  }
  *p = q + 1;
  return NNRT_OK;
}

static int json_array(json_doc *j, const char **p, int depth, nnrt_error *err) {
  const char *q = skip_space(*p + 1);
  int rc;
  if (*q == ']') {
    *p = q + 1;
    return NNRT_OK;
  }
  for (;;) {
    if ((rc = json_value(j, &q, depth + 1, 0, err)) != NNRT_OK)
      return rc;
    q = skip_space(q);
    if (*q == ']')
      break;
    if (*q != ',')
      return json_fail(j, q, "expected ',' or ']'", err);
    q = skip_space(q + 1);
  }
  *p = q + 1;
  return NNRT_OK;
}

static int json_value(json_doc *j, const char **p, int depth, int role, nnrt_error *err) {
  const char *q = *p;
  if (depth > JSON_MAX_DEPTH)
    return json_fail(j, q, "nested more than 32 deep", err);
  if (*q == '{')
    return json_object(j, p, depth, role, err);
  if (*q == '[')
    return json_array(j, p, depth, err);
  if (*q == '"')
    return json_string(j, p, err);
  while (isalnum((unsigned char)*q) || *q == '+' || *q == '-' || *q == '.')
    q++;
  if (q == *p)
    return json_fail(j, q, *q ? "expected a value" : "the text ends inside the object", err);
  *p = q;
  return NNRT_OK;
}

static int json_parse(json_doc *j, nnrt_error *err) {
  const char *p = skip_space(j->text);
  int rc;
  if (*p != '{')
    return json_fail(j, p, "expected '{'", err);
  if ((rc = json_value(j, &p, 1, 1, err)) != NNRT_OK)
    return rc;
  p = skip_space(p);
  if (*p)
    return json_fail(j, p, "text after the end of the object", err);
  return NNRT_OK;
}

/* "offset": [a, b, ...] or "multiplier": [...] of the scale object. */
static int json_scale_array(const json_doc *j, int half, const nnc_model *m, text_scaler *ts,
                            nnrt_error *err) {
  const char *key = half ? "multiplier" : "offset", *p = half ? j->multiplier : j->offset;
  char where[1100], tok[64], buf[64];
  snprintf(where, sizeof where, "%s:%d: scale.%s", j->name, line_of(j->text, p ? p : j->scale), key);
  if (!p || *p != '[')
    return nnrt__fail(err, NNRT_EDATA, "%s: expected an array of the %d inputs' %ss", where,
                      (int)m->n_inputs, key);
  for (p = skip_space(p + 1); *p != ']';) {
    const char *end = p;
    double v;
    int rc;
    while (*end && *end != ',' && *end != ']' && !isspace((unsigned char)*end))
      end++;
    size_t len = (size_t)(end - p) < sizeof tok - 1 ? (size_t)(end - p) : sizeof tok - 1;
    memcpy(tok, p, len);
    tok[len] = 0;
    int problem = (size_t)(end - p) > len ? NNRT_NUM_NOT_A_NUMBER : nnrt__parse_real(tok, 8, &v);
    if (problem)
      return nnrt__fail(err, NNRT_EDATA, "%s: value %d: '%s' %s", where,
                        (int)(half ? ts->n_muls : ts->n_offsets), nnrt__shown(tok, buf, sizeof buf),
                        nnrt__number_problem(problem, 8));
    if ((rc = text_scaler_add(ts, half, v, where, err)) != NNRT_OK)
      return rc;
    p = skip_space(end);
    p = *p == ',' ? skip_space(p + 1) : p;
  }
  return NNRT_OK;
}

/* "scale": {"mode": "...", "offset": [...], "multiplier": [...]}, if the text has it. */
static int json_import_scaler(const json_doc *j, const nnc_model *m, text_scaler *ts, nnrt_error *err) {
  const char *mode = j->mode;
  int rc;
  if (!j->scale)
    return NNRT_OK;
  if (*j->scale != '{' || !mode || *mode != '"')
    return nnrt__fail(err, NNRT_EDATA, "%s:%d: \"scale\": expected {\"mode\": \"zscore\" (or minmax or factor), "
                      "\"offset\": [...], \"multiplier\": [...]}", j->name, line_of(j->text, j->scale));
  char where[1100];
  snprintf(where, sizeof where, "%s:%d: scale.mode", j->name, line_of(j->text, mode));
  if ((rc = text_scaler_start(ts, mode + 1, (size_t)(strchr(mode + 1, '"') - mode - 1), where,
                              m->n_inputs, err)) != NNRT_OK ||
      (rc = json_scale_array(j, 0, m, ts, err)) != NNRT_OK)
    return rc;
  return json_scale_array(j, 1, m, ts, err);
}

/* A CSV row of the scaling: `scale,MODE`, `scale.offset[i],A` or `scale.multiplier[i],B`,
 * each index the next one expected. */
static int csv_import_scaler_line(char *line, int lineno, const char *name, const nnc_model *m,
                                  text_scaler *ts, nnrt_error *err) {
  char *f[3], where[1100];
  int need, nf = nnrt__csv_split(line, f, 3, &need), index = -1, len = 0;
  double v;
  snprintf(where, sizeof where, "%s:%d", name, lineno);
  if (nf < -1)
    return nnrt__fail(err, NNRT_EDATA, "%s: field %d: %s", where, need, nnrt__csv_problem(nf));
  if (nf != 2)
    return nnrt__fail(err, NNRT_EDATA, "%s: expected 2 fields, found %d", where, nf < 0 ? need : nf);
  if (!strcmp(f[0], "scale"))
    return text_scaler_start(ts, f[1], strlen(f[1]), where, m->n_inputs, err);
  int half = !strncmp(f[0], "scale.multiplier[", 17);
  if (!half && strncmp(f[0], "scale.offset[", 13) != 0)
    return nnrt__fail(err, NNRT_EDATA, "%s: field 1: expected scale, scale.offset[i] or scale.multiplier[i], "
                      "found '%.40s'", where, f[0]);
  int32_t next = half ? ts->n_muls : ts->n_offsets;
  if (sscanf(f[0] + (half ? 17 : 13), "%d]%n", &index, &len) != 1 || f[0][(half ? 17 : 13) + len] || index != next)
    return nnrt__fail(err, NNRT_EDATA, "%s: field 1: expected %s[%d], found '%.40s'", where,
                      half ? "scale.multiplier" : "scale.offset", (int)next, f[0]);
  if (nnrt__parse_number(f[1], &v))
    return nnrt__fail(err, NNRT_EDATA, "%s: field 2: '%.40s' is not a finite number", where, f[1]);
  return text_scaler_add(ts, half, v, where, err);
}

static int json_fingerprint(const json_doc *j, const nnc_model *m, nnrt_error *err) {
  const char *fp = j->fingerprint;
  char *end = NULL;
  if (!fp)
    return NNRT_OK;
  unsigned long long v = 0;
  if (*fp == '"' && !strncmp(fp + 1, "0x", 2) && isxdigit((unsigned char)fp[3]))
    v = strtoull(fp + 3, &end, 16);
  if (!end || *end != '"' || end - fp != 19)
    return nnrt__fail(err, NNRT_EDATA, "%s:%d: \"fingerprint\": expected \"0x\" and 16 hexadecimal digits",
                      j->name, line_of(j->text, fp));
  if (v != m->fingerprint)
    return nnrt__fail(err, NNRT_EDATA,
                      "%s: weights of another network (fingerprint 0x%016llx; network '%s' has 0x%016llx)",
                      j->name, v, m->name, (unsigned long long)m->fingerprint);
  return NNRT_OK;
}

/* One JSON array element (up to ',', ']', a space or the end) read as a parameter. */
static int json_number(const char **pp, const char *text, const char *name, const nnc_model *m,
                       int64_t n, double *v, nnrt_error *err) {
  const char *p = *pp, *end = p;
  char tok[64], buf[64];
  while (*end && *end != ',' && *end != ']' && !isspace((unsigned char)*end))
    end++;
  size_t len = (size_t)(end - p) < sizeof tok - 1 ? (size_t)(end - p) : sizeof tok - 1;
  memcpy(tok, p, len);
  tok[len] = 0;
  int problem = (size_t)(end - p) > len ? NNRT_NUM_NOT_A_NUMBER : nnrt__parse_real(tok, m->real_bytes, v);
  if (!*p)
    return nnrt__fail(err, NNRT_EDATA, "%s:%d: parameter %lld: the array is not closed", name,
                      line_of(text, p), (long long)n);
  if (problem)
    return nnrt__fail(err, NNRT_EDATA, "%s:%d: parameter %lld: '%s' %s", name, line_of(text, p),
                      (long long)n, nnrt__shown(tok, buf, sizeof buf),
                      nnrt__number_problem(problem, m->real_bytes));
  *pp = end;
  return NNRT_OK;
}

static int too_many(const char *name, int line, const nnc_model *m, nnrt_error *err) {
  return nnrt__fail(err, NNRT_EDATA, "%s:%d: more than the %lld parameters of the network", name,
                    line, (long long)m->n_params);
}

static int json_import(const char *text, const char *name, const nnc_model *m, void *params,
                       text_scaler *ts, nnrt_error *err) {
  json_doc j = {text, name, NULL, NULL, NULL, NULL, NULL, NULL};
  int rc = json_parse(&j, err);
  if (!rc)
    rc = json_fingerprint(&j, m, err);
  if (!rc)
    rc = json_import_scaler(&j, m, ts, err);
  if (rc)
    return rc;
  const char *p = j.params;
  if (!p || *p != '[')
    return nnrt__fail(err, NNRT_EDATA, "%s: no \"params\" array", name);
  int64_t n = 0;
  for (p++;;) {
    while (isspace((unsigned char)*p))
      p++;
    if (*p == ']' && n == 0)
      break;
    double v;
    if (n == m->n_params)
      return too_many(name, line_of(text, p), m, err);
    if ((rc = json_number(&p, text, name, m, n, &v, err)) != NNRT_OK)
      return rc;
    nnrt__set(params, m->real_bytes, n++, v);
    while (isspace((unsigned char)*p))
      p++;
    if (*p == ']')
      break;
    if (*p != ',')
      return nnrt__fail(err, NNRT_EDATA, "%s:%d: expected ',' or ']' after parameter %lld", name,
                        line_of(text, p), (long long)(n - 1));
    p++;
  }
  if (n != m->n_params)
    return nnrt__fail(err, NNRT_EDATA, "%s: %lld parameters, the network has %lld", name,
                      (long long)n, (long long)m->n_params);
  return NNRT_OK;
}

static int csv_import_line(char *line, int lineno, const char *name, const nnc_model *m,
                           void *params, int64_t *n, nnrt_error *err) {
  char *f[3], buf[64];
  int need, nf = nnrt__csv_split(line, f, 3, &need);
  double idx, v;
  if (nf < -1)
    return nnrt__fail(err, NNRT_EDATA, "%s:%d: field %d: %s", name, lineno, need, nnrt__csv_problem(nf));
  if (nf != 2)
    return nnrt__fail(err, NNRT_EDATA, "%s:%d: expected 2 fields, found %d", name, lineno,
                      nf < 0 ? need : nf);
  if (lineno == 1 && strcmp(f[0], "index") == 0)
    return NNRT_OK;
  if (nnrt__parse_real(f[0], 8, &idx) || idx != (double)*n)
    return nnrt__fail(err, NNRT_EDATA, "%s:%d: field 1: expected index %lld, found '%s'", name,
                      lineno, (long long)*n, nnrt__shown(f[0], buf, sizeof buf));
  if (*n == m->n_params)
    return too_many(name, lineno, m, err);
  int problem = nnrt__parse_real(f[1], m->real_bytes, &v);
  if (problem)
    return nnrt__fail(err, NNRT_EDATA, "%s:%d: field 2: '%s' %s", name, lineno,
                      nnrt__shown(f[1], buf, sizeof buf), nnrt__number_problem(problem, m->real_bytes));
  nnrt__set(params, m->real_bytes, (*n)++, v);
  return NNRT_OK;
}

static int csv_import(char *text, const char *name, const nnc_model *m, void *params,
                      text_scaler *ts, nnrt_error *err) {
  int64_t n = 0;
  int lineno = 0, rc;
  char *save = text;
  while (save && *save) {
    char *line = save, *nl = strchr(save, '\n');
    save = nl ? nl + 1 : NULL;
    if (nl)
      *nl = 0;
    lineno++;
    if (nl > line && nl[-1] == '\r')
      nl[-1] = 0;
    if (!*line && (!save || !*save))
      break;
    if (!strncmp(line, "scale", 5))
      rc = csv_import_scaler_line(line, lineno, name, m, ts, err);
    else
      rc = csv_import_line(line, lineno, name, m, params, &n, err);
    if (rc)
      return rc;
  }
  if (n != m->n_params)
    return nnrt__fail(err, NNRT_EDATA, "%s: %lld parameters, the network has %lld", name,
                      (long long)n, (long long)m->n_params);
  return NNRT_OK;
}

int nnrt_weights_import(FILE *in, const char *name, const nnc_model *m, void *params,
                        nnrt_scaler **scaler_out, nnrt_error *err) {
  char *text = NULL;
  text_scaler ts = {NULL, 0, 0};
  if (scaler_out)
    *scaler_out = NULL;
  int rc = read_all(in, name, max_text(m), &text, err);
  if (rc)
    return rc;
  const char *p = text;
  while (isspace((unsigned char)*p))
    p++;
  if (!*p)
    rc = nnrt__fail(err, NNRT_EDATA, "%s: empty input", name);
  else if (*p == '{' || *p == '[')
    rc = json_import(text, name, m, params, &ts, err);
  else
    rc = csv_import(text, name, m, params, &ts, err);
  if (!rc)
    rc = text_scaler_finish(&ts, name, scaler_out, err);
  nnrt_scaler_destroy(ts.s);
  nnrt__free(text);
  return rc;
}
