/* runtime/csv.c — reads a CSV data source into a dataset.
 *
 * Consumes: a CSV file (plain or gzip-compressed), an nnc_data_source saying which columns
 * are inputs and targets, and the network's shape and precision.
 * Produces: an nnrt_dataset in the model's precision, or a message `path:line: …` naming the
 * field (1-based) where it applies. Fields are split at commas (or the source's delimiter), a
 * "quoted" field (RFC 4180) holding them and "" quotes. Nothing is skipped silently: every row must have as
 * many fields as the first, no column may be both input and target, every selected field must be a finite decimal number within the
 * model's precision, every class label one the network has an output for (labels.c). Only trailing blank
 * lines are allowed. A UTF-8 byte-order mark before the first row is skipped; a first row
 * is a header when the source says so or, undeclared, when it holds names only (a row
 * mixing names and numbers is refused). Lines are bounded (nnrt__csv_max_line); a gzip file
 * must end with its last member (nnrt__gz_check_end). With NNRT__LOAD_SHARD (--shard-data)
 * every row is still checked and its label seen, but only this MPI rank's rows are stored.
 * Also the shared reader of numbers written as text (nnrt__parse_real), used by every
 * reader of the runtime, the reader of predict's rows one at a time as they come
 * (nnrt__rows_*: a pipe is read with read(2), never waited on for more than a row), and the
 * reader of FANN training files (nnrt__fann_load), which share the line reader and the
 * number reader.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "internal.h"
#include "mpi_api.h"

/* ---- line reader over zlib ---- */

typedef struct line_reader {
  gzFile f;
  int fd;                  /* >= 0: a pipe or terminal read as it comes (read(2)), not through f */
  const char *path;
  char *line;
  size_t cap, len;
  char chunk[1 << 16];
  size_t pos, end;
  int eof;
  int64_t lineno;
  size_t max_len;          /* the longest line accepted, in bytes */
} line_reader;

/* A pipe gives what has been written so far: the reader must not wait for a whole chunk
 * while the writer waits for an answer. Compressed data come from files only. */
static int read_available(line_reader *r, nnrt_error *err) {
  ssize_t got;
  do
    got = read(r->fd, r->chunk, sizeof r->chunk);
  while (got < 0 && errno == EINTR);
  if (got < 0)
    return nnrt__fail(err, NNRT_EDATA, "%s: read error: %s", r->path, strerror(errno));
  if (r->lineno == 0 && r->pos == 0 && got >= 2 && (unsigned char)r->chunk[0] == 0x1f &&
      (unsigned char)r->chunk[1] == 0x8b)
    return nnrt__fail(err, NNRT_EUSAGE, "%s: gzip-compressed rows through a pipe: predict reads a pipe row by "
                      "row; decompress them first (zcat FILE | ...) or give the file with --input FILE", r->path);
  r->eof = got == 0;
  r->pos = 0;
  r->end = (size_t)got;
  return NNRT_OK;
}

static int fill_chunk(line_reader *r, nnrt_error *err) {
  if (r->fd >= 0)
    return read_available(r, err);
  int got = gzread(r->f, r->chunk, sizeof r->chunk);
  if (got < 0 || (got == 0 && nnrt__gz_failed(r->f)))
    return nnrt__gz_fail(r->f, r->path, err);
  r->eof = got == 0;
  r->pos = 0;
  r->end = (size_t)got;
  return NNRT_OK;
}

static int append_byte(line_reader *r, char c, nnrt_error *err) {
  if (r->len + 1 >= r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 256;
    char *p = nnrt__realloc(r->line, cap);
    if (!p)
      return nnrt__oom(err);
    r->line = p;
    r->cap = cap;
  }
  r->line[r->len++] = c;
  return NNRT_OK;
}

/* The byte-order mark of UTF-16 text the line so far starts with ("FF FE", "FE FF"), or NULL:
 * such a file is all NUL bytes between its letters. */
static const char *utf16_bom(const line_reader *r) {
  const unsigned char *p = (const unsigned char *)r->line;
  if (r->len < 2)
    return NULL;
  return p[0] == 0xFF && p[1] == 0xFE ? "FF FE" : p[0] == 0xFE && p[1] == 0xFF ? "FE FF" : NULL;
}

/* Reads the next line without its "\n" / "\r\n" into r->line. *got is 0 at end of file. A
 * carriage return elsewhere is refused: lines ended by CR alone would read as one line, its
 * fields run together across the CRs. */
static int read_line(line_reader *r, int *got, nnrt_error *err) {
  int rc, any = 0;
  r->len = 0;
  *got = 0;
  for (;;) {
    if (r->pos == r->end) {
      if (r->eof)
        break;
      if ((rc = fill_chunk(r, err)) != NNRT_OK)
        return rc;
      continue;
    }
    char c = r->chunk[r->pos++];
    any = 1;
    if (c == '\n')
      break;
    if (c == 0 && r->lineno == 0 && utf16_bom(r))
      return nnrt__fail(err, NNRT_EDATA, "%s:1: UTF-16 text (it starts with the byte-order mark %s): save it as "
                        "UTF-8", r->path, utf16_bom(r));
    if (c == 0)
      return nnrt__fail(err, NNRT_EDATA, "%s:%lld: NUL byte in a text line (not a CSV file?)",
                        r->path, (long long)r->lineno + 1);
    if (r->len && r->line[r->len - 1] == '\r') /* a CR not before the LF: one that ends lines alone */
      return nnrt__fail(err, NNRT_EDATA, "%s:%lld: a carriage return inside the line (lines ended by CR alone, "
                        "as in old Mac text?): end each line with LF or CR LF", r->path, (long long)r->lineno + 1);
    if (r->len >= r->max_len)
      return nnrt__fail(err, NNRT_EDATA, "%s:%lld: line longer than %zu bytes (not a CSV file?)",
                        r->path, (long long)r->lineno + 1, r->max_len);
    if ((rc = append_byte(r, c, err)) != NNRT_OK)
      return rc;
  }
  if (!any)
    return NNRT_OK;
  if (r->len && r->line[r->len - 1] == '\r')
    r->len--;
  r->lineno++;
  *got = 1;
  if (r->lineno == 1 && r->len >= 3 && !memcmp(r->line, NNRT_UTF8_BOM, 3))
    memmove(r->line, r->line + 3, r->len -= 3);
  rc = append_byte(r, 0, err);
  r->len--;
  return rc;
}

/* ---- fields ---- */

/* Spaces around a field are not part of it; so are tabs, unless they separate the fields. */
static int is_pad(char ch, char delim) { return ch == ' ' || (ch == '\t' && delim != '\t'); }

static char *trim(char *s, char delim) {
  while (is_pad(*s, delim))
    s++;
  char *e = s + strlen(s);
  while (e > s && is_pad(e[-1], delim))
    *--e = 0;
  return s;
}

/* One field starting at p (spaces before it skipped), ended by the delimiter or the end of the
 * line, written back in place as the field's text: a quoted field ("…", RFC 4180) may hold
 * delimiters and doubled quotes, and only spaces may follow its closing quote. *next is the
 * character after the field's delimiter, or NULL at the end of the line. Returns 0 or an
 * NNRT_CSV_* problem. */
static int split_field(char *p, char delim, char **field, char **next) {
  while (is_pad(*p, delim))
    p++;
  if (*p != '"') {
    char *end = strchr(p, delim);
    *next = end ? end + 1 : NULL;
    if (end)
      *end = 0;
    *field = trim(p, delim);
    return 0;
  }
  char *in = p + 1, *out = p;
  *field = p;
  for (;; in++) {
    if (!*in)
      return NNRT_CSV_UNCLOSED_QUOTE;
    if (*in == '"' && in[1] != '"')
      break;
    in += *in == '"';
    *out++ = *in;
  }
  *out = 0;
  for (in++; is_pad(*in, delim); in++)
    ;
  if (*in && *in != delim)
    return NNRT_CSV_AFTER_QUOTE;
  *next = *in ? in + 1 : NULL;
  return 0;
}

int nnrt__csv_split_at(char *line, char delim, char **fields, int max, int *need) {
  int n = 0;
  for (char *p = line; p;) {
    char *f;
    int problem = split_field(p, delim, &f, &p);
    if (problem) {
      *need = n + 1;
      return -problem;
    }
    if (n < max)
      fields[n] = f;
    n++;
  }
  if (n > max) {
    *need = n;
    return -1;
  }
  return n;
}

int nnrt__csv_split(char *line, char **fields, int max, int *need) {
  return nnrt__csv_split_at(line, ',', fields, max, need);
}

const char *nnrt__csv_problem(int rc) {
  return rc == -NNRT_CSV_UNCLOSED_QUOTE ? "a quote is not closed on its line"
                                        : "text after the closing quote (a field is \"…\", quotes inside doubled)";
}

/* An upper bound on the fields of a line (its delimiters, quoted or not, plus one). */
static int count_fields(const char *line, char delim) {
  int n = 1;
  for (; *line; line++)
    n += *line == delim;
  return n;
}

/* ---- a header's names, for comparing two files' columns ---- */

#define HEADER_NAMES_MAX (1 << 16)

/* Whether every field is a name (none a number, none empty). */
static int all_names(char **f, int n) {
  double v;
  for (int i = 0; i < n; i++)
    if (!*f[i] || nnrt__parse_real(f[i], 8, &v) != NNRT_NUM_NOT_A_NUMBER)
      return 0;
  return 1;
}

static void first_line(gzFile g, char *line) {
  size_t n;
  if (!gzgets(g, line, HEADER_NAMES_MAX) || (n = strlen(line)) == 0 || line[n - 1] != '\n') {
    line[0] = 0; /* none, or longer than the buffer */
    return;
  }
  line[--n] = 0;
  if (n && line[n - 1] == '\r')
    line[--n] = 0;
  if (!strncmp(line, NNRT_UTF8_BOM, 3))
    memmove(line, line + 3, n - 2);
}

void nnrt__csv_header_names(const nnc_data_source *src, nnrt_csv_names *out) {
  struct stat st;
  int need = 0;
  memset(out, 0, sizeof *out);
  if (!src->path || src->header == 0 || stat(src->path, &st) != 0 || !S_ISREG(st.st_mode) ||
      nnrt__source_format(src) != NNC_FORMAT_CSV)
    return;
  gzFile g = gzopen(src->path, "rb");
  char delim = src->delimiter ? (char)src->delimiter : ',';
  out->line = g ? nnrt__alloc(HEADER_NAMES_MAX) : NULL;
  if (out->line)
    first_line(g, out->line);
  if (g)
    gzclose(g);
  int max = out->line && out->line[0] ? count_fields(out->line, delim) : 0;
  out->names = max ? nnrt__alloc_array(max, sizeof(char *)) : NULL;
  int n = out->names ? nnrt__csv_split_at(out->line, delim, out->names, max, &need) : 0;
  if (n > 0 && (src->header == 1 || all_names(out->names, n)))
    out->n = n;
  else
    nnrt__csv_names_free(out);
}

void nnrt__csv_names_free(nnrt_csv_names *h) {
  nnrt__free(h->line);
  nnrt__free(h->names);
  memset(h, 0, sizeof *h);
}

/* ---- numbers ----
 * A number is written in decimal: [+-]digits[.digits][(e|E)[+-]digits], at least one digit
 * before the exponent. Hexadecimal floats and anything else strtod would take (leading spaces,
 * "0x10") are not numbers; nan and inf (any case, signed, also "infinity") are numbers that are
 * not finite. A value beyond the largest finite real of the model's precision is out of range;
 * one too small for it reads as the nearest representable value (0 or a subnormal), as a
 * compiler reads a literal. */

static int is_decimal(const char *s) {
  int digits = 0;
  s += *s == '+' || *s == '-';
  for (; isdigit((unsigned char)*s); s++)
    digits++;
  if (*s == '.')
    for (s++; isdigit((unsigned char)*s); s++)
      digits++;
  if (!digits)
    return 0;
  if (*s == 'e' || *s == 'E') {
    s++;
    s += *s == '+' || *s == '-';
    if (!isdigit((unsigned char)*s))
      return 0;
    while (isdigit((unsigned char)*s))
      s++;
  }
  return *s == 0;
}

static int same_word(const char *s, const char *lower) {
  for (; *s && tolower((unsigned char)*s) == *lower; s++, lower++)
    ;
  return *s == 0 && *lower == 0;
}

static int is_not_finite_word(const char *s) {
  s += *s == '+' || *s == '-';
  return same_word(s, "nan") || same_word(s, "inf") || same_word(s, "infinity");
}

int nnrt__check_real(double v, int32_t real_bytes) {
  if (!isfinite(v))
    return NNRT_NUM_NOT_FINITE;
  if (real_bytes == 4 && isinf((float)v))
    return NNRT_NUM_OUT_OF_RANGE;
  return NNRT_NUM_OK;
}

int nnrt__parse_real(const char *s, int32_t real_bytes, double *v) {
  *v = 0;
  if (!is_decimal(s))
    return is_not_finite_word(s) ? NNRT_NUM_NOT_FINITE : NNRT_NUM_NOT_A_NUMBER;
  /* f32 straight from the decimal: through a double first, a value just below the halfway
   * point between two floats (FLT_MAX and 2^128 among them) would be rounded twice. */
  *v = real_bytes == 4 ? (double)strtof(s, NULL) : strtod(s, NULL);
  if (isinf(*v))
    return NNRT_NUM_OUT_OF_RANGE;
  return nnrt__check_real(*v, real_bytes);
}

const char *nnrt__number_problem(int problem, int32_t real_bytes) {
  switch (problem) {
  case NNRT_NUM_NOT_A_NUMBER: return "is not a number";
  case NNRT_NUM_NOT_FINITE: return "is not a finite number";
  default:
    return real_bytes == 4 ? "is out of range for f32 (max 3.4e38)"
                           : "is out of range for f64 (max 1.8e308)";
  }
}

int nnrt__parse_number(const char *s, double *v) {
  int p = nnrt__parse_real(s, 8, v);
  return p == NNRT_NUM_OK ? 0 : p == NNRT_NUM_NOT_A_NUMBER ? 1 : 2;
}

const char *nnrt__shown(const char *f, char *buf, size_t size) {
  size_t i = 0;
  for (; f[i] && i + 4 < size && i < 40; i++)
    buf[i] = isprint((unsigned char)f[i]) ? f[i] : '?';
  if (f[i] && i + 4 < size)
    buf[i++] = '.', buf[i++] = '.', buf[i++] = '.';
  buf[i] = 0;
  return buf;
}

/* ---- the loader ---- */

size_t nnrt__csv_max_line(nnrt_shape sh) {
  return ((size_t)1 << 20) + 1024 * ((size_t)sh.n_inputs + (size_t)sh.n_outputs);
}

typedef struct csv_state {
  nnc_data_source named;      /* the source, with "-" shown as <stdin> */
  const nnc_data_source *src;
  nnrt_shape sh;
  line_reader r;
  char **fields;
  int max_fields;
  int width;                  /* fields per row, from the first row */
  int32_t n_in, n_tg;
  int32_t *in_cols, *tg_cols; /* resolved column lists */
  nnrt_dataset *d;
  int64_t cap;
  nnrt_label_reader labels;   /* onehot: the class labels (labels.c) */
  int64_t rows_seen;          /* data rows read, kept or not (NNRT__LOAD_SHARD keeps some) */
} csv_state;

/* Room for need fields in st->fields. */
static int reserve_fields(csv_state *st, int need, nnrt_error *err) {
  if (need <= st->max_fields)
    return NNRT_OK;
  char **f = nnrt__realloc(st->fields, (size_t)need * sizeof *f);
  if (!f)
    return nnrt__oom(err);
  st->fields = f;
  st->max_fields = need;
  return NNRT_OK;
}

static char delimiter(const csv_state *st) { return st->src->delimiter ? (char)st->src->delimiter : ','; }

static int split_line(csv_state *st, int *nf, nnrt_error *err) {
  int need = count_fields(st->r.line, delimiter(st));
  int rc = reserve_fields(st, need, err);
  if (rc != NNRT_OK)
    return rc;
  *nf = nnrt__csv_split_at(st->r.line, delimiter(st), st->fields, st->max_fields, &need);
  if (*nf < 0)
    return nnrt__fail(err, NNRT_EDATA, "%s:%lld: field %d: %s", st->src->path,
                      (long long)st->r.lineno, need, nnrt__csv_problem(*nf));
  return NNRT_OK;
}

/* Rows read one at a time know their input columns before the first row is looked at: only
 * those decide whether it is a header (a whole data row may hold a class label by name). */
static int is_selected_input(const csv_state *st, int col) {
  if (!st->in_cols)
    return 1;
  for (int i = 0; i < st->n_in; i++)
    if (st->in_cols[i] == col)
      return 1;
  return 0;
}

/* With neither `header` nor `noheader`: a first row of names only (fields that are not
 * numbers; empty fields and the class label column aside) is a header, one with no names is
 * data, and a row mixing names and numbers is refused: it is a header with a numeric name or
 * data with a typo, and which one only the user knows. */
static int detect_header(csv_state *st, int nf, int *header, nnrt_error *err) {
  double v;
  int name = -1, number = -1;
  char buf[64];
  *header = st->src->header == 1;
  if (st->src->header >= 0)
    return NNRT_OK;
  const nnc_data_source *s = st->src;
  int label_col = !s->onehot ? -1 : s->n_target_cols ? s->target_cols[0] : nf - 1;
  for (int i = 0; i < nf; i++) {
    if (!st->fields[i][0] || i == label_col || !is_selected_input(st, i)) /* a class label may be a name in any row */
      continue;
    if (nnrt__parse_real(st->fields[i], 8, &v) == NNRT_NUM_NOT_A_NUMBER)
      name = name < 0 ? i : name;
    else
      number = number < 0 ? i : number;
  }
  *header = name >= 0 && number < 0;
  if (name >= 0 && number >= 0)
    return nnrt__fail(err, NNRT_EDATA,
                      "%s:%lld: field %d: '%s' is not a number, but field %d is: is the first row "
                      "a header or data? (say 'header' or 'noheader' in the data source)",
                      st->src->path, (long long)st->r.lineno, name + 1,
                      nnrt__shown(st->fields[name], buf, sizeof buf), number + 1);
  return NNRT_OK;
}

static int is_target(const csv_state *st, int col) {
  for (int i = 0; i < st->n_tg; i++)
    if (st->tg_cols[i] == col)
      return 1;
  return 0;
}

/* When the first row is one field holding another usual separator: the setting and flag that
 * read the file with it; else "". */
static const char *separator_hint(const csv_state *st) {
  if (st->width != 1 || delimiter(st) != ',')
    return "";
  if (strchr(st->fields[0], ';'))
    return " (the rows hold semicolons, not commas: say 'delimiter \";\"' in the data source, or --delimiter ';')";
  if (strchr(st->fields[0], '\t'))
    return " (the rows hold tabs, not commas: say 'delimiter tab' in the data source, or --delimiter tab)";
  if (strchr(st->fields[0], '|'))
    return " (the rows hold '|', not commas: say 'delimiter \"|\"' in the data source, or --delimiter '|')";
  return "";
}

static int check_column(const csv_state *st, const char *what, int32_t col, nnrt_error *err) {
  if (col < 0 || col >= st->width)
    return nnrt__fail(err, NNRT_EDATA,
                      "%s: %s column %d is out of range: rows have %d field%s (columns 0..%d)%s",
                      st->src->path, what, (int)col, st->width, st->width == 1 ? "" : "s",
                      st->width - 1, separator_hint(st));
  return NNRT_OK;
}

/* Columns as the language writes them: 0..3,5. */
static void show_cols(const int32_t *cols, int32_t n, char *buf, size_t size) {
  size_t at = 0;
  buf[0] = 0;
  for (int32_t i = 0; i < n && at + 24 < size; i++) {
    int32_t j = i;
    while (j + 1 < n && cols[j + 1] == cols[j] + 1)
      j++;
    at += (size_t)snprintf(buf + at, size - at, j > i ? "%s%d..%d" : "%s%d", i ? "," : "", (int)cols[i],
                           (int)cols[j]);
    i = j;
  }
}

static int resolve_targets(csv_state *st, nnrt_error *err) {
  const nnc_data_source *s = st->src;
  if (st->sh.flags & NNRT_LOAD_INPUTS_ONLY)
    return NNRT_OK;
  st->n_tg = s->n_target_cols ? s->n_target_cols : (s->onehot ? 1 : st->sh.n_outputs);
  st->tg_cols = nnrt__alloc_array(st->n_tg, sizeof(int32_t));
  if (!st->tg_cols)
    return nnrt__oom(err);
  for (int i = 0; i < st->n_tg; i++) {
    st->tg_cols[i] = s->n_target_cols ? s->target_cols[i] : st->width - st->n_tg + i;
    int rc = check_column(st, "target", st->tg_cols[i], err);
    if (rc)
      return rc;
  }
  if (s->onehot && st->n_tg != 1)
    return nnrt__fail(err, NNRT_EDATA, "%s: one-hot labels need exactly one target column, %d selected",
                      s->path, (int)st->n_tg);
  if (!s->onehot && st->n_tg != st->sh.n_outputs) {
    char cols[96], hint[256] = "";
    show_cols(st->tg_cols, st->n_tg, cols, sizeof cols);
    if (st->n_tg == 1 && st->sh.n_outputs > 1)
      snprintf(hint, sizeof hint, ": if column %s holds class indices for the %d outputs, add 'onehot' to the data "
               "source (--onehot)", cols, (int)st->sh.n_outputs);
    return nnrt__fail(err, NNRT_EDATA, "%s: %d target column%s selected (%s) but the network has %d output%s%s",
                      s->path, (int)st->n_tg, st->n_tg == 1 ? "" : "s", cols, (int)st->sh.n_outputs,
                      st->sh.n_outputs == 1 ? "" : "s", hint);
  }
  return NNRT_OK;
}

/* When the targets were taken as the last n_outputs columns and the inputs do not fit: which
 * columns were taken, and that a class index column wants `onehot`. */
static void implicit_targets_hint(const csv_state *st, char *hint, size_t size) {
  const nnc_data_source *s = st->src;
  char cols[96];
  hint[0] = 0;
  if (s->n_target_cols || s->onehot || s->targets_inputs || st->n_tg < 2 || (st->sh.flags & NNRT_LOAD_INPUTS_ONLY))
    return;
  show_cols(st->tg_cols, st->n_tg, cols, sizeof cols);
  snprintf(hint, size, "; the targets were taken as the last %d columns (%s), one per output: if column %d holds "
           "class indices for the %d outputs, add 'onehot' to the data source (--onehot), which takes it alone",
           (int)st->n_tg, cols, st->width - 1, (int)st->n_tg);
}

static int resolve_inputs(csv_state *st, nnrt_error *err) {
  const nnc_data_source *s = st->src;
  int explicit_cols = s->n_input_cols > 0;
  st->n_in = explicit_cols ? s->n_input_cols : 0;
  if (!explicit_cols)
    for (int c = 0; c < st->width; c++)
      st->n_in += !is_target(st, c);
  st->in_cols = nnrt__alloc_array(st->n_in > 0 ? st->n_in : 1, sizeof(int32_t));
  if (!st->in_cols)
    return nnrt__oom(err);
  for (int i = 0, c = 0; i < st->n_in; i++) {
    if (explicit_cols) {
      st->in_cols[i] = s->input_cols[i];
    } else {
      while (is_target(st, c))
        c++;
      st->in_cols[i] = c++;
    }
    int rc = check_column(st, "input", st->in_cols[i], err);
    if (rc)
      return rc;
    if (explicit_cols && is_target(st, st->in_cols[i])) /* as the language refuses it */
      return nnrt__fail(err, NNRT_EDATA, "%s: column %d is both an input and a target", s->path,
                        (int)st->in_cols[i]);
  }
  if (st->n_in != st->sh.n_inputs) {
    char cols[96], hint[320];
    show_cols(st->in_cols, st->n_in, cols, sizeof cols);
    implicit_targets_hint(st, hint, sizeof hint);
    return nnrt__fail(err, NNRT_EDATA, "%s: %d input column%s selected%s%s%s but the network has %d input%s%s%s",
                      s->path, (int)st->n_in, st->n_in == 1 ? "" : "s", st->n_in ? " (" : "", cols,
                      st->n_in ? ")" : "", (int)st->sh.n_inputs, st->sh.n_inputs == 1 ? "" : "s", hint,
                      separator_hint(st));
  }
  return NNRT_OK;
}

static int grow_dataset(csv_state *st, nnrt_error *err) {
  nnrt_dataset *d = st->d;
  int64_t cap = st->cap ? st->cap * 2 : 1024;
  size_t rb = (size_t)st->sh.real_bytes;
  void *x = nnrt__realloc(d->x, (size_t)cap * rb * (size_t)(d->n_inputs ? d->n_inputs : 1));
  if (!x)
    return nnrt__oom(err);
  d->x = x;
  if (!(st->sh.flags & NNRT_LOAD_INPUTS_ONLY)) {
    void *t = nnrt__realloc(d->t, (size_t)cap * rb * (size_t)d->n_outputs);
    if (!t)
      return nnrt__oom(err);
    d->t = t;
  }
  st->cap = cap;
  return NNRT_OK;
}

static int field_number(csv_state *st, int col, double *v, nnrt_error *err) {
  char buf[64];
  int problem = nnrt__parse_real(st->fields[col], st->sh.real_bytes, v);
  if (problem)
    return nnrt__fail(err, NNRT_EDATA, "%s:%lld: field %d: '%s' %s", st->src->path,
                      (long long)st->r.lineno, col + 1, nnrt__shown(st->fields[col], buf, sizeof buf),
                      nnrt__number_problem(problem, st->sh.real_bytes));
  return NNRT_OK;
}

static int store_label(csv_state *st, int col, int64_t row, nnrt_error *err) {
  nnrt_label_at at = {st->src->path, st->r.lineno, col + 1};
  return nnrt__labels_take(&st->labels, st->fields[col], row, &at, err);
}

/* A row of another rank's shard: checked as a kept one (every host refuses the same file),
 * its label seen (the label map is the whole file's), nothing stored. */
static int skip_row(csv_state *st, nnrt_error *err) {
  int rc = NNRT_OK;
  double v;
  for (int i = 0; i < st->n_in && !rc; i++)
    rc = field_number(st, st->in_cols[i], &v, err);
  if (!rc && st->src->onehot && st->n_tg == 1)
    return store_label(st, st->tg_cols[0], -1, err);
  for (int i = 0; i < st->n_tg && !rc; i++)
    rc = field_number(st, st->tg_cols[i], &v, err);
  return rc;
}

static int store_row(csv_state *st, int nf, nnrt_error *err) {
  nnrt_dataset *d = st->d;
  int rc;
  double v;
  if (nf != st->width)
    return nnrt__fail(err, NNRT_EDATA, "%s:%lld: expected %d field%s, found %d", st->src->path,
                      (long long)st->r.lineno, st->width, st->width == 1 ? "" : "s", nf);
  if ((st->sh.flags & NNRT__LOAD_SHARD) && !nnrt__shard_keeps(st->rows_seen++))
    return skip_row(st, err);
  if (d->n == st->cap && (rc = grow_dataset(st, err)) != NNRT_OK)
    return rc;
  for (int i = 0; i < st->n_in; i++) {
    if ((rc = field_number(st, st->in_cols[i], &v, err)) != NNRT_OK)
      return rc;
    nnrt__set(d->x, st->sh.real_bytes, d->n * d->n_inputs + i, v);
  }
  if (st->src->onehot && st->n_tg == 1) {
    if ((rc = store_label(st, st->tg_cols[0], d->n, err)) != NNRT_OK)
      return rc;
  } else {
    for (int i = 0; i < st->n_tg; i++) {
      if ((rc = field_number(st, st->tg_cols[i], &v, err)) != NNRT_OK)
        return rc;
      nnrt__set(d->t, st->sh.real_bytes, d->n * d->n_outputs + i, v);
    }
  }
  d->n++;
  return NNRT_OK;
}

static int is_blank(const char *s) {
  for (; *s; s++)
    if (*s != ' ' && *s != '\t')
      return 0;
  return 1;
}

/* Reads the next line, refusing blank lines that are followed by data. */
static int next_row(csv_state *st, int *got, nnrt_error *err) {
  int64_t blank_at = 0;
  for (;;) {
    int rc = read_line(&st->r, got, err);
    if (rc || !*got)
      return rc;
    if (!is_blank(st->r.line)) {
      if (blank_at)
        return nnrt__fail(err, NNRT_EDATA, "%s:%lld: empty line", st->src->path, (long long)blank_at);
      return NNRT_OK;
    }
    if (!blank_at)
      blank_at = st->r.lineno;
  }
}

static int read_first_row(csv_state *st, int *header, nnrt_error *err) {
  int got, nf = 0, rc;
  if ((rc = next_row(st, &got, err)) != NNRT_OK)
    return rc;
  if (!got)
    return nnrt__fail(err, NNRT_EDATA, "%s: empty file", st->src->path);
  if ((rc = split_line(st, &nf, err)) != NNRT_OK)
    return rc;
  st->width = nf;
  return detect_header(st, nf, header, err);
}

static int setup(csv_state *st, nnrt_error *err) {
  int rc = resolve_targets(st, err);
  if (!rc)
    rc = resolve_inputs(st, err);
  if (!rc)
    rc = nnrt_dataset_create(0, st->sh.n_inputs, st->sh.n_outputs, st->sh.real_bytes,
                             st->sh.flags, &st->d, err);
  if (!rc)
    st->d->onehot = st->src->onehot && !(st->sh.flags & NNRT_LOAD_INPUTS_ONLY);
  if (!rc && st->d->onehot)
    rc = nnrt__labels_begin(&st->labels, st->sh.map, st->sh.flags & NNRT_LOAD_ZERO_BASED, st->sh.n_outputs, err);
  return rc;
}

static int read_rows(csv_state *st, int header, nnrt_error *err) {
  int got = 1, nf = 0, rc;
  if (!header && (rc = store_row(st, st->width, err)) != NNRT_OK)
    return rc;
  for (;;) {
    if ((rc = next_row(st, &got, err)) != NNRT_OK || !got)
      break;
    if ((rc = split_line(st, &nf, err)) != NNRT_OK || (rc = store_row(st, nf, err)) != NNRT_OK)
      break;
  }
  if (!rc)
    rc = nnrt__gz_check_end(st->r.f, st->src->path, err);
  if (st->sh.flags & NNRT__LOAD_SHARD)
    nnrt__shard_note_rows(st->rows_seen);
  if (!rc && st->d->n == 0 && !((st->sh.flags & NNRT__LOAD_SHARD) && st->rows_seen > 0))
    rc = nnrt__fail(err, NNRT_EDATA, "%s: no data rows after the header", st->src->path);
  if (!rc && st->d->onehot)
    rc = nnrt__labels_finish(&st->labels, st->d, err);
  return rc;
}

static void cleanup(csv_state *st) {
  if (st->r.f)
    gzclose(st->r.f);
  if (st->r.fd >= 0)
    close(st->r.fd);
  nnrt__free(st->r.line);
  nnrt__free(st->fields);
  nnrt__free(st->in_cols);
  nnrt__free(st->tg_cols);
  nnrt__labels_end(&st->labels);
}

/* Opens the source's file ("-": standard input, shown as <stdin>) for the line reader. */
static int open_source(csv_state *st, const nnc_data_source *src, nnrt_shape sh, nnrt_error *err) {
  int from_stdin = strcmp(src->path, "-") == 0;
  st->named = *src;
  if (from_stdin)
    st->named.path = "<stdin>";
  st->src = &st->named;
  st->sh = sh;
  st->r.path = st->named.path;
  st->r.max_len = nnrt__csv_max_line(sh);
  st->r.fd = -1;
  errno = 0;
  st->r.f = from_stdin ? gzdopen(dup(0), "rb") : gzopen(src->path, "rb");
  if (!st->r.f)
    return nnrt__fail(err, errno == ENOMEM ? NNRT_ENOMEM : NNRT_EDATA, "%s: cannot open: %s", st->src->path,
                      errno ? strerror(errno) : "out of memory");
  return NNRT_OK;
}

int nnrt__csv_load(const nnc_data_source *src, nnrt_shape sh, nnrt_dataset **out, nnrt_error *err) {
  csv_state *st = nnrt__alloc(sizeof *st);
  int header = 0, rc;
  if (!st)
    return nnrt__oom(err);
  if ((rc = open_source(st, src, sh, err)) == NNRT_OK && (rc = read_first_row(st, &header, err)) == NNRT_OK &&
      (rc = setup(st, err)) == NNRT_OK)
    rc = read_rows(st, header, err);
  if (rc == NNRT_OK) {
    *out = st->d;
  } else {
    nnrt_dataset_destroy(st->d);
  }
  cleanup(st);
  nnrt__free(st);
  return rc;
}

/* ---- rows one at a time: predict's input ----
 * Each row is returned as soon as its line has come, so that a program writing rows into a
 * pipe reads each answer before it writes the next. The first row decides which fields are
 * the inputs (nnrt_row_shape); every later row has as many fields. */

struct nnrt_csv_rows {
  csv_state st;
  nnrt_row_shape rs;
  const int32_t *cols;        /* the input columns chosen at the first row */
  int32_t *own_cols;
  int pending_first;          /* the first row is data, not yet returned */
};

/* Opens path ("-": standard input) as open_source does, except that a pipe or a terminal is
 * read as it comes (read_available) rather than through zlib, which waits for whole chunks. */
static int open_rows(csv_state *st, const char *path, nnrt_shape sh, const nnrt_row_shape *rs, nnrt_error *err) {
  int from_stdin = strcmp(path, "-") == 0;
  struct stat sb;
  st->named.path = from_stdin ? "<stdin>" : path;
  st->named.header = -1;
  st->named.delimiter = rs->delimiter;
  st->src = &st->named;
  st->sh = sh;
  st->r.path = st->named.path;
  st->r.max_len = nnrt__csv_max_line(sh);
  st->r.fd = -1;
  int fd = from_stdin ? dup(0) : open(path, O_RDONLY);
  if (fd < 0)
    return nnrt__fail(err, NNRT_EDATA, "%s: cannot open: %s", st->named.path, strerror(errno));
  if (fstat(fd, &sb) == 0 && !S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode)) {
    st->r.fd = fd;
    return NNRT_OK;
  }
  errno = 0;
  if (!(st->r.f = gzdopen(fd, "rb"))) {
    close(fd);
    return nnrt__fail(err, NNRT_ENOMEM, "%s: cannot open: out of memory", st->named.path);
  }
  return NNRT_OK;
}

static int is_identity(const int32_t *cols, int32_t n) {
  for (int32_t i = 0; i < n; i++)
    if (cols[i] != i)
      return 0;
  return 1;
}

static int rows_refused(nnrt_csv_rows *r, nnrt_error *err) {
  const nnrt_row_shape *rs = &r->rs;
  int w = r->st.width;
  char cols[96];
  if (rs->data_width < 0)
    return nnrt__fail(err, NNRT_EDATA, "%s:%lld: a row of %d field%s, but the network has %d input%s: give one "
                      "field per input, or choose the input columns with --inputs COLS%s", r->st.src->path,
                      (long long)r->st.r.lineno, w, w == 1 ? "" : "s", (int)rs->n_inputs, rs->n_inputs == 1 ? "" : "s",
                      separator_hint(&r->st));
  show_cols(rs->data_cols, rs->n_inputs, cols, sizeof cols);
  return nnrt__fail(err, NNRT_EDATA, "%s:%lld: a row of %d field%s, but the network has %d input%s and the rows of "
                    "its training data (%s) have %d fields: give one field per input, or whole data rows (their "
                    "inputs are columns %s), or choose the input columns with --inputs COLS%s", r->st.src->path,
                    (long long)r->st.r.lineno, w, w == 1 ? "" : "s", (int)rs->n_inputs, rs->n_inputs == 1 ? "" : "s",
                    rs->data_path, (int)rs->data_width, cols, separator_hint(&r->st));
}

/* The input columns for rows of st.width fields: --inputs; one field per input; or a whole
 * row of the training data, its input columns. When both of the last two fit a row but differ,
 * only the user knows which is meant. */
static int choose_columns(nnrt_csv_rows *r, nnrt_error *err) {
  const nnrt_row_shape *rs = &r->rs;
  int w = r->st.width;
  char cols[96];
  if (rs->cols) {
    r->cols = rs->cols;
  } else if (w == rs->n_inputs && rs->data_width == w && !is_identity(rs->data_cols, w)) {
    show_cols(rs->data_cols, rs->n_inputs, cols, sizeof cols);
    return nnrt__fail(err, NNRT_EUSAGE, "%s: rows of %d fields are both one field per input and whole rows of the "
                      "training data (%s, whose inputs are columns %s): say which with --inputs 0..%d or --inputs %s",
                      r->st.src->path, w, rs->data_path, cols, w - 1, cols);
  } else if (w == rs->n_inputs) {
    if (!(r->own_cols = nnrt__alloc_array(w, sizeof(int32_t))))
      return nnrt__oom(err);
    for (int i = 0; i < w; i++)
      r->own_cols[i] = i;
    r->cols = r->own_cols;
  } else if (w == rs->data_width) {
    r->cols = rs->data_cols;
  } else {
    return rows_refused(r, err);
  }
  for (int32_t i = 0; i < rs->n_inputs; i++)
    if (r->cols[i] >= w)
      return check_column(&r->st, "input", r->cols[i], err);
  return NNRT_OK;
}

/* A header row of predict's rows against the training data's header: an input column named
 * as another input's column there means the columns are in another order (read swapped,
 * silently). */
static int check_header_order(nnrt_csv_rows *r, int nf, nnrt_error *err) {
  const nnrt_row_shape *rs = &r->rs;
  const nnrt_csv_names *a = rs->data_names;
  csv_state *st = &r->st;
  if (!a || !a->n || rs->cols || !rs->data_cols)
    return NNRT_OK;
  for (int32_t i = 0; i < rs->n_inputs; i++) {
    int32_t k = rs->data_cols[i], here = r->cols[i];
    if (k >= a->n || !strcmp(st->fields[here], a->names[k]))
      continue;
    for (int j = 0; j < nf; j++)
      if (j != here && !strcmp(st->fields[j], a->names[k]))
        return nnrt__fail(err, NNRT_EDATA, "%s:%lld: column %d is '%s', but the network's input %d is '%s' (column "
                          "%d of %s), which is column %d here: the columns are in another order; put them in that "
                          "order, or choose them with --inputs", st->src->path, (long long)st->r.lineno, (int)here,
                          st->fields[here], (int)i, a->names[k], (int)k, rs->data_path, j);
  }
  return NNRT_OK;
}

/* The first row: its width, the columns, and whether it is a header (names only in the
 * input columns). */
static int first_row(nnrt_csv_rows *r, int *got, nnrt_error *err) {
  csv_state *st = &r->st;
  int nf = 0, rc = next_row(st, got, err), header = 0;
  if (rc)
    return rc;
  if (!*got)
    return nnrt__fail(err, NNRT_EDATA, "%s: empty file", st->src->path);
  if ((rc = split_line(st, &nf, err)) != NNRT_OK)
    return rc;
  st->width = nf;
  if ((rc = choose_columns(r, err)) != NNRT_OK)
    return rc;
  st->n_in = r->rs.n_inputs;
  st->in_cols = (int32_t *)r->cols;     /* borrowed: cleanup must not free it */
  rc = detect_header(st, nf, &header, err);
  r->pending_first = !header;
  return !rc && header ? check_header_order(r, nf, err) : rc;
}

static int row_inputs(nnrt_csv_rows *r, int nf, void *x, nnrt_error *err) {
  csv_state *st = &r->st;
  double v;
  int rc;
  if (nf != st->width)
    return nnrt__fail(err, NNRT_EDATA, "%s:%lld: expected %d field%s, found %d", st->src->path,
                      (long long)st->r.lineno, st->width, st->width == 1 ? "" : "s", nf);
  for (int32_t i = 0; i < r->rs.n_inputs; i++) {
    if ((rc = field_number(st, r->cols[i], &v, err)) != NNRT_OK)
      return rc;
    nnrt__set(x, st->sh.real_bytes, i, v);
  }
  return NNRT_OK;
}

int nnrt__rows_open(const char *path, nnrt_shape sh, const nnrt_row_shape *rs, nnrt_csv_rows **out,
                    nnrt_error *err) {
  nnrt_csv_rows *r = nnrt__alloc(sizeof *r);
  *out = r;
  if (!r)
    return nnrt__oom(err);
  r->rs = *rs;
  return open_rows(&r->st, path, sh, rs, err);
}

int nnrt__rows_next(nnrt_csv_rows *r, void *x, int *got, nnrt_error *err) {
  int nf = 0, rc;
  if (!r->cols) {
    if ((rc = first_row(r, got, err)) != NNRT_OK)
      return rc;
    if (r->pending_first)
      return row_inputs(r, r->st.width, x, err);
  }
  if ((rc = next_row(&r->st, got, err)) != NNRT_OK)
    return rc;
  if (!*got) {
    if (r->st.r.f && (rc = nnrt__gz_check_end(r->st.r.f, r->st.src->path, err)) != NNRT_OK)
      return rc;
    if (!r->pending_first)
      return nnrt__fail(err, NNRT_EDATA, "%s: no data rows after the header", r->st.src->path);
    return NNRT_OK;
  }
  r->pending_first = 1;       /* from now on: some data row has been returned */
  if ((rc = split_line(&r->st, &nf, err)) != NNRT_OK)
    return rc;
  return row_inputs(r, nf, x, err);
}

int nnrt__rows_would_wait(const nnrt_csv_rows *r) {
  return r->st.r.fd >= 0 && r->st.r.pos == r->st.r.end && !r->st.r.eof;
}

int64_t nnrt__rows_line(const nnrt_csv_rows *r) { return r->st.r.lineno; }

void nnrt__rows_close(nnrt_csv_rows *r) {
  if (!r)
    return;
  r->st.in_cols = NULL;
  cleanup(&r->st);
  nnrt__free(r->own_cols);
  nnrt__free(r);
}

/* The fields of the first row of a CSV file (header or data); 0 when it cannot be read. */
int32_t nnrt__csv_width(const nnc_data_source *src, nnrt_shape sh) {
  csv_state *st = nnrt__alloc(sizeof *st);
  nnrt_error quiet = {0, ""};
  int got = 0, nf = 0;
  if (!st)
    return 0;
  if (open_source(st, src, sh, &quiet) == NNRT_OK && next_row(st, &got, &quiet) == NNRT_OK && got &&
      split_line(st, &nf, &quiet) != NNRT_OK)
    nf = 0;
  cleanup(st);
  nnrt__free(st);
  return nf;
}

/* ---- FANN training files ----
 * `count inputs outputs` on the first line, then per sample one line of its inputs and one
 * of its outputs, numbers separated by spaces or tabs (the format FANN's fann_read_train_from_
 * file reads). Every number goes through nnrt__parse_real; the counts must be the network's,
 * and the file must hold exactly `count` samples. Memory grows with the samples read, never
 * with the count the header claims. */

/* Splits the line at runs of spaces and tabs into st->fields (words: at most separators + 1). */
static int split_words(csv_state *st, int *nf, nnrt_error *err) {
  int need = 1, n = 0;
  for (const char *p = st->r.line; *p; p++)
    need += *p == ' ' || *p == '\t';
  int rc = reserve_fields(st, need, err);
  if (rc != NNRT_OK)
    return rc;
  for (char *p = st->r.line; *p;) {
    while (*p == ' ' || *p == '\t')
      *p++ = 0;
    if (!*p)
      break;
    st->fields[n++] = p;
    while (*p && *p != ' ' && *p != '\t')
      p++;
  }
  *nf = n;
  return NNRT_OK;
}

/* A count in the header: digits only, at most 10^12. */
static int fann_count(const char *s, int64_t *v) {
  if (!*s || strlen(s) > 13)
    return 0;
  for (const char *p = s; *p; p++)
    if (!isdigit((unsigned char)*p))
      return 0;
  *v = strtoll(s, NULL, 10);
  return *v <= 1000000000000LL;
}

static int fann_header(csv_state *st, int64_t *count, nnrt_error *err) {
  int got, nf, rc;
  int64_t in = 0, out = 0;
  const char *p = st->src->path;
  if ((rc = next_row(st, &got, err)) != NNRT_OK)
    return rc;
  if (!got)
    return nnrt__fail(err, NNRT_EDATA, "%s: empty file", p);
  if ((rc = split_words(st, &nf, err)) != NNRT_OK)
    return rc;
  if (nf != 3 || !fann_count(st->fields[0], count) || !fann_count(st->fields[1], &in) ||
      !fann_count(st->fields[2], &out))
    return nnrt__fail(err, NNRT_EDATA, "%s:%lld: a FANN training file starts with 'samples inputs outputs' "
                      "(three counts)", p, (long long)st->r.lineno);
  if (in != st->sh.n_inputs || out != st->sh.n_outputs)
    return nnrt__fail(err, NNRT_EDATA, "%s:%lld: the samples have %lld input%s and %lld output%s; the network "
                      "has %d and %d", p, (long long)st->r.lineno, (long long)in, in == 1 ? "" : "s",
                      (long long)out, out == 1 ? "" : "s", (int)st->sh.n_inputs, (int)st->sh.n_outputs);
  if (*count == 0)
    return nnrt__fail(err, NNRT_EDATA, "%s:%lld: the file declares no samples", p, (long long)st->r.lineno);
  return NNRT_OK;
}

/* One line of want numbers (sample's inputs or outputs) into dst[at ..] (dst NULL: checked only). */
static int fann_line(csv_state *st, int64_t sample, int32_t want, const char *what, void *dst, int64_t at,
                     int64_t count, nnrt_error *err) {
  int got, nf, rc;
  double v;
  char buf[64];
  const char *p = st->src->path;
  if ((rc = next_row(st, &got, err)) != NNRT_OK)
    return rc;
  if (!got)
    return nnrt__fail(err, NNRT_EDATA, "%s: the file ends in sample %lld; its first line declares %lld samples",
                      p, (long long)sample, (long long)count);
  if ((rc = split_words(st, &nf, err)) != NNRT_OK)
    return rc;
  if (nf != want)
    return nnrt__fail(err, NNRT_EDATA, "%s:%lld: sample %lld: %d number%s, expected %d %s", p,
                      (long long)st->r.lineno, (long long)sample, nf, nf == 1 ? "" : "s", (int)want, what);
  for (int i = 0; i < nf; i++) {
    int problem = nnrt__parse_real(st->fields[i], st->sh.real_bytes, &v);
    if (problem)
      return nnrt__fail(err, NNRT_EDATA, "%s:%lld: field %d: '%s' %s", p, (long long)st->r.lineno, i + 1,
                        nnrt__shown(st->fields[i], buf, sizeof buf), nnrt__number_problem(problem, st->sh.real_bytes));
    if (dst)
      nnrt__set(dst, st->sh.real_bytes, at + i, v);
  }
  return NNRT_OK;
}

static int fann_samples(csv_state *st, int64_t count, nnrt_error *err) {
  nnrt_dataset *d = st->d;
  int rc = NNRT_OK, got;
  for (int64_t s = 1; s <= count && !rc; s++) {
    if (d->n == st->cap && (rc = grow_dataset(st, err)) != NNRT_OK)
      break;
    rc = fann_line(st, s, d->n_inputs, d->n_inputs == 1 ? "input" : "inputs", d->x, d->n * d->n_inputs, count, err);
    if (!rc)
      rc = fann_line(st, s, d->n_outputs, d->n_outputs == 1 ? "output" : "outputs", d->t, d->n * d->n_outputs,
                     count, err);
    d->n += !rc;
  }
  if (!rc && (rc = next_row(st, &got, err)) == NNRT_OK && got)
    rc = nnrt__fail(err, NNRT_EDATA, "%s:%lld: more lines after the %lld sample%s the first line declares",
                    st->src->path, (long long)st->r.lineno, (long long)count, count == 1 ? "" : "s");
  if (!rc)
    rc = nnrt__gz_check_end(st->r.f, st->src->path, err);
  return rc;
}

int nnrt__fann_load(const nnc_data_source *src, nnrt_shape sh, nnrt_dataset **out, nnrt_error *err) {
  csv_state *st = nnrt__alloc(sizeof *st);
  int64_t count = 0;
  int rc;
  if (!st)
    return nnrt__oom(err);
  rc = open_source(st, src, sh, err);
  if (!rc && src->labels) /* column selections are for CSV files: they do not apply here */
    rc = nnrt__fail(err, NNRT_EUSAGE, "%s is a FANN training file: a label file (%s) is for IDX images",
                    st->src->path, src->labels);
  if (!rc && (rc = fann_header(st, &count, err)) == NNRT_OK &&
      (rc = nnrt_dataset_create(0, sh.n_inputs, sh.n_outputs, sh.real_bytes, sh.flags, &st->d, err)) == NNRT_OK)
    rc = fann_samples(st, count, err);
  if (rc == NNRT_OK)
    *out = st->d;
  else
    nnrt_dataset_destroy(st->d);
  cleanup(st);
  nnrt__free(st);
  return rc;
}
