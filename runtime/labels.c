/* runtime/labels.c — class labels as written in the data, and the map from them to outputs.
 *
 * Consumes: the text of each sample's class label (a CSV target column with `onehot`), and
 * optionally the label map of trained weights.
 * Produces: one-hot targets, and for training data whose labels are not the integers
 * 0..K−1 (strings, 1..K) a label map (nnrt_labels): the distinct labels sorted, numerically
 * when all are numbers, else by bytes, so the map depends on the set of labels only, never on
 * their order in the file; a number is one class however it is written (10, 1e1, 10.0). Refused, with `path:line: field F:`: an empty label or one longer
 * than NNRT_LABEL_MAX bytes, more distinct labels than the network has outputs, a label not
 * in the given map, a control character, a number that is not an integer (nan, 1.5: a missing
 * value or a regression target, not a class), and (labels required 0-based) a label that is not
 * an integer in [0, K).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define NNRT_STR_(x) #x
#define NNRT_STR(x) NNRT_STR_(x)

void nnrt_labels_destroy(nnrt_labels *l) {
  if (!l)
    return;
  for (int32_t i = 0; l->names && i < l->n; i++)
    nnrt__free(l->names[i]);
  nnrt__free(l->names);
  nnrt__free(l);
}

/* 1 and v when text is a finite number. */
static int number_of(const char *text, double *v) {
  return nnrt__parse_real(text, 8, v) == NNRT_NUM_OK;
}

/* The same text, or for a number the same value: 2.0 and 2e0 are the class 2. */
int32_t nnrt_labels_find(const nnrt_labels *l, const char *name) {
  double v, w;
  for (int32_t i = 0; l && i < l->n; i++)
    if (!strcmp(l->names[i], name))
      return i;
  if (!l || !number_of(name, &v))
    return -1;
  for (int32_t i = 0; i < l->n; i++)
    if (number_of(l->names[i], &w) && v == w)
      return i;
  return -1;
}

/* An empty map with room for n names. */
nnrt_labels *nnrt__labels_new(int32_t n) {
  nnrt_labels *l = nnrt__alloc(sizeof *l);
  if (!l)
    return NULL;
  l->names = nnrt__alloc_array(n > 0 ? n : 1, sizeof(char *));
  if (!l->names) {
    nnrt__free(l);
    return NULL;
  }
  l->n = n;
  return l;
}

/* ---- reading labels row by row ---- */

int nnrt__labels_begin(nnrt_label_reader *lr, const nnrt_labels *map, int zero_based, int32_t n_classes,
                       nnrt_error *err) {
  memset(lr, 0, sizeof *lr);
  lr->map = map;
  lr->zero_based = zero_based && !map;
  lr->n_classes = n_classes;
  lr->all_int = 1;
  lr->seen = nnrt__alloc_array(n_classes > 0 ? n_classes : 1, sizeof(char *));
  lr->seen_of_int = nnrt__alloc_array(n_classes > 0 ? n_classes : 1, sizeof(int32_t));
  if (!lr->seen || !lr->seen_of_int)
    return nnrt__oom(err);
  for (int32_t i = 0; i < n_classes; i++)
    lr->seen_of_int[i] = -1;
  return NNRT_OK;
}

void nnrt__labels_end(nnrt_label_reader *lr) {
  for (int32_t i = 0; lr->seen && i < lr->n_seen; i++)
    nnrt__free(lr->seen[i]);
  nnrt__free(lr->seen);
  nnrt__free(lr->seen_of_int);
  nnrt__free(lr->row_class);
  memset(lr, 0, sizeof *lr);
}

/* The label as an integer class in [0, n_classes), or -1. */
static int32_t integer_class(const nnrt_label_reader *lr, const char *text) {
  double v;
  if (nnrt__parse_real(text, 8, &v) != NNRT_NUM_OK || v != floor(v) || v < 0 || v >= lr->n_classes)
    return -1;
  return (int32_t)v;
}

static int remember_row(nnrt_label_reader *lr, int64_t row, int32_t cls, nnrt_error *err) {
  if (row < 0) /* a row not kept (another rank's shard): its label is seen, not stored */
    return NNRT_OK;
  if (row >= lr->cap) {
    int64_t cap = lr->cap ? lr->cap * 2 : 1024;
    int32_t *p = nnrt__realloc(lr->row_class, (size_t)cap * sizeof *p);
    if (!p)
      return nnrt__oom(err);
    lr->row_class = p;
    lr->cap = cap;
  }
  lr->row_class[row] = cls;
  return NNRT_OK;
}

/* "a, b, c" (at most the first eight) into buf. */
static const char *list_labels(char *const *names, int32_t n, char *buf, size_t size) {
  size_t at = 0;
  buf[0] = 0;
  for (int32_t i = 0; i < n && i < 8 && at + 1 < size; i++)
    at += (size_t)snprintf(buf + at, size - at, "%s%s", i ? ", " : "", names[i]);
  if (n > 8 && at + 1 < size)
    snprintf(buf + at, size - at, ", ...");
  return buf;
}

/* The 0-based rule of labels read without a map: as the data were always read. */
static int take_zero_based(nnrt_label_reader *lr, const char *text, int64_t row, const nnrt_label_at *at,
                           nnrt_error *err) {
  char buf[64];
  double v;
  int bad = nnrt__parse_real(text, 8, &v);
  if (bad || v != floor(v))
    return nnrt__fail(err, NNRT_EDATA, "%s:%lld: field %d: label '%s' is not an integer", at->path,
                      (long long)at->line, at->field, nnrt__shown(text, buf, sizeof buf));
  if (v < 0 || v >= lr->n_classes)
    return nnrt__fail(err, NNRT_EDATA, "%s:%lld: field %d: label %s is out of range [0, %d)", at->path,
                      (long long)at->line, at->field, nnrt__shown(text, buf, sizeof buf), (int)lr->n_classes);
  return remember_row(lr, row, (int32_t)v, err);
}

static int take_mapped(nnrt_label_reader *lr, const char *text, int64_t row, const nnrt_label_at *at,
                       nnrt_error *err) {
  char buf[64], list[600];
  int32_t cls = nnrt_labels_find(lr->map, text);
  if (cls < 0)
    return nnrt__fail(err, NNRT_EDATA, "%s:%lld: field %d: label '%s' is not one of the %d classes seen in "
                      "training (%s)", at->path, (long long)at->line, at->field, nnrt__shown(text, buf, sizeof buf),
                      (int)lr->map->n, list_labels(lr->map->names, lr->map->n, list, sizeof list));
  return remember_row(lr, row, cls, err);
}

/* A label not seen before becomes the next distinct one, while there is an output for it. */
static int32_t add_seen(nnrt_label_reader *lr, const char *text, int32_t as_int, const nnrt_label_at *at,
                        nnrt_error *err) {
  char buf[64], list[600];
  if (lr->n_seen == lr->n_classes) {
    nnrt__fail(err, NNRT_EDATA, "%s:%lld: field %d: label '%s' would be class %d, but the network has %d "
               "output%s (labels so far: %s)", at->path, (long long)at->line, at->field,
               nnrt__shown(text, buf, sizeof buf), (int)lr->n_seen + 1, (int)lr->n_classes,
               lr->n_classes == 1 ? "" : "s", list_labels(lr->seen, lr->n_seen, list, sizeof list));
    return -1;
  }
  char *copy = nnrt__strdup(text);
  if (!copy) {
    nnrt__oom(err);
    return -1;
  }
  lr->seen[lr->n_seen] = copy;
  if (as_int >= 0)
    lr->seen_of_int[as_int] = lr->n_seen;
  lr->all_int &= as_int >= 0;
  return lr->n_seen++;
}

/* The seen index of a label that is not an integer class (10 and 1e1 are one class). */
static int32_t find_seen(const nnrt_label_reader *lr, const char *text) {
  nnrt_labels seen = {lr->n_seen, lr->seen};
  return nnrt_labels_find(&seen, text);
}

static int take_building(nnrt_label_reader *lr, const char *text, int64_t row, const nnrt_label_at *at,
                         nnrt_error *err) {
  int32_t as_int = integer_class(lr, text), k = as_int >= 0 ? lr->seen_of_int[as_int] : find_seen(lr, text);
  if (k < 0 && (k = add_seen(lr, text, as_int, at, err)) < 0)
    return err ? err->code : NNRT_EDATA;
  return remember_row(lr, row, k, err);
}

/* What makes text no class label, or NULL: empty, too long, a control character, or a number
 * that is not an integer exactly held by a double (nan, 1.5, 1e39: a missing value or a
 * regression target, not a class). */
static const char *label_problem(const char *text) {
  double v;
  if (!*text)
    return "the class label is empty";
  if (strlen(text) > NNRT_LABEL_MAX)
    return "is longer than " NNRT_STR(NNRT_LABEL_MAX) " bytes";
  for (const char *p = text; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      return "holds a control character";
  int num = nnrt__parse_real(text, 8, &v);
  if (num == NNRT_NUM_NOT_FINITE || (num == NNRT_NUM_OK && v != floor(v)))
    return "is not an integer";
  if (num == NNRT_NUM_OK && fabs(v) > 0x1p53)
    return "is beyond the integers a class label may be (at most 2^53 in magnitude)";
  return NULL;
}

int nnrt__labels_take(nnrt_label_reader *lr, const char *text, int64_t row, const nnrt_label_at *at,
                      nnrt_error *err) {
  char buf[64];
  const char *problem = lr->zero_based ? NULL : label_problem(text);
  if (problem && !*text)
    return nnrt__fail(err, NNRT_EDATA, "%s:%lld: field %d: %s", at->path, (long long)at->line, at->field, problem);
  if (problem)
    return nnrt__fail(err, NNRT_EDATA, "%s:%lld: field %d: label '%s' %s", at->path, (long long)at->line,
                      at->field, nnrt__shown(text, buf, sizeof buf), problem);
  if (lr->zero_based)
    return take_zero_based(lr, text, row, at, err);
  if (lr->map)
    return take_mapped(lr, text, row, at, err);
  return take_building(lr, text, row, at, err);
}

/* ---- the map ---- */

typedef struct sort_entry {
  const char *name;
  double value;               /* the label as a number, when every label is one */
  int numeric;
  int32_t seen;               /* its index among the labels seen */
} sort_entry;

/* Numerically when every label is a number (1 < 2 < 10; no two share a value), else by
 * bytes. */
static int by_label(const void *a, const void *b) {
  const sort_entry *x = a, *y = b;
  if (x->numeric && x->value != y->value)
    return x->value < y->value ? -1 : 1;
  return strcmp(x->name, y->name);
}

static int all_numbers(const nnrt_label_reader *lr) {
  double v;
  for (int32_t i = 0; i < lr->n_seen; i++)
    if (nnrt__parse_real(lr->seen[i], 8, &v) != NNRT_NUM_OK)
      return 0;
  return 1;
}

/* The sorted map of the labels seen; class_of[k] the class of seen label k. */
static int build_map(nnrt_label_reader *lr, int32_t *class_of, nnrt_labels **out, nnrt_error *err) {
  sort_entry *e = nnrt__alloc_array(lr->n_seen ? lr->n_seen : 1, sizeof *e);
  nnrt_labels *l = nnrt__labels_new(lr->n_seen);
  if (!e || !l) {
    nnrt__free(e);
    nnrt_labels_destroy(l);
    return nnrt__oom(err);
  }
  int numeric = all_numbers(lr);
  for (int32_t i = 0; i < lr->n_seen; i++) {
    e[i].name = lr->seen[i];
    e[i].numeric = numeric;
    e[i].seen = i;
    if (numeric)
      nnrt__parse_real(lr->seen[i], 8, &e[i].value);
  }
  qsort(e, (size_t)lr->n_seen, sizeof *e, by_label);
  for (int32_t c = 0; c < lr->n_seen; c++) {
    class_of[e[c].seen] = c;
    l->names[c] = lr->seen[e[c].seen]; /* the map takes the strings */
    lr->seen[e[c].seen] = NULL;
  }
  nnrt__free(e);
  *out = l;
  return NNRT_OK;
}

/* Labels 0..K−1 need no map: the class is the integer. */
static void identity(const nnrt_label_reader *lr, int32_t *class_of) {
  for (int32_t c = 0; c < lr->n_classes; c++)
    if (lr->seen_of_int[c] >= 0)
      class_of[lr->seen_of_int[c]] = c;
}

static void write_onehot(const nnrt_label_reader *lr, const int32_t *class_of, nnrt_dataset *d) {
  int32_t no = d->n_outputs;
  for (int64_t k = 0; k < d->n; k++) {
    int32_t c = class_of ? class_of[lr->row_class[k]] : lr->row_class[k];
    for (int32_t o = 0; o < no; o++)
      nnrt__set(d->t, d->real_bytes, k * no + o, o == c);
  }
}

int nnrt__labels_finish(nnrt_label_reader *lr, nnrt_dataset *d, nnrt_error *err) {
  if (lr->zero_based || lr->map) {
    write_onehot(lr, NULL, d);
    return NNRT_OK;
  }
  int32_t *class_of = nnrt__alloc_array(lr->n_seen ? lr->n_seen : 1, sizeof(int32_t));
  int rc = class_of ? NNRT_OK : nnrt__oom(err);
  if (!rc && lr->all_int)
    identity(lr, class_of);
  else if (!rc)
    rc = build_map(lr, class_of, &d->labels, err);
  if (!rc)
    write_onehot(lr, class_of, d);
  nnrt__free(class_of);
  return rc;
}
