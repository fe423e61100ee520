/* runtime/commands.c — what each subcommand of a generated executable does.
 *
 * Consumes: the parsed command line (nnrt_cli: the model's settings with flags applied).
 * Produces: train (output paths checked → data → scaler → trainer → weights + summary), eval
 * (by the metric: accuracy, per-class precision/recall/F1 and a confusion matrix; per-label
 * scores; or MSE, RMSE, MAE and R²), predict (each row answered as it comes: its outputs as CSV,
 * its class by its label, or the class and each class's probability),
 * info, weights export/import, gradcheck. Results go to stdout, progress to stderr; errors are returned, not printed.
 */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "mpi_api.h"
#include "nnc/limits.h"
#include "nnc/optim.h"
#include "nnc/schedule.h"
#include "trainer.h"

/* ---- data sources with the flags applied ---- */

/* Whether --data or --test named other files than the train block: --delimiter is theirs. */
static int files_replaced(const nnrt_cli *c) {
  return c->data.path != c->m->train->data.path || c->test.path != c->m->train->test.path;
}

static void finish_source(nnrt_cli *c, nnc_data_source *s, const nnc_data_source *orig,
                          const char *labels) {
  if (s->path != orig->path) { /* --data/--test replaced the file: detect its form */
    s->format = NNC_FORMAT_AUTO;
    s->header = -1;
    s->labels = labels;
    s->delimiter = 0;
  } else if (labels) {
    s->labels = labels;
  }
  if (c->delimiter_given && (s->path != orig->path || !files_replaced(c)))
    s->delimiter = c->delimiter;
  if (c->inputs_given) {
    s->input_cols = c->in_cols;
    s->n_input_cols = c->n_in_cols;
  }
  if (c->targets_given) {
    s->target_cols = c->tg_cols;
    s->n_target_cols = c->n_tg_cols;
  }
  if (c->onehot_given)
    s->onehot = 1;
}

static void report_column_problem(void *first, const char *msg) {
  if (!*(char *)first)
    snprintf(first, 160, "%s", msg);
}

/* The flags' columns obey the train block's rules (nnc/limits.h); the first broken one is a
 * usage error. */
static int check_columns(const nnc_data_source *s, nnrt_error *err) {
  char first[160] = "";
  if (nnc_source_check_columns(s, report_column_problem, first))
    return nnrt__fail(err, NNRT_EUSAGE, "--inputs/--targets/--onehot: %s", first);
  return NNRT_OK;
}

static const char *plural(int32_t n) { return n == 1 ? "" : "s"; }

/* --inputs and --targets select as many columns as the network has inputs and outputs, as
 * the train block's columns must (a class index with --onehot is one column). */
static int check_widths(const nnrt_cli *c, nnrt_error *err) {
  const nnc_model *m = c->m;
  if (c->inputs_given && c->n_in_cols != m->n_inputs)
    return nnrt__fail(err, NNRT_EUSAGE, "--inputs selects %d input column%s but the network has %d input%s",
                      (int)c->n_in_cols, plural(c->n_in_cols), (int)m->n_inputs, plural(m->n_inputs));
  if (c->targets_given && !c->onehot_given && c->n_tg_cols != m->n_outputs)
    return nnrt__fail(err, NNRT_EUSAGE, "--targets selects %d target column%s but the network has %d output%s "
                      "(add --onehot if the column is a class index)", (int)c->n_tg_cols, plural(c->n_tg_cols),
                      (int)m->n_outputs, plural(m->n_outputs));
  if (c->test_labels && !c->test.path)
    return nnrt__fail(err, NNRT_EUSAGE, "--test-labels needs test data: give --test FILE");
  if (c->cmd != CMD_PREDICT && (c->inputs_given || c->targets_given || c->onehot_given) &&
      (c->data.format == NNC_FORMAT_IDX || c->labels))
    return nnrt__fail(err, NNRT_EUSAGE, "--inputs, --targets and --onehot select CSV columns; the data are IDX "
                      "images (their pixels the inputs, their labels the one-hot targets)");
  return NNRT_OK;
}

/* Standard input ('-') is read once: by at most one of the files a command reads, each
 * named by its flag (NULL paths skipped). */
static int check_stdin_once(const char *const flags[], const char *const paths[], int n, nnrt_error *err) {
  int first = -1;
  for (int i = 0; i < n; i++) {
    if (!paths[i] || strcmp(paths[i], "-"))
      continue;
    if (first >= 0)
      return nnrt__fail(err, NNRT_EUSAGE, "%s and %s both read standard input ('-'); give a file for one of them",
                        flags[first], flags[i]);
    first = i;
  }
  return NNRT_OK;
}

static int finish_sources(nnrt_cli *c, nnrt_error *err) {
  finish_source(c, &c->data, &c->m->train->data, c->labels);
  finish_source(c, &c->test, &c->m->train->test, c->test_labels);
  int rc = check_widths(c, err);
  if (!rc)
    rc = check_columns(&c->data, err);
  return rc ? rc : check_columns(&c->test, err);
}

/* Targets the network cannot mean: a single-output classifier's output is a probability, and
 * so is a label scored as multilabel (yes, no or between): their targets must lie in [0, 1];
 * cross-entropy's targets are probabilities (or weights), never negative: with one below 0 the
 * loss has no minimum and training would chase it, silently. */
static int check_targets(nnrt_cli *c, const nnc_data_source *src, const nnrt_dataset *d, nnrt_error *err) {
  int single = c->m->classifier && c->m->n_outputs == 1, multilabel = c->o.s.metric == NNC_METRIC_MULTILABEL;
  int xent = c->m->train->loss == NNC_LOSS_CROSS_ENTROPY;
  if (!d->t || src->targets_inputs || !(single || multilabel || xent))
    return NNRT_OK;
  for (int64_t k = 0; k < d->n; k++)
    for (int32_t o = 0; o < d->n_outputs; o++) {
      double t = nnrt_dataset_target(d, k, o);
      if (single && !(t >= 0 && t <= 1))
        return nnrt__fail(err, NNRT_EDATA, "%s: sample %lld: target %g is outside [0, 1], but the "
                          "network's single output is a class probability", src->path, (long long)k + 1, t);
      if (multilabel && !(t >= 0 && t <= 1))
        return nnrt__fail(err, NNRT_EDATA, "%s: sample %lld, target %d: %g is outside [0, 1], but the metric is "
                          "multilabel: each target is a label, 1 (yes) or 0 (no), or its probability", src->path,
                          (long long)k + 1, (int)o + 1, t);
      if (xent && !(t >= 0))
        return nnrt__fail(err, NNRT_EDATA, "%s: sample %lld, target %d: %g is negative, but the loss is "
                          "cross_entropy, whose targets are probabilities", src->path, (long long)k + 1,
                          (int)o + 1, t);
    }
  return NNRT_OK;
}

/* ---- columns named in another order ----
 * Columns are chosen by index. A file whose header names the training data's columns in
 * another order (y,x2,x1 for x1,x2,y) would be read with its columns swapped, silently. */

/* Whether column k is one the source reads (an input or a target). */
static int reads_column(const nnc_data_source *s, int32_t k) {
  for (int32_t i = 0; i < s->n_target_cols; i++)
    if (s->target_cols[i] == k)
      return 1;
  if (!s->n_input_cols)
    return 1; /* every column not a target */
  for (int32_t i = 0; i < s->n_input_cols; i++)
    if (s->input_cols[i] == k)
      return 1;
  return 0;
}

static int32_t find_name(const nnrt_csv_names *h, const char *name) {
  for (int32_t j = 0; j < h->n; j++)
    if (!strcmp(h->names[j], name))
      return j;
  return -1;
}

/* src's header against the header of ref (the data the network's columns were chosen for):
 * a column read whose name is another column's there is refused. Nothing is compared when
 * either has no header, or the flags chose the columns. */
static int check_column_order(const nnrt_cli *c, const nnc_data_source *ref, const nnc_data_source *src,
                              nnrt_error *err) {
  nnrt_csv_names a, b;
  int rc = NNRT_OK;
  if (c->inputs_given || c->targets_given || !ref->path || !src->path || nnrt__same_file(ref->path, src->path))
    return NNRT_OK;
  nnrt__csv_header_names(ref, &a);
  nnrt__csv_header_names(src, &b);
  for (int32_t k = 0; k < a.n && k < b.n && !rc; k++) {
    int32_t j = find_name(&b, a.names[k]);
    if (reads_column(src, k) && strcmp(a.names[k], b.names[k]) && j >= 0)
      rc = nnrt__fail(err, NNRT_EDATA, "%s: column %d is '%s', but in %s it is '%s', which is column %d here: the "
                      "columns are in another order; put them in that order, or choose them with --inputs and "
                      "--targets", src->path, (int)k, b.names[k], ref->path, a.names[k], (int)j);
  }
  nnrt__csv_names_free(&a);
  nnrt__csv_names_free(&b);
  return rc;
}

/* Class labels are read through map; without one, training data (flags without
 * NNRT_LOAD_ZERO_BASED) may build one, other data must have the labels 0..K−1. */
static int load(nnrt_cli *c, const nnc_data_source *src, int flags, const nnrt_labels *map, nnrt_dataset **d,
                nnrt_error *err) {
  int rc = nnrt_dataset_load_mapped(src, c->m->n_inputs, c->m->n_outputs, c->m->real_bytes, flags, map, d, err);
  if (!rc && (rc = check_targets(c, src, *d, err)) != NNRT_OK) {
    nnrt_dataset_destroy(*d);
    *d = NULL;
  }
  return rc;
}

static const char *default_weights(nnrt_cli *c, char *buf, size_t size) {
  snprintf(buf, size, "%s.weights", c->m->name);
  return buf;
}

/* The declared factor as a scaler (known without data). */
static int factor_scaler(const nnc_model *m, nnrt_scaler **sc, nnrt_error *err) {
  nnrt_dataset empty = {0, m->n_inputs, m->n_outputs, m->real_bytes, 0, NULL, NULL, NULL};
  return nnrt_scaler_fit(&empty, NNC_SCALE_FACTOR, m->train->data.scale_factor, sc, err);
}

/* The scaling of weights trained earlier: stored in the file, or refitted on the training data.
 * None for a model that applies its compiled-in scaling itself. */
static int obtain_scaler(nnrt_cli *c, nnrt_scaler **sc, nnrt_error *err) {
  nnrt_dataset *train = NULL;
  const nnc_data_source *src = &c->m->train->data;
  int rc;
  if (*sc || src->scale == NNC_SCALE_NONE || c->m->scale_mode != NNC_SCALE_NONE)
    return NNRT_OK;
  if (src->scale == NNC_SCALE_FACTOR)
    return factor_scaler(c->m, sc, err);
  if (!src->path)
    return nnrt__fail(err, NNRT_EDATA, "the weights file has no input scaling statistics and the "
                      "network names no training data to compute them from");
  nnc_data_source s = *src;
  finish_source(c, &s, src, c->labels);
  if ((rc = load(c, &s, 0, NULL, &train, err)) == NNRT_OK)
    rc = nnrt_scaler_fit(train, src->scale, src->scale_factor, sc, err);
  nnrt_dataset_destroy(train);
  return rc;
}

/* Scales d's inputs by sc, refusing a value scaled beyond the precision (d's samples counted
 * from first + 1 in the message); a model with compiled-in scaling scales them itself, and they
 * are only checked against it. */
static int scale_inputs(const nnrt_cli *c, const nnrt_scaler *sc, nnrt_dataset *d, const char *path, int64_t first,
                        nnrt_error *err) {
  const nnc_model *m = c->m;
  nnrt_scaler compiled = {m->scale_mode, m->n_inputs, (double *)m->scale_offset, (double *)m->scale_mul};
  if (!sc && m->scale_mode != NNC_SCALE_NONE)
    return nnrt__scaler_check(&compiled, d, path, first, err);
  return nnrt__scaler_apply_from(sc, d, path, first, err);
}

static const char *const scale_names[] = {"none", "factor", "z-score", "min-max"};

/* The target scaling of the weights (NULL: none) is the one the network declares
 * (`target_scale`), and weights that need statistics have them. */
static int check_target_scaling(const nnrt_cli *c, const nnrt_scaler *ts, const char *path, nnrt_error *err) {
  int want = c->m->train->data.target_scale, got = ts ? ts->mode : NNC_SCALE_NONE;
  if (want == got)
    return NNRT_OK;
  if (c->initial)
    return nnrt__fail(err, NNRT_EUSAGE, "network '%s' scales its targets (target_scale) by statistics of its "
                      "training data: --initial weights have none; train first", c->m->name);
  if (!ts)
    return nnrt__fail(err, NNRT_EDATA, "%s: no target scaling, but network '%s' scales its targets by %s "
                      "fitted on its training data: the weights need the statistics they were trained with",
                      path, c->m->name, scale_names[want]);
  return nnrt__fail(err, NNRT_EDATA, "%s: the weights were trained on targets scaled by %s, but network '%s' "
                    "declares %s (the `target_scale` of its data source)", path, scale_names[got], c->m->name,
                    want ? scale_names[want] : "no target scaling");
}

/* The parameters and what the weights file carries beside them (x: input scaling, label
 * map, target scaling), each checked against the network. */
/* An autoencoder (`targets inputs`) reproduces the inputs it sees: scaled as they are, once
 * sc has scaled them, or (sc NULL) as a model with compiled-in scaling scales them itself. */
static void autoencoder_targets(const nnrt_cli *c, const nnc_data_source *src, const nnrt_scaler *sc,
                                nnrt_dataset *d) {
  const nnc_model *m = c->m;
  nnrt_scaler compiled = {m->scale_mode, m->n_inputs, (double *)m->scale_offset, (double *)m->scale_mul};
  if (src->targets_inputs && d)
    nnrt__targets_from_inputs(!sc && m->scale_mode != NNC_SCALE_NONE ? &compiled : NULL, d);
}

static int load_weights(nnrt_cli *c, void **params, nnrt_weights_extras *x, nnrt_error *err) {
  char buf[512];
  const char *path = c->weights ? c->weights : default_weights(c, buf, sizeof buf);
  memset(x, 0, sizeof *x);
  *params = nnrt__alloc_array_aligned(c->m->n_params, (size_t)c->m->real_bytes);
  if (!*params)
    return nnrt__oom(err);
  if (c->initial && c->weights)
    return nnrt__fail(err, NNRT_EUSAGE, "--initial and --weights exclude each other");
  if (!c->m->train_step && c->weights) /* forward and evaluate would ignore them */
    return nnrt__fail(err, NNRT_EUSAGE, "this model was compiled with its trained weights (nnc --weights): "
                      "it takes no --weights");
  if (!c->m->train_step && c->initial) /* they would be the compiled weights, not the initial ones */
    return nnrt__fail(err, NNRT_EUSAGE, "this model was compiled with its trained weights (nnc --weights): "
                      "it has no --initial weights");
  if (c->initial || !c->m->train_step) { /* or compiled with trained weights */
    c->m->init(*params, c->o.s.seed);
    int rc = obtain_scaler(c, &x->scaler, err);
    return rc || !c->m->train_step ? rc : check_target_scaling(c, NULL, path, err);
  }
  int rc = nnrt_weights_load_ex(path, c->m, *params, x, err);
  if (rc == NNRT_EDATA && !c->weights && access(path, F_OK) != 0)
    rc = nnrt__fail(err, NNRT_EUSAGE, "no weights: %s does not exist; train first or give --weights FILE", path);
  if (!rc)
    rc = nnrt_scaler_matches(x->scaler, c->m, path, err);
  if (!rc)
    rc = check_target_scaling(c, x->targets, path, err);
  return rc;
}

/* ---- summaries ---- */

static void print_metrics(FILE *f, const char *label, const nnrt_metrics *mt) {
  fprintf(f, "%-6s", label);
  if (mt->metric == NNC_METRIC_CLASSIFICATION)
    fprintf(f, " accuracy %.2f%% (%lld/%lld)", 100 * mt->accuracy,
            (long long)llround(mt->accuracy * (double)mt->n), (long long)mt->n);
  else if (mt->metric == NNC_METRIC_MULTILABEL)
    fprintf(f, " exact match %.2f%% (%lld/%lld)  label accuracy %.2f%%", 100 * mt->accuracy,
            (long long)llround(mt->accuracy * (double)mt->n), (long long)mt->n, 100 * mt->hamming);
  else
    fprintf(f, " mse %.6g  rmse %.6g  mae %.6g  r2 %.6g", mt->mse, mt->rmse, mt->mae, mt->r2);
  if (!isnan(mt->loss))
    fprintf(f, "  loss %.6g", mt->loss);
  fputc('\n', f);
}

static int digits(int64_t v) {
  int d = 1;
  while (v >= 10)
    v /= 10, d++;
  return d;
}

/* The name of class i: its label from the map, else its index. */
static const char *class_name(const nnrt_labels *labels, int32_t i, char *buf, size_t size) {
  if (labels && i < labels->n)
    snprintf(buf, size, "%.12s", labels->names[i]);
  else
    snprintf(buf, size, "%d", (int)i);
  return buf;
}

static int name_width(const nnrt_metrics *mt, const nnrt_labels *labels) {
  char buf[16];
  int w = 5;
  for (int32_t i = 0; i < mt->n_classes; i++) {
    int k = (int)strlen(class_name(labels, i, buf, sizeof buf));
    w = k > w ? k : w;
  }
  return w;
}

static void print_confusion(FILE *f, const nnrt_metrics *mt, const nnrt_labels *labels) {
  char buf[16];
  int64_t most = mt->n_classes;
  for (int64_t i = 0; i < (int64_t)mt->n_classes * mt->n_classes; i++)
    most = mt->confusion[i] > most ? mt->confusion[i] : most;
  int w = digits(most) + 2, nw = name_width(mt, labels);
  for (int32_t j = 0; j < mt->n_classes; j++) {
    int k = (int)strlen(class_name(labels, j, buf, sizeof buf)) + 1;
    w = k > w ? k : w;
  }
  fprintf(f, "confusion matrix (rows: true class, columns: predicted class)\n%-*s", nw, "");
  for (int32_t j = 0; j < mt->n_classes; j++)
    fprintf(f, "%*s", w, class_name(labels, j, buf, sizeof buf));
  fputc('\n', f);
  for (int32_t i = 0; i < mt->n_classes; i++) {
    fprintf(f, "%-*s", nw, class_name(labels, i, buf, sizeof buf));
    for (int32_t j = 0; j < mt->n_classes; j++)
      fprintf(f, "%*lld", w, (long long)mt->confusion[(int64_t)i * mt->n_classes + j]);
    fputc('\n', f);
  }
}

/* a / (a + b), NaN when both are 0 (no prediction of the class, or no sample of it). */
static double ratio(int64_t a, int64_t b) {
  return a + b > 0 ? (double)a / (double)(a + b) : NAN;
}

static void print_ratio(FILE *f, double v) {
  if (isnan(v))
    fprintf(f, " %9s", "-");
  else
    fprintf(f, " %9.4f", v);
}

/* Precision, recall and F1 of each class (or label) and their unweighted mean (a class
 * whose score is undefined, "-", counts as 0 in the mean). */
static void print_class_scores(FILE *f, const nnrt_metrics *mt, const nnrt_labels *labels) {
  char buf[16];
  double sum[3] = {0, 0, 0};
  int nw = name_width(mt, labels);
  int multilabel = mt->metric == NNC_METRIC_MULTILABEL;
  fprintf(f, "%-*s %9s %9s %9s %9s\n", nw, multilabel ? "label" : "class", "precision", "recall", "f1", "support");
  for (int32_t i = 0; i < mt->n_classes; i++) {
    double p = ratio(mt->tp[i], mt->fp[i]), r = ratio(mt->tp[i], mt->fn[i]);
    double f1 = ratio(2 * mt->tp[i], mt->fp[i] + mt->fn[i]); /* 2pr / (p + r), defined when p or r is */
    double v[3] = {p, r, f1};
    fprintf(f, "%-*s", nw, class_name(labels, i, buf, sizeof buf));
    for (int k = 0; k < 3; k++) {
      print_ratio(f, v[k]);
      sum[k] += isnan(v[k]) ? 0 : v[k];
    }
    fprintf(f, " %9lld\n", (long long)(mt->tp[i] + mt->fn[i]));
  }
  fprintf(f, "%-*s", nw, "mean");
  for (int k = 0; k < 3; k++)
    print_ratio(f, sum[k] / mt->n_classes);
  fputc('\n', f);
}

static void print_details(FILE *f, const nnrt_metrics *mt, const nnrt_labels *labels) {
  if (mt->tp)
    print_class_scores(f, mt, labels);
  if (mt->confusion)
    print_confusion(f, mt, labels);
  else if (mt->metric == NNC_METRIC_CLASSIFICATION)
    fprintf(f, "no confusion matrix: %d classes, more than %d\n", (int)mt->n_classes, NNRT_CONFUSION_MAX);
}

/* Prints the scores of params on d; through the trainer tr (may be NULL), which gives again the
 * scores it computed of the same weights on the same data (the training data's, at the end of
 * training) without another pass. */
static int score(nnrt_cli *c, nnrt_trainer *tr, const void *params, const nnrt_dataset *d, int32_t metric,
                 const char *label, nnrt_error *err) {
  nnrt_metrics mt;
  int rc = tr ? nnrt__trainer_evaluate(tr, params, d, metric, c->o.targets, 0, &mt, err)
              : nnrt_evaluate_as(c->m, params, d, metric, c->o.targets, 0, &mt, err);
  if (!rc)
    print_metrics(stdout, label, &mt);
  nnrt_metrics_clear(&mt);
  return rc;
}

/* ---- train ---- */

static void on_signal(int sig) {
  (void)sig;
  nnrt_request_stop();
}

/* The signals that end training with a checkpoint: Ctrl-C, kill, a closed terminal. A broken
 * pipe (--log - into a reader that quit) does not end it: the write fails and is reported
 * when training ends, and the weights are still saved. */
static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP};
#define N_STOP (sizeof stop_signals / sizeof stop_signals[0])

static void catch_signals(struct sigaction old[N_STOP + 1]) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = (int)SA_RESETHAND; /* a second signal kills as usual */
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < N_STOP; i++) /* a hangup ignored (nohup) stays so */
    if (sigaction(stop_signals[i], NULL, &old[i]) == 0 &&
        (stop_signals[i] != SIGHUP || old[i].sa_handler != SIG_IGN))
      sigaction(stop_signals[i], &sa, NULL);
  sa.sa_handler = SIG_IGN;
  sa.sa_flags = 0;
  sigaction(SIGPIPE, &sa, &old[N_STOP]);
}

static void restore_signals(const struct sigaction old[N_STOP + 1]) {
  for (size_t i = 0; i < N_STOP; i++)
    sigaction(stop_signals[i], &old[i], NULL);
  sigaction(SIGPIPE, &old[N_STOP], NULL);
}

typedef struct train_data {
  nnrt_dataset *train, *test;
  nnrt_scaler *sc, *ts;       /* input and target scaling, fitted on train */
  nnrt_weights_extras resumed; /* what the --resume file carries: label map (scalings: moved to sc, ts) */
} train_data;

/* ---- --shard-data: rank r of K loads rows r, r+K, ... of the training file (docs/mpi.md) ---- */

/* Every rank's sample count summed: the epoch's length. Every rank takes part (a collective),
 * so a rank that failed to load takes part with 0 samples. */
static int64_t shard_total(const train_data *td) {
  double n = td->train ? (double)td->train->n : 0;
  nnrt__mpi_sum_reals(&n, 1, 8);
  nnrt__shard_set_total((int64_t)n);
  return (int64_t)n;
}

/* --shard-data under MPI: the ranks share the file's rows and fit the scaling on all of them;
 * the test data are read by rank 0 alone, which scores them. */
static int shard_fit(train_data *td, const nnc_data_source *s, nnrt_error *err) {
  int64_t total = nnrt__shard_total(td->train->n);
  if (s->scale != NNC_SCALE_NONE && !td->sc)
    return nnrt__scaler_fit_shards(td->train, total, s->scale, s->scale_factor, &td->sc, err);
  return NNRT_OK;
}

/* The ranks' collectives of loading stay in step: every rank goes on only if all did. */
static int shard_agree(int rc, nnrt_error *err) {
  int all = nnrt__mpi_agree(rc);
  if (all && !rc)
    return nnrt__fail(err, all, "another process of the job failed (see its message)");
  return rc;
}

/* ---- end of --shard-data ---- */

/* ---- --resume: what the weights resumed carry beside their parameters ---- */

/* The label map and the input and target scaling of the --resume file (each NULL when it has
 * none), checked against the network. */
static int read_resumed(nnrt_cli *c, nnrt_weights_extras *x, nnrt_error *err) {
  void *params = nnrt__alloc_array_aligned(c->m->n_params, (size_t)c->m->real_bytes);
  int rc = params ? nnrt__weights_load_keep(c->o.resume_path, c->m, params, x, err) : nnrt__oom(err);
  nnrt__free_aligned(params);
  if (!rc)
    rc = nnrt_scaler_matches(x->scaler, c->m, c->o.resume_path, err);
  if (!rc && x->targets)
    rc = check_target_scaling(c, x->targets, c->o.resume_path, err);
  return rc;
}

/* Rank 0's bytes (*len of them at *buf) sent to every other rank (a collective). */
static int share_bytes(void **buf, uint64_t *len, nnrt_error *err) {
  nnrt__mpi_bcast(len, sizeof *len);
  int oom = nnrt__mpi_rank() > 0 && *len && !(*buf = nnrt__alloc(*len));
  int rc = shard_agree(oom ? nnrt__oom(err) : NNRT_OK, err);
  if (!rc && *len)
    nnrt__mpi_bcast(*buf, (int64_t)*len);
  return rc;
}

/* The other ranks' copy of what rank 0 read: the sections' bytes decoded. */
static int decode_shared(const nnrt_cli *c, nnrt_weights_extras *x, void *const buf[3], const uint64_t len[3],
                         nnrt_error *err) {
  const char *path = c->o.resume_path;
  nnrt_section sec[3] = {{"LBLS", len[0], buf[0]}, {"SCAL", len[1], buf[1]}, {"TSCL", len[2], buf[2]}};
  int rc = len[0] ? nnrt__labels_decode(&sec[0], c->m->n_outputs, &x->labels, err, path) : NNRT_OK;
  if (!rc && len[1])
    rc = nnrt__scaler_decode(&sec[1], c->m->n_inputs, &x->scaler, err, path);
  if (!rc && len[2])
    rc = nnrt__scaler_decode(&sec[2], c->m->n_outputs, &x->targets, err, path);
  return rc;
}

/* Under MPI rank 0 alone reads the file (as it alone resumes): its findings go to the others. */
static int share_resumed(const nnrt_cli *c, nnrt_weights_extras *x, nnrt_error *err) {
  void *buf[3] = {NULL, NULL, NULL};
  uint64_t len[3] = {0, 0, 0};
  int rc = NNRT_OK;
  if (nnrt__mpi_rank() == 0 && x->labels)
    rc = nnrt__labels_encode(x->labels, &buf[0], &len[0], err);
  if (nnrt__mpi_rank() == 0 && !rc && x->scaler)
    rc = nnrt__scaler_encode(x->scaler, &buf[1], &len[1], err);
  if (nnrt__mpi_rank() == 0 && !rc && x->targets)
    rc = nnrt__scaler_encode(x->targets, &buf[2], &len[2], err);
  rc = shard_agree(rc, err);
  for (int i = 0; i < 3 && !rc; i++)
    rc = share_bytes(&buf[i], &len[i], err);
  if (!rc)
    rc = shard_agree(nnrt__mpi_rank() > 0 ? decode_shared(c, x, buf, len, err) : NNRT_OK, err);
  for (int i = 0; i < 3; i++)
    nnrt__free(buf[i]);
  return rc;
}

/* Resuming, the training data are read as the weights resumed were trained: their class
 * labels through the weights' label map, so that every output goes on learning the class it
 * was trained for (a map built afresh from data that lack a class, or hold another, would
 * give the outputs other classes; weights without a map have the classes 0..K−1, and the
 * data must too), their inputs and targets scaled by the statistics the weights carry, not
 * refitted on these data (which would change what every weight means). Silently, either. */
static int read_resume(nnrt_cli *c, nnrt_weights_extras *x, int *flags, nnrt_error *err) {
  int rc;
  if (!c->o.resume_path)
    return NNRT_OK;
  rc = shard_agree(nnrt__mpi_rank() == 0 ? read_resumed(c, x, err) : NNRT_OK, err);
  if (!rc && nnrt__mpi_size() > 1)
    rc = share_resumed(c, x, err);
  *flags |= NNRT_LOAD_ZERO_BASED;
  return rc;
}

/* A label refused while resuming: the message says whose classes they had to be. */
static int explain_resumed_labels(const nnrt_cli *c, const nnrt_labels *map, int rc, nnrt_error *err) {
  size_t n = strlen(err->msg);
  if (rc != NNRT_EDATA || !c->o.resume_path || !strstr(err->msg, ": label "))
    return rc;
  if (map)
    snprintf(err->msg + n, sizeof err->msg - n, " (resuming %s: its outputs are these classes)", c->o.resume_path);
  else
    snprintf(err->msg + n, sizeof err->msg - n, " (resuming %s, whose outputs are the classes 0..%d: the labels "
             "must be these integers)", c->o.resume_path, (int)c->m->n_outputs - 1);
  return rc;
}

/* The target scaling, fitted on the training data (on every shard's with --shard-data). */
static int fit_targets(train_data *td, const nnc_data_source *s, nnrt_error *err) {
  if (td->ts) /* resumed: the weights' own */
    return NNRT_OK;
  if (nnrt__sharded())
    return nnrt__targets_fit_shards(td->train, nnrt__shard_total(td->train->n), s->target_scale, &td->ts, err);
  return nnrt__targets_fit(td->train, s->target_scale, &td->ts, err);
}

static int load_train_data(nnrt_cli *c, train_data *td, nnrt_error *err) {
  const nnc_data_source *s = &c->data;
  int sharded = nnrt__sharded(), flags = sharded ? NNRT__LOAD_SHARD : 0, rc;
  if (!s->path)
    return nnrt__fail(err, NNRT_EUSAGE, "no training data: the network's train block names none; give --data FILE");
  if ((rc = read_resume(c, &td->resumed, &flags, err)) != NNRT_OK)
    return rc;
  td->sc = td->resumed.scaler;
  td->ts = td->resumed.targets;
  td->resumed.scaler = td->resumed.targets = NULL;
  rc = explain_resumed_labels(c, td->resumed.labels, load(c, s, flags, td->resumed.labels, &td->train, err), err);
  if (sharded && (rc = shard_agree(rc, err)) == NNRT_OK) {
    shard_total(td);
    rc = shard_agree(shard_fit(td, s, err), err);
  } else if (!rc && s->scale != NNC_SCALE_NONE && !td->sc) {
    rc = nnrt_scaler_fit(td->train, s->scale, s->scale_factor, &td->sc, err);
  }
  if (rc != NNRT_OK)
    return rc;
  c->o.labels = td->resumed.labels ? td->resumed.labels : td->train->labels;
  if (s->scale != NNC_SCALE_NONE)
    rc = nnrt__scaler_apply(td->sc, td->train, s->path, err);
  if (sharded)
    rc = shard_agree(rc, err);
  if (rc)
    return rc;
  autoencoder_targets(c, s, td->sc, td->train);
  if (s->target_scale != NNC_SCALE_NONE &&
      ((rc = fit_targets(td, s, err)) || (rc = nnrt__targets_apply(td->ts, td->train, s->path, err))))
    return rc;
  c->o.targets = td->ts;
  if (sharded && nnrt__mpi_rank() > 0)
    return NNRT_OK;
  if (c->test.path && (rc = load(c, &c->test, NNRT_LOAD_ZERO_BASED, c->o.labels, &td->test, err)) == NNRT_OK &&
      (rc = nnrt__scaler_apply(td->sc, td->test, c->test.path, err)) == NNRT_OK)
    rc = nnrt__targets_apply(td->ts, td->test, c->test.path, err);
  if (!rc)
    autoencoder_targets(c, &c->test, td->sc, td->test);
  return rc;
}

/* Under MPI every rank reads the training data from its own host's files, and the sample
 * order assumes they are the same everywhere: a host with another version of the file would
 * train on wrong rows, silently. Each rank compares the loaded (and scaled) samples'
 * fingerprint with rank 0's. */
/* The fingerprint of a regular file's bytes as stored, chained from h (a pipe is not read). */
static uint64_t file_fingerprint(uint64_t h, const char *path) {
  static unsigned char buf[1 << 16];
  struct stat st;
  size_t got;
  FILE *f = path && stat(path, &st) == 0 && S_ISREG(st.st_mode) ? fopen(path, "rb") : NULL;
  if (!f)
    return h;
  while ((got = fread(buf, 1, sizeof buf, f)) > 0)
    h = nnrt__fingerprint(h, buf, (int64_t)got);
  fclose(f);
  return h;
}

/* --shard-data: no rank holds the rows of another, so each compares the file's row count and
 * the fingerprint of its bytes (data and labels files) with rank 0's. */
static int check_same_file(nnrt_cli *c, nnrt_error *err) {
  uint64_t mine[2] = {(uint64_t)nnrt__shard_file_rows(), 0xcbf29ce484222325ull}, rank0[2];
  mine[1] = file_fingerprint(file_fingerprint(mine[1], c->data.path), c->data.labels);
  if (nnrt__mpi_same_as_rank0(mine, 2, rank0))
    return NNRT_OK;
  if (rank0[0] != mine[0])
    return nnrt__fail(err, NNRT_EDATA, "%s: %lld samples here, %lld on rank 0: the training data must be "
                      "the same on every host", c->data.path, (long long)mine[0], (long long)rank0[0]);
  return nnrt__fail(err, NNRT_EDATA, "%s: its bytes differ from rank 0's: the training data must be the same "
                    "on every host", c->data.path);
}

static int check_same_data(nnrt_cli *c, const train_data *td, nnrt_error *err) {
  const nnrt_dataset *d = td->train;
  uint64_t mine[2] = {(uint64_t)d->n, 0xcbf29ce484222325ull}, rank0[2];
  if (nnrt__mpi_size() <= 1)
    return NNRT_OK;
  if (nnrt__sharded())
    return check_same_file(c, err);
  mine[1] = nnrt__fingerprint(mine[1], d->x, d->n * d->n_inputs * d->real_bytes);
  mine[1] = nnrt__fingerprint(mine[1], d->t, d->n * d->n_outputs * d->real_bytes);
  if (nnrt__mpi_same_as_rank0(mine, 2, rank0))
    return NNRT_OK;
  if (rank0[0] != mine[0])
    return nnrt__fail(err, NNRT_EDATA, "%s: %lld samples here, %lld on rank 0: the training data must be "
                      "the same on every host", c->data.path, (long long)mine[0], (long long)rank0[0]);
  return nnrt__fail(err, NNRT_EDATA, "%s: its %lld samples differ from rank 0's: the training data must "
                    "be the same on every host", c->data.path, (long long)mine[0]);
}

typedef struct named_path { const char *what, *path; } named_path;

/* An output that names one of the network's data files would destroy it: the data, test data
 * and label files of this command (flags applied) and of the train block (from which eval,
 * predict and export refit scaling statistics), however spelled. Refused, exit 2. */
static int check_not_data(const nnrt_cli *c, const char *what, const char *path, nnrt_error *err) {
  const nnc_train_settings *t = c->m->train;
  named_path in[] = {{"training data", c->data.path}, {"training labels", c->data.labels},
                     {"test data", c->test.path}, {"test labels", c->test.labels},
                     {"training data", t->data.path}, {"training labels", t->data.labels},
                     {"test data", t->test.path}, {"test labels", t->test.labels}};
  for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
    if (in[i].path && nnrt__same_file(path, in[i].path))
      return nnrt__fail(err, NNRT_EUSAGE, "%s %s is the %s file; give another name", what, path, in[i].what);
  return NNRT_OK;
}

/* The files training writes: each a file name in a writable directory that this user may
 * replace, no two the same, none an input or the program itself (a run may resume from the
 * checkpoint or the save path it will replace); the log and the plot may be "-". Under
 * mpirun only rank 0 writes, so only its file system is asked. */
static int check_train_paths(nnrt_cli *c, const char *save_what, const char *ckpt_what, nnrt_error *err) {
  named_path out[] = {{save_what, c->o.save_path}, {ckpt_what, c->o.checkpoint_path},
                      {"--log", c->o.log_path}, {"--plot", c->o.plot_path}};
  int rc = NNRT_OK;
  for (int i = 0; i < 4 && !rc && nnrt__mpi_rank() == 0; i++) {
    if (!out[i].path)
      continue;
    rc = i < 2 ? nnrt__check_output(out[i].what, out[i].path, err)
               : nnrt__check_text_output(out[i].what, out[i].path, err);
    for (int j = i + 1; j < 4 && !rc; j++)
      if (out[j].path && !nnrt__in_place(out[j].path) && nnrt__same_file(out[i].path, out[j].path))
        rc = nnrt__fail(err, NNRT_EUSAGE, "%s and %s both name %s; give them different files",
                        out[i].what, out[j].what, out[i].path);
    if (!strcmp(out[i].path, "-")) /* standard output: no file an input could be */
      continue;
    if (!rc)
      rc = check_not_data(c, out[i].what, out[i].path, err);
    if (!rc && i < 2)
      rc = nnrt__check_not_foreign(out[i].what, out[i].path, err);
    if (!rc && i >= 2 && c->o.resume_path && nnrt__same_file(out[i].path, c->o.resume_path))
      rc = nnrt__fail(err, NNRT_EUSAGE, "%s %s is the --resume file; give another name", out[i].what,
                      out[i].path);
  }
  return rc;
}

static int set_paths(nnrt_cli *c, char *save, char *ckpt, size_t size, nnrt_error *err) {
  const char *ckpt_what = c->o.checkpoint_path ? "--checkpoint" : "the checkpoint";
  const char *save_what = c->o.save_path ? "--save" : "the weights file (--save)";
  if (!c->o.save_path)
    c->o.save_path = default_weights(c, save, size);
  if (!c->o.checkpoint_path && c->m->train->checkpoint) {
    c->o.checkpoint_path = c->m->train->checkpoint;
  } else if (!c->o.checkpoint_path && !nnrt__in_place(c->o.save_path)) { /* /dev/null.ckpt: none */
    c->o.checkpoint_path = ckpt;
    if (snprintf(ckpt, size, "%s.ckpt", c->o.save_path) >= (int)size)
      return nnrt__fail(err, NNRT_EUSAGE, "--save: path too long");
  }
  int rc = check_train_paths(c, save_what, ckpt_what, err);
  if (rc)
    return rc;
  c->o.s.data = c->data;
  c->o.s.test = c->test;
  c->o.verbosity = c->quiet ? 1 : 2;
  c->o.live = isatty(fileno(stderr)) && !c->quiet;
  return NNRT_OK;
}

static int train_summary(nnrt_cli *c, nnrt_trainer *tr, const train_data *td,
                         const nnrt_train_result *res, nnrt_error *err) {
  const void *p = nnrt_trainer_params(tr);
  int rc;
  if (c->o.s.restarts > 1 && res->best_restart >= 0)
    printf("kept restart %d/%d (%s loss %.6g)\n", (int)res->best_restart + 1, (int)c->o.s.restarts,
           c->o.s.validation > 0 ? "validation" : "training", res->best_loss);
  if (res->best_epoch > 0)
    printf("kept the weights of epoch %lld, the best validation loss (%.6g)\n", (long long)res->best_epoch,
           res->best_loss);
  printf("metric %s\n", nnrt_metric_name(res->metric));
  if ((rc = score(c, tr, p, td->train, res->metric, "train", err)) != NNRT_OK)
    return rc;
  if (td->test && (rc = score(c, NULL, p, td->test, res->metric, "test", err)) != NNRT_OK)
    return rc;
  printf("weights saved to %s\n", c->o.save_path);
  return NNRT_OK;
}

/* Under MPI every rank goes on only if all did so far (one failing rank must not leave the
 * others waiting in a collective). */
static int agree(int rc, nnrt_error *err) {
  int all = nnrt__mpi_agree(rc);
  if (all && !rc)
    return nnrt__fail(err, all, "another process of the job failed (see its message)");
  return rc;
}

static int run_training(nnrt_cli *c, train_data *td, nnrt_error *err) {
  struct sigaction old[N_STOP + 1];
  nnrt_trainer *tr = NULL;
  nnrt_train_result res;
  int rc = agree(nnrt_trainer_create(c->m, &c->o, td->train, &tr, err), err);
  if (rc) {
    nnrt_trainer_destroy(tr);
    return rc;
  }
  catch_signals(old);
  rc = nnrt_trainer_run(tr, td->sc, &res, err);
  restore_signals(old);
  if (rc == NNRT_OK && nnrt__mpi_rank() == 0)
    rc = train_summary(c, tr, td, &res, err);
  nnrt_trainer_destroy(tr);
  return rc;
}

int nnrt__cmd_train(nnrt_cli *c, nnrt_error *err) {
  char save[NNRT_PATH_CAP], ckpt[NNRT_PATH_CAP];
  const char *const flags[] = {"--data", "--labels", "--test", "--test-labels", "--resume"};
  train_data td;
  memset(&td, 0, sizeof td);
  int rc = finish_sources(c, err);
  const char *const paths[] = {c->data.path, c->data.labels, c->test.path, c->test.labels, c->o.resume_path};
  if (!rc)
    rc = check_stdin_once(flags, paths, 5, err);
  if (!rc)
    rc = check_column_order(c, &c->m->train->data, &c->data, err);
  if (!rc)
    rc = check_column_order(c, &c->data, &c->test, err);
  if (!rc)
    rc = set_paths(c, save, ckpt, sizeof save, err);
  if (!rc)
    rc = load_train_data(c, &td, err);
  rc = agree(rc, err);
  if (!rc)
    rc = agree(check_same_data(c, &td, err), err);
  if (!rc)
    rc = run_training(c, &td, err);
  nnrt_dataset_destroy(td.train);
  nnrt_dataset_destroy(td.test);
  nnrt_scaler_destroy(td.sc);
  nnrt_scaler_destroy(td.ts);
  nnrt_weights_extras_clear(&td.resumed);
  return rc;
}

/* ---- eval ---- */

static const nnc_data_source *eval_source(nnrt_cli *c) {
  if (c->data.path != c->m->train->data.path || !c->test.path)
    return &c->data;
  return &c->test;
}

int nnrt__cmd_eval(nnrt_cli *c, nnrt_error *err) {
  void *params = NULL;
  nnrt_weights_extras x;
  nnrt_dataset *d = NULL;
  nnrt_metrics mt = {0};
  int rc = finish_sources(c, err);
  const nnc_data_source *src = eval_source(c);
  const char *const flags[] = {src == &c->data ? "--data" : "--test", "--labels", "--weights"};
  const char *const paths[] = {src->path, src->labels, c->weights};
  if (!rc)
    rc = check_stdin_once(flags, paths, 3, err);
  if (!rc)
    rc = check_column_order(c, &c->m->train->data, src, err);
  if (!rc)
    rc = load_weights(c, &params, &x, err);
  if (!rc && !src->path)
    rc = nnrt__fail(err, NNRT_EUSAGE, "no data to evaluate on: give --data FILE");
  if (!rc && (rc = obtain_scaler(c, &x.scaler, err)) == NNRT_OK &&
      (rc = load(c, src, c->initial ? 0 : NNRT_LOAD_ZERO_BASED, x.labels, &d, err)) == NNRT_OK &&
      (rc = scale_inputs(c, x.scaler, d, src->path, 0, err)) == NNRT_OK &&
      (rc = nnrt__targets_apply(x.targets, d, src->path, err)) == NNRT_OK) {
    autoencoder_targets(c, src, x.scaler, d);
    rc = nnrt_evaluate_as(c->m, params, d, c->o.s.metric, x.targets, NNRT_EVAL_CONFUSION, &mt, err);
  }
  if (!rc) {
    printf("%s: %lld samples from %s\nmetric %s\n", c->m->name, (long long)d->n, src->path,
           nnrt_metric_name(mt.metric));
    print_metrics(stdout, "eval", &mt);
    print_details(stdout, &mt, x.labels ? x.labels : d->labels);
  }
  nnrt_metrics_clear(&mt);
  nnrt_dataset_destroy(d);
  nnrt_weights_extras_clear(&x);
  nnrt__free_aligned(params);
  return rc;
}

/* ---- predict ---- */

/* A label as a CSV field: quoted when it holds a comma, a quote or outer spaces. */
static void print_label(const char *name) {
  size_t n = strlen(name);
  if (!strpbrk(name, ",\"") && name[0] != ' ' && name[0] != '\t' && name[n - 1] != ' ' && name[n - 1] != '\t') {
    fputs(name, stdout);
    return;
  }
  putchar('"');
  for (; *name; name++) {
    if (*name == '"')
      putchar('"');
    putchar(*name);
  }
  putchar('"');
}

/* The predicted class: its label from the weights' map, else its index. */
static void print_class(const nnrt_labels *labels, int32_t cls) {
  if (labels && cls < labels->n)
    print_label(labels->names[cls]);
  else
    printf("%d", (int)cls);
}

/* The class of sample k's outputs: the largest, or a single output at least 0.5. */
static int32_t predicted_class(const nnrt_cli *c, const void *y, int64_t k) {
  int32_t no = c->m->n_outputs, rb = c->m->real_bytes, best = 0;
  if (no == 1)
    return nnrt__get(y, rb, k) >= 0.5;
  for (int32_t o = 1; o < no; o++)
    if (nnrt__get(y, rb, k * no + o) > nnrt__get(y, rb, k * no + best))
      best = o;
  return best;
}

/* --proba: each class's probability after the class; a single output is class 1's, so class
 * 0 has 1 − y. */
static void print_probabilities(const nnrt_cli *c, const void *y, int64_t k) {
  int32_t no = c->m->n_outputs, rb = c->m->real_bytes;
  if (no == 1)
    printf(",%.9g,%.9g", 1 - nnrt__get(y, rb, k), nnrt__get(y, rb, k));
  for (int32_t o = 0; no > 1 && o < no; o++)
    printf(",%.9g", nnrt__get(y, rb, k * no + o));
}

/* The outputs as CSV rows (in the targets' original units when the network learned scaled
 * targets), or each row's class (with its probabilities). */
static void print_outputs(const nnrt_cli *c, const nnrt_dataset *d, const void *y, const nnrt_weights_extras *x) {
  int32_t no = c->m->n_outputs, rb = c->m->real_bytes;
  const nnrt_scaler *ts = x->targets;
  for (int64_t k = 0; k < d->n; k++) {
    if (c->print_class || c->print_proba) {
      print_class(x->labels, predicted_class(c, y, k));
      if (c->print_proba)
        print_probabilities(c, y, k);
      putchar('\n');
      continue;
    }
    for (int32_t o = 0; o < no; o++) {
      double v = nnrt__get(y, rb, k * no + o);
      printf("%s%.9g", o ? "," : "", ts ? v / ts->mul[o] + ts->offset[o] : v);
    }
    putchar('\n');
  }
}

/* The rows predicted together: at most PREDICT_BATCH, fewer when the next row must be waited
 * for (a program on the other end of a pipe reads each answer before it writes the next row). */
#define PREDICT_BATCH 256

typedef struct predict_run {
  nnrt_cli *c;
  void *params;
  nnrt_weights_extras x;
  nnrt_dataset *d;            /* the batch: d->n rows so far */
  void *y;
  const char *path;           /* as messages name the input */
  int64_t done;               /* rows answered before this batch */
} predict_run;

/* Scales, predicts and prints the batch, and flushes the answers out. */
static int answer_batch(predict_run *p, nnrt_error *err) {
  int rc = NNRT_OK;
  if (p->d->n == 0)
    return NNRT_OK;
  if ((rc = scale_inputs(p->c, p->x.scaler, p->d, p->path, p->done, err)) == NNRT_OK &&
      (rc = nnrt_predict(p->c->m, p->params, p->d, p->y, err)) == NNRT_OK) {
    print_outputs(p->c, p->d, p->y, &p->x);
    fflush(stdout);
  }
  p->done += p->d->n;
  p->d->n = 0;
  return rc;
}

/* The input columns of a whole row of the training data, when it is CSV whose rows can be
 * counted: every column that is not a target (their count known from the settings), or the
 * columns the data source names (the rows counted in the file's first line). */
static int training_row_shape(const nnrt_cli *c, nnrt_row_shape *rs, int32_t **own, nnrt_error *err) {
  const nnc_data_source *s = &c->m->train->data;
  const nnc_model *m = c->m;
  nnrt_shape sh = {m->n_inputs, m->n_outputs, m->real_bytes, NNRT_LOAD_INPUTS_ONLY, NULL};
  rs->data_width = -1;
  rs->data_path = s->path;
  if (!s->path || s->labels || (s->format != NNC_FORMAT_CSV && s->format != NNC_FORMAT_AUTO) ||
      nnrt__source_format(s) != NNC_FORMAT_CSV)
    return NNRT_OK;
  if (s->n_input_cols) {
    rs->data_cols = s->input_cols;
    rs->data_width = nnrt__csv_width(s, sh);
    rs->data_width = rs->data_width > 0 ? rs->data_width : -1;
    return NNRT_OK;
  }
  int32_t n_tg = s->targets_inputs ? 0 : s->n_target_cols ? s->n_target_cols : s->onehot ? 1 : m->n_outputs;
  int32_t w = m->n_inputs + n_tg;
  if (!(*own = nnrt__alloc_array(m->n_inputs, sizeof(int32_t))))
    return nnrt__oom(err);
  for (int32_t col = 0, i = 0; col < w && i < m->n_inputs; col++) {
    int target = 0;
    for (int32_t t = 0; t < s->n_target_cols; t++)
      target |= s->target_cols[t] == col;
    if (!s->n_target_cols && !s->targets_inputs)
      target = col >= m->n_inputs;
    if (!target)
      (*own)[i++] = col;
  }
  rs->data_cols = *own;
  rs->data_width = w;
  return NNRT_OK;
}

/* Rows of CSV, read one at a time: the answers to the rows read are out before the reader
 * waits for more. */
static int predict_rows(predict_run *p, nnrt_error *err) {
  nnrt_cli *c = p->c;
  const nnc_model *m = c->m;
  nnrt_shape sh = {m->n_inputs, m->n_outputs, m->real_bytes, NNRT_LOAD_INPUTS_ONLY, NULL};
  nnrt_row_shape rs = {m->n_inputs, c->inputs_given ? c->in_cols : NULL, -1, NULL, NULL,
                       c->delimiter_given ? c->delimiter : m->train->data.delimiter, NULL};
  nnrt_csv_rows *rows = NULL;
  nnrt_csv_names names;
  int32_t *data_cols = NULL;
  int got = 1, rc = training_row_shape(c, &rs, &data_cols, err);
  nnrt__csv_header_names(&m->train->data, &names);
  rs.data_names = &names;
  if (!rc && (rc = nnrt_dataset_create(PREDICT_BATCH, m->n_inputs, m->n_outputs, m->real_bytes,
                                       NNRT_LOAD_INPUTS_ONLY, &p->d, err)) == NNRT_OK) {
    p->d->n = 0;
    p->y = nnrt__alloc_array(PREDICT_BATCH * (int64_t)m->n_outputs, (size_t)m->real_bytes);
    rc = p->y ? nnrt__rows_open(c->input ? c->input : "-", sh, &rs, &rows, err) : nnrt__oom(err);
  }
  while (!rc && got) {
    if (p->d->n == PREDICT_BATCH || (p->d->n && nnrt__rows_would_wait(rows)))
      rc = answer_batch(p, err);
    if (!rc)
      rc = nnrt__rows_next(rows, nnrt__at(p->d->x, m->real_bytes, p->d->n * m->n_inputs), &got, err);
    p->d->n += !rc && got;
  }
  if (!rc || (p->d && rc != NNRT_ENOMEM)) { /* the rows before a bad one are answered */
    nnrt_error later = {0, ""};
    int answered = answer_batch(p, rc ? &later : err);
    rc = rc ? rc : answered;
  }
  nnrt__rows_close(rows);
  nnrt__free(data_cols);
  nnrt__csv_names_free(&names);
  return rc;
}

/* IDX images or a FANN file given with --input: read whole, predicted together. */
static int predict_file(predict_run *p, nnrt_error *err) {
  nnrt_cli *c = p->c;
  nnc_data_source src = {c->input, NULL, NNC_FORMAT_AUTO, -1, c->n_in_cols, c->in_cols, 0, NULL, 0,
                         NNC_SCALE_NONE, 1, 0, NNC_SCALE_NONE, c->delimiter};
  int rc = load(c, &src, NNRT_LOAD_INPUTS_ONLY, NULL, &p->d, err);
  if (!rc) {
    p->y = nnrt__alloc_array(p->d->n * c->m->n_outputs, (size_t)c->m->real_bytes);
    rc = p->y ? answer_batch(p, err) : nnrt__oom(err);
  }
  return rc;
}

int nnrt__cmd_predict(nnrt_cli *c, nnrt_error *err) {
  predict_run p = {c, NULL, {NULL, NULL, NULL}, NULL, NULL, c->input ? c->input : "<stdin>", 0};
  nnc_data_source probe = {c->input, NULL, NNC_FORMAT_AUTO, -1, 0, NULL, 0, NULL, 0, NNC_SCALE_NONE, 1, 0,
                           NNC_SCALE_NONE, 0};
  if ((c->print_class || c->print_proba) && !c->m->classifier)
    return nnrt__fail(err, NNRT_EUSAGE, "--%s: network '%s' is not a classifier: its outputs are "
                      "values, not class probabilities", c->print_proba ? "proba" : "class", c->m->name);
  if ((c->print_class || c->print_proba) && c->o.s.metric == NNC_METRIC_MULTILABEL)
    return nnrt__fail(err, NNRT_EUSAGE, "--%s: network '%s' is scored as multilabel: each output is the "
                      "probability of a yes/no label of its own, not of one class among the others; predict "
                      "without --%s writes them", c->print_proba ? "proba" : "class", c->m->name,
                      c->print_proba ? "proba" : "class");
  const char *const flags[] = {"--input", "--weights"}, *const paths[] = {c->input ? c->input : "-", c->weights};
  int rc = check_widths(c, err);
  if (!rc)
    rc = check_stdin_once(flags, paths, 2, err);
  if (!rc)
    rc = load_weights(c, &p.params, &p.x, err);
  if (!rc)
    rc = obtain_scaler(c, &p.x.scaler, err);
  if (!rc)
    rc = c->input && nnrt__source_format(&probe) != NNC_FORMAT_CSV ? predict_file(&p, err) : predict_rows(&p, err);
  nnrt_weights_extras_clear(&p.x);
  nnrt__free(p.y);
  nnrt_dataset_destroy(p.d);
  nnrt__free_aligned(p.params);
  return rc;
}

/* ---- info ---- */

static const char *const decay_names[] = {"none", "inverse", "exponential", "step"};

static void print_cols(const char *what, const int32_t *cols, int32_t n) {
  printf(" %s ", what);
  if (!n)
    printf("auto");
  for (int32_t i = 0; i < n; i++) {
    int32_t j = i;
    while (j + 1 < n && cols[j + 1] == cols[j] + 1)
      j++;
    printf(j > i ? "%s%d..%d" : "%s%d", i ? "," : "", (int)cols[i], (int)cols[j]);
    i = j;
  }
}

static void print_source(const char *label, const nnc_data_source *s) {
  char factor[32];
  printf("  %-11s", label);
  if (!s->path) {
    printf("none\n");
    return;
  }
  printf("%s", s->path);
  if (s->labels)
    printf(" (labels %s)", s->labels);
  if (s->format != NNC_FORMAT_IDX && s->format != NNC_FORMAT_FANN && !s->labels)
    print_cols(" inputs", s->input_cols, s->n_input_cols);
  if (s->targets_inputs)
    printf("  targets inputs");
  else if (s->format != NNC_FORMAT_IDX && s->format != NNC_FORMAT_FANN && !s->labels)
    print_cols(" targets", s->target_cols, s->n_target_cols);
  if (s->onehot)
    printf(" one-hot");
  if (s->delimiter == '\t')
    printf(" delimiter tab");
  else if (s->delimiter && s->delimiter != ',')
    printf(" delimiter '%c'", (char)s->delimiter);
  if (s->target_scale == NNC_SCALE_ZSCORE || s->target_scale == NNC_SCALE_MINMAX)
    printf(" target_scale %s", scale_names[s->target_scale]);
  if (s->scale == NNC_SCALE_FACTOR)
    printf(" scale %s", nnc_number_text(s->scale_factor, factor, sizeof factor));
  else if (s->scale == NNC_SCALE_ZSCORE || s->scale == NNC_SCALE_MINMAX)
    printf(" scale %s", scale_names[s->scale]);
  putchar('\n');
}

/* "  optimizer  adam, betas 0.9 0.999, eps 1e-08, weight_decay 0, amsgrad off": every
 * optimizer but plain SGD, whose rate and momentum the lines around say all. */
static void print_optimizer(const nnc_train_settings *s) {
  char a[32], b[32], e[32], w[32];
  if (!nnc_optimizer_in_runtime(s) || !nnc_optimizer_get(s->optimizer))
    return;
  nnc_number_text(s->eps, e, sizeof e);
  nnc_number_text(s->weight_decay, w, sizeof w);
  printf("  optimizer  %s", nnc_optimizer_get(s->optimizer)->name);
  if (s->optimizer == NNC_OPT_ADAM || s->optimizer == NNC_OPT_ADAMW)
    printf(", betas %s %s, eps %s, amsgrad %s", nnc_number_text(s->beta1, a, sizeof a),
           nnc_number_text(s->beta2, b, sizeof b), e, s->amsgrad ? "on" : "off");
  else if (s->optimizer == NNC_OPT_RMSPROP)
    printf(", alpha %s, eps %s, centered %s", nnc_number_text(s->alpha, a, sizeof a), e, s->centered ? "on" : "off");
  else if (nnc_optimizer_full_batch(s->optimizer)) {
    printf(", etas %s %s, step_sizes ", nnc_number_text(s->eta_minus, a, sizeof a), nnc_number_text(s->eta_plus, b, sizeof b));
    printf("%s %s, full batch\n", nnc_number_text(s->step_min, a, sizeof a), nnc_number_text(s->step_max, b, sizeof b));
    return;
  } else
    printf(", nesterov %s, dampening %s", s->nesterov ? "on" : "off", nnc_number_text(s->dampening, a, sizeof a));
  printf(", weight_decay %s\n", w);
}

int nnrt__cmd_info(nnrt_cli *c, nnrt_error *err) {
  const nnc_model *m = c->m;
  const nnc_train_settings *s = m->train;
  (void)err;
  printf("network      %s\ninputs       %d\noutputs      %d\nparameters   %lld\nprecision    f%d\n",
         m->name, (int)m->n_inputs, (int)m->n_outputs, (long long)m->n_params, (int)m->real_bytes * 8);
  printf("loss         %s\nclassifier   %s\nfingerprint  0x%016llx\ntraining\n",
         s->loss == NNC_LOSS_CROSS_ENTROPY ? "cross-entropy" : "squared error",
         m->classifier ? "yes" : "no", (unsigned long long)m->fingerprint);
  print_source("data", &s->data);
  print_source("test", &s->test);
  printf("  metric     %s%s\n", nnrt_metric_name(s->metric),
         s->metric == NNC_METRIC_AUTO ? " (decided from the outputs and the targets)" : "");
  if (m->scale_mode > NNC_SCALE_NONE && m->scale_mode <= NNC_SCALE_MINMAX)
    printf("  scaling    %s, compiled in with the weights (inputs are raw)\n", scale_names[m->scale_mode]);
  char n1[32], n2[32];
  printf("  rate       %s", nnc_number_text(s->rate, n1, sizeof n1));
  if (s->decay > 0 && s->decay <= 3)
    printf(", decay %s %s%s", decay_names[s->decay], nnc_number_text(s->decay_rate, n1, sizeof n1),
           s->decay == NNC_DECAY_STEP ? " every" : "");
  if (s->decay == NNC_DECAY_STEP)
    printf(" %d epochs", (int)s->decay_every);
  char sched[256];
  if (*nnc_schedule_text(s, sched, sizeof sched))
    printf(", %s", sched);
  if (nnc_optimizer_full_batch(s->optimizer) && s->batch == NNC_OPT_FULL_BATCH)
    printf("\n  batch      every sample (full batch, at most %d)", (int)s->batch);
  else
    printf("\n  batch      %d", (int)s->batch);
  printf("\n  momentum   %s\n  epochs     %d\n  restarts   %d\n  seed       %llu\n",
         nnc_number_text(s->momentum, n2, sizeof n2), (int)s->epochs, (int)s->restarts,
         (unsigned long long)s->seed);
  print_optimizer(s);
  printf("  validation %s\n  patience   %d%s\n", nnc_number_text(s->validation, n1, sizeof n1), (int)s->patience,
         s->patience ? "" : " (off)");
  if (s->checkpoint)
    printf("  checkpoint %s", s->checkpoint);
  else
    printf("  checkpoint %s.weights.ckpt", m->name);
  printf(s->checkpoint_every > 0 ? " every %d epochs\n" : " (on interrupt only)\n", (int)s->checkpoint_every);
  if (s->shuffle_off)
    printf("  shuffle    off (every epoch in data order)\n");
  return NNRT_OK;
}

/* ---- weights export / import ---- */

/* --onnx FILE may be written: not standard output, not the weights or the input it reads. */
static int onnx_output(nnrt_cli *c, nnrt_error *err) {
  char buf[512];
  const char *weights = c->weights ? c->weights : default_weights(c, buf, sizeof buf);
  if (!strcmp(c->onnx, "-"))
    return nnrt__fail(err, NNRT_EUSAGE, "--onnx: '-' (standard output) cannot hold an ONNX model, which is "
                      "binary; give a file name");
  int rc = nnrt__check_output("--onnx", c->onnx, err);
  if (!rc && nnrt__same_file(c->onnx, weights))
    rc = nnrt__fail(err, NNRT_EUSAGE, "--onnx %s is the weights file; give another name", c->onnx);
  return rc ? rc : check_not_data(c, "--onnx", c->onnx, err);
}

/* What predict scales inputs by: the weights file's (or refitted) scaling, or the one compiled
 * into the model with its weights. */
static int export_weights(nnrt_cli *c, nnrt_error *err) {
  void *params = NULL;
  nnrt_weights_extras x;
  const nnc_model *m = c->m;
  nnrt_scaler compiled = {m->scale_mode, m->n_inputs, (double *)m->scale_offset, (double *)m->scale_mul};
  int rc = c->onnx ? onnx_output(c, err) : NNRT_OK;
  if (rc)
    return rc;
  rc = load_weights(c, &params, &x, err);
  if (!rc)
    rc = obtain_scaler(c, &x.scaler, err);
  const nnrt_scaler *sc = x.scaler ? x.scaler : m->scale_mode ? &compiled : NULL;
  if (!rc && c->onnx)
    rc = nnrt_onnx_write(c->onnx, m, params, sc, x.targets, err);
  else if (!rc)
    rc = nnrt_weights_export(stdout, m, params, sc, c->format, err);
  if (!rc && !c->onnx && (x.labels || x.targets))
    fprintf(stderr, "note: the text form leaves out the weights file's %s; an import of it %s\n",
            x.targets ? "target scaling" : "class label map",
            x.targets ? "is refused: copy the weights file instead" : "predicts class indices, not labels");
  nnrt_weights_extras_clear(&x);
  nnrt__free_aligned(params);
  return rc;
}

/* The scaling an imported text gave (*sc, or NULL) must be the network's: a factor is known
 * without it; z-score and min-max statistics must come with the weights they were trained with. */
static int imported_scaler(nnrt_cli *c, const char *name, nnrt_scaler **sc, nnrt_error *err) {
  const nnc_data_source *src = &c->m->train->data;
  if (src->target_scale != NNC_SCALE_NONE) /* the text forms carry no target statistics */
    return nnrt__fail(err, NNRT_EDATA, "%s: network '%s' learns scaled targets (target_scale), whose statistics the "
                      "text forms do not carry: copy its weights file instead", name, c->m->name);
  if (*sc || src->scale == NNC_SCALE_NONE)
    return nnrt_scaler_matches(*sc, c->m, name, err);
  if (src->scale == NNC_SCALE_FACTOR)
    return factor_scaler(c->m, sc, err);
  return nnrt__fail(err, NNRT_EDATA, "%s: no input scaling, but network '%s' scales its inputs by %s fitted on "
                    "its training data: the weights need the statistics they were trained with (export them "
                    "with 'weights export', which writes them)", name, c->m->name,
                    src->scale == NNC_SCALE_ZSCORE ? "z-score" : "min-max");
}

int nnrt__cmd_weights(nnrt_cli *c, nnrt_error *err) {
  void *params = NULL;
  nnrt_scaler *sc = NULL;
  int rc;
  if (!c->action)
    return nnrt__fail(err, NNRT_EUSAGE, "weights: expected 'export' or 'import' (see '%s weights --help')", c->prog);
  if (!strcmp(c->action, "export")) {
    return export_weights(c, err);
  } else if (c->onnx) {
    return nnrt__fail(err, NNRT_EUSAGE, "weights import: --onnx writes a model on export; nnc imports ONNX "
                      "models (nnc model.onnx)");
  } else if (!c->weights) {
    return nnrt__fail(err, NNRT_EUSAGE, "weights import: give --weights FILE, the file to write");
  } else if ((rc = nnrt__check_output("--weights", c->weights, err)) != NNRT_OK) {
    return rc;
  } else if (c->input && nnrt__same_file(c->weights, c->input)) {
    return nnrt__fail(err, NNRT_EUSAGE, "--weights %s is the --input file; give another name", c->weights);
  } else if ((rc = check_not_data(c, "--weights", c->weights, err)) != NNRT_OK ||
             (rc = nnrt__check_not_foreign("--weights", c->weights, err)) != NNRT_OK) {
    return rc;
  } else {
    FILE *in = c->input ? fopen(c->input, "r") : stdin;
    if (in == stdin)
      clearerr(stdin);
    params = nnrt__alloc_array_aligned(c->m->n_params, (size_t)c->m->real_bytes);
    if (!in)
      rc = nnrt__fail(err, NNRT_EDATA, "%s: cannot open", c->input);
    else if (!params)
      rc = nnrt__oom(err);
    else if ((rc = nnrt_weights_import(in, c->input ? c->input : "<stdin>", c->m, params, &sc, err)) == NNRT_OK &&
             (rc = imported_scaler(c, c->input ? c->input : "<stdin>", &sc, err)) == NNRT_OK)
      rc = nnrt_weights_save(c->weights, c->m, params, sc, err);
    if (in && in != stdin)
      fclose(in);
  }
  nnrt_scaler_destroy(sc);
  nnrt__free_aligned(params);
  return rc;
}

/* ---- gradcheck ---- */

/* Without data: random inputs in [−1, 1], targets one-hot (classifiers) or in [0, 1]. */
static int synthetic_data(nnrt_cli *c, nnrt_dataset **d, nnrt_error *err) {
  const nnc_model *m = c->m;
  nnrt_rng rng;
  int rc = nnrt_dataset_create(c->samples, m->n_inputs, m->n_outputs, m->real_bytes, 0, d, err);
  if (rc)
    return rc;
  nnrt__rng_seed(&rng, c->o.s.seed ^ 0x6772616463686b);
  for (int64_t k = 0; k < (*d)->n; k++) {
    for (int32_t i = 0; i < m->n_inputs; i++)
      nnrt__set((*d)->x, m->real_bytes, k * m->n_inputs + i, (double)(nnrt__rng_next(&rng) >> 11) * 0x1p-52 - 1);
    int32_t cls = (int32_t)nnrt__rng_below(&rng, (uint64_t)m->n_outputs);
    for (int32_t o = 0; o < m->n_outputs; o++) {
      double t = m->classifier && m->n_outputs > 1 ? o == cls : (double)(nnrt__rng_next(&rng) >> 11) * 0x1p-53;
      nnrt__set((*d)->t, m->real_bytes, k * m->n_outputs + o, t);
    }
  }
  return NNRT_OK;
}

static int gradcheck_params(nnrt_cli *c, void **params, nnrt_scaler **sc, nnrt_error *err) {
  if (c->weights) {
    nnrt_weights_extras x;
    int rc = load_weights(c, params, &x, err);
    *sc = x.scaler;
    x.scaler = NULL;
    nnrt_weights_extras_clear(&x);
    return rc;
  }
  *sc = NULL;
  *params = nnrt__alloc_array_aligned(c->m->n_params, (size_t)c->m->real_bytes);
  if (!*params)
    return nnrt__oom(err);
  c->m->init(*params, c->o.s.seed);
  return NNRT_OK;
}

static int gradcheck_data(nnrt_cli *c, nnrt_scaler **sc, nnrt_dataset **d, nnrt_error *err) {
  if (!c->data.path)
    return synthetic_data(c, d, err);
  int rc = load(c, &c->data, 0, NULL, d, err);
  if (!rc && !*sc && c->data.scale != NNC_SCALE_NONE)
    rc = nnrt_scaler_fit(*d, c->data.scale, c->data.scale_factor, sc, err);
  if (!rc)
    rc = nnrt__scaler_apply(*sc, *d, c->data.path, err);
  if (!rc)
    autoencoder_targets(c, &c->data, *sc, *d);
  return rc;
}

int nnrt__cmd_gradcheck(nnrt_cli *c, nnrt_error *err) {
  void *params = NULL;
  nnrt_scaler *sc = NULL;
  nnrt_dataset *d = NULL;
  nnrt_gradcheck_result r;
  const char *const flags[] = {"--data", "--labels", "--weights"};
  int rc = finish_sources(c, err);
  const char *const paths[] = {c->data.path, c->data.labels, c->weights};
  if (!rc)
    rc = check_stdin_once(flags, paths, 3, err);
  if (!rc)
    rc = gradcheck_params(c, &params, &sc, err);
  if (!rc && (rc = gradcheck_data(c, &sc, &d, err)) == NNRT_OK)
    rc = nnrt_gradcheck(c->m, params, d, c->samples, 2000, &r, err);
  if (!rc) {
    printf("gradcheck: %lld checks on %lld sample%s: worst relative error %.3g (parameter %lld, sample %lld: "
           "analytic %.9g, numeric %.9g), tolerance %g: %s\n", (long long)r.checked,
           (long long)(c->samples < d->n ? c->samples : d->n), d->n == 1 ? "" : "s", r.worst_rel_error,
           (long long)r.worst_param, (long long)r.worst_sample, r.analytic, r.numeric, r.tolerance,
           r.passed ? "PASS" : "FAIL");
    if (!r.passed)
      rc = nnrt__fail(err, NNRT_EDATA, "gradcheck failed: worst relative error %.3g above %g",
                      r.worst_rel_error, r.tolerance);
  }
  nnrt_dataset_destroy(d);
  nnrt_scaler_destroy(sc);
  nnrt__free_aligned(params);
  return rc;
}
