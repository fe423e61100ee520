/* runtime/cli.c — nnrt_main: the command line of every generated executable.
 *
 * Consumes: the model descriptor and argv (`prog CMD [flags]`).
 * Produces: the parsed nnrt_cli (the model's settings with every flag applied, each number read
 * as decimal text by one reader and checked against the train block's limits of nnc/limits.h:
 * `error: --rate: expected a number in (0, 1000000], got 'abc'`; flags that could not act
 * refused), help texts, and the exit code: 0 ok, 1 bad data/files (or a failed check), 2 bad
 * usage, 130 interrupted.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "mpi_api.h"
#include "nnc/limits.h"
#include "nnc/optim.h"
#include "nnc/schedule.h"

/* F_LIMITED: a number within its limit of nnc/limits.h, the one the train block obeys. */
enum flag_kind {
  F_PATH, F_LIMITED, F_U64, F_COLS, F_BOOL, F_WORD
};

#define ALL (CMD_TRAIN | CMD_EVAL | CMD_PREDICT | CMD_INFO | CMD_WEIGHTS | CMD_GRADCHECK)
#define DATA_CMDS (CMD_TRAIN | CMD_EVAL | CMD_GRADCHECK)

typedef struct flag {
  const char *name;
  int kind;
  int cmds;
  const char *arg;
  const char *help;
  int limit;          /* F_LIMITED: enum nnc_limit_id */
} flag;

static const flag flags[] = {
  {"data", F_PATH, DATA_CMDS, "FILE", "data file (CSV or IDX images, .gz or not)", 0},
  {"labels", F_PATH, DATA_CMDS, "FILE", "IDX labels for an IDX --data file", 0},
  {"test", F_PATH, CMD_TRAIN, "FILE", "test data, scored at the end", 0},
  {"test-labels", F_PATH, CMD_TRAIN, "FILE", "IDX labels for an IDX --test file", 0},
  {"inputs", F_COLS, DATA_CMDS | CMD_PREDICT, "COLS", "CSV input columns, 0-based: 0..3,5", 0},
  {"targets", F_COLS, DATA_CMDS, "COLS", "CSV target columns, 0-based", 0},
  {"onehot", F_BOOL, DATA_CMDS, NULL, "the single target column is a class label", 0},
  {"delimiter", F_WORD, DATA_CMDS | CMD_PREDICT, "C", "the character between CSV fields: ';', '|', tab, ... (default ',')", 0},
  {"metric", F_WORD, CMD_TRAIN | CMD_EVAL, "NAME", "score by classification, multilabel, regression or auto", 0},
  {"epochs", F_LIMITED, CMD_TRAIN, "N", "epochs per restart", NNC_LIMIT_EPOCHS},
  {"rate", F_LIMITED, CMD_TRAIN, "R", "initial step size", NNC_LIMIT_RATE},
  {"batch", F_LIMITED, CMD_TRAIN, "N", "mini-batch size", NNC_LIMIT_BATCH},
  {"optimizer", F_WORD, CMD_TRAIN, "NAME", "sgd, adam, adamw, rmsprop, rprop or irprop, with its defaults (the rate kept)", 0},
  {"momentum", F_LIMITED, CMD_TRAIN, "M", "momentum (sgd, rmsprop)", NNC_LIMIT_MOMENTUM},
  {"nesterov", F_BOOL, CMD_TRAIN, NULL, "Nesterov momentum (sgd)", 0},
  {"beta1", F_LIMITED, CMD_TRAIN, "B", "first-moment decay (adam, adamw)", NNC_LIMIT_BETA1},
  {"beta2", F_LIMITED, CMD_TRAIN, "B", "second-moment decay (adam, adamw)", NNC_LIMIT_BETA2},
  {"eps", F_LIMITED, CMD_TRAIN, "E", "added to the denominator (adam, adamw, rmsprop)", NNC_LIMIT_EPS},
  {"weight-decay", F_LIMITED, CMD_TRAIN, "W", "L2 weight decay (decoupled for adamw)", NNC_LIMIT_WEIGHT_DECAY},
  {"amsgrad", F_BOOL, CMD_TRAIN, NULL, "the largest second moment so far (adam, adamw)", 0},
  {"alpha", F_LIMITED, CMD_TRAIN, "A", "mean-square decay (rmsprop)", NNC_LIMIT_ALPHA},
  {"centered", F_BOOL, CMD_TRAIN, NULL, "divide by the variance's root, not the mean square's (rmsprop)", 0},
  {"eta-minus", F_LIMITED, CMD_TRAIN, "E", "step-size factor after a sign change (rprop, irprop)", NNC_LIMIT_ETA_MINUS},
  {"eta-plus", F_LIMITED, CMD_TRAIN, "E", "step-size factor after the same sign (rprop, irprop)", NNC_LIMIT_ETA_PLUS},
  {"step-min", F_LIMITED, CMD_TRAIN, "D", "smallest step size (rprop, irprop)", NNC_LIMIT_STEP_MIN},
  {"step-max", F_LIMITED, CMD_TRAIN, "D", "largest step size (rprop, irprop)", NNC_LIMIT_STEP_MAX},
  {"dampening", F_LIMITED, CMD_TRAIN, "D", "the gradient enters the momentum buffer times 1 - D (sgd)", NNC_LIMIT_DAMPENING},
  {"schedule", F_WORD, CMD_TRAIN, "NAME", "none, cosine, cosine_restarts or plateau, with its defaults (the rate kept)", 0},
  {"period", F_LIMITED, CMD_TRAIN, "N", "cosine: epochs from the rate down to --min-rate; cosine_restarts: the first "
   "period", NNC_LIMIT_PERIOD},
  {"period-mult", F_LIMITED, CMD_TRAIN, "K", "cosine_restarts: each period K times the last (default 1)", NNC_LIMIT_PERIOD_MULT},
  {"min-rate", F_LIMITED, CMD_TRAIN, "R", "cosine: the lowest rate; plateau: the rate is never reduced below it "
   "(default 0)", NNC_LIMIT_MIN_RATE},
  {"factor", F_LIMITED, CMD_TRAIN, "F", "plateau: the rate is multiplied by F on a plateau (default 0.1)", NNC_LIMIT_PLATEAU_FACTOR},
  {"plateau-patience", F_LIMITED, CMD_TRAIN, "N", "plateau: epochs without improvement before a reduction (default "
   "10)", NNC_LIMIT_PLATEAU_PATIENCE},
  {"threshold", F_LIMITED, CMD_TRAIN, "T", "plateau: an improvement is a loss below best*(1 - T) (default 1e-4)",
   NNC_LIMIT_THRESHOLD},
  {"cooldown", F_LIMITED, CMD_TRAIN, "N", "plateau: epochs not judged after a reduction (default 0)", NNC_LIMIT_COOLDOWN},
  {"warmup", F_LIMITED, CMD_TRAIN, "N", "the rate rises linearly over the first N epochs (or updates, with "
   "--warmup-steps)", NNC_LIMIT_WARMUP},
  {"warmup-steps", F_BOOL, CMD_TRAIN, NULL, "--warmup counts updates, not epochs", 0},
  {"warmup-from", F_LIMITED, CMD_TRAIN, "F", "the warmup's first rate, a fraction of the rate (default 1/3)",
   NNC_LIMIT_WARMUP_FROM},
  {"clip-norm", F_LIMITED, CMD_TRAIN, "C", "scale each batch's gradient down to L2 norm C over all parameters",
   NNC_LIMIT_CLIP_NORM},
  {"clip-value", F_LIMITED, CMD_TRAIN, "V", "clip each component of each batch's gradient to [-V, V]",
   NNC_LIMIT_CLIP_VALUE},
  {"restarts", F_LIMITED, CMD_TRAIN, "K", "independent initialisations, best kept", NNC_LIMIT_RESTARTS},
  {"seed", F_U64, CMD_TRAIN | CMD_GRADCHECK | CMD_EVAL | CMD_PREDICT | CMD_WEIGHTS, "S", "random seed", 0},
  {"threads", F_LIMITED, CMD_TRAIN, "N", "threads sharing each mini-batch", NNC_LIMIT_THREADS},
  {"shard-data", F_BOOL, CMD_TRAIN, NULL, "under mpirun: each process reads only its share of the training rows", 0},
  {"validation", F_LIMITED, CMD_TRAIN, "V", "fraction of the data held out for validation", NNC_LIMIT_VALIDATION},
  {"patience", F_LIMITED, CMD_TRAIN, "N", "stop after N epochs without validation gain", NNC_LIMIT_PATIENCE},
  {"save", F_PATH, CMD_TRAIN, "FILE", "where the kept weights go (default NAME.weights)", 0},
  {"resume", F_PATH, CMD_TRAIN, "FILE", "continue from a checkpoint (or start from weights)", 0},
  {"checkpoint", F_PATH, CMD_TRAIN, "FILE", "checkpoint file (default SAVE.ckpt)", 0},
  {"checkpoint-every", F_LIMITED, CMD_TRAIN, "N", "write a checkpoint every N epochs", NNC_LIMIT_CHECKPOINT_EVERY},
  {"log", F_PATH, CMD_TRAIN, "FILE", "CSV log, one row per epoch", 0},
  {"plot", F_PATH, CMD_TRAIN, "FILE", "SVG plot of the loss and accuracy curves", 0},
  {"quiet", F_BOOL, CMD_TRAIN, NULL, "no per-epoch lines", 0},
  {"train-score", F_WORD, CMD_TRAIN, "WHEN", "score the training data on the epochs shown (default), every epoch, or the last", 0},
  {"shuffle", F_BOOL, CMD_TRAIN, NULL, "a new sample order each epoch (the default)", 0},
  {"no-shuffle", F_BOOL, CMD_TRAIN, NULL, "every epoch in data order (`shuffle off`)", 0},
  {"weights", F_PATH, CMD_EVAL | CMD_PREDICT | CMD_WEIGHTS | CMD_GRADCHECK, "FILE", "weights file", 0},
  {"input", F_PATH, CMD_PREDICT | CMD_WEIGHTS, "FILE", "input rows (default: standard input)", 0},
  {"initial", F_BOOL, CMD_EVAL | CMD_PREDICT | CMD_WEIGHTS, NULL, "the network's initial weights instead of a file", 0},
  {"class", F_BOOL, CMD_PREDICT, NULL, "print each row's class (its label as trained on) instead of the outputs", 0},
  {"proba", F_BOOL, CMD_PREDICT, NULL, "print each row's class, then each class's probability: label,p0,p1,...", 0},
  {"format", F_WORD, CMD_WEIGHTS, "json|csv", "text format of weights export (default json)", 0},
  {"onnx", F_PATH, CMD_WEIGHTS, "FILE", "weights export: write the network with its weights as an ONNX model", 0},
  {"samples", F_LIMITED, CMD_GRADCHECK, "N", "samples to check (default 5)", NNC_LIMIT_SAMPLES},
  {"help", F_BOOL, ALL, NULL, "show this help", 0},
};
#define N_FLAGS (int)(sizeof flags / sizeof flags[0])

/* Where a flag means something particular to a command, its words for that command (the
 * flag table's words are for the others). */
static const struct {
  const char *flag;
  int cmds;
  const char *help;
} command_words[] = {
  {"seed", CMD_TRAIN, "seed of the initial weights and the sample order (restart r uses S+r)"},
  {"seed", CMD_GRADCHECK, "seed of the initial weights (without --weights) and of the random samples (without data)"},
  {"seed", CMD_EVAL | CMD_PREDICT | CMD_WEIGHTS, "with --initial: the seed of the initial weights"},
  {"weights", CMD_EVAL | CMD_PREDICT, "weights file (default NAME.weights)"},
  {"weights", CMD_WEIGHTS, "export: the weights file read (default NAME.weights); import: the file written"},
  {"weights", CMD_GRADCHECK, "weights to check the gradient at (default: the initial weights of --seed)"},
  {"data", CMD_TRAIN, "training data (default: the train block's data)"},
  {"data", CMD_EVAL, "data to score (default: the train block's test data, else its data)"},
  {"data", CMD_GRADCHECK, "samples to check on (default: the train block's data, else random inputs and targets)"},
  {"delimiter", DATA_CMDS, "the character between the fields of --data and --test (of the train block's files when "
   "neither is given): ';', '|', tab, ... (default ',')"},
  {"delimiter", CMD_PREDICT, "the character between the fields of the rows: ';', '|', tab, ... (default: the data "
   "setting's, else ',')"},
  {"inputs", CMD_PREDICT, "input columns of each row, 0-based (default: every field of a row of one field per "
   "input; the data setting's input columns of a whole data row)"},
  {"input", CMD_PREDICT, "CSV rows, IDX images or a FANN file (default: standard input, answered row by row)"},
  {"input", CMD_WEIGHTS, "import: the text read (default: standard input)"},
  {"initial", CMD_EVAL, "score the network's initial weights (its literal weights and init scheme, --seed)"},
  {"initial", CMD_PREDICT, "predict with the network's initial weights (its literal weights and init scheme, --seed)"},
  {"initial", CMD_WEIGHTS, "export the network's initial weights (its literal weights and init scheme, --seed)"},
};
#define N_COMMAND_WORDS (int)(sizeof command_words / sizeof command_words[0])

static const struct {
  const char *name;
  int cmd;
  const char *usage, *what, *more;
} commands[] = {
  {"train", CMD_TRAIN, "train [flags]", "train the network and save its weights",
   "Flags override the settings of the train block ('info' shows them)."},
  {"eval", CMD_EVAL, "eval [--weights W] [--data F] [--metric M]",
   "score weights on data by the network's metric (classification, multilabel, regression)", NULL},
  {"predict", CMD_PREDICT, "predict [--weights W] [--input F] [--class | --proba]",
   "write the outputs (or the class) for each input row",
   "Each row is answered as soon as it is read, so a program can write a row into a pipe and\n"
   "read its answer before it writes the next. A row holds one field per input, or is a whole\n"
   "row of the training data, whose input columns are taken; the first row decides, and a first\n"
   "row of names is a header."},
  {"info", CMD_INFO, "info", "describe the network and its training settings", NULL},
  {"weights", CMD_WEIGHTS, "weights export|import [--weights W] [--format json|csv] [--onnx FILE]",
   "export weights as text to stdout (or the network as an ONNX model), or import them from stdin", NULL},
  {"gradcheck", CMD_GRADCHECK, "gradcheck [--weights W] [--data F] [--samples N]",
   "compare backpropagation with finite differences", NULL},
};
#define N_COMMANDS (int)(sizeof commands / sizeof commands[0])

/* ---- help ---- */

static void global_help(FILE *f, const nnrt_cli *c) {
  fprintf(f, "usage: %s COMMAND [flags]\n\nnetwork '%s', compiled by nnc.\n\ncommands:\n", c->prog, c->m->name);
  for (int i = 0; i < N_COMMANDS; i++)
    fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].what);
  fprintf(f, "\n'%s COMMAND --help' lists the flags of a command.\n"
             "exit status: 0 ok, 1 bad data or files, 2 bad usage, 130 interrupted\n", c->prog);
}

/* A flag's words for the command cmd. */
static const char *flag_help(const flag *fl, int cmd) {
  for (int i = 0; i < N_COMMAND_WORDS; i++)
    if ((command_words[i].cmds & cmd) && !strcmp(command_words[i].flag, fl->name))
      return command_words[i].help;
  return fl->help;
}

static void command_help(FILE *f, const nnrt_cli *c, int which) {
  fprintf(f, "usage: %s %s\n\n%s.\n", c->prog, commands[which].usage, commands[which].what);
  if (commands[which].more)
    fprintf(f, "%s\n", commands[which].more);
  fprintf(f, "\nflags:\n");
  for (int i = 0; i < N_FLAGS; i++) {
    char left[64];
    if (!(flags[i].cmds & commands[which].cmd))
      continue;
    snprintf(left, sizeof left, "--%s%s%s", flags[i].name, flags[i].arg ? " " : "",
             flags[i].arg ? flags[i].arg : "");
    char rule[128] = "";
    if (flags[i].kind == F_LIMITED)
      nnc_limit_rule(nnc_limit_get(flags[i].limit), rule, sizeof rule);
    fprintf(f, "  %-24s %s%s%s\n", left, flag_help(&flags[i], commands[which].cmd), *rule ? ": " : "", rule);
  }
}

/* ---- values ---- */

static int usage_error(nnrt_error *err, const char *name, const char *want, const char *got) {
  return nnrt__fail(err, NNRT_EUSAGE, "--%s: expected %s, got '%s'", name, want, got);
}

/* ---- the one reader of flag values that are numbers ----
 * Decimal text only, as the .nn language and data files write numbers (nnrt__parse_real):
 * no leading or trailing space, no hex, no "1e", no "inf"; integers as digits alone (a minus
 * sign is read, for the limit to refuse), so that "1.0", "1e3" or "+5" are not read as something
 * else. */

static int all_digits(const char *s) {
  if (!*s)
    return 0;
  for (; *s; s++)
    if (*s < '0' || *s > '9')
      return 0;
  return 1;
}

/* The flag's number, NaN when the text is not a number of the kind (NaN is outside every
 * limit). */
static double flag_number(const nnc_limit *l, const char *s) {
  double x;
  if (l->integer) {
    const char *digits = s + (*s == '-');
    if (!all_digits(digits))
      return NAN;
    errno = 0;
    x = (double)strtoll(s, NULL, 10);
    return errno ? NAN : x;
  }
  return nnrt__parse_real(s, 8, &x) == NNRT_NUM_OK ? x : NAN;
}

/* A column number at *p: digits alone, at most NNC_MAX_COLUMN; -1 otherwise. */
static long column_number(const char **p) {
  long v = 0;
  const char *s = *p;
  if (*s < '0' || *s > '9')
    return -1;
  for (; *s >= '0' && *s <= '9'; s++)
    if ((v = v * 10 + (*s - '0')) > NNC_MAX_COLUMN)
      return -1;
  *p = s;
  return v;
}

/* A growing column list whose bitmap of the columns in it refuses a column twice as soon as it
 * comes, so that the list never outgrows the NNC_MAX_COLUMN + 1 distinct columns. */
typedef struct col_list {
  int32_t *a, n, cap;
  unsigned char *seen;
  long twice;            /* the first column listed twice, or -1 */
} col_list;

static int push_column(col_list *l, long k, nnrt_error *err) {
  if ((l->seen[k / 8] >> (k % 8)) & 1) {
    l->twice = k;
    return NNRT_EUSAGE;
  }
  l->seen[k / 8] |= (unsigned char)(1u << (k % 8));
  if (l->n == l->cap) {
    int32_t *b = nnrt__realloc(l->a, (size_t)(l->cap *= 2) * sizeof *l->a);
    if (!b)
      return nnrt__oom(err);
    l->a = b;
  }
  l->a[l->n++] = (int32_t)k;
  return NNRT_OK;
}

/* "0..3,5": column numbers and ascending ranges, comma-separated, no column twice. */
static int parse_cols(const char *s, int32_t **cols, int32_t *n, nnrt_error *err, const char *name) {
  col_list l = {nnrt__alloc_array(16, sizeof(int32_t)), 0, 16, nnrt__alloc_array(NNC_MAX_COLUMN / 8 + 1, 1), -1};
  const char *p = s;
  int rc = l.a && l.seen ? NNRT_OK : nnrt__oom(err);
  while (!rc && *p) {
    long lo = column_number(&p), hi = lo;
    if (lo >= 0 && p[0] == '.' && p[1] == '.') {
      p += 2;
      hi = column_number(&p);
    }
    if (lo < 0 || hi < lo || (*p && (*p != ',' || !p[1])))
      rc = usage_error(err, name, "column indices like 0..3,5 (ranges low to high, each column once)", s);
    for (long k = lo; !rc && k <= hi; k++)
      rc = push_column(&l, k, err);
    p += *p == ',';
  }
  if (l.twice >= 0)
    rc = nnrt__fail(err, NNRT_EUSAGE, "--%s: column %ld is listed twice in '%s'", name, l.twice, s);
  else if (!rc && l.n == 0)
    rc = usage_error(err, name, "column indices like 0..3,5 (ranges low to high, each column once)", s);
  nnrt__free(l.seen);
  if (rc) {
    nnrt__free(l.a);
    return rc;
  }
  nnrt__free(*cols);
  *cols = l.a;
  *n = l.n;
  return NNRT_OK;
}

static int set_path(nnrt_cli *c, const char *name, const char *v) {
  if (!strcmp(name, "data")) c->data.path = v;
  else if (!strcmp(name, "labels")) c->labels = v;
  else if (!strcmp(name, "test")) c->test.path = v;
  else if (!strcmp(name, "test-labels")) c->test_labels = v;
  else if (!strcmp(name, "save")) c->o.save_path = v;
  else if (!strcmp(name, "resume")) c->o.resume_path = v;
  else if (!strcmp(name, "checkpoint")) c->o.checkpoint_path = v;
  else if (!strcmp(name, "log")) c->o.log_path = v;
  else if (!strcmp(name, "plot")) c->o.plot_path = v;
  else if (!strcmp(name, "weights")) c->weights = v;
  else if (!strcmp(name, "input")) c->input = v;
  else if (!strcmp(name, "format")) c->format = v;
  else if (!strcmp(name, "onnx")) c->onnx = v;
  return NNRT_OK;
}

/* The flags of an optimizer's hyperparameters, with the key of nnc/optim.h each sets: applied
 * once every flag is read, over --optimizer's defaults (apply_optimizer_flags). */
static const struct {
  const char *flag;
  unsigned key;
} optim_flags[] = {
    {"momentum", NNC_OKEY_MOMENTUM}, {"nesterov", NNC_OKEY_NESTEROV},         {"beta1", NNC_OKEY_BETAS},
    {"beta2", NNC_OKEY_BETAS},       {"eps", NNC_OKEY_EPS},                   {"weight-decay", NNC_OKEY_WEIGHT_DECAY},
    {"amsgrad", NNC_OKEY_AMSGRAD},   {"alpha", NNC_OKEY_ALPHA},               {"centered", NNC_OKEY_CENTERED},
    {"eta-minus", NNC_OKEY_ETAS},    {"eta-plus", NNC_OKEY_ETAS},
    {"step-min", NNC_OKEY_STEP_SIZES}, {"step-max", NNC_OKEY_STEP_SIZES},
    {"dampening", NNC_OKEY_DAMPENING},
};
#define N_OPTIM_FLAGS (int)(sizeof optim_flags / sizeof optim_flags[0])

/* Records optimizer flag `name` (value x); 0 if it is not one. */
static int set_optim_flag(nnrt_cli *c, const char *name, double x) {
  nnc_train_settings *o = &c->optim;
  int i = 0;
  while (i < N_OPTIM_FLAGS && strcmp(optim_flags[i].flag, name))
    i++;
  if (i == N_OPTIM_FLAGS)
    return 0;
  c->optim_given |= 1u << i;
  switch (optim_flags[i].key) {
  case NNC_OKEY_MOMENTUM: o->momentum = x; break;
  case NNC_OKEY_NESTEROV: o->nesterov = 1; break;
  case NNC_OKEY_BETAS: *(strcmp(name, "beta1") ? &o->beta2 : &o->beta1) = x; break;
  case NNC_OKEY_EPS: o->eps = x; break;
  case NNC_OKEY_WEIGHT_DECAY: o->weight_decay = x; break;
  case NNC_OKEY_AMSGRAD: o->amsgrad = 1; break;
  case NNC_OKEY_ALPHA: o->alpha = x; break;
  case NNC_OKEY_ETAS: *(strcmp(name, "eta-minus") ? &o->eta_plus : &o->eta_minus) = x; break;
  case NNC_OKEY_STEP_SIZES: *(strcmp(name, "step-min") ? &o->step_max : &o->step_min) = x; break;
  case NNC_OKEY_DAMPENING: o->dampening = x; break;
  default: o->centered = 1; break;
  }
  return 1;
}

/* The optimizer of the train block, or --optimizer's with its defaults (the rate kept), then
 * the hyperparameter flags, each refused when the optimizer has no such hyperparameter. */
static int apply_optimizer_flags(nnrt_cli *c, nnrt_error *err) {
  nnc_train_settings *s = &c->o.s;
  const nnc_train_settings *o = &c->optim;
  if (c->optimizer >= 0 && c->optimizer != s->optimizer) {
    int was_full = nnc_optimizer_full_batch(s->optimizer);
    nnc_optimizer_defaults(s, c->optimizer);
    if (!(nnc_optimizer_get(c->optimizer)->keys & NNC_OKEY_MOMENTUM))
      s->momentum = 0;
    if (was_full && !c->batch_given) /* from rprop's whole set back to the default batch */
      s->batch = 1;
  }
  if (nnc_optimizer_full_batch(s->optimizer)) { /* every sample, no schedule (trainer refuses a smaller --batch) */
    if (!c->batch_given)
      s->batch = NNC_OPT_FULL_BATCH;
    s->decay = NNC_DECAY_NONE;
  }
  const nnc_optimizer_def *d = nnc_optimizer_get(s->optimizer);
  if (!d)
    return nnrt__fail(err, NNRT_EUSAGE, "the model names optimizer %d, which this runtime does not know", (int)s->optimizer);
  for (int i = 0; i < N_OPTIM_FLAGS; i++) {
    if (!(c->optim_given & (1u << i)))
      continue;
    if (!(d->keys & optim_flags[i].key))
      return nnrt__fail(err, NNRT_EUSAGE, "--%s is not a hyperparameter of %s, the optimizer of this training "
                        "(choose another with --optimizer)", optim_flags[i].flag, d->name);
    switch (optim_flags[i].key) {
    case NNC_OKEY_MOMENTUM: s->momentum = o->momentum; break;
    case NNC_OKEY_NESTEROV: s->nesterov = 1; break;
    case NNC_OKEY_BETAS:
      if (!strcmp(optim_flags[i].flag, "beta1")) s->beta1 = o->beta1;
      else s->beta2 = o->beta2;
      break;
    case NNC_OKEY_EPS: s->eps = o->eps; break;
    case NNC_OKEY_WEIGHT_DECAY: s->weight_decay = o->weight_decay; break;
    case NNC_OKEY_AMSGRAD: s->amsgrad = 1; break;
    case NNC_OKEY_ALPHA: s->alpha = o->alpha; break;
    case NNC_OKEY_ETAS:
      if (!strcmp(optim_flags[i].flag, "eta-minus")) s->eta_minus = o->eta_minus;
      else s->eta_plus = o->eta_plus;
      break;
    case NNC_OKEY_STEP_SIZES:
      if (!strcmp(optim_flags[i].flag, "step-min")) s->step_min = o->step_min;
      else s->step_max = o->step_max;
      break;
    case NNC_OKEY_DAMPENING: s->dampening = o->dampening; break;
    default: s->centered = 1; break;
    }
  }
  if ((d->keys & NNC_OKEY_STEP_SIZES) && s->step_min > s->step_max)
    return nnrt__fail(err, NNRT_EUSAGE, "the smallest step size %g is above the largest %g: give --step-min at "
                      "most --step-max", s->step_min, s->step_max);
  if (s->nesterov && !(s->momentum > 0))
    return nnrt__fail(err, NNRT_EUSAGE, "Nesterov momentum needs a momentum above 0: give --momentum M (e.g. 0.9)");
  if (s->nesterov && s->dampening != 0)
    return nnrt__fail(err, NNRT_EUSAGE, "Nesterov momentum needs a dampening of 0 (as PyTorch's SGD requires)");
  return NNRT_OK;
}

/* ---- schedule flags (nnc/schedule.h) ---- */

/* The flags of a schedule's constants: "period", then the keys of nnc/schedule.h by index
 * (their flag is the key's word with '-' for '_', patience excepted). Applied once every flag
 * is read, over --schedule's defaults (apply_schedule_flags). */
static const struct {
  const char *flag;
  int key;                      /* index into nnc_schedule_key_get, -1: the period */
} sched_flags[] = {
    {"period", -1}, {"period-mult", 1}, {"min-rate", 2}, {"factor", 3},
    {"plateau-patience", 4}, {"threshold", 5}, {"cooldown", 6},
};
#define N_SCHED_FLAGS (int)(sizeof sched_flags / sizeof sched_flags[0])

/* Records schedule flag `name` (value x), or sets a warmup or clipping flag; 0 if it is none. */
static int set_sched_flag(nnrt_cli *c, const char *name, double x) {
  nnc_schedule_settings *o = &c->o.s.sched;
  if (!strcmp(name, "warmup")) o->warmup = (int32_t)x;
  else if (!strcmp(name, "warmup-steps")) o->warmup_steps = 1;
  else if (!strcmp(name, "warmup-from")) o->warmup_from = x;
  else if (!strcmp(name, "clip-norm")) o->clip_norm = x;
  else if (!strcmp(name, "clip-value")) o->clip_value = x;
  else {
    int i = 0;
    while (i < N_SCHED_FLAGS && strcmp(sched_flags[i].flag, name))
      i++;
    if (i == N_SCHED_FLAGS)
      return 0;
    c->sched_given |= 1u << i;
    if (sched_flags[i].key < 0)
      c->sched.sched.period = (int32_t)x;
    else
      nnc_schedule_key_set(&c->sched, nnc_schedule_key_get(sched_flags[i].key), x);
  }
  return 1;
}

/* One schedule flag's value from c->sched into s, refused when the schedule has no such
 * constant. */
static int apply_sched_flag(nnrt_cli *c, int i, nnrt_error *err) {
  nnc_train_settings *s = &c->o.s;
  const nnc_schedule_def *d = nnc_schedule_get(s->decay);
  int key = sched_flags[i].key, cosine = s->decay == NNC_DECAY_COSINE || s->decay == NNC_DECAY_COSINE_RESTARTS;
  if (key < 0 ? !cosine : !(d->keys & nnc_schedule_key_get(key)->bit))
    return nnrt__fail(err, NNRT_EUSAGE, "--%s is not a constant of decay %s, the schedule of this training (choose "
                      "another with --schedule)", sched_flags[i].flag, d->name);
  if (key < 0) {
    s->sched.period = c->sched.sched.period;
    return NNRT_OK;
  }
  const nnc_schedule_key *k = nnc_schedule_key_get(key);
  memcpy((char *)s + k->offset, (const char *)&c->sched + k->offset,
         nnc_limit_get((enum nnc_limit_id)k->limit)->integer ? sizeof(int32_t) : sizeof(double));
  return NNRT_OK;
}

/* The schedule of the train block, or --schedule's with its defaults (warmup and clipping
 * kept), then its constants' flags. */
static int apply_schedule_flags(nnrt_cli *c, nnrt_error *err) {
  nnc_train_settings *s = &c->o.s;
  if (c->schedule >= 0 && c->schedule != s->decay) {
    nnc_schedule_settings keep = s->sched;
    nnc_schedule_defaults(&s->sched);
    s->sched.warmup = keep.warmup;
    s->sched.warmup_steps = keep.warmup_steps;
    s->sched.warmup_from = keep.warmup_from;
    s->sched.clip_norm = keep.clip_norm;
    s->sched.clip_value = keep.clip_value;
    s->decay = c->schedule;
  }
  if (!nnc_schedule_get(s->decay))
    return nnrt__fail(err, NNRT_EUSAGE, "the model names schedule %d, which this runtime does not know", (int)s->decay);
  for (int i = 0; i < N_SCHED_FLAGS; i++)
    if ((c->sched_given & (1u << i)) && apply_sched_flag(c, i, err))
      return NNRT_EUSAGE;
  if ((s->decay == NNC_DECAY_COSINE || s->decay == NNC_DECAY_COSINE_RESTARTS) && s->sched.period < 1)
    return nnrt__fail(err, NNRT_EUSAGE, "--schedule %s needs its period: give --period N (epochs)",
                      nnc_schedule_get(s->decay)->name);
  return NNRT_OK;
}

/* --schedule NAME: the schedules whose constants have flags. */
static int set_schedule(nnrt_cli *c, const char *v, nnrt_error *err) {
  int id = nnc_schedule_find(v);
  if (id != NNC_DECAY_NONE && id < NNC_DECAY_COSINE)
    return usage_error(err, "schedule", "none, cosine, cosine_restarts or plateau (inverse, exponential and step "
                       "are set in the train block)", v);
  c->schedule = id;
  return NNRT_OK;
}

/* --optimizer NAME */
static int set_optimizer(nnrt_cli *c, const char *v, nnrt_error *err) {
  int id = nnc_optimizer_find(v);
  if (id < 0)
    return usage_error(err, "optimizer", "sgd, adam, adamw, rmsprop, rprop or irprop", v);
  c->optimizer = id;
  return NNRT_OK;
}

static int set_number(nnrt_cli *c, const char *name, double x) {
  nnc_train_settings *s = &c->o.s;
  int32_t v = (int32_t)(x > INT32_MAX ? 0 : x); /* integer limits are within int32 */
  if (set_optim_flag(c, name, x) || set_sched_flag(c, name, x)) return NNRT_OK;
  if (!strcmp(name, "rate")) s->rate = x;
  else if (!strcmp(name, "validation")) s->validation = x;
  else if (!strcmp(name, "epochs")) s->epochs = v;
  else if (!strcmp(name, "batch")) s->batch = (int32_t)v, c->batch_given = 1;
  else if (!strcmp(name, "restarts")) s->restarts = (int32_t)v;
  else if (!strcmp(name, "threads")) c->o.threads = (int32_t)v;
  else if (!strcmp(name, "patience")) s->patience = (int32_t)v;
  else if (!strcmp(name, "checkpoint-every")) s->checkpoint_every = (int32_t)v;
  else if (!strcmp(name, "samples")) c->samples = v;
  return NNRT_OK;
}

/* "--batch: expected an integer from 1 to 1048576 (1: per-sample SGD), got '0'": the rule in
 * the words of the compiler's message for `batch 0;`. */
static int set_limited(nnrt_cli *c, const flag *f, const char *v, nnrt_error *err) {
  const nnc_limit *l = nnc_limit_get(f->limit);
  double x = flag_number(l, v);
  char rule[128];
  if (!nnc_limit_allows(l, x))
    return usage_error(err, f->name, nnc_limit_rule(l, rule, sizeof rule), v);
  return set_number(c, f->name, x);
}

static int set_bool(nnrt_cli *c, const char *name) {
  if (set_optim_flag(c, name, 1) || (!strcmp(name, "warmup-steps") && set_sched_flag(c, name, 1))) return NNRT_OK;
  if (!strcmp(name, "onehot")) c->onehot_given = 1;
  else if (!strcmp(name, "quiet")) c->quiet = 1;
  else if (!strcmp(name, "shard-data")) nnrt__shard_enable(1);
  else if (!strcmp(name, "class")) c->print_class = 1;
  else if (!strcmp(name, "proba")) c->print_proba = 1;
  else if (!strcmp(name, "initial")) c->initial = 1;
  else if (!strcmp(name, "shuffle")) c->shuffle_flags |= 1, c->o.s.shuffle_off = 0;
  else if (!strcmp(name, "no-shuffle")) c->shuffle_flags |= 2, c->o.s.shuffle_off = 1;
  return NNRT_OK;
}

/* --delimiter C: one character that cannot be part of a number or a quoted field, or `tab`. */
static int set_delimiter(nnrt_cli *c, const char *v, nnrt_error *err) {
  unsigned char ch = !strcmp(v, "tab") ? '\t' : (unsigned char)v[0];
  if (!ch || (v[1] && strcmp(v, "tab")) || (ch < 0x20 && ch != '\t') || ch >= 0x7f || (ch >= '0' && ch <= '9') ||
      (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || strchr(".+-\"' ", ch))
    return usage_error(err, "delimiter", "one character that is not part of a number, a quote or a space "
                       "(';', '|', tab, ...)", v);
  c->delimiter = ch;
  c->delimiter_given = 1;
  return NNRT_OK;
}

/* --metric NAME: the train block's `metric`, overridden. */
static int set_metric(nnrt_cli *c, const char *v, nnrt_error *err) {
  for (int32_t k = NNC_METRIC_AUTO; k <= NNC_METRIC_REGRESSION; k++)
    if (!strcmp(v, nnrt_metric_name(k))) {
      c->o.s.metric = k;
      return NNRT_OK;
    }
  return usage_error(err, "metric", "auto, classification, multilabel or regression", v);
}

/* --train-score shown|every|last: which epochs score the training data (enum nnrt_train_score). */
static int set_train_score(nnrt_cli *c, const char *v, nnrt_error *err) {
  static const char *const names[] = {"shown", "every", "last"};
  for (int32_t k = 0; k < 3; k++)
    if (!strcmp(v, names[k])) {
      c->o.train_score = k;
      return NNRT_OK;
    }
  return usage_error(err, "train-score", "shown, every or last", v);
}

static int set_value(nnrt_cli *c, const flag *f, const char *v, nnrt_error *err) {
  switch (f->kind) {
  case F_PATH:
    if (!*v)
      return usage_error(err, f->name, "a file name", v);
    return set_path(c, f->name, v);
  case F_WORD:
    if (!strcmp(f->name, "metric"))
      return set_metric(c, v, err);
    if (!strcmp(f->name, "optimizer"))
      return set_optimizer(c, v, err);
    if (!strcmp(f->name, "schedule"))
      return set_schedule(c, v, err);
    if (!strcmp(f->name, "delimiter"))
      return set_delimiter(c, v, err);
    if (!strcmp(f->name, "train-score"))
      return set_train_score(c, v, err);
    if (strcmp(v, "json") && strcmp(v, "csv"))
      return usage_error(err, f->name, "json or csv", v);
    return set_path(c, f->name, v);
  case F_LIMITED:
    return set_limited(c, f, v, err);
  case F_U64: {
    errno = 0;
    unsigned long long u = all_digits(v) ? strtoull(v, NULL, 10) : 0;
    if (!all_digits(v) || errno)
      return usage_error(err, f->name, "a non-negative integer", v);
    c->o.s.seed = u;
    c->seed_given = 1;
    return NNRT_OK;
  }
  default:
    if (!strcmp(f->name, "inputs")) {
      c->inputs_given = 1;
      return parse_cols(v, &c->in_cols, &c->n_in_cols, err, f->name);
    }
    c->targets_given = 1;
    return parse_cols(v, &c->tg_cols, &c->n_tg_cols, err, f->name);
  }
}

/* ---- parsing ---- */

static const flag *find_flag(const char *name, size_t len) {
  for (int i = 0; i < N_FLAGS; i++)
    if (strlen(flags[i].name) == len && !strncmp(flags[i].name, name, len))
      return &flags[i];
  return NULL;
}

static int unknown_flag(nnrt_cli *c, const char *arg, nnrt_error *err) {
  return nnrt__fail(err, NNRT_EUSAGE, "unknown flag '%s' for '%s' (see '%s %s --help')", arg,
                    c->cmd_name, c->prog, c->cmd_name);
}

/* One argument at argv[*i]: a flag (--name VALUE, --name=VALUE, --bool) or a positional. */
static int parse_arg(nnrt_cli *c, int argc, char **argv, int *i, int *help, nnrt_error *err) {
  const char *arg = argv[*i];
  if (strncmp(arg, "--", 2) != 0) {
    if (c->cmd == CMD_WEIGHTS && !c->action && (!strcmp(arg, "export") || !strcmp(arg, "import"))) {
      c->action = arg;
      return NNRT_OK;
    }
    if (!strcmp(arg, "-h"))
      return *help = 1, NNRT_OK;
    return nnrt__fail(err, NNRT_EUSAGE, "unexpected argument '%s' for '%s' (see '%s %s --help')",
                      arg, c->cmd_name, c->prog, c->cmd_name);
  }
  const char *eq = strchr(arg + 2, '=');
  const flag *f = find_flag(arg + 2, eq ? (size_t)(eq - arg - 2) : strlen(arg + 2));
  if (!f || !(f->cmds & c->cmd))
    return unknown_flag(c, arg, err);
  if (f->kind == F_BOOL) {
    if (eq)
      return nnrt__fail(err, NNRT_EUSAGE, "--%s takes no value", f->name);
    if (!strcmp(f->name, "help"))
      *help = 1;
    return set_bool(c, f->name);
  }
  if (!eq && *i + 1 >= argc)
    return nnrt__fail(err, NNRT_EUSAGE, "--%s: missing value (%s)", f->name, f->arg);
  return set_value(c, f, eq ? eq + 1 : argv[++*i], err);
}

static void init_cli(nnrt_cli *c, const nnc_model *m, const char *prog) {
  memset(c, 0, sizeof *c);
  c->m = m;
  c->prog = prog;
  nnrt_train_options_init(&c->o, m);
  c->data = c->o.s.data;
  c->test = c->o.s.test;
  c->format = "json";
  c->samples = 5;
  c->optimizer = -1;
  c->schedule = -1;
}

static int find_command(const char *name) {
  for (int i = 0; i < N_COMMANDS; i++)
    if (!strcmp(commands[i].name, name))
      return i;
  return -1;
}

static int check_descriptor(const nnc_model *m, nnrt_error *err) {
  if (!m || m->abi_version != NNC_ABI_VERSION)
    return nnrt__fail(err, NNRT_EDATA, "internal error: the model was compiled for runtime ABI %d, "
                      "this runtime has ABI %d", m ? (int)m->abi_version : -1, NNC_ABI_VERSION);
  if ((m->real_bytes != 4 && m->real_bytes != 8) || m->n_inputs < 1 || m->n_outputs < 1 ||
      m->n_params < 0 || !m->train || !m->init || !m->forward || !m->loss_grad != !m->train_step)
    return nnrt__fail(err, NNRT_EDATA, "internal error: malformed model descriptor");
  return nnrt_cpu_check(m, err);
}

/* Under mpirun with several processes: MPI around the training (docs/mpi.md). */
static int train_maybe_mpi(nnrt_cli *c, nnrt_error *err) {
  int rc = nnrt__mpi_start(err);
  if (rc)
    return rc;
  rc = nnrt__cmd_train(c, err);
  nnrt__mpi_stop();
  return rc;
}

/* Whether every rank has this error: usage errors, divergence, interrupts and agreed failures
 * are the same on every rank; a file missing on one host, or its MPI plugin, is not. */
static int failed_elsewhere(const nnrt_error *err) { return !strncmp(err->msg, "another process", 15); }

static int error_is_shared(const nnrt_error *err, int rc) {
  if (nnrt__mpi_failed_alone())
    return 0;
  return rc == NNRT_EUSAGE || rc == NNRT_EDIVERGED || rc == NNRT_EINTERRUPTED ||
         !strncmp(err->msg, "rank 0 ", 7) || failed_elsewhere(err);
}

/* Rank 0 reports every shared error; each rank its own failures, naming its rank and host
 * (hosts differ in their files). A rank that did not print its own failure waits a moment
 * before exiting: mpirun ends the whole job at the first failed exit, and that must not come
 * before the rank that failed (rank 0, or another) has printed why. */
static void report_error(const nnrt_error *err, int rc) {
  int several = nnrt__mpi_launched_size() > 1, rank = several ? nnrt__mpi_launched_rank() : 0;
  int shared = error_is_shared(err, rc);
  if (!several || (rank == 0 && shared))
    fprintf(stderr, "error: %s\n", err->msg);
  else if (!shared)
    fprintf(stderr, "rank %d on %s: error: %s\n", rank, nnrt__mpi_host(), err->msg);
  if (several && shared && (rank != 0 || failed_elsewhere(err))) {
    struct timespec wait = {1, 0};
    nanosleep(&wait, NULL);
  }
}

/* Settings that would be accepted and mean nothing: early stopping without validation data,
 * a seed for weights read from a file. */
static int check_flag_combinations(const nnrt_cli *c, nnrt_error *err) {
  const nnc_train_settings *s = &c->o.s;
  if (c->shuffle_flags == 3)
    return nnrt__fail(err, NNRT_EUSAGE, "--shuffle and --no-shuffle contradict each other: give one");
  if (c->cmd == CMD_TRAIN && s->patience > 0 && s->validation == 0)
    return nnrt__fail(err, NNRT_EUSAGE, "early stopping (patience %d) needs validation data, but validation "
                      "is 0: give --validation V (e.g. --validation 0.1), or --patience 0", (int)s->patience);
  if ((c->cmd & (CMD_EVAL | CMD_PREDICT | CMD_WEIGHTS)) && c->seed_given && !c->initial)
    return nnrt__fail(err, NNRT_EUSAGE, "--seed seeds the initial weights of --initial; '%s' without "
                      "--initial reads its weights from a file", c->cmd_name);
  return NNRT_OK;
}

/* rprop and irprop step by the signs of the whole set's gradient, their step sizes adapting by
 * themselves: a schedule or a warmup of the rate could not act, and is refused. */
static int check_full_batch_schedule(nnrt_cli *c, nnrt_error *err) {
  const nnc_train_settings *s = &c->o.s;
  const char *name = nnc_optimizer_get(s->optimizer)->name;
  if (!nnc_optimizer_full_batch(s->optimizer))
    return NNRT_OK;
  if (c->schedule > NNC_DECAY_NONE)
    return nnrt__fail(err, NNRT_EUSAGE, "--schedule is not a setting of %s: its step sizes adapt by themselves "
                      "(--rate is the first step size; choose another optimizer with --optimizer)", name);
  if (s->sched.warmup > 0)
    return nnrt__fail(err, NNRT_EUSAGE, "--warmup is not a setting of %s: its step sizes adapt by themselves "
                      "(--rate is the first step size; choose another optimizer with --optimizer)", name);
  return NNRT_OK;
}

static int run_command(nnrt_cli *c, nnrt_error *err) {
  int rc = apply_optimizer_flags(c, err);
  if (!rc)
    rc = check_full_batch_schedule(c, err);
  if (!rc)
    rc = apply_schedule_flags(c, err);
  if (!rc)
    rc = check_flag_combinations(c, err);
  if (rc)
    return rc;
  if (!c->m->train_step && (c->cmd == CMD_TRAIN || c->cmd == CMD_GRADCHECK))
    return nnrt__fail(err, NNRT_EUSAGE, "this model was compiled with its trained weights (nnc --weights): "
                      "it can eval and predict, not %s", c->cmd == CMD_TRAIN ? "train" : "gradcheck");
  if (nnrt__mpi_launched_size() > 1 && c->cmd != CMD_TRAIN)
    return nnrt__fail(err, NNRT_EUSAGE, "'%s' runs in one process: only 'train' is data-parallel under "
                      "mpirun (%d processes); run '%s %s' without mpirun", c->cmd_name,
                      nnrt__mpi_launched_size(), c->prog, c->cmd_name);
  switch (c->cmd) {
  case CMD_TRAIN: return train_maybe_mpi(c, err);
  case CMD_EVAL: return nnrt__cmd_eval(c, err);
  case CMD_PREDICT: return nnrt__cmd_predict(c, err);
  case CMD_INFO: return nnrt__cmd_info(c, err);
  case CMD_WEIGHTS: return nnrt__cmd_weights(c, err);
  default: return nnrt__cmd_gradcheck(c, err);
  }
}

static int exit_code(int status) {
  switch (status) {
  case NNRT_OK: return 0;
  case NNRT_EUSAGE: return 2;
  case NNRT_EINTERRUPTED: return 130;
  default: return 1;
  }
}

static int parse_and_run(nnrt_cli *c, int argc, char **argv, nnrt_error *err) {
  int which = find_command(argv[1]), help = 0, rc = NNRT_OK;
  if (which < 0)
    return nnrt__fail(err, NNRT_EUSAGE, "unknown command '%s' (expected train, eval, predict, info, "
                      "weights or gradcheck; see '%s --help')", argv[1], c->prog);
  c->cmd = commands[which].cmd;
  c->cmd_name = commands[which].name;
  for (int i = 2; i < argc && rc == NNRT_OK; i++)
    rc = parse_arg(c, argc, argv, &i, &help, err);
  if (rc)
    return rc;
  if (help) {
    command_help(stdout, c, which);
    return NNRT_OK;
  }
  return run_command(c, err);
}

int nnrt_main(const nnc_model *m, int argc, char **argv) {
  nnrt_cli c;
  nnrt_error err = {0, ""};
  const char *prog = argc > 0 && argv[0] ? argv[0] : "model";
  int rc = check_descriptor(m, &err);
  if (rc) {
    fprintf(stderr, "%s: %s\n", prog, err.msg);
    return 1;
  }
  init_cli(&c, m, prog);
  if (argc < 2) {
    global_help(stderr, &c);
    return 2;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    global_help(stdout, &c);
    return 0;
  }
  rc = parse_and_run(&c, argc, argv, &err);
  if (rc)
    report_error(&err, rc);
  nnrt__free(c.in_cols);
  nnrt__free(c.tg_cols);
  fflush(stdout);
  return exit_code(rc);
}
