/* runtime/internal.h — what the files of libnnrt share and applications do not see.
 *
 * Internal functions carry the prefix `nnrt__`; exported ones (nnc/nnrt.h) `nnrt_`.
 */
#ifndef NNRT_INTERNAL_H
#define NNRT_INTERNAL_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <zlib.h>

#include "nnc/nnrt.h"

/* ---- alloc.c: the allocator hook and error messages ---- */
void *nnrt__alloc(size_t size);               /* zeroed; NULL on failure */
void *nnrt__realloc(void *p, size_t size);    /* NULL on failure, p untouched */
void nnrt__free(void *p);
void *nnrt__alloc_array(int64_t n, size_t elem); /* zeroed; NULL on overflow or failure */
char *nnrt__strdup(const char *s);
/* 64-byte aligned, zeroed; freed with nnrt__free_aligned. Parameters and batches are
 * allocated so: a vector load that splits a cache line costs the generated kernels ~25%. */
void *nnrt__alloc_aligned(size_t size);
void *nnrt__alloc_array_aligned(int64_t n, size_t elem); /* NULL also on overflow */
void nnrt__free_aligned(void *p);

#if defined(__GNUC__)
#define NNRT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define NNRT_PRINTF(a, b)
#endif
/* Sets err (if not NULL) and returns code. */
int nnrt__fail(nnrt_error *err, int code, const char *fmt, ...) NNRT_PRINTF(3, 4);
int nnrt__oom(nnrt_error *err);

/* ---- reals: float or double by real_bytes ---- */
static inline double nnrt__get(const void *a, int32_t real_bytes, int64_t i) {
  return real_bytes == 4 ? (double)((const float *)a)[i] : ((const double *)a)[i];
}
static inline void nnrt__set(void *a, int32_t real_bytes, int64_t i, double v) {
  if (real_bytes == 4)
    ((float *)a)[i] = (float)v;
  else
    ((double *)a)[i] = v;
}
static inline void *nnrt__at(const void *a, int32_t real_bytes, int64_t i) {
  return (char *)a + (size_t)i * (size_t)real_bytes;
}

/* ---- dropout.c: the masks loss_grad applies (nnc_model.n_dropout > 0) ---- */
uint64_t nnrt__dropout_key(uint64_t seed, int64_t epoch, int64_t row);
/* Sample s's mask (s < n) for the sample of dataset row rows[s], into scratch. */
void nnrt__dropout_masks(const nnc_model *m, void *scratch, const int64_t *rows, int64_t n, uint64_t seed,
                         int64_t epoch);
/* Masks that keep every unit, for a loss_grad call outside training: 1 (the network that
 * forward computes: metrics' loss), or as_trained, 1/(1 − p) as training's kept units have
 * (gradcheck: the backward sweep takes f' at y·m·(1 − p), which is y for these masks only). */
void nnrt__dropout_keep_all(const nnc_model *m, void *scratch, int64_t n, int as_trained);

/* ---- rng.c: splitmix64 seeding, xoshiro256** stream ---- */
typedef struct nnrt_rng { uint64_t s[4]; } nnrt_rng;
uint64_t nnrt__splitmix64(uint64_t *state);
void nnrt__rng_seed(nnrt_rng *r, uint64_t seed);
uint64_t nnrt__rng_next(nnrt_rng *r);
uint64_t nnrt__rng_below(nnrt_rng *r, uint64_t n);   /* uniform in [0, n) */
void nnrt__shuffle(int64_t *idx, int64_t n, nnrt_rng *r);

/* ---- csv.c / idx.c: the two readers (dataset.c dispatches) ---- */
typedef struct nnrt_shape {
  int32_t n_inputs, n_outputs, real_bytes, flags;
  const nnrt_labels *map;  /* class labels are read through it (NULL: none given) */
} nnrt_shape;
/* Internal load flag: keep only this rank's rows of the file (nnrt__shard_keeps, --shard-data). */
#define NNRT__LOAD_SHARD (1 << 20)
/* The input scaling fitted on the rows of every rank's shard together (total of them): the
 * whole file's statistics, reduced over MPI (a plain fit in one process). */
int nnrt__scaler_fit_shards(const nnrt_dataset *d, int64_t total, int32_t mode, double factor, nnrt_scaler **out,
                            nnrt_error *err);
int nnrt__targets_fit_shards(const nnrt_dataset *d, int64_t total, int32_t mode, nnrt_scaler **out,
                             nnrt_error *err);
int nnrt__csv_load(const nnc_data_source *src, nnrt_shape sh, nnrt_dataset **out, nnrt_error *err);
int nnrt__idx_load(const nnc_data_source *src, nnrt_shape sh, nnrt_dataset **out, nnrt_error *err);
int nnrt__fann_load(const nnc_data_source *src, nnrt_shape sh, nnrt_dataset **out, nnrt_error *err);
/* Splits a CSV line in place at its commas (fields trimmed; a "quoted" field may hold commas
 * and "" for a quote). Returns the field count, -1 when more than max fields would be needed
 * (then *need holds the count), or -NNRT_CSV_* for a badly quoted field (*need: its number,
 * from 1; nnrt__csv_problem says what is wrong). */
enum { NNRT_CSV_UNCLOSED_QUOTE = 2, NNRT_CSV_AFTER_QUOTE = 3 };
int nnrt__csv_split(char *line, char **fields, int max, int *need);
/* The same at another delimiter (tab, ';', ...) than the comma. */
int nnrt__csv_split_at(char *line, char delim, char **fields, int max, int *need);
const char *nnrt__csv_problem(int rc);
/* The names of a CSV source's header row, read from its regular file: n 0 when it has none
 * (or says `noheader`), when it cannot be looked into (standard input, a pipe, IDX or FANN
 * data) or its first line passes 64 KiB. Freed by nnrt__csv_names_free. */
typedef struct nnrt_csv_names { char *line; char **names; int32_t n; } nnrt_csv_names; /* struct: row shape */
void nnrt__csv_header_names(const nnc_data_source *src, nnrt_csv_names *out);
void nnrt__csv_names_free(nnrt_csv_names *h);
/* The longest CSV line read for a network: 1 MiB plus 1 KiB per input and output. */
size_t nnrt__csv_max_line(nnrt_shape sh);
/* zlib read errors (dataset.c): whether f is in error, and its message as `path: read error: …`. */
int nnrt__gz_failed(gzFile f);
int nnrt__gz_fail(gzFile f, const char *path, nnrt_error *err);
/* At the end of a compressed file read through f: refuses bytes after its last gzip member
 * that zlib skipped silently (not another member, not zero padding). */
int nnrt__gz_check_end(gzFile f, const char *path, nnrt_error *err);
/* Predict's input rows, read one at a time as they come (a pipe is not read ahead of the
 * answers). The first row's field count chooses the input columns: cols (--inputs) when given;
 * else n_inputs fields are the inputs in order; else a row of data_width fields (a row of the
 * training data, data_width -1 when unknown) gives its input columns data_cols. A first row of
 * names only in those columns is a header. */
typedef struct nnrt_row_shape {
  int32_t n_inputs;
  const int32_t *cols;         /* --inputs, n_inputs of them, or NULL */
  int32_t data_width;          /* fields of a training data row, -1 unknown */
  const int32_t *data_cols;    /* their n_inputs input columns */
  const char *data_path;       /* the training data, named in messages */
  int32_t delimiter;           /* the byte between fields, 0: ',' */
  const struct nnrt_csv_names *data_names; /* the training data's header, or NULL */
} nnrt_row_shape;
typedef struct nnrt_csv_rows nnrt_csv_rows;
/* *out is set even on failure: close it. */
int nnrt__rows_open(const char *path, nnrt_shape sh, const nnrt_row_shape *rs, nnrt_csv_rows **out,
                    nnrt_error *err);
/* The next row's inputs into x (n_inputs reals); *got 0 at the end. */
int nnrt__rows_next(nnrt_csv_rows *r, void *x, int *got, nnrt_error *err);
/* Whether the next row must be waited for: a pipe whose rows read so far are all taken. */
int nnrt__rows_would_wait(const nnrt_csv_rows *r);
int64_t nnrt__rows_line(const nnrt_csv_rows *r);   /* the line of the last row read */
void nnrt__rows_close(nnrt_csv_rows *r);
/* The number of fields of the first row of a CSV file; 0 when it cannot be read. */
int32_t nnrt__csv_width(const nnc_data_source *src, nnrt_shape sh);
/* Parses a whole field: 0 a finite number, 1 not a number, 2 not finite or beyond f64. */
int nnrt__parse_number(const char *s, double *v);

/* ---- csv.c: the one reader of numbers written as text, and the check of numbers read in
 * binary, against the model's precision (real_bytes 4: f32, 8: f64) ---- */
enum { NNRT_NUM_OK, NNRT_NUM_NOT_A_NUMBER, NNRT_NUM_NOT_FINITE, NNRT_NUM_OUT_OF_RANGE };
/* A whole field in decimal (no hexadecimal, no spaces): NNRT_NUM_*; *v the value when OK. */
int nnrt__parse_real(const char *s, int32_t real_bytes, double *v);
/* A value read in binary: NNRT_NUM_OK, NNRT_NUM_NOT_FINITE or NNRT_NUM_OUT_OF_RANGE. */
int nnrt__check_real(double v, int32_t real_bytes);
/* The end of a message about a number: "is not a number", "is out of range for f32 (max 3.4e38)". */
const char *nnrt__number_problem(int problem, int32_t real_bytes);
/* A field as shown in a message: at most 40 characters, unprintable bytes as '?'. */
const char *nnrt__shown(const char *f, char *buf, size_t size);
/* The UTF-8 byte-order mark a text file may start with; readers skip it. */
#define NNRT_UTF8_BOM "\xEF\xBB\xBF"

/* ---- labels.c: class labels as written, read row by row, one-hot encoded at the end ---- */
typedef struct nnrt_label_reader {
  const nnrt_labels *map;  /* given: every label must be in it */
  int zero_based;          /* no map: every label must be an integer in [0, n_classes) */
  int32_t n_classes;
  int32_t n_seen;          /* building a map: the distinct labels in order of appearance */
  char **seen;
  int32_t *seen_of_int;    /* n_classes entries: the seen index of integer label c, or -1 */
  int all_int;             /* every label seen is an integer in [0, n_classes) */
  int32_t *row_class;      /* per row: its class (map, 0-based) or its seen index (building) */
  int64_t cap;
} nnrt_label_reader;
typedef struct nnrt_label_at { const char *path; int64_t line; int field; } nnrt_label_at;
int nnrt__labels_begin(nnrt_label_reader *lr, const nnrt_labels *map, int zero_based, int32_t n_classes,
                       nnrt_error *err);
int nnrt__labels_take(nnrt_label_reader *lr, const char *text, int64_t row, const nnrt_label_at *at,
                      nnrt_error *err);
/* Writes the one-hot targets of d's rows; d->labels receives the map built, if one was. */
int nnrt__labels_finish(nnrt_label_reader *lr, nnrt_dataset *d, nnrt_error *err);
void nnrt__labels_end(nnrt_label_reader *lr);
nnrt_labels *nnrt__labels_new(int32_t n);   /* n NULL names; NULL when out of memory */

/* ---- dataset.c ---- */
/* nnrt_scaler_apply, refusing a value its scaling takes beyond the model's precision
 * (`path: sample K, input I: …`); d is left unscaled then. */
int nnrt__scaler_apply(const nnrt_scaler *s, nnrt_dataset *d, const char *path, nnrt_error *err);
/* The same for rows that follow first others (messages count the samples from first + 1). */
int nnrt__scaler_apply_from(const nnrt_scaler *s, nnrt_dataset *d, const char *path, int64_t first, nnrt_error *err);
/* The check alone, d unchanged (for a model whose compiled-in scaling scales its inputs). */
int nnrt__scaler_check(const nnrt_scaler *s, const nnrt_dataset *d, const char *path, int64_t first,
                       nnrt_error *err);
/* The format of a source, format auto resolved by the file's first bytes and name. */
int nnrt__source_format(const nnc_data_source *src);
/* Target scaling: fitted on d's targets (z-score or min-max), and applied to them in place
 * (refusing a value beyond the precision: `path: sample K, target O: …`; s NULL: nothing). */
int nnrt__targets_fit(const nnrt_dataset *d, int32_t mode, nnrt_scaler **out, nnrt_error *err);
int nnrt__targets_apply(const nnrt_scaler *s, nnrt_dataset *d, const char *path, nnrt_error *err);
/* `targets inputs`: the targets become the inputs as the network sees them: d's inputs scaled
 * by s (NULL: as they are, already scaled). */
void nnrt__targets_from_inputs(const nnrt_scaler *s, nnrt_dataset *d);
/* A subset of rows (by index) copied into a new dataset. */
int nnrt__dataset_subset(const nnrt_dataset *d, const int64_t *idx, int64_t n,
                         nnrt_dataset **out, nnrt_error *err);
/* Copies rows idx[0..n) of d into contiguous x and t buffers. */
void nnrt__gather(const nnrt_dataset *d, const int64_t *idx, int64_t n, void *x, void *t);

/* ---- files.c: every file written whole or not at all (a temporary renamed over it) ---- */
typedef struct nnrt_out {
  const char *path;       /* the destination */
  char *tmp;              /* BASE.tmp.XXXXXX while open: its name in dir */
  int dir;                /* the destination's directory, open while tmp is */
  FILE *f;                /* write here between open and commit */
  int error;              /* the errno of the first failed flush or write, 0 if none */
} nnrt_out;
/* Whether path is written in place, not replaced: a device, FIFO or socket, or a link into
 * /proc (/dev/stdout). */
int nnrt__in_place(const char *path);
int nnrt__out_open(nnrt_out *o, const char *path, nnrt_error *err);
int nnrt__out_flush(nnrt_out *o);                      /* fflush; returns o->error */
int nnrt__out_commit(nnrt_out *o, nnrt_error *err);    /* fsync, rename over path; aborts on failure */
void nnrt__out_abort(nnrt_out *o);                     /* removes the temporary; path untouched */
int nnrt__write_atomic(const char *path, const void *bytes, uint64_t size, nnrt_error *err);
/* Writes a file that did not exist: name, else name.2, name.3, ...; the name taken into chosen. */
int nnrt__write_new(const char *name, const void *bytes, uint64_t size, char *chosen, size_t cap,
                    nnrt_error *err);
int nnrt__same_file(const char *a, const char *b);
int nnrt__oom_writing(nnrt_error *err, const char *path);  /* NNRT_ENOMEM: "PATH: cannot write: out of memory" */
#define NNRT_PATH_CAP 4096      /* room for a path built from another (SAVE.ckpt, SAVE.diverged) */
/* An output path a long job will write: refused when empty, a directory, "-" (standard output
 * cannot hold weights) or this program's own executable (NNRT_EUSAGE), or when it cannot be
 * replaced: a name too long, a directory missing or not writable, a file the user may not
 * write, another user's file in a sticky directory (NNRT_EIO); what names it in the message.
 * nnrt__check_text_output allows "-" (standard output), for the log and the plot. */
int nnrt__check_output(const char *what, const char *path, nnrt_error *err);
int nnrt__check_text_output(const char *what, const char *path, nnrt_error *err);
/* NNRT_EUSAGE when path holds a non-empty regular file that does not start as nnc's weights
 * and checkpoints do (NNCW): weights are not written over a file nnc did not write. */
int nnrt__check_not_foreign(const char *what, const char *path, nnrt_error *err);

/* ---- weights.c: the file format with trailer sections ---- */
typedef struct nnrt_section {
  char tag[4];
  uint64_t len;
  const void *data;       /* writing: the bytes; reading: points into the file image */
} nnrt_section;

typedef struct nnrt_wfile {
  void *image;            /* the whole file */
  uint64_t size;
  const void *params;     /* into image */
  int n_sections;
  nnrt_section sections[16];
} nnrt_wfile;

/* Replaces path whole, or (chosen != NULL) writes a new file as nnrt__write_new does. */
int nnrt__wfile_write(const char *path, const nnc_model *m, const void *params,
                      const nnrt_section *sections, int n_sections, char *chosen, size_t cap,
                      nnrt_error *err);
/* nnrt_weights_save into a file that did not exist (name, name.2, ...): its name into chosen. */
int nnrt__weights_save_new(const char *name, const nnc_model *m, const void *params, const nnrt_weights_extras *x,
                           char *chosen, size_t cap, nnrt_error *err);
int nnrt__wfile_read(const char *path, const nnc_model *m, nnrt_wfile *wf, nnrt_error *err);
/* nnrt_weights_load_ex, keeping a pipe, FIFO or socket's image for the next read of that
 * stream (train --resume reads the file twice: its extras, then the trainer). */
int nnrt__weights_load_keep(const char *path, const nnc_model *m, void *params, nnrt_weights_extras *x,
                            nnrt_error *err);
void nnrt__wfile_free(nnrt_wfile *wf);
const nnrt_section *nnrt__wfile_section(const nnrt_wfile *wf, const char *tag);
/* The SCAL section of a scaler: bytes allocated into *buf. */
int nnrt__scaler_encode(const nnrt_scaler *s, void **buf, uint64_t *len, nnrt_error *err);
int nnrt__scaler_decode(const nnrt_section *sec, int32_t n_inputs, nnrt_scaler **out,
                        nnrt_error *err, const char *path);
/* The LBLS section of a label map, and back (checked: 1..n_outputs distinct labels of
 * 1..NNRT_LABEL_MAX bytes, no control character); its largest size for m. */
int nnrt__labels_encode(const nnrt_labels *l, void **buf, uint64_t *len, nnrt_error *err);
int nnrt__labels_decode(const nnrt_section *sec, int32_t n_outputs, nnrt_labels **out, nnrt_error *err,
                        const char *path);
uint64_t nnrt__labels_max_bytes(const nnc_model *m);
void nnrt__put_u64(unsigned char *p, uint64_t v);
/* n reals of real_bytes rb to and from their little-endian file form. */
void nnrt__put_reals(unsigned char *p, const void *vals, int64_t n, int32_t rb);
void nnrt__get_reals(void *vals, const unsigned char *p, int64_t n, int32_t rb);
uint64_t nnrt__get_u64(const unsigned char *p);

/* ---- pool.c: a fixed set of threads that run one job per batch ---- */
typedef struct nnrt_pool nnrt_pool;
typedef void (*nnrt_job_fn)(void *ctx, int worker);
int nnrt__pool_create(int n_threads, nnrt_pool **out, nnrt_error *err);
/* Runs fn(ctx, w) for w = 0..n_threads−1 (0 on the calling thread) and waits for all. */
void nnrt__pool_run(nnrt_pool *p, nnrt_job_fn fn, void *ctx);
void nnrt__pool_destroy(nnrt_pool *p);

/* ---- report.c: progress, log and plot ---- */
typedef struct nnrt_epoch_row {
  int32_t restart, epoch;
  double loss, acc, val_loss, val_acc, rate, seconds;  /* NaN when absent; acc: the metric's score */
} nnrt_epoch_row;
double nnrt__now(void);
/* Writes an SVG of the loss and accuracy curves of rows[0..n). */
int nnrt__plot_svg(const char *path, const char *title, const nnrt_epoch_row *rows, int64_t n, int32_t metric,
                   nnrt_error *err);

/* ---- gradcheck.c: the finite-difference criterion ---- */
double nnrt__gradcheck_eps(int32_t real_bytes);   /* machine epsilon of f32 (4) or f64 (8) */
double nnrt__gradcheck_tolerance(double eps);     /* the largest error that passes */
/* |a − n| / max(|a|, |n|, scale): analytic a against numeric n; NaN counts as infinite. */
double nnrt__gradcheck_error(double a, double n, double scale);

#endif
