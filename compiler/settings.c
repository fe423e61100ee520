/* settings.c — checks the train block of a network.
 * Consumes: the `key value ...;` settings of the AST. Produces: nnc_train_settings in the
 * IR with every default filled in, and the init scheme and precision. Each setting has one
 * parser that takes the values it needs from a cursor; `sgd`, `adam`, `adamw`, `rmsprop`,
 * `rprop` and `irprop` choose the optimizer (one entry of nnc/optim.h each) and group its keys
 * on one line, rate, decay, momentum and batch among them (the full-batch rprop and irprop
 * take neither batch nor decay). Defaults are documented in docs/language.md. Numeric settings obey
 * parser that takes the values it needs from a cursor; `sgd`, `adam`, `adamw` and `rmsprop`
 * choose the optimizer (one entry of nnc/optim.h each) and group its keys on one line, rate,
 * decay, momentum and batch among them; `decay` names a schedule of nnc/schedule.h and its
 * constants, `warmup` and `clip` the warmup and the gradient clipping that go with any
 * optimizer. Defaults are documented in docs/language.md. Numeric settings obey
 * the limits of nnc/limits.h, which the executable's flags share; literal values (init
 * ranges, scale factors) must be reals of the network's precision; settings that could not
 * act (scale on test data, early stopping without validation) are refused. */
#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "nnc/limits.h"
#include "nnc/optim.h"
#include "nnc/schedule.h"
#include "sema.h"

typedef struct Cursor {
  Sema *s;
  const AstSetting *setting;
  const char *key;   /* the name messages use: the setting's, or a key inside it (sgd's rate, every) */
  const AstValue *v; /* next value to read, NULL at the end */
  int failed;        /* an error was reported: the rest of the setting is not read */
  SrcLoc *first_set; /* per setting: where its value was first set (line 0: not yet) */
} Cursor;

static SrcLoc cursor_loc(const Cursor *c) { return c->v ? c->v->loc : c->setting->loc; }

/* Reports an error in the setting being read; the rest of the setting is then skipped, so
 * one wrong value gives one error. */
__attribute__((format(printf, 3, 4))) static void fail(Cursor *c, SrcLoc loc, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  diag_error(c->s->diag, loc, "%s", msg);
  c->failed = 1;
}

/* The value as the user wrote it, for messages: -1, 0.5, 3..1, "f.csv", 'foo'. */
static const char *value_text(const AstValue *v, char *buf, size_t size) {
  switch (v->kind) {
  case VAL_INT: snprintf(buf, size, "%lld", v->lo); break;
  case VAL_REAL:
  case VAL_RATIO: nnc_number_text(v->num, buf, size); break;
  case VAL_STRING: snprintf(buf, size, "\"%.40s%s\"", v->text, strlen(v->text) > 40 ? "..." : ""); break;
  case VAL_IDENT: snprintf(buf, size, "'%.40s'", v->text); break;
  case VAL_RANGE: snprintf(buf, size, "%lld..%lld", v->lo, v->hi); break;
  case VAL_CALL: snprintf(buf, size, "'%.40s(...)'", v->text); break;
  case VAL_LIST: snprintf(buf, size, "[...]"); break;
  }
  return buf;
}

/* What kind of value it is, before its text in "unexpected number 0.1": empty for names. */
static const char *value_noun(const AstValue *v) {
  switch (v->kind) {
  case VAL_INT:
  case VAL_REAL:
  case VAL_RATIO: return "number ";
  case VAL_STRING: return "string ";
  case VAL_RANGE: return "range ";
  default: return "";
  }
}

static void expected(Cursor *c, const char *what) {
  char buf[64];
  if (c->v)
    fail(c, c->v->loc, "'%s' expects %s, got %s", c->key, what, value_text(c->v, buf, sizeof buf));
  else
    fail(c, cursor_loc(c), "'%s' expects %s", c->key, what);
}

/* early_stop and patience set one value; every other setting is its own. */
static const char *value_name(const char *key) { return strcmp(key, "early_stop") == 0 ? "patience" : key; }

static int is_number(const AstValue *v) {
  return v && (v->kind == VAL_INT || v->kind == VAL_REAL || v->kind == VAL_RATIO);
}

static int take_number(Cursor *c, const char *what, double *out) {
  if (!is_number(c->v)) {
    expected(c, what);
    return 0;
  }
  *out = c->v->num;
  c->v = c->v->next;
  return 1;
}

/* What a setting that enters the update in the model's precision would do there if it were
 * 0, or NULL for the settings that need no such check (0 means none, or the setting is
 * used in double): below the precision's smallest normal number it is 0 in the generated
 * code, or a subnormal that the runtime's update rules take as 0. */
static const char *as_zero_would(enum nnc_limit_id id) {
  switch (id) {
  case NNC_LIMIT_RATE: return "move no weight";
  case NNC_LIMIT_EPS: return "divide 0 by 0 where a gradient is 0";
  case NNC_LIMIT_ETA_MINUS: case NNC_LIMIT_STEP_MAX: return "stop every step size at 0";
  case NNC_LIMIT_CLIP_NORM: case NNC_LIMIT_CLIP_VALUE: return "clip every gradient to 0 (0 turns clipping off)";
  default: return NULL;
  }
}

/* The smallest normal real of the model's precision, and as written. */
static double real_min(const Sema *s) { return s->net->real_bytes == 8 ? DBL_MIN : FLT_MIN; }
static const char *real_min_text(const Sema *s) {
  return s->net->real_bytes == 8 ? "2.2250738585072014e-308" : "1.1754944e-38";
}
static const char *real_name(const Sema *s);

/* 1 if v is a value the setting can take in the model's precision; else reports it at the number. */
static int check_vanishing(Cursor *c, enum nnc_limit_id id, double v) {
  const char *would = as_zero_would(id);
  char buf[32];
  if (!would || v == 0 || v >= real_min(c->s)) return 1;
  fail(c, c->v->loc, "'%s' %s is below the smallest normal %s number (%s): the update would take it as 0 and %s",
       c->key, nnc_number_text(v, buf, sizeof buf), real_name(c->s), real_min_text(c->s), would);
  return 0;
}

/* A number within the limit `id` of nnc/limits.h, reported at the number in the words the
 * executable's flags use: "'batch' expects an integer from 1 to 1048576, got 0". out is
 * left alone on error. */
static int take_limited(Cursor *c, enum nnc_limit_id id, double *out) {
  const nnc_limit *l = nnc_limit_get(id);
  char rule[128];
  if (!is_number(c->v) || (l->integer && c->v->kind != VAL_INT) || !nnc_limit_allows(l, c->v->num)) {
    expected(c, nnc_limit_rule(l, rule, sizeof rule));
    return 0;
  }
  if (!check_vanishing(c, id, c->v->num)) return 0;
  *out = c->v->num;
  c->v = c->v->next;
  return 1;
}

static int take_limited_int(Cursor *c, enum nnc_limit_id id, int32_t *out) {
  double x;
  if (!take_limited(c, id, &x)) return 0;
  *out = (int32_t)x;
  return 1;
}

/* The largest magnitude a real of the model's precision holds. */
static double real_max(const Sema *s) { return s->net->real_bytes == 8 ? DBL_MAX : FLT_MAX; }
static const char *real_name(const Sema *s) { return s->net->real_bytes == 8 ? "f64" : "f32"; }
static const char *real_max_text(const Sema *s) {
  return s->net->real_bytes == 8 ? "1.7976931348623157e+308" : "3.4028235e+38";
}

int sema_check_real(Sema *s, SrcLoc loc, const char *what, double v) {
  char buf[32];
  if (fabs(v) <= real_max(s)) return 1;
  diag_error(s->diag, loc, "%s %s is out of range for %s (at most %s in magnitude)", what,
             nnc_number_text(v, buf, sizeof buf), real_name(s), real_max_text(s));
  return 0;
}

static int at_ident(const Cursor *c, const char *word) {
  return c->v && c->v->kind == VAL_IDENT && strcmp(c->v->text, word) == 0;
}

/* Reports a value that is none of names[], with the name meant when one is close or is what
 * other tools call it ("did you mean 'squared'?" for `loss mse`). */
static void expected_one_of(Cursor *c, const char *const *names, int n, const char *what) {
  int named = c->v && (c->v->kind == VAL_IDENT || c->v->kind == VAL_CALL);
  const char *hint = named ? sema_closest(c->v->text, names, n) : NULL;
  if (hint)
    fail(c, c->v->loc, "'%s' expects %s, got '%.40s'; did you mean '%s'?", c->key, what, c->v->text, hint);
  else
    expected(c, what);
}

/* One of names[]; returns its index or -1 after reporting. */
static int take_choice(Cursor *c, const char *const *names, int n, const char *what) {
  if (c->v && c->v->kind == VAL_IDENT)
    for (int i = 0; i < n; i++)
      if (strcmp(c->v->text, names[i]) == 0) {
        c->v = c->v->next;
        return i;
      }
  expected_one_of(c, names, n, what);
  return -1;
}

static int take_string(Cursor *c, const char *what, const char **out) {
  if (!c->v || c->v->kind != VAL_STRING) {
    expected(c, what);
    return 0;
  }
  *out = c->v->text;
  c->v = c->v->next;
  return 1;
}

/* --- data sources ------------------------------------------------------------------- */

/* The number of columns the list starting at v selects, or -1 after an error: a range out of
 * order or beyond NNC_MAX_COLUMN, or a column listed twice (found as it comes, so a list never
 * counts more than NNC_MAX_COLUMN + 1 columns). */
static int count_columns(Cursor *c, const AstValue *v) {
  unsigned char *seen = arena_alloc(c->s->arena, NNC_MAX_COLUMN / 8 + 1);
  int n = 0;
  memset(seen, 0, NNC_MAX_COLUMN / 8 + 1);
  for (; n >= 0 && v && (v->kind == VAL_INT || v->kind == VAL_RANGE); v = v->next) {
    long long lo = v->lo, hi = v->kind == VAL_RANGE ? v->hi : v->lo;
    if (lo < 0 || hi < lo || hi > NNC_MAX_COLUMN) {
      fail(c, v->loc, "bad column range %lld..%lld (columns count from 0 to %d, low to high)", lo, hi,
           NNC_MAX_COLUMN);
      n = -1;
    }
    for (long long col = lo; n >= 0 && col <= hi; col++) {
      if ((seen[col / 8] >> (col % 8)) & 1) {
        fail(c, v->loc, "column %lld is listed twice", col);
        n = -1;
      } else {
        seen[col / 8] |= (unsigned char)(1u << (col % 8));
        n++;
      }
    }
  }
  return n;
}

/* Column list: integers and ranges, e.g. `0..3 5 7`, each column once. */
static int take_columns(Cursor *c, int32_t *count, const int32_t **cols) {
  const AstValue *start = c->v;
  int n = count_columns(c, start);
  if (n < 0) return 0;
  if (n == 0) {
    expected(c, "column numbers (e.g. 0..3)");
    return 0;
  }
  int32_t *out = arena_alloc(c->s->arena, sizeof(int32_t) * (size_t)n);
  int k = 0;
  for (c->v = start; c->v && (c->v->kind == VAL_INT || c->v->kind == VAL_RANGE); c->v = c->v->next) {
    long long hi = c->v->kind == VAL_RANGE ? c->v->hi : c->v->lo;
    for (long long col = c->v->lo; col <= hi && k < n; col++) out[k++] = (int32_t)col;
  }
  *count = n;
  *cols = out;
  return 1;
}

/* scale zscore | minmax | FACTOR: a factor is nonzero and a real of the model's precision. */
static void take_scale(Cursor *c, nnc_data_source *d) {
  if (at_ident(c, "zscore") || at_ident(c, "minmax")) {
    d->scale = at_ident(c, "zscore") ? NNC_SCALE_ZSCORE : NNC_SCALE_MINMAX;
    c->v = c->v->next;
    return;
  }
  const AstValue *at = c->v;
  double f;
  if (!take_number(c, "a factor (e.g. 1/255), zscore or minmax", &f)) return;
  char buf[32];
  if (f == 0 || !(fabs(f) <= real_max(c->s)))
    fail(c, at->loc, "scale factor %s is out of range: a factor is nonzero and at most %s in magnitude "
         "for %s", nnc_number_text(f, buf, sizeof buf), real_max_text(c->s), real_name(c->s));
  d->scale = NNC_SCALE_FACTOR;
  d->scale_factor = f;
}

/* Test data are scaled by the scaler fitted on the training data, never by their own. */
static void refuse_test_scale(Cursor *c, SrcLoc at, const char *what) {
  fail(c, at, "'%s' on 'test' data: test data are scaled as the training data are; "
       "write '%s' on the 'data' setting only", what, what);
}

static const char *const data_options[] = {"format", "header", "noheader", "inputs", "targets",
                                           "onehot", "scale", "labels", "target_scale", "delimiter"};

/* `delimiter ";"` (or `delimiter tab`): one byte between the fields of a CSV file, which
 * cannot be part of a number or a quoted field: not a letter, digit, '.', '+', '-', quote,
 * space or line end. */
static void take_delimiter(Cursor *c, nnc_data_source *d) {
  const AstValue *v = c->v;
  const char *text = NULL;
  if (at_ident(c, "tab")) {
    d->delimiter = '\t';
    c->v = c->v->next;
    return;
  }
  if (!take_string(c, "a delimiter: one character in quotes (\";\", \"|\") or tab", &text)) return;
  unsigned char ch = (unsigned char)text[0];
  if (!ch || text[1] || (ch < 0x20 && ch != '\t') || ch >= 0x7f || isalnum(ch) || strchr(".+-\"' ", ch)) {
    fail(c, v->loc, "'delimiter' expects one character that is not part of a number, a quote or a space "
         "(\";\", \"|\", ...) or tab, got \"%s\"", text);
    return;
  }
  d->delimiter = ch;
}

static void take_data_option(Cursor *c, nnc_data_source *d) {
  static const char *const formats[] = {"csv", "idx", "fann"};
  SrcLoc at = cursor_loc(c);
  int opt = take_choice(c, data_options, 10, "a data option (format, header, noheader, inputs, targets, onehot, "
                        "scale, labels, target_scale, delimiter)");
  if ((opt == 6 || opt == 8) && strcmp(c->setting->key, "test") == 0) {
    refuse_test_scale(c, at, data_options[opt]);
    return;
  }
  switch (opt) {
  case 0: {
    int f = take_choice(c, formats, 3, "csv, idx or fann");
    if (f >= 0) d->format = f == 0 ? NNC_FORMAT_CSV : f == 1 ? NNC_FORMAT_IDX : NNC_FORMAT_FANN;
    break;
  }
  case 1: d->header = 1; break;
  case 2: d->header = 0; break;
  case 3: take_columns(c, &d->n_input_cols, &d->input_cols); break;
  case 4:
    if (at_ident(c, "inputs")) { /* an autoencoder: the targets are the inputs */
      d->targets_inputs = 1;
      c->v = c->v->next;
    } else {
      take_columns(c, &d->n_target_cols, &d->target_cols);
    }
    break;
  case 5: d->onehot = 1; break;
  case 6: take_scale(c, d); break;
  case 7: take_string(c, "the path of an IDX label file", &d->labels); break;
  case 8: {
    static const char *const modes[] = {"zscore", "minmax"};
    int k = take_choice(c, modes, 2, "zscore or minmax");
    if (k >= 0) d->target_scale = k ? NNC_SCALE_MINMAX : NNC_SCALE_ZSCORE;
    break;
  }
  case 9: take_delimiter(c, d); break;
  default: break;
  }
}

static int ends_with(const char *s, const char *suffix) {
  size_t ls = strlen(s), lx = strlen(suffix);
  return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/* A name ending in .csv (or .csv.gz) is CSV, whatever else is given, and one ending in .fann
 * (or .fann.gz) a FANN training file; otherwise a label file, "idx" in the name or a .gz
 * ending mean IDX. */
static void infer_format(nnc_data_source *d) {
  if (d->format != NNC_FORMAT_AUTO) return;
  if (ends_with(d->path, ".csv") || ends_with(d->path, ".csv.gz"))
    d->format = NNC_FORMAT_CSV;
  else if (ends_with(d->path, ".fann") || ends_with(d->path, ".fann.gz"))
    d->format = NNC_FORMAT_FANN;
  else if (d->labels || strstr(d->path, "idx") || ends_with(d->path, ".gz"))
    d->format = NNC_FORMAT_IDX;
  else
    d->format = NNC_FORMAT_CSV;
}

static void report_source_problem(void *cursor, const char *msg) {
  Cursor *c = cursor;
  diag_error(c->s->diag, c->setting->loc, "%s", msg);
}

static void check_source(Cursor *c, nnc_data_source *d) {
  Sema *s = c->s;
  SrcLoc loc = c->setting->loc;
  if (d->format == NNC_FORMAT_IDX && !d->labels && !d->targets_inputs)
    diag_error(s->diag, loc, "IDX data need a label file: add 'labels \"FILE\"' (or 'targets inputs' for an "
               "autoencoder)");
  if (d->target_scale && (d->onehot || d->targets_inputs || d->labels))
    diag_error(s->diag, loc, "'target_scale' is for regression targets; it excludes '%s'",
               d->onehot ? "onehot" : d->targets_inputs ? "targets inputs" : "labels");
  if (d->targets_inputs && (d->onehot || d->labels))
    diag_error(s->diag, loc, "'targets inputs' makes the inputs the targets; it excludes '%s'",
               d->onehot ? "onehot" : "labels");
  if (d->format == NNC_FORMAT_CSV && d->labels)
    diag_error(s->diag, loc, "'labels' is for IDX files; for CSV select the label column with 'targets N onehot'");
  if (d->format == NNC_FORMAT_FANN && (d->labels || d->header >= 0 || d->n_input_cols || d->n_target_cols || d->onehot))
    diag_error(s->diag, loc, "'header', 'noheader', 'inputs', 'targets', 'onehot' and 'labels' are for CSV and "
               "IDX files; a FANN training file has each sample's inputs and outputs on lines of their own");
  if (d->format != NNC_FORMAT_CSV && d->delimiter)
    diag_error(s->diag, loc, "'delimiter' is for CSV files; this source is %s", d->format == NNC_FORMAT_IDX ?
               "IDX images" : "a FANN training file");
  if (d->format == NNC_FORMAT_IDX && (d->header >= 0 || d->n_input_cols || d->n_target_cols || d->onehot))
    diag_error(s->diag, loc, "'header', 'noheader', 'inputs', 'targets' and 'onehot' are for CSV files; IDX "
               "images are the inputs and their labels the one-hot targets");
  nnc_source_check_columns(d, report_source_problem, c);
}

static void parse_source(Cursor *c, nnc_data_source *d) {
  memset(d, 0, sizeof *d);
  d->header = -1;
  d->scale_factor = 1;
  if (!take_string(c, "a file name", &d->path)) return;
  while (c->v && !c->failed) take_data_option(c, d);
  if (c->failed) return; /* the source is incomplete: its other checks would only cascade */
  infer_format(d);
  check_source(c, d);
}

static void set_data(Cursor *c) {
  c->s->data_loc = c->setting->loc;
  parse_source(c, &c->s->net->train.data);
}

static void set_test(Cursor *c) {
  c->s->test_loc = c->setting->loc;
  parse_source(c, &c->s->net->train.test);
}

/* --- optimisation ------------------------------------------------------------------- */

static void set_loss(Cursor *c) {
  static const char *const losses[] = {"squared", "cross_entropy"};
  int l = take_choice(c, losses, 2, "squared or cross_entropy");
  if (l >= 0) c->s->net->train.loss = l;
}

/* metric auto | classification | multilabel | regression */
static void set_metric(Cursor *c) {
  static const char *const metrics[] = {"auto", "classification", "multilabel", "regression"};
  int k = take_choice(c, metrics, 4, "auto, classification, multilabel or regression");
  if (k >= 0) c->s->net->train.metric = k;
}

/* shuffle on | off: off visits the samples in data order every epoch. */
static void set_shuffle(Cursor *c) {
  static const char *const states[] = {"on", "off"};
  int k = take_choice(c, states, 2, "on or off");
  if (k >= 0) c->s->net->train.shuffle_off = k;
}

static void set_rate(Cursor *c) { take_limited(c, NNC_LIMIT_RATE, &c->s->net->train.rate); }

/* `every N` after a setting, N epochs within the limit id; its messages name 'every'. */
static void take_every(Cursor *c, enum nnc_limit_id id, int32_t *out) {
  const char *key = c->key;
  c->v = c->v->next;
  c->key = "every";
  take_limited_int(c, id, out);
  c->key = key;
}

/* --- schedules (one entry of nnc/schedule.h each), warmup, clipping ------------------- */

/* The schedules' names in words: "none, inverse, ..., cosine_restarts or plateau". */
static const char *schedule_words(const char **names) {
  static char buf[160];
  buf[0] = 0;
  for (int k = 0; k < NNC_DECAY_COUNT; k++) {
    names[k] = nnc_schedule_get(k)->name;
    strcat(buf, names[k]);
    strcat(buf, k + 2 < NNC_DECAY_COUNT ? ", " : k + 2 == NNC_DECAY_COUNT ? " or " : "");
  }
  return buf;
}

/* The index of the schedule key word at the cursor, or -1. */
static int at_schedule_key(const Cursor *c) {
  for (int i = 0; c->v && c->v->kind == VAL_IDENT && i < NNC_SCHED_KEYS; i++)
    if (strcmp(c->v->text, nnc_schedule_key_get(i)->word) == 0) return i;
  return -1;
}

/* "min_rate" or "factor, patience, threshold, cooldown or min_rate": the keys of d in words. */
static const char *schedule_key_words(const nnc_schedule_def *d, char *buf, size_t size) {
  int n = 0, total = 0;
  for (int i = 0; i < NNC_SCHED_KEYS; i++) total += (d->keys & nnc_schedule_key_get(i)->bit) != 0;
  buf[0] = 0;
  for (int i = 0; i < NNC_SCHED_KEYS && size > 32; i++) {
    if (!(d->keys & nnc_schedule_key_get(i)->bit)) continue;
    n++;
    strncat(buf, nnc_schedule_key_get(i)->word, size - strlen(buf) - 1);
    strncat(buf, n + 1 < total ? ", " : n + 1 == total ? " or " : "", size - strlen(buf) - 1);
  }
  return total ? buf : "none";
}

/* The keys after a schedule's constant, each at most once, each within its limit; a key of
 * another schedule is refused with the list of this one's. */
static void take_schedule_keys(Cursor *c, int id) {
  const nnc_schedule_def *d = nnc_schedule_get(id);
  nnc_train_settings *t = &c->s->net->train;
  unsigned seen = 0;
  char words[128], key[48];
  const char *saved = c->key;
  for (int i; !c->failed && (i = at_schedule_key(c)) >= 0;) {
    const nnc_schedule_key *k = nnc_schedule_key_get(i);
    SrcLoc at = c->v->loc;
    if (!(d->keys & k->bit)) {
      fail(c, at, "'%s' is not a key of 'decay %s' (it takes %s)", k->word, d->name,
           schedule_key_words(d, words, sizeof words));
      return;
    }
    if (seen & k->bit) {
      fail(c, at, "'%s' is set more than once", k->word);
      return;
    }
    seen |= k->bit;
    c->v = c->v->next;
    snprintf(key, sizeof key, "%s", k->word);
    c->key = key;
    double v;
    if (take_limited(c, (enum nnc_limit_id)k->limit, &v)) nnc_schedule_key_set(t, k, v);
    c->key = saved;
  }
  if (!c->failed && (d->required & ~seen) & NNC_SKEY_EVERY) expected(c, "'every N' (epochs between steps)");
}

/* decay none | inverse K | exponential K | step K every N | cosine N [min_rate M]
 *     | cosine_restarts N [mult K] [min_rate M]
 *     | plateau [factor F] [patience N] [threshold T] [cooldown N] [min_rate M] */
static void set_decay(Cursor *c) {
  const char *names[NNC_DECAY_COUNT];
  nnc_train_settings *t = &c->s->net->train;
  int k = take_choice(c, names, NNC_DECAY_COUNT, schedule_words(names));
  if (k < 0) return;
  const nnc_schedule_def *d = nnc_schedule_get(k);
  t->decay = k;
  if (d->constant >= 0) {
    char key[48];
    const char *saved = c->key;
    double v;
    snprintf(key, sizeof key, "decay %s", d->name);
    c->key = key;
    int ok = take_limited(c, (enum nnc_limit_id)d->constant, &v);
    c->key = saved;
    if (!ok) return;
    if (k == NNC_DECAY_COSINE || k == NNC_DECAY_COSINE_RESTARTS)
      t->sched.period = (int32_t)v;
    else
      t->decay_rate = v;
  }
  take_schedule_keys(c, k);
}

/* warmup N [epochs | steps] [from F]: the rate rises linearly from F·rate to rate over N
 * epochs (before the schedule) or over the first N updates (the schedule's rate × it). */
static void set_warmup(Cursor *c) {
  static const char *const units[] = {"epochs", "steps"};
  nnc_schedule_settings *sc = &c->s->net->train.sched;
  if (!take_limited_int(c, NNC_LIMIT_WARMUP, &sc->warmup)) return;
  if (c->v && c->v->kind == VAL_IDENT && strcmp(c->v->text, "from") != 0) {
    int u = take_choice(c, units, 2, "epochs, steps or 'from F'");
    if (u < 0) return;
    sc->warmup_steps = u;
  }
  if (at_ident(c, "from")) {
    c->v = c->v->next;
    c->key = "from";
    take_limited(c, NNC_LIMIT_WARMUP_FROM, &sc->warmup_from);
    c->key = c->setting->key;
  }
}

/* clip norm C | value V | norm C value V: the batch's gradient clipped before the update. */
static void set_clip(Cursor *c) {
  static const char *const kinds[] = {"norm", "value"};
  nnc_schedule_settings *sc = &c->s->net->train.sched;
  int seen[2] = {0, 0};
  do {
    SrcLoc at = cursor_loc(c);
    int k = take_choice(c, kinds, 2, "norm C or value V");
    if (k < 0) return;
    if (seen[k]++) {
      fail(c, at, "'%s' is set more than once", kinds[k]);
      return;
    }
    c->key = k ? "clip value" : "clip norm";
    take_limited(c, k ? NNC_LIMIT_CLIP_VALUE : NNC_LIMIT_CLIP_NORM, k ? &sc->clip_value : &sc->clip_norm);
    c->key = c->setting->key;
  } while (c->v && !c->failed);
}

static void set_momentum(Cursor *c) { take_limited(c, NNC_LIMIT_MOMENTUM, &c->s->net->train.momentum); }
static void set_batch(Cursor *c) { take_limited_int(c, NNC_LIMIT_BATCH, &c->s->net->train.batch); }
static void set_epochs(Cursor *c) { take_limited_int(c, NNC_LIMIT_EPOCHS, &c->s->net->train.epochs); }
static void set_restarts(Cursor *c) { take_limited_int(c, NNC_LIMIT_RESTARTS, &c->s->net->train.restarts); }
static void set_patience(Cursor *c) { take_limited_int(c, NNC_LIMIT_PATIENCE, &c->s->net->train.patience); }

static void set_seed(Cursor *c) {
  if (!c->v || c->v->kind != VAL_INT || c->v->lo < 0) {
    expected(c, "a non-negative integer seed");
    return;
  }
  c->s->net->train.seed = (uint64_t)c->v->lo;
  c->v = c->v->next;
}

static int claim(Cursor *c, const char *key, SrcLoc loc);
static int setting_index(const char *key);

/* on | off, as 0 or 1. */
static void take_switch(Cursor *c, int32_t *out) {
  static const char *const states[] = {"off", "on"};
  int k = take_choice(c, states, 2, "on or off");
  if (k >= 0) *out = k;
}

/* The keys of an optimizer's setting beyond rate, decay and batch, by enum nnc_optim_key bit. */
static const struct {
  const char *key;
  unsigned bit;
} optim_keys[] = {
    {"momentum", NNC_OKEY_MOMENTUM}, {"nesterov", NNC_OKEY_NESTEROV}, {"betas", NNC_OKEY_BETAS},
    {"alpha", NNC_OKEY_ALPHA},       {"eps", NNC_OKEY_EPS},           {"weight_decay", NNC_OKEY_WEIGHT_DECAY},
    {"etas", NNC_OKEY_ETAS},         {"step_sizes", NNC_OKEY_STEP_SIZES},
    {"amsgrad", NNC_OKEY_AMSGRAD},   {"centered", NNC_OKEY_CENTERED}, {"dampening", NNC_OKEY_DAMPENING},
};
#define N_OPTIM_KEYS ((int)(sizeof optim_keys / sizeof optim_keys[0]))

/* Two numbers, each within its limit (etas, step_sizes). */
static int take_pair(Cursor *c, enum nnc_limit_id first, double *a, enum nnc_limit_id second, double *b,
                     const char *what) {
  if (!take_limited(c, first, a)) return 0;
  if (is_number(c->v)) return take_limited(c, second, b);
  expected(c, what);
  return 0;
}

/* step_sizes MIN MAX: the bounds of rprop's step sizes, MIN ≤ MAX. */
static void take_step_sizes(Cursor *c, SrcLoc at) {
  nnc_train_settings *t = &c->s->net->train;
  if (take_pair(c, NNC_LIMIT_STEP_MIN, &t->step_min, NNC_LIMIT_STEP_MAX, &t->step_max,
                "two numbers, the smallest and the largest step size") && t->step_min > t->step_max)
    fail(c, at, "'step_sizes' needs the smallest step size at most the largest, got %g and %g", t->step_min,
         t->step_max);
}

static void take_optim_key(Cursor *c, unsigned bit, SrcLoc at) {
  nnc_train_settings *t = &c->s->net->train;
  switch (bit) {
  case NNC_OKEY_MOMENTUM: set_momentum(c); break;
  case NNC_OKEY_NESTEROV:
    take_switch(c, &t->nesterov);
    if (t->nesterov) c->s->nesterov_loc = at;
    break;
  case NNC_OKEY_WEIGHT_DECAY: take_limited(c, NNC_LIMIT_WEIGHT_DECAY, &t->weight_decay); break;
  case NNC_OKEY_BETAS:
    if (!take_limited(c, NNC_LIMIT_BETA1, &t->beta1)) break;
    if (is_number(c->v))
      take_limited(c, NNC_LIMIT_BETA2, &t->beta2);
    else
      expected(c, "two numbers, beta1 and beta2");
    break;
  case NNC_OKEY_EPS: take_limited(c, NNC_LIMIT_EPS, &t->eps); break;
  case NNC_OKEY_AMSGRAD: take_switch(c, &t->amsgrad); break;
  case NNC_OKEY_ALPHA: take_limited(c, NNC_LIMIT_ALPHA, &t->alpha); break;
  case NNC_OKEY_CENTERED: take_switch(c, &t->centered); break;
  case NNC_OKEY_ETAS: take_pair(c, NNC_LIMIT_ETA_MINUS, &t->eta_minus, NNC_LIMIT_ETA_PLUS, &t->eta_plus,
                                "two numbers, the decrease and increase factors"); break;
  case NNC_OKEY_STEP_SIZES: take_step_sizes(c, at); break;
  case NNC_OKEY_DAMPENING:
    take_limited(c, NNC_LIMIT_DAMPENING, &t->dampening);
    if (t->dampening != 0) c->s->dampening_loc = at;
    break;
  default: break;
  }
}

/* The setting's keys, names[0..*n), in words: "rate, decay, momentum, batch, nesterov or
 * weight_decay" (rate, decay, momentum and batch first, as `sgd` has always listed them). */
static const char *optim_key_list(const nnc_optimizer_def *d, const char **names, int *n) {
  static char buf[256];
  *n = 0;
  names[(*n)++] = "rate";
  if (!d->full_batch) names[(*n)++] = "decay";
  if (d->keys & NNC_OKEY_MOMENTUM) names[(*n)++] = "momentum";
  if (!d->full_batch) names[(*n)++] = "batch";
  for (int i = 0; i < N_OPTIM_KEYS; i++)
    if ((d->keys & optim_keys[i].bit) && optim_keys[i].bit != NNC_OKEY_MOMENTUM) names[(*n)++] = optim_keys[i].key;
  buf[0] = 0;
  for (int i = 0; i < *n; i++) {
    strcat(buf, names[i]);
    strcat(buf, i + 2 < *n ? ", " : i + 2 == *n ? " or " : "");
  }
  return buf;
}

static int optim_key_bit(const char *key) {
  for (int i = 0; i < N_OPTIM_KEYS; i++)
    if (strcmp(optim_keys[i].key, key) == 0) return (int)optim_keys[i].bit;
  return 0;
}

/* Refuses a second optimizer setting (`sgd ...;` and `adam ...;`), with a note at the first. */
static int only_optimizer(Cursor *c) {
  for (int k = 0; k < NNC_OPT_COUNT; k++) {
    const char *other = nnc_optimizer_get(k)->name;
    SrcLoc first = c->first_set[setting_index(other)];
    if (strcmp(other, c->setting->key) != 0 && first.line > 0) {
      fail(c, c->setting->loc, "'%s' and '%s' both choose the optimizer; keep one", other, c->setting->key);
      diag_note(c->s->diag, first, "'%s' is here", other);
      return 0;
    }
  }
  return 1;
}

/* sgd|adam|adamw|rmsprop KEY VALUE...: the optimizer and any of its keys, each at most once;
 * rate, decay, momentum and batch as if set on their own lines. */
static void set_optimizer(Cursor *c) {
  int id = nnc_optimizer_find(c->setting->key);
  const nnc_optimizer_def *d = nnc_optimizer_get(id);
  const char *names[16];
  int n;
  const char *words = optim_key_list(d, names, &n);
  unsigned seen = 0;
  if (!only_optimizer(c)) return;
  nnc_optimizer_defaults(&c->s->net->train, id);
  if (id != NNC_OPT_SGD && !c->v) return; /* `adam;`: every default */
  do {
    SrcLoc at = cursor_loc(c);
    int k = take_choice(c, names, n, words);
    if (k < 0) return;
    int bit = optim_key_bit(names[k]);
    int own_line = !bit || bit == NNC_OKEY_MOMENTUM; /* rate, decay, momentum, batch */
    if (own_line && !claim(c, names[k], at)) return;
    if (!own_line && (seen & (unsigned)bit)) {
      fail(c, at, "'%s' is set more than once", names[k]);
      return;
    }
    seen |= (unsigned)bit;
    c->key = names[k];
    if (!strcmp(names[k], "rate")) set_rate(c);
    else if (!strcmp(names[k], "decay")) set_decay(c);
    else if (!strcmp(names[k], "batch")) set_batch(c);
    else take_optim_key(c, (unsigned)bit, at);
    c->key = c->setting->key;
  } while (c->v && !c->failed);
}

static void set_validation(Cursor *c) { take_limited(c, NNC_LIMIT_VALIDATION, &c->s->net->train.validation); }

/* early_stop patience N */
static void set_early_stop(Cursor *c) {
  if (at_ident(c, "patience")) c->v = c->v->next;
  set_patience(c);
}

/* Whether an output path names a directory: it ends in '/', '.' or '..', or it is absolute
 * and a directory now (a relative one is relative to where training runs). */
static int names_directory(const char *path) {
  const char *slash = strrchr(path, '/'), *last = slash ? slash + 1 : path;
  struct stat st;
  return *last == 0 || strcmp(last, ".") == 0 || strcmp(last, "..") == 0 ||
         (path[0] == '/' && stat(path, &st) == 0 && S_ISDIR(st.st_mode));
}

/* checkpoint "file" [every N]: the file training writes, so a file name. */
static void set_checkpoint(Cursor *c) {
  nnc_train_settings *t = &c->s->net->train;
  SrcLoc at = cursor_loc(c);
  if (!take_string(c, "a file name", &t->checkpoint)) return;
  if (!t->checkpoint[0])
    fail(c, at, "'checkpoint' expects a file name, got an empty string");
  else if (names_directory(t->checkpoint))
    fail(c, at, "'checkpoint' expects a file name, got the directory \"%s\"", t->checkpoint);
  else if (at_ident(c, "every"))
    take_every(c, NNC_LIMIT_CHECKPOINT_EVERY, &t->checkpoint_every);
}

/* precision f32 | f64 | bf16: bf16 is f32 reals whose batch products take bf16 operands. */
static void set_precision(Cursor *c) {
  static const char *const kinds[] = {"f32", "f64", "bf16"};
  SrcLoc at = cursor_loc(c);
  int k = take_choice(c, kinds, 3, "f32, f64 or bf16");
  if (k < 0) return;
  c->s->net->real_bytes = k == 1 ? 8 : 4;
  c->s->net->bf16_products = k == 2;
  c->s->net->bf16_loc = at;
}

/* Every value uniform(a, b) or normal(mean, std) draws must be a real of the model's
 * precision. The draw is computed in double: uniform as a + u·(b − a), so b − a must be finite
 * too; normal as mean + std·z with |z| < 9 (Box–Muller from 53-bit uniforms). */
static void check_init_range(Cursor *c, const AstValue *call, int kind) {
  double a = call->args->num, b = call->args->next->num, max = real_max(c->s);
  char ta[32], tb[32];
  const char *tm = real_max_text(c->s);
  nnc_number_text(a, ta, sizeof ta);
  nnc_number_text(b, tb, sizeof tb);
  if (kind == INIT_UNIFORM && (!(fabs(a) <= max) || !(fabs(b) <= max)))
    fail(c, fabs(a) <= max ? call->args->next->loc : call->args->loc, "uniform(%s, %s) is out of range for %s: "
         "both ends must be at most %s in magnitude", ta, tb, real_name(c->s), tm);
  else if (kind == INIT_UNIFORM && !isfinite(b - a))
    fail(c, call->loc, "uniform(%s, %s) is out of range: its width b - a overflows a double", ta, tb);
  else if (kind == INIT_NORMAL && !(fabs(a) + 9 * b <= max))
    fail(c, call->loc, "normal(%s, %s) is out of range for %s: its draws reach |mean| + 9*std, which must "
         "be at most %s", ta, tb, real_name(c->s), tm);
}

/* The init schemes by IrInit, and their words for messages: every weight (`init`), or
 * bias weights (`bias_init`: no xavier or he, whose bias weights are 0, and a number). */
static const char *const init_kinds[] = {"uniform", "normal", "xavier", "he", "zero", "torch"};
#define N_INIT_KINDS 6
#define INIT_WORDS "uniform(a, b), normal(mean, std), xavier, he, zero or torch"
#define BIAS_INIT_WORDS "a number, uniform(a, b), normal(mean, std), zero or torch"

/* One init scheme at the cursor into spec: `init` takes a scheme, `bias_init` (bias 1) also a
 * number, the constant every bias weight starts at. */
static void take_init_spec(Cursor *c, int bias, IrInitSpec *spec) {
  const AstValue *v = c->v;
  const char *words = bias ? BIAS_INIT_WORDS : INIT_WORDS;
  if (bias && is_number(v)) {
    if (sema_check_real(c->s, v->loc, "bias_init", v->num)) *spec = (IrInitSpec){INIT_CONSTANT, v->num, 0};
    else c->failed = 1;
    c->v = v->next;
    return;
  }
  if (!v || (v->kind != VAL_IDENT && v->kind != VAL_CALL)) {
    expected(c, words);
    return;
  }
  int k = -1;
  for (int i = 0; i < N_INIT_KINDS; i++)
    if (strcmp(v->text, init_kinds[i]) == 0) k = i;
  if (bias && (k == INIT_XAVIER || k == INIT_HE)) {
    fail(c, v->loc, "'bias_init' expects %s, got '%s': %s starts bias weights at 0 (write 'bias_init zero')", words,
         v->text, v->text);
    return;
  }
  int want_args = k == INIT_UNIFORM || k == INIT_NORMAL ? 2 : 0;
  int nargs = 0;
  for (const AstValue *a = v->kind == VAL_CALL ? v->args : NULL; a; a = a->next) nargs += 1;
  if (k < 0) {
    expected_one_of(c, init_kinds, N_INIT_KINDS, words);
    c->v = v->next;
    return;
  }
  if (nargs != want_args || (want_args && v->kind != VAL_CALL)) {
    expected(c, words);
    c->v = v->next;
    return;
  }
  c->v = v->next;
  *spec = (IrInitSpec){k, 0, 0};
  if (!want_args) return;
  if (!is_number(v->args) || !is_number(v->args->next)) {
    fail(c, v->loc, "%s takes two numbers", v->text);
    return;
  }
  spec->a = v->args->num;
  spec->b = v->args->next->num;
  if (k == INIT_UNIFORM && !(spec->a < spec->b))
    fail(c, v->loc, "uniform(a, b) needs a < b");
  else if (k == INIT_NORMAL && !(spec->b > 0))
    fail(c, v->loc, "normal(mean, std) needs std > 0");
  else
    check_init_range(c, v, k);
}

/* init xavier | he | zero | torch | uniform(a, b) | normal(mean, std)  [seed S] */
static void set_init(Cursor *c) {
  IrNetwork *n = c->s->net;
  IrInitSpec spec = {-1, 0, 0};
  take_init_spec(c, 0, &spec);
  if (spec.kind < 0 || c->failed) return;
  n->init_kind = spec.kind;
  n->init_a = spec.a;
  n->init_b = spec.b;
  if (at_ident(c, "seed")) {
    if (!claim(c, "seed", c->v->loc)) return;
    c->v = c->v->next;
    set_seed(c);
  }
}

/* bias_init B | zero | torch | uniform(a, b) | normal(mean, std): every bias weight's start. */
static void set_bias_init(Cursor *c) {
  IrInitSpec spec = {-1, 0, 0};
  take_init_spec(c, 1, &spec);
  if (spec.kind >= 0 && !c->failed) c->s->net->bias_init = spec;
}

/* dropout P: the share of the group's outputs zeroed in each training sample, in [0, 1);
 * a hidden group's only (the output is what the loss reads). */
static void take_dropout(Cursor *c, IrGroup *g) {
  double p = 0;
  char buf[32];
  SrcLoc at = cursor_loc(c);
  if (!take_number(c, "a number in [0, 1)", &p)) return;
  if (!(p >= 0 && p < 1))
    fail(c, at, "'dropout' expects a number in [0, 1), got %s", nnc_number_text(p, buf, sizeof buf));
  else if (g->role == ROLE_OUTPUT)
    fail(c, at, "'dropout' is not an option of the output '%s': only hidden layers and neurons drop units",
         g->name);
  else
    g->dropout = p;
}

/* The options after a group's activation: `init SCHEME`, `bias_init B` and `dropout P`, each
 * at most once; init and bias_init as the train block's (no seed: the network has one). */
void settings_check_group_options(Sema *s, IrGroup *g, const AstSetting *options) {
  static const char *const keys[] = {"init", "bias_init", "dropout"};
  int seen[3] = {0, 0, 0};
  for (const AstSetting *o = options; o; o = o->next) {
    int k = -1;
    for (int i = 0; i < 3; i++)
      if (strcmp(o->key, keys[i]) == 0) k = i;
    const char *hint = k < 0 ? sema_closest(o->key, keys, 3) : NULL;
    if (k < 0 && hint)
      diag_error(s->diag, o->loc, "unknown option '%s' of '%s'; did you mean '%s'?", o->key, g->name, hint);
    else if (k < 0)
      diag_error(s->diag, o->loc, "unknown option '%s' of '%s' (a layer, neuron or output takes init, bias_init "
                 "and dropout)", o->key, g->name);
    else if (seen[k]++)
      diag_error(s->diag, o->loc, "'%s' is given more than once for '%s'", o->key, g->name);
    if (k < 0 || seen[k] > 1) continue;
    Cursor c = {s, o, o->key, o->values, 0, NULL};
    if (k == 2) take_dropout(&c, g);
    else take_init_spec(&c, k, k ? &g->bias_init : &g->init);
  }
}

/* --- dispatch ----------------------------------------------------------------------- */

typedef struct SettingDef {
  const char *key;
  void (*parse)(Cursor *);
} SettingDef;

static const SettingDef setting_defs[] = {
    {"data", set_data},         {"test", set_test},         {"loss", set_loss},
    {"sgd", set_optimizer},     {"adam", set_optimizer},    {"adamw", set_optimizer},
    {"rmsprop", set_optimizer}, {"rprop", set_optimizer},   {"irprop", set_optimizer},
    {"rate", set_rate},         {"decay", set_decay},
    {"momentum", set_momentum}, {"batch", set_batch},       {"epochs", set_epochs},
    {"restarts", set_restarts}, {"init", set_init},         {"seed", set_seed},
    {"validation", set_validation}, {"early_stop", set_early_stop}, {"patience", set_patience},
    {"checkpoint", set_checkpoint}, {"precision", set_precision}, {"metric", set_metric},
    {"shuffle", set_shuffle},   {"warmup", set_warmup},     {"clip", set_clip},
    {"bias_init", set_bias_init},
};
#define N_SETTINGS ((int)(sizeof setting_defs / sizeof setting_defs[0]))

/* The precision the train block asks for (f32 unless a valid 'precision f64'), known before
 * the other settings are read: literal values are checked against it wherever it is written. */
static int declared_real_bytes(const AstNetwork *ast) {
  for (const AstSetting *st = ast->settings; st; st = st->next)
    if (strcmp(st->key, "precision") == 0 && st->values && st->values->kind == VAL_IDENT &&
        strcmp(st->values->text, "f64") == 0)
      return 8;
  return 4;
}

static void set_defaults(IrNetwork *n) {
  nnc_train_settings *t = &n->train;
  memset(t, 0, sizeof *t);
  t->data.header = t->test.header = -1;
  t->data.scale_factor = t->test.scale_factor = 1;
  t->loss = NNC_LOSS_SQUARED;
  t->batch = 1;
  t->epochs = 10;
  t->restarts = 1;
  t->seed = 1;
  t->checkpoint_every = 0;
  nnc_optimizer_defaults(t, NNC_OPT_SGD);
  t->rate = nnc_optimizer_get(NNC_OPT_SGD)->rate;
  nnc_schedule_defaults(&t->sched);
  n->real_bytes = 4;
  n->init_kind = INIT_XAVIER;
  n->bias_init = (IrInitSpec){-1, 0, 0};
}

static void report_unknown_setting(Sema *s, const AstSetting *st) {
  const char *keys[N_SETTINGS];
  for (int i = 0; i < N_SETTINGS; i++) keys[i] = setting_defs[i].key;
  const char *hint = sema_closest(st->key, keys, N_SETTINGS);
  if (hint)
    diag_error(s->diag, st->loc, "unknown training setting '%s'; did you mean '%s'?", st->key, hint);
  else
    diag_error(s->diag, st->loc, "unknown training setting '%s'", st->key);
}

static int setting_index(const char *key) {
  int k = 0;
  while (k < N_SETTINGS && strcmp(setting_defs[k].key, key) != 0) k++;
  return k;
}

/* Records that the value named key is set at loc; a second setting of it, under any of its
 * spellings (`rate` and `sgd rate`, `seed` and `init ... seed`, `patience` and
 * `early_stop`), is an error with a note at the first. Returns 0 after reporting. */
static int claim(Cursor *c, const char *key, SrcLoc loc) {
  const char *name = value_name(key);
  SrcLoc *first = &c->first_set[setting_index(name)];
  if (first->line > 0) {
    fail(c, loc, "'%s' is set more than once", name);
    diag_note(c->s->diag, *first, "first set here");
    return 0;
  }
  *first = loc;
  return 1;
}

static void check_setting(Sema *s, const AstSetting *st, SrcLoc *first_set) {
  int k = setting_index(st->key);
  if (k == N_SETTINGS) {
    report_unknown_setting(s, st);
    return;
  }
  Cursor c = {s, st, st->key, st->values, 0, first_set};
  if (!claim(&c, st->key, st->loc)) return;
  setting_defs[k].parse(&c);
  char buf[64];
  if (c.v && !c.failed)
    diag_error(s->diag, c.v->loc, "unexpected %s%s after the '%s' setting", value_noun(c.v),
               value_text(c.v, buf, sizeof buf), st->key);
}

/* Early stopping watches the validation loss: without validation data it would never act. */
static void check_early_stop(Sema *s, const SrcLoc *first_set) {
  const nnc_train_settings *t = &s->net->train;
  SrcLoc at = first_set[setting_index("patience")];
  if (t->patience > 0 && t->validation == 0)
    diag_error(s->diag, at, "early stopping needs validation data: add 'validation V' (e.g. validation 0.1), "
               "or drop the patience");
}

/* rprop and irprop update once per epoch from the whole training set's gradient: `batch` and
 * `decay` written on their own lines could not act and are refused; the batch is every sample. */
static void check_full_batch(Sema *s, const nnc_optimizer_def *d, const SrcLoc *first_set) {
  nnc_train_settings *t = &s->net->train;
  SrcLoc b = first_set[setting_index("batch")], k = first_set[setting_index("decay")];
  SrcLoc w = first_set[setting_index("warmup")];
  if (!d->full_batch) return;
  if (b.line > 0)
    diag_error(s->diag, b, "'batch' is not a setting of %s: it updates once per epoch from the whole training "
               "set's gradient", d->name);
  if (k.line > 0)
    diag_error(s->diag, k, "'decay' is not a setting of %s: its step sizes adapt by themselves ('rate' is the "
               "first step size)", d->name);
  if (w.line > 0)
    diag_error(s->diag, w, "'warmup' is not a setting of %s: its step sizes adapt by themselves ('rate' is the "
               "first step size)", d->name);
  t->batch = NNC_OPT_FULL_BATCH;
  t->decay = NNC_DECAY_NONE;
}

/* What an optimizer cannot take, once every setting is read: momentum set on its own line for
 * adam or adamw, `nesterov on` without momentum (as PyTorch refuses it). Without a rate, the
 * optimizer's default rate. */
static void check_optimizer(Sema *s, const SrcLoc *first_set) {
  nnc_train_settings *t = &s->net->train;
  const nnc_optimizer_def *d = nnc_optimizer_get(t->optimizer);
  SrcLoc m = first_set[setting_index("momentum")];
  if (m.line > 0 && !(d->keys & NNC_OKEY_MOMENTUM))
    diag_error(s->diag, m, "'momentum' is not a setting of %s%s", d->name,
               d->keys & NNC_OKEY_BETAS ? " (its moments are set by 'betas')" : "");
  if (s->nesterov_loc.line > 0 && !(t->momentum > 0))
    diag_error(s->diag, s->nesterov_loc, "'nesterov on' needs a momentum above 0 (e.g. sgd momentum 0.9 nesterov on)");
  if (s->nesterov_loc.line > 0 && s->dampening_loc.line > 0)
    diag_error(s->diag, s->dampening_loc, "'dampening' must be 0 with 'nesterov on' (as PyTorch's SGD requires)");
  /* centered RMSProp with alpha 0: s − a² = g² − g² = 0, and every step is rate·g/eps */
  if ((d->keys & NNC_OKEY_CENTERED) && t->centered && t->alpha == 0)
    diag_error(s->diag, first_set[setting_index(d->name)], "'centered on' needs an alpha above 0: with alpha 0 the "
               "gradient's variance is 0 and every step is rate·g/eps (e.g. alpha 0.99)");
  if (first_set[setting_index("rate")].line == 0) t->rate = d->rate;
  check_full_batch(s, d, first_set);
}

/* A schedule's lowest rate is at most the rate: `decay cosine` and `cosine_restarts` anneal
 * from the rate to min_rate, so one above it raised the rate (to 100 from 0.01, and training
 * diverged with advice to lower the rate); `decay plateau` would never lower it. */
static void check_min_rate(Sema *s, const SrcLoc *first_set) {
  const nnc_train_settings *t = &s->net->train;
  char m[32], r[32];
  if (t->decay != NNC_DECAY_COSINE && t->decay != NNC_DECAY_COSINE_RESTARTS && t->decay != NNC_DECAY_PLATEAU) return;
  if (!(t->sched.min_rate > t->rate)) return;
  diag_error(s->diag, first_set[setting_index("decay")], "'min_rate' %s is above the rate %s: 'decay %s' would %s; "
             "give a min_rate at most the rate", nnc_number_text(t->sched.min_rate, m, sizeof m),
             nnc_number_text(t->rate, r, sizeof r), nnc_schedule_get(t->decay)->name,
             t->decay == NNC_DECAY_PLATEAU ? "never lower the rate" : "raise the rate to it");
}

void settings_check(Sema *s, const AstNetwork *ast) {
  set_defaults(s->net);
  s->net->train_given = ast->has_train;
  s->net->real_bytes = declared_real_bytes(ast);
  SrcLoc first_set[N_SETTINGS] = {{0, 0}};
  for (const AstSetting *st = ast->settings; st; st = st->next) check_setting(s, st, first_set);
  check_early_stop(s, first_set);
  check_optimizer(s, first_set);
  check_min_rate(s, first_set);
}
