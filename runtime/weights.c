/* runtime/weights.c — the binary weights file, its trailer sections, and its text forms.
 *
 * Consumes: a model descriptor, n_params reals, optional sections (scaler, checkpoint state).
 * Produces: `NNCW` files (layout in nnc/nnrt.h) written atomically (path.tmp, fflush, fsync,
 * rename), and on reading either the checked parameters or a message saying exactly what is
 * wrong: not a weights file, version, truncated, trailing bytes, checksum (a corrupted byte),
 * another network (fingerprint), parameter count, precision, a parameter not finite.
 * Reading checks the header against the model before the body: a regular file must have the
 * declared size, and nothing (a pipe, a device) is read past it. Text export/import as JSON
 * or CSV; import reads at most 1 MiB plus 64 bytes per parameter, and every number through
 * the runtime's one number reader in the model's precision (`name:line: ...`).
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

static int write_atomically(const char *path, const unsigned char *img, uint64_t size,
                            nnrt_error *err) {
  size_t plen = strlen(path);
  char *tmp = nnrt__alloc(plen + 5);
  if (!tmp)
    return nnrt__oom(err);
  memcpy(tmp, path, plen);
  memcpy(tmp + plen, ".tmp", 5);
  int rc = NNRT_OK;
  FILE *f = fopen(tmp, "wb");
  if (!f) {
    rc = nnrt__fail(err, NNRT_EIO, "%s: cannot write: %s", tmp, strerror(errno));
  } else {
    int bad = fwrite(img, 1, size, f) != size || fflush(f) != 0 || fsync(fileno(f)) != 0;
    int saved = errno;
    bad |= fclose(f) != 0;
    if (bad)
      rc = nnrt__fail(err, NNRT_EIO, "%s: write failed: %s", tmp, strerror(saved ? saved : errno));
    else if (rename(tmp, path) != 0)
      rc = nnrt__fail(err, NNRT_EIO, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
    if (rc)
      remove(tmp);
  }
  nnrt__free(tmp);
  return rc;
}

int nnrt__wfile_write(const char *path, const nnc_model *m, const void *params,
                      const nnrt_section *sections, int n_sections, nnrt_error *err) {
  uint64_t size;
  unsigned char *img = build_image(m, params, sections, n_sections, &size);
  if (!img)
    return nnrt__oom(err);
  int rc = write_atomically(path, img, size, err);
  nnrt__free(img);
  return rc;
}

/* ---- reading ---- */

/* The most trailer bytes a file of m may declare: room for 16 sections, eight copies of the
 * parameters and of two reals per input, and 64 KiB. Generous: it only keeps a header that
 * lies from making the reader wait for terabytes. */
static uint64_t max_trailer(const nnc_model *m) {
  uint64_t pbytes = (uint64_t)m->n_params * (uint64_t)m->real_bytes;
  return 16 * 16 + 8 * pbytes + 8 * 16 * (uint64_t)m->n_inputs + (64 << 10);
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
  FILE *f = fopen(path, "rb");
  int rc;
  *img = NULL;
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

static int parse_sections(const char *path, nnrt_wfile *wf, nnrt_error *err) {
  const unsigned char *img = wf->image;
  uint32_t n = get_u32(img + 28);
  uint64_t at = HEADER_BYTES + (uint64_t)nnrt__get_u64(img + 16) * get_u32(img + 24);
  for (uint32_t i = 0; i < n; i++) {
    if (at + 16 > wf->size || nnrt__get_u64(img + at + 8) > wf->size - at - 16 || i >= 16)
      return nnrt__fail(err, NNRT_EDATA, "%s: corrupted trailer section %u", path, i);
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

int nnrt__wfile_read(const char *path, const nnc_model *m, nnrt_wfile *wf, nnrt_error *err) {
  unsigned char *img;
  memset(wf, 0, sizeof *wf);
  int rc = read_image(path, m, &img, &wf->size, err);
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

int nnrt__scaler_decode(const nnrt_section *sec, int32_t n_inputs, nnrt_scaler **out,
                        nnrt_error *err, const char *path) {
  const unsigned char *p = sec->data;
  *out = NULL;
  if (sec->len < 8 || get_u32(p) != (uint32_t)n_inputs || sec->len != 8 + 16 * (uint64_t)n_inputs)
    return nnrt__fail(err, NNRT_EDATA, "%s: the scaling section does not fit the network", path);
  nnrt_scaler *s = nnrt__alloc(sizeof *s);
  if (!s)
    return nnrt__oom(err);
  s->n = n_inputs;
  s->mode = (int32_t)get_u32(p + 4);
  s->offset = nnrt__alloc_array(n_inputs ? n_inputs : 1, sizeof(double));
  s->mul = nnrt__alloc_array(n_inputs ? n_inputs : 1, sizeof(double));
  if (!s->offset || !s->mul) {
    nnrt_scaler_destroy(s);
    return nnrt__oom(err);
  }
  nnrt__get_reals(s->offset, p + 8, n_inputs, 8);
  nnrt__get_reals(s->mul, p + 8 + 8 * (uint64_t)n_inputs, n_inputs, 8);
  int bad = s->mode < NNC_SCALE_FACTOR || s->mode > NNC_SCALE_MINMAX;
  for (int32_t i = 0; i < n_inputs && !bad; i++)
    bad = !isfinite(s->offset[i]) || !isfinite(s->mul[i]);
  if (bad) {
    nnrt_scaler_destroy(s);
    return nnrt__fail(err, NNRT_EDATA, "%s: the scaling section is corrupted", path);
  }
  *out = s;
  return NNRT_OK;
}

/* ---- public save/load ---- */

int nnrt_weights_save(const char *path, const nnc_model *m, const void *params,
                      const nnrt_scaler *scaler, nnrt_error *err) {
  nnrt_section sec = {{'S', 'C', 'A', 'L'}, 0, NULL};
  void *buf = NULL;
  int rc = NNRT_OK;
  if (scaler && scaler->mode != NNC_SCALE_NONE && (rc = nnrt__scaler_encode(scaler, &buf, &sec.len, err)))
    return rc;
  sec.data = buf;
  rc = nnrt__wfile_write(path, m, params, &sec, buf ? 1 : 0, err);
  nnrt__free(buf);
  return rc;
}

int nnrt_weights_load(const char *path, const nnc_model *m, void *params,
                      nnrt_scaler **scaler_out, nnrt_error *err) {
  nnrt_wfile wf;
  if (scaler_out)
    *scaler_out = NULL;
  int rc = nnrt__wfile_read(path, m, &wf, err);
  if (rc)
    return rc;
  nnrt__get_reals(params, wf.params, m->n_params, m->real_bytes);
  const nnrt_section *sc = nnrt__wfile_section(&wf, "SCAL");
  if (sc && scaler_out)
    rc = nnrt__scaler_decode(sc, m->n_inputs, scaler_out, err, path);
  nnrt__wfile_free(&wf);
  return rc;
}

/* ---- text forms ---- */

static void print_real(FILE *out, const void *params, int32_t rb, int64_t i) {
  fprintf(out, rb == 4 ? "%.9g" : "%.17g", nnrt__get(params, rb, i));
}

int nnrt_weights_export(FILE *out, const nnc_model *m, const void *params, const char *format,
                        nnrt_error *err) {
  int json = strcmp(format, "json") == 0;
  if (!json && strcmp(format, "csv") != 0)
    return nnrt__fail(err, NNRT_EUSAGE, "--format: expected json or csv, got '%s'", format);
  if (json)
    fprintf(out, "{\n  \"model\": \"%s\",\n  \"fingerprint\": \"0x%016llx\",\n  \"real_bytes\": %d,\n"
                 "  \"n_params\": %lld,\n  \"params\": [",
            m->name, (unsigned long long)m->fingerprint, (int)m->real_bytes, (long long)m->n_params);
  else
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

static int json_fingerprint(const char *text, const char *name, const nnc_model *m, nnrt_error *err) {
  const char *fp = strstr(text, "\"fingerprint\"");
  if (!fp)
    return NNRT_OK;
  fp = strchr(fp + 13, '"');
  if (!fp)
    return nnrt__fail(err, NNRT_EDATA, "%s:%d: bad fingerprint", name, line_of(text, text + strlen(text)));
  unsigned long long v = strtoull(fp + 1, NULL, 16);
  if (v != m->fingerprint)
    return nnrt__fail(err, NNRT_EDATA,
                      "%s: weights of another network (fingerprint 0x%016llx; network '%s' has 0x%016llx)",
                      name, v, m->name, (unsigned long long)m->fingerprint);
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
                       nnrt_error *err) {
  int rc = json_fingerprint(text, name, m, err);
  if (rc)
    return rc;
  const char *p = strstr(text, "\"params\"");
  p = p ? strchr(p, '[') : NULL;
  if (!p)
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
                      nnrt_error *err) {
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
    if ((rc = csv_import_line(line, lineno, name, m, params, &n, err)) != NNRT_OK)
      return rc;
  }
  if (n != m->n_params)
    return nnrt__fail(err, NNRT_EDATA, "%s: %lld parameters, the network has %lld", name,
                      (long long)n, (long long)m->n_params);
  return NNRT_OK;
}

int nnrt_weights_import(FILE *in, const char *name, const nnc_model *m, void *params,
                        nnrt_error *err) {
  char *text = NULL;
  int rc = read_all(in, name, max_text(m), &text, err);
  if (rc)
    return rc;
  const char *p = text;
  while (isspace((unsigned char)*p))
    p++;
  if (!*p)
    rc = nnrt__fail(err, NNRT_EDATA, "%s: empty input", name);
  else if (*p == '{')
    rc = json_import(text, name, m, params, err);
  else
    rc = csv_import(text, name, m, params, err);
  nnrt__free(text);
  return rc;
}
