/* sema.c — checks the AST of one network and builds its network IR.
 * Consumes: the AST of a parsed file. Produces: an IrNetwork (ir.h) in the given arena, or
 * NULL after reporting every error found. Afterwards names are resolved to group ids, the
 * graph is acyclic and in topological order, sizes and settings are valid, every hidden and
 * output neuron has exactly one bias edge, and parameters and values are laid out.
 * Training settings are checked by settings.c, called from here. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ast.h"
#include "ir.h"
#include "nnc/limits.h"
#include "sema.h"

#define SEMA_MAX_GROUP_SIZE (1 << 24)

/* --- names -------------------------------------------------------------------------- */

static uint64_t hash_name(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

/* Open-addressing table from names to group ids; capacity is a power of two. */
static int *name_slot(Sema *s, const char *name) {
  size_t mask = s->name_cap - 1;
  for (size_t i = hash_name(name) & mask;; i = (i + 1) & mask) {
    int id = s->names[i];
    if (id < 0 || strcmp(s->net->groups[id].name, name) == 0) return &s->names[i];
  }
}

int sema_lookup(Sema *s, const char *name) { return *name_slot(s, name); }

/* The Levenshtein distance of a and b if it is at most limit, else limit + 1. Only the band
 * |i - j| <= limit of the table is computed, so a hint costs O(length * limit) per name. */
static size_t bounded_distance(const char *a, const char *b, size_t limit) {
  size_t la = strlen(a), lb = strlen(b), big = limit + 1;
  if (la > 64 || lb > 64 || la > lb + limit || lb > la + limit) return big;
  size_t row[65];
  for (size_t j = 0; j <= lb; j++) row[j] = j < big ? j : big;
  for (size_t i = 1; i <= la; i++) {
    size_t lo = i > limit ? i - limit : 1, hi = i + limit < lb ? i + limit : lb;
    size_t diag = row[lo - 1];
    row[lo - 1] = lo == 1 && i < big ? i : big;
    for (size_t j = lo; j <= hi; j++) {
      size_t up = row[j];
      size_t best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best < big ? best : big;
      diag = up;
    }
  }
  return row[lb];
}

/* Names other tools give to what nnc calls otherwise (settings, losses, activations, init
 * schemes, decays), for the hints: a word here suggests its nnc name whenever that name is
 * a candidate, however far apart they are spelt. Matched without regard to case. */
static const char *const other_names[][2] = {
    {"lr", "rate"}, {"learning_rate", "rate"}, {"learningrate", "rate"}, {"step_size", "rate"},
    {"eta", "rate"}, {"alpha", "rate"},
    {"optimizer", "sgd"}, {"optimiser", "sgd"}, {"optim", "sgd"}, {"solver", "sgd"},
    {"epoch", "epochs"}, {"n_epochs", "epochs"}, {"num_epochs", "epochs"}, {"max_epochs", "epochs"},
    {"max_epoch", "epochs"}, {"iterations", "epochs"}, {"max_iter", "epochs"},
    {"batch_size", "batch"}, {"batchsize", "batch"}, {"minibatch", "batch"}, {"mini_batch", "batch"},
    {"validation_split", "validation"}, {"val_split", "validation"}, {"valid", "validation"},
    {"early_stopping", "early_stop"}, {"earlystopping", "early_stop"},
    {"weight_init", "init"}, {"initializer", "init"}, {"initialiser", "init"}, {"initialization", "init"},
    {"initialisation", "init"}, {"kernel_initializer", "init"},
    {"random_seed", "seed"}, {"random_state", "seed"}, {"rng_seed", "seed"},
    {"loss_function", "loss"}, {"criterion", "loss"}, {"objective", "loss"},
    {"dtype", "precision"}, {"train_data", "data"}, {"training_data", "data"}, {"dataset", "data"},
    {"test_data", "test"}, {"n_restarts", "restarts"}, {"num_restarts", "restarts"},
    {"mse", "squared"}, {"mean_squared_error", "squared"}, {"squared_error", "squared"}, {"l2", "squared"},
    {"sse", "squared"}, {"ce", "cross_entropy"}, {"crossentropy", "cross_entropy"}, {"xent", "cross_entropy"},
    {"categorical_crossentropy", "cross_entropy"}, {"binary_crossentropy", "cross_entropy"},
    {"sparse_categorical_crossentropy", "cross_entropy"}, {"bce", "cross_entropy"}, {"nll", "cross_entropy"},
    {"log_loss", "cross_entropy"}, {"logloss", "cross_entropy"},
    {"lrelu", "leaky_relu"}, {"leakyrelu", "leaky_relu"}, {"leaky", "leaky_relu"}, {"none", "identity"},
    {"id", "identity"}, {"heaviside", "step"}, {"threshold", "step"}, {"hardlim", "step"},
    {"binary_step", "step"}, {"glorot", "xavier"}, {"glorot_uniform", "xavier"}, {"xavier_uniform", "xavier"},
    {"kaiming", "he"}, {"kaiming_uniform", "he"}, {"he_uniform", "he"}, {"zeros", "zero"},
    {"random_uniform", "uniform"}, {"gaussian", "normal"}, {"random_normal", "normal"},
    {"inverse_time", "inverse"}, {"invscaling", "inverse"}, {"exp", "exponential"},
};

static const char *other_name(const char *word, const char *const *cands, int n) {
  for (size_t i = 0; i < sizeof other_names / sizeof other_names[0]; i++) {
    if (strcasecmp(word, other_names[i][0]) != 0) continue;
    for (int k = 0; k < n; k++)
      if (strcmp(cands[k], other_names[i][1]) == 0) return cands[k];
  }
  return NULL;
}

const char *sema_closest(const char *word, const char *const *cands, int n) {
  const char *best = other_name(word, cands, n);
  if (best) return best;
  size_t best_d = strlen(word) < 4 ? 1 : 2;
  for (int i = 0; i < n; i++) {
    size_t d = bounded_distance(word, cands[i], best_d);
    if (d <= best_d && (!best || d < best_d)) best = cands[i], best_d = d;
  }
  return best;
}

/* The hint searches every name, so it is skipped once errors are no longer shown. */
static void report_unknown_name(Sema *s, SrcLoc loc, const char *name) {
  if (diag_muted(s->diag)) {
    diag_error(s->diag, loc, "unknown neuron or layer '%s'", name);
    return;
  }
  const char **cands = xmalloc(sizeof(char *) * (size_t)(s->net->n_groups + 1));
  int n = 0;
  for (int i = 0; i < s->net->n_groups; i++)
    if (!s->net->groups[i].implicit) cands[n++] = s->net->groups[i].name;
  const char *hint = sema_closest(name, cands, n);
  if (hint)
    diag_error(s->diag, loc, "unknown neuron or layer '%s'; did you mean '%s'?", name, hint);
  else
    diag_error(s->diag, loc, "unknown neuron or layer '%s'", name);
  free(cands);
}

/* --- groups ------------------------------------------------------------------------- */

static IrGroup *new_group(Sema *s, const char *name, SrcLoc loc, IrRole role, int size) {
  IrGroup *g = &s->net->groups[s->net->n_groups];
  g->id = s->net->n_groups++;
  g->name = name;
  g->loc = loc;
  g->role = role;
  g->size = size;
  g->io_offset = -1;
  g->init = g->bias_init = (IrInitSpec){-1, 0, 0};
  return g;
}

static IrRole role_of(AstDeclKind k) {
  switch (k) {
  case DECL_INPUT: return ROLE_INPUT;
  case DECL_BIAS: return ROLE_BIAS;
  case DECL_OUTPUT: return ROLE_OUTPUT;
  default: return ROLE_HIDDEN;
  }
}

static int checked_size(Sema *s, const AstDecl *d) {
  if (d->size >= 1 && d->size <= SEMA_MAX_GROUP_SIZE) return (int)d->size;
  if (d->size < 1)
    diag_error(s->diag, d->size_loc, "%s '%s' must have at least one neuron", ast_decl_kind_name(d->kind), d->name);
  else
    diag_error(s->diag, d->size_loc, "%s '%s' is too large (%lld neurons; the limit is %d)",
               ast_decl_kind_name(d->kind), d->name, d->size, SEMA_MAX_GROUP_SIZE);
  return 1;
}

/* Creates one group per declaration; a repeated name is reported with the first one. */
static void declare_groups(Sema *s, const AstNetwork *ast) {
  for (const AstDecl *d = ast->decls; d; d = d->next) {
    if (d->kind == DECL_SUM) continue;
    int *slot = name_slot(s, d->name);
    if (*slot >= 0) {
      diag_error(s->diag, d->name_loc, "'%s' is already defined", d->name);
      diag_note(s->diag, s->net->groups[*slot].loc, "'%s' was first defined here", d->name);
      continue;
    }
    IrGroup *g = new_group(s, d->name, d->name_loc, role_of(d->kind), checked_size(s, d));
    s->decl_of[g->id] = d;
    *slot = g->id;
  }
}

/* --- activations -------------------------------------------------------------------- */

static const char *const act_names[] = {"identity", "sigmoid", "relu",     "tanh",
                                        "leaky_relu", "softplus", "softmax", "step", "log_softmax"};

static int act_by_name(const char *name) {
  if (strcmp(name, "linear") == 0) return ACT_IDENTITY;
  if (strcmp(name, "logistic") == 0) return ACT_SIGMOID;
  for (int i = 0; i < ACT_COUNT; i++)
    if (strcmp(name, act_names[i]) == 0) return i;
  return -1;
}

static int count_values(const AstValue *v) {
  int n = 0;
  for (; v; v = v->next) n++;
  return n;
}

static void resolve_activation(Sema *s, IrGroup *g, const AstValue *act) {
  int a = act_by_name(act->text);
  if (a < 0) {
    const char *hint = sema_closest(act->text, act_names, ACT_COUNT);
    if (hint)
      diag_error(s->diag, act->loc, "unknown activation '%s'; did you mean '%s'?", act->text, hint);
    else
      diag_error(s->diag, act->loc, "unknown activation '%s' (expected identity, sigmoid, relu, tanh, "
                 "leaky_relu, softplus, softmax, log_softmax or step)", act->text);
    return;
  }
  g->act = (IrAct)a;
  g->act_param = a == ACT_LEAKY_RELU ? 0.01 : 0;
  int nargs = act->kind == VAL_CALL ? count_values(act->args) : 0;
  char buf[32];
  if (a != ACT_LEAKY_RELU && act->kind == VAL_CALL) {
    diag_error(s->diag, act->loc, "activation '%s' takes no arguments", act->text);
  } else if (a == ACT_LEAKY_RELU && nargs > 0) {
    const AstValue *slope = act->args;
    if (nargs > 1 || (slope->kind != VAL_INT && slope->kind != VAL_REAL && slope->kind != VAL_RATIO))
      diag_error(s->diag, act->loc, "leaky_relu takes one number, its slope below zero");
    else if (slope->num < 0 || slope->num >= 1)
      diag_error(s->diag, slope->loc, "leaky_relu slope must be in [0, 1), got %s",
                 nnc_number_text(slope->num, buf, sizeof buf));
    else
      g->act_param = slope->num;
  }
}

/* --- edges -------------------------------------------------------------------------- */

static IrEdges *add_edges(Sema *s, IrGroup *g, IrEdgeKind kind, int src, int src_index, SrcLoc loc) {
  if (g->n_in == s->in_cap[g->id]) {
    int cap = s->in_cap[g->id] ? 2 * s->in_cap[g->id] : 4;
    IrEdges *in = arena_alloc(s->arena, sizeof(IrEdges) * (size_t)cap);
    if (g->n_in) memcpy(in, g->in, sizeof(IrEdges) * (size_t)g->n_in);
    g->in = in;
    s->in_cap[g->id] = cap;
  }
  IrEdges *e = &g->in[g->n_in++];
  memset(e, 0, sizeof *e);
  e->kind = kind;
  e->src = src;
  e->src_index = src_index;
  e->loc = loc;
  e->param_offset = -1;
  return e;
}

static IrWeightKind weight_kind(const AstTerm *t) {
  return t->fixed ? WEIGHT_FIXED : t->has_weight ? WEIGHT_INITIAL : WEIGHT_LEARNED;
}

/* `w*x`: initial w; `fixed w*x`: fixed w; `x`: learned; `fixed x`: fixed 1 (the AST's
 * weight is 1 when none was written, -1 after a minus). values: a literal's numbers, one per
 * edge, or NULL. */
static void set_weight(IrEdges *e, const AstTerm *t, const double *values) {
  e->weight = weight_kind(t);
  e->value = e->weight == WEIGHT_LEARNED || t->lit ? 0 : t->weight;
  e->values = values;
}

/* --- literal weight vectors and matrices -------------------------------------------- */

static int64_t count_list(const AstValue *v) {
  int64_t n = 0;
  for (; v; v = v->next) n++;
  return n;
}

static int is_matrix(const AstValue *lit) { return lit->args && lit->args->kind == VAL_LIST; }

/* Where a literal's weights go: into `dst` (rows: its neurons), from `src` (cols: the
 * source neurons of one edge; 1 for one neuron and for a bias), for messages. */
typedef struct LitShape {
  const char *dst;
  int64_t rows;
  const char *src; /* NULL for a bias */
  int64_t cols;
} LitShape;

static const char *plural_s(int64_t n) { return n == 1 ? "" : "s"; }

/* A vector fits a shape with one row (the weights of one neuron) or one column (one weight
 * per neuron of dst); any other shape is a matrix, one row per neuron of dst. */
static int vector_fits(Sema *s, const AstTerm *t, LitShape sh) {
  int64_t n = count_list(t->lit->args);
  const char *what = sh.src ? "weight" : "bias";
  if ((sh.cols == 1 && n == sh.rows) || (sh.rows == 1 && n == sh.cols)) return 1;
  if (sh.rows > 1 && sh.cols > 1)
    diag_error(s->diag, t->lit->loc, "'%s' has %lld neurons and '%s' has %lld: the weights from '%s' are a "
               "matrix of %lld rows of %lld numbers, one row per neuron of '%s'", sh.dst, (long long)sh.rows,
               sh.src, (long long)sh.cols, sh.src, (long long)sh.rows, (long long)sh.cols, sh.dst);
  else if (sh.cols == 1)
    diag_error(s->diag, t->lit->loc, "%s vector of '%s' has %lld number%s; '%s' has %lld neuron%s", what, sh.dst,
               (long long)n, plural_s(n), sh.dst, (long long)sh.rows, plural_s(sh.rows));
  else
    diag_error(s->diag, t->lit->loc, "weight vector of '%s' has %lld number%s; '%s' has %lld neuron%s", sh.dst,
               (long long)n, plural_s(n), sh.src, (long long)sh.cols, plural_s(sh.cols));
  return 0;
}

static int matrix_fits(Sema *s, const AstTerm *t, LitShape sh) {
  int64_t n = count_list(t->lit->args), i = 0;
  const char *what = sh.src ? "weight" : "bias";
  if (n != sh.rows) {
    diag_error(s->diag, t->lit->loc, "%s matrix of '%s' has %lld row%s; '%s' has %lld neuron%s", what, sh.dst,
               (long long)n, plural_s(n), sh.dst, (long long)sh.rows, plural_s(sh.rows));
    return 0;
  }
  int ok = 1;
  for (const AstValue *row = t->lit->args; row; row = row->next, i++) {
    int64_t k = count_list(row->args);
    if (k == sh.cols) continue;
    if (sh.cols > 1)
      diag_error(s->diag, row->loc, "row %lld of the weight matrix of '%s' has %lld number%s; '%s' has %lld neurons",
                 (long long)i, sh.dst, (long long)k, plural_s(k), sh.src, (long long)sh.cols);
    else
      diag_error(s->diag, row->loc, "row %lld of the %s matrix of '%s' has %lld numbers; it takes 1", (long long)i,
                 what, sh.dst, (long long)k);
    ok = 0;
  }
  return ok;
}

/* The numbers of t's literal, rows × cols in row-major order with t's sign applied, in the
 * IR's arena; NULL after reporting a literal whose shape does not fit. */
static double *literal_values(Sema *s, const AstTerm *t, LitShape sh) {
  if (!(is_matrix(t->lit) ? matrix_fits(s, t, sh) : vector_fits(s, t, sh))) return NULL;
  double *v = arena_alloc(s->arena, sizeof(double) * (size_t)(sh.rows * sh.cols));
  int64_t k = 0;
  for (const AstValue *e = t->lit->args; e; e = e->next) {
    if (e->kind != VAL_LIST) v[k++] = t->weight * e->num;
    for (const AstValue *x = e->kind == VAL_LIST ? e->args : NULL; x; x = x->next) v[k++] = t->weight * x->num;
  }
  return v;
}

/* The per-edge values of term t on an edge set into dst (rows neurons) from src (cols neurons
 * per edge, src NULL for a bias): NULL when t has a plain number or none. *bad is set when
 * the literal does not fit. */
static const double *term_values(Sema *s, const AstTerm *t, LitShape sh, int *bad) {
  if (!t->lit) return NULL;
  const double *v = literal_values(s, t, sh);
  if (!v) *bad = 1;
  return v;
}

/* --- duplicate edges: (group, source, key) -> position in the group's in[] ------------ */

enum { EDGE_KEY_DENSE = -1, EDGE_KEY_ANY = -2 };

static EdgeSlot *edge_slot(EdgeSlot *slots, size_t cap, int dst, int src, int64_t key) {
  uint64_t h = ((uint64_t)(uint32_t)dst * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)(uint32_t)src * 0xc2b2ae3d27d4eb4full) ^
               ((uint64_t)key * 0x165667b19e3779f9ull);
  size_t mask = cap - 1;
  for (size_t i = (h ^ (h >> 29)) & mask;; i = (i + 1) & mask) {
    EdgeSlot *e = &slots[i];
    if (e->pos < 0 || (e->dst == dst && e->src == src && e->key == key)) return e;
  }
}

static void edge_index_grow(Sema *s) {
  size_t cap = s->edge_cap ? 2 * s->edge_cap : 64;
  EdgeSlot *slots = xmalloc(sizeof(EdgeSlot) * cap);
  for (size_t i = 0; i < cap; i++) slots[i].pos = -1;
  for (size_t i = 0; i < s->edge_cap; i++) {
    const EdgeSlot *e = &s->edge_slots[i];
    if (e->pos >= 0) *edge_slot(slots, cap, e->dst, e->src, e->key) = *e;
  }
  free(s->edge_slots);
  s->edge_slots = slots;
  s->edge_cap = cap;
}

static int edge_index_get(const Sema *s, int dst, int src, int64_t key) {
  return s->edge_cap ? edge_slot(s->edge_slots, s->edge_cap, dst, src, key)->pos : -1;
}

static void edge_index_put(Sema *s, int dst, int src, int64_t key, int pos) {
  if (2 * (s->edge_count + 1) > s->edge_cap) edge_index_grow(s);
  EdgeSlot *e = edge_slot(s->edge_slots, s->edge_cap, dst, src, key);
  if (e->pos >= 0) return; /* the first set keeps the key */
  *e = (EdgeSlot){dst, src, pos, key};
  s->edge_count++;
}

/* The edge set already coming from the same neuron(s), if any: any set from src clashes
 * with a dense one, and a single neuron clashes with itself. */
static const IrEdges *find_duplicate(const Sema *s, const IrGroup *g, IrEdgeKind kind, int src, int idx) {
  int pos = edge_index_get(s, g->id, src, kind == EDGES_DENSE ? EDGE_KEY_ANY : EDGE_KEY_DENSE);
  if (pos < 0 && kind == EDGES_ONE) pos = edge_index_get(s, g->id, src, idx);
  return pos < 0 ? NULL : &g->in[pos];
}

static void remember_edges(Sema *s, const IrGroup *g, IrEdgeKind kind, int src, int idx) {
  edge_index_put(s, g->id, src, EDGE_KEY_ANY, g->n_in - 1);
  edge_index_put(s, g->id, src, kind == EDGES_DENSE ? EDGE_KEY_DENSE : idx, g->n_in - 1);
}

static IrGroup *implicit_bias(Sema *s, IrGroup *g) {
  const char *name = arena_alloc(s->arena, strlen(g->name) + 6);
  strcpy((char *)name, g->name);
  strcat((char *)name, ".bias");
  IrGroup *b = new_group(s, name, g->loc, ROLE_BIAS, 1);
  b->implicit = 1;
  return b;
}

/* A bare number in a sum: the weight from this group's own (implicit) bias neuron. */
static void add_bias_term(Sema *s, IrGroup *g, const AstTerm *t) {
  if (s->bias_term[g->id]) {
    diag_error(s->diag, t->loc, "'%s' has more than one bias", g->name);
    diag_note(s->diag, s->bias_term[g->id]->loc, "the first bias is here");
    return;
  }
  s->bias_term[g->id] = t;
}

/* `w*ref`, `ref`, `w*ref[i]`: dense edges from a whole group, or edges from one neuron.
 * Returns 0 if the reference itself is wrong (unknown name, index out of range). */
static int add_ref_term(Sema *s, IrGroup *g, const AstTerm *t) {
  int src = sema_lookup(s, t->ref);
  if (src < 0) {
    report_unknown_name(s, t->ref_loc, t->ref);
    return 0;
  }
  const IrGroup *sg = &s->net->groups[src];
  if (t->has_index && (t->index < 0 || t->index >= sg->size)) {
    diag_error(s->diag, t->ref_loc, "index %lld is out of range for '%s', which has %d neuron%s",
               t->index, sg->name, sg->size, sg->size == 1 ? "" : "s");
    return 0;
  }
  if (sg->role == ROLE_BIAS) {
    add_bias_term(s, g, t);
    s->bias_src[g->id] = src;
    return 1;
  }
  IrEdgeKind kind = (t->has_index || sg->size == 1) ? EDGES_ONE : EDGES_DENSE;
  int idx = t->has_index ? (int)t->index : 0;
  const IrEdges *dup = find_duplicate(s, g, kind, src, idx);
  if (dup) {
    diag_error(s->diag, t->ref_loc, "'%s' already has an edge from '%s'", g->name, sg->name);
    diag_note(s->diag, dup->loc, "the earlier edge is here");
    return 1;
  }
  int bad = 0;
  char src_name[64];
  if (t->has_index) snprintf(src_name, sizeof src_name, "%.40s[%d]", sg->name, idx);
  LitShape sh = {g->name, g->size, t->has_index ? src_name : sg->name, kind == EDGES_DENSE ? sg->size : 1};
  const double *values = term_values(s, t, sh, &bad);
  set_weight(add_edges(s, g, kind, src, idx, t->ref_loc), t, values);
  remember_edges(s, g, kind, src, idx);
  return !bad;
}

/* The incoming edges of g: its sum, or dense from prev (the declaration before it) if none. */
static void resolve_sum(Sema *s, IrGroup *g, const AstDecl *d, int prev) {
  if (!d->has_sum) {
    if (prev < 0) {
      diag_error(s->diag, d->name_loc, "%s '%s' has nothing before it to be fed from; "
                 "declare an input first or write '<- NAME'", ast_decl_kind_name(d->kind), d->name);
      return;
    }
    IrEdges *e = add_edges(s, g, s->net->groups[prev].size == 1 ? EDGES_ONE : EDGES_DENSE, prev, 0, d->name_loc);
    e->weight = WEIGHT_LEARNED;
    return;
  }
  int unresolved = 0;
  for (const AstTerm *t = d->sum; t; t = t->next) {
    if (t->ref)
      unresolved += !add_ref_term(s, g, t);
    else
      add_bias_term(s, g, t);
  }
  /* only when every term was understood: a wrong name is not a missing edge */
  if (g->n_in == 0 && d->sum && unresolved == 0)
    diag_error(s->diag, d->name_loc, "'%s' has no incoming edge from a neuron, only a bias", g->name);
}

/* Appends the bias edge set: from a declared bias neuron, or from an implicit one. */
static void attach_bias(Sema *s, IrGroup *g) {
  const AstTerm *t = s->bias_term[g->id];
  int src = s->bias_src[g->id];
  if (src < 0) src = implicit_bias(s, g)->id;
  IrEdges *e = add_edges(s, g, EDGES_ONE, src, 0, t ? t->loc : g->loc);
  int bad = 0;
  if (t)
    set_weight(e, t, term_values(s, t, (LitShape){g->name, g->size, NULL, 1}, &bad));
  else
    e->weight = WEIGHT_LEARNED;
}

static void resolve_neuron_sums(Sema *s, IrGroup *g);

/* Literal weights that are all the same number (`[0.5, 0.5]*x`) are one value for the set:
 * one IR, one fingerprint, for one meaning. Run after layout, which counts the edges. */
static void collapse_equal_values(IrGroup *g) {
  for (int k = 0; k < g->n_in; k++) {
    IrEdges *e = &g->in[k];
    int64_t i = 1;
    while (e->values && i < e->count && memcmp(&e->values[i], &e->values[0], sizeof(double)) == 0) i++;
    if (!e->values || i < e->count) continue;
    e->value = e->values[0];
    e->values = NULL;
  }
}

static void resolve_group(Sema *s, IrGroup *g, const AstDecl *d, int prev) {
  if (g->role == ROLE_INPUT || g->role == ROLE_BIAS) return;
  resolve_activation(s, g, d->act);
  settings_check_group_options(s, g, d->options);
  if (s->neuron_sums_first[g->id] < s->neuron_sums_first[g->id + 1]) {
    resolve_neuron_sums(s, g);
  } else {
    resolve_sum(s, g, d, prev);
    attach_bias(s, g);
  }
}

/* Resolves the declarations in order. A layer without `<-` is fed from the last declaration
 * before it that is not a bias; a repeated name (already reported) is skipped. */
static void resolve_groups(Sema *s, const AstNetwork *ast) {
  int prev = -1;
  for (const AstDecl *d = ast->decls; d; d = d->next) {
    int id = d->kind == DECL_SUM ? -1 : sema_lookup(s, d->name);
    if (id < 0 || s->decl_of[id] != d) continue;
    resolve_group(s, &s->net->groups[id], d, prev);
    if (d->kind != DECL_BIAS) prev = id;
  }
}

/* --- per-neuron sums: `NAME[i] <- sum` ------------------------------------------------ */

/* The target group of a `NAME[i] <- sum` statement, or -1 after reporting why it has none. */
static int neuron_sum_target(Sema *s, const AstDecl *d) {
  int id = sema_lookup(s, d->name);
  if (id < 0) {
    report_unknown_name(s, d->name_loc, d->name);
    return -1;
  }
  const IrGroup *g = &s->net->groups[id];
  if (g->role == ROLE_INPUT || g->role == ROLE_BIAS) {
    diag_error(s->diag, d->name_loc, "'%s' is %s: it has no incoming edges", g->name,
               g->role == ROLE_INPUT ? "an input" : "a bias neuron");
    return -1;
  }
  if (d->size < 0 || d->size >= g->size) {
    diag_error(s->diag, d->size_loc, "index %lld is out of range for '%s', which has %d neuron%s", d->size, g->name,
               g->size, plural_s(g->size));
    return -1;
  }
  if (s->decl_of[id]->has_sum) {
    diag_error(s->diag, d->name_loc, "'%s' has its incoming sum in its declaration; its neurons cannot also "
               "have sums of their own", g->name);
    diag_note(s->diag, s->decl_of[id]->name_loc, "'%s' is declared here", g->name);
    return -1;
  }
  return id;
}

/* Groups the `NAME[i] <- sum` statements by target group (a counting sort, in source order
 * within a group) into s->neuron_sums. */
static void collect_neuron_sums(Sema *s, const AstNetwork *ast) {
  int n = s->net->n_groups, total = 0;
  int *first = xcalloc((size_t)n + 2, sizeof(int));
  int *target = NULL;
  for (const AstDecl *d = ast->decls; d; d = d->next) total += d->kind == DECL_SUM;
  target = xmalloc(sizeof(int) * (size_t)(total + 1));
  int k = 0;
  for (const AstDecl *d = ast->decls; d; d = d->next)
    if (d->kind == DECL_SUM && (target[k++] = neuron_sum_target(s, d)) >= 0) first[target[k - 1] + 1]++;
  for (int i = 0; i < n; i++) first[i + 1] += first[i];
  s->neuron_sums = xmalloc(sizeof(AstDecl *) * (size_t)(total + 1));
  int *fill = xmalloc(sizeof(int) * (size_t)(n + 1));
  memcpy(fill, first, sizeof(int) * (size_t)(n + 1));
  k = 0;
  for (const AstDecl *d = ast->decls; d; d = d->next)
    if (d->kind == DECL_SUM && target[k++] >= 0) s->neuron_sums[fill[target[k - 1]]++] = d;
  free(fill);
  free(target);
  s->neuron_sums_first = first;
  s->named_whole = xcalloc((size_t)n + 1, 1);
}

/* One term of one neuron's sum, resolved: into neuron j, from src (idx: one neuron of it, or
 * -1 for the whole group). */
typedef struct Contrib {
  const AstTerm *t;
  int j, src, idx;
} Contrib;

/* What an edge set built from neuron sums has received so far: per edge, the contribution
 * that gave it (+1; 0: none yet). */
typedef struct Merge {
  int *from;
  int first; /* the first contribution to the set */
} Merge;

/* The most literal weights one edge set may take from neuron sums (a dense set from a large
 * group, named in many neurons' sums, would otherwise be sized rows × columns). */
#define SEMA_MAX_MERGED_EDGES (1 << 24)
/* All the sets gathered from neuron sums in one network: a set from a single neuron reaches
 * every neuron of the group (0 where a sum leaves it out), so n sums y[i] <- x[i] are n² edges,
 * and 32000 of them (a source of 1 MB) took gigabytes. */
#define SEMA_MAX_MERGED_TOTAL ((int64_t)1 << 25)

static void neuron_name(const IrGroup *g, int j, char *buf, size_t size) {
  snprintf(buf, size, "%.40s[%d]", g->name, j);
}

/* Each neuron of g has exactly one sum; returns them by neuron, or NULL after reporting. */
static const AstDecl **sums_by_neuron(Sema *s, const IrGroup *g) {
  const AstDecl **by = xcalloc((size_t)g->size, sizeof *by);
  int ok = 1;
  for (int k = s->neuron_sums_first[g->id]; k < s->neuron_sums_first[g->id + 1]; k++) {
    const AstDecl *d = s->neuron_sums[k];
    if (by[d->size]) {
      diag_error(s->diag, d->name_loc, "'%s[%lld]' already has its incoming sum", g->name, d->size);
      diag_note(s->diag, by[d->size]->name_loc, "the first is here");
      ok = 0;
    }
    by[d->size] = d;
  }
  for (int j = 0; j < g->size && ok; j++)
    if (!by[j]) {
      diag_error(s->diag, g->loc, "neuron %d of '%s' has no incoming sum: once one neuron of a group has "
                 "'%s[i] <- ...', every neuron needs one", j, g->name, g->name);
      ok = 0;
    }
  if (ok) return by;
  free(by);
  return NULL;
}

/* Resolves the terms of neuron j's sum into contribs (bias terms too, src = the bias neuron
 * or -1 for the group's own); marks whole groups named in dense[]. Returns 0 when a name or
 * an index is wrong. */
static int resolve_neuron_terms(Sema *s, const IrGroup *g, int j, const AstDecl *d, Contrib **cs, int *n, int *cap,
                                unsigned char *dense) {
  int ok = 1, edges = 0;
  for (const AstTerm *t = d->sum; t; t = t->next) {
    int src = t->ref ? sema_lookup(s, t->ref) : -1;
    if (t->ref && src < 0) {
      report_unknown_name(s, t->ref_loc, t->ref);
      ok = 0;
      continue;
    }
    const IrGroup *sg = src >= 0 ? &s->net->groups[src] : NULL;
    if (sg && t->has_index && (t->index < 0 || t->index >= sg->size)) {
      diag_error(s->diag, t->ref_loc, "index %lld is out of range for '%s', which has %d neuron%s", t->index,
                 sg->name, sg->size, plural_s(sg->size));
      ok = 0;
      continue;
    }
    int whole = sg && sg->role != ROLE_BIAS && !t->has_index && sg->size > 1;
    if (whole) dense[src] = 1;
    edges += sg && sg->role != ROLE_BIAS;
    if (*n == *cap) *cs = xrealloc(*cs, sizeof(Contrib) * (size_t)(*cap = *cap ? 2 * *cap : 16));
    (*cs)[(*n)++] = (Contrib){t, j, src, whole ? -1 : (int)t->index};
  }
  if (ok && edges == 0)
    diag_error(s->diag, d->name_loc, "'%s[%d]' has no incoming edge from a neuron, only a bias", g->name, j);
  return ok;
}

/* The edge set of g that contribution c goes into, created on first use; -1 for a source
 * refused as too large (reported once: its dense[] mark becomes 2). */
static int merged_set(Sema *s, IrGroup *g, const Contrib *cs, const Contrib *c, unsigned char *dense, Merge **ms,
                      int *mcap) {
  if (dense[c->src] == 2) return -1;
  int whole = dense[c->src];
  int64_t key = whole ? EDGE_KEY_DENSE : c->idx;
  int pos = edge_index_get(s, g->id, c->src, key);
  if (pos >= 0) return pos;
  const IrGroup *sg = &s->net->groups[c->src];
  int64_t count = whole ? (int64_t)g->size * sg->size : g->size;
  if (count > SEMA_MAX_MERGED_EDGES) {
    diag_error(s->diag, c->t->ref_loc, "'%s' takes %lld edges from '%s' in the sums of its neurons; nnc takes at "
               "most %d into one group this way (give '%s' one sum in its declaration)", g->name, (long long)count,
               sg->name, SEMA_MAX_MERGED_EDGES, g->name);
    dense[c->src] = 2;
    return -1;
  }
  if (s->merged_edges < 0) return -1;
  if (s->merged_edges + count > SEMA_MAX_MERGED_TOTAL) {
    char from[64];
    if (whole) snprintf(from, sizeof from, "%.40s", sg->name);
    else neuron_name(sg, c->idx, from, sizeof from);
    diag_error(s->diag, c->t->ref_loc, "the sums of single neurons take more than %lld edges in the network, "
               "here with the edges from '%s' into '%s' (a neuron named in any sum of a group is an edge into "
               "every neuron of it); give '%s' one sum in its declaration", (long long)SEMA_MAX_MERGED_TOTAL, from,
               g->name, g->name);
    s->merged_edges = -1;
    return -1;
  }
  s->merged_edges += count;
  IrEdges *e = add_edges(s, g, whole ? EDGES_DENSE : EDGES_ONE, c->src, whole ? 0 : c->idx, c->t->ref_loc);
  e->weight = weight_kind(c->t);
  e->count = count; /* as layout() will count it */
  if (e->weight != WEIGHT_LEARNED) e->values = arena_alloc(s->arena, sizeof(double) * (size_t)count);
  edge_index_put(s, g->id, c->src, key, g->n_in - 1);
  if (g->n_in > *mcap) *ms = xrealloc(*ms, sizeof(Merge) * (size_t)(*mcap = 2 * g->n_in));
  (*ms)[g->n_in - 1] = (Merge){xcalloc((size_t)count, sizeof(int)), (int)(c - cs)};
  return g->n_in - 1;
}

static const char *kind_adjective(IrWeightKind w) {
  return w == WEIGHT_LEARNED ? "a learned" : w == WEIGHT_INITIAL ? "an initial" : "a fixed";
}

/* Puts contribution ci (of cs) into edge set pos of g: its weights at the edges of its
 * neuron, after checking it agrees with the set's kind and gives no edge twice. */
static void merge_contrib(Sema *s, IrGroup *g, int pos, const Contrib *cs, int ci, Merge *m) {
  const Contrib *c = &cs[ci];
  IrEdges *e = &g->in[pos];
  const IrGroup *sg = &s->net->groups[c->src];
  char name[64];
  neuron_name(g, c->j, name, sizeof name);
  int cols = e->kind == EDGES_DENSE ? sg->size : 1;
  int lo = c->idx < 0 || e->kind == EDGES_ONE ? 0 : c->idx, n = c->idx < 0 ? cols : 1;
  int64_t at = (int64_t)c->j * cols + lo;
  for (int i = 0; i < n; i++) {
    if (m->from[at + i]) {
      diag_error(s->diag, c->t->ref_loc, "'%s' already has an edge from '%s'", name, sg->name);
      diag_note(s->diag, cs[m->from[at + i] - 1].t->ref_loc, "the earlier edge is here");
      return;
    }
  }
  if (weight_kind(c->t) != e->weight) {
    const Contrib *f = &cs[m->first];
    diag_error(s->diag, c->t->loc, "'%s' has %s weight from '%s' but '%s[%d]' has %s one: the weights from '%s' "
               "into '%s' are all learned, all initial or all fixed", name, kind_adjective(weight_kind(c->t)),
               sg->name, g->name, f->j, kind_adjective(e->weight), sg->name, g->name);
    diag_note(s->diag, f->t->loc, "the first weight from '%s' into '%s' is here", sg->name, g->name);
    return;
  }
  int bad = 0;
  const double *lit = term_values(s, c->t, (LitShape){name, 1, c->idx < 0 ? sg->name : name, n}, &bad);
  if (bad) return;
  for (int i = 0; i < n; i++) {
    m->from[at + i] = ci + 1;
    if (e->values) ((double *)e->values)[at + i] = lit ? lit[i] : c->t->weight;
  }
}

/* An edge that some neurons of g have and neuron j has not is a fixed 0 when the set is
 * fixed; a learned or initial one cannot be left out (it would be a parameter). */
static void check_gaps(Sema *s, IrGroup *g, int pos, const Contrib *cs, const Merge *m, const AstDecl **by) {
  const IrEdges *e = &g->in[pos];
  if (e->weight == WEIGHT_FIXED) return;
  const IrGroup *sg = &s->net->groups[e->src];
  int cols = e->kind == EDGES_DENSE ? sg->size : 1;
  for (int64_t k = 0; k < e->count; k++) {
    if (m->from[k]) continue;
    int j = (int)(k / cols), i = e->kind == EDGES_DENSE ? (int)(k % cols) : e->src_index;
    const Contrib *have = &cs[m->first]; /* a neuron that has this very edge (the set's first may not) */
    for (int r = 0; r < g->size; r++)
      if (m->from[(int64_t)r * cols + k % cols]) {
        have = &cs[m->from[(int64_t)r * cols + k % cols] - 1];
        break;
      }
    diag_error(s->diag, by[j]->name_loc, "'%s[%d]' has no edge from '%s[%d]', which '%s[%d]' has with %s weight; "
               "only fixed weights may be left out of some neurons of a group (a missing one is a fixed 0)",
               g->name, j, sg->name, i, g->name, have->j, kind_adjective(e->weight));
    return;
  }
}

/* The bias edge set of a group whose neurons have their own sums: one bias neuron for the
 * group (a declared one if any sum names one), and per neuron the weight its sum gives;
 * a neuron whose sum gives none has a learned bias. */
static void merge_bias(Sema *s, IrGroup *g, const Contrib *cs, int n, const AstDecl **by) {
  const Contrib **bias = xcalloc((size_t)g->size, sizeof *bias);
  const Contrib *named = NULL, *first = NULL;
  int ok = 1;
  for (int i = 0; i < n; i++) {
    const Contrib *c = &cs[i];
    if (c->src >= 0 && s->net->groups[c->src].role != ROLE_BIAS) continue;
    char name[64];
    neuron_name(g, c->j, name, sizeof name);
    if (bias[c->j]) {
      diag_error(s->diag, c->t->loc, "'%s' has more than one bias", name);
      diag_note(s->diag, bias[c->j]->t->loc, "the first bias is here");
      ok = 0;
      continue;
    }
    bias[c->j] = c;
    if (c->src >= 0 && named && named->src != c->src) {
      diag_error(s->diag, c->t->ref_loc, "'%s' takes its bias from '%s' but '%s[%d]' from '%s': a group has one "
                 "bias neuron", name, c->t->ref, g->name, named->j, named->t->ref);
      ok = 0;
    }
    if (c->src >= 0 && !named) named = c;
    if (!first) first = c;
  }
  IrWeightKind kind = first ? weight_kind(first->t) : WEIGHT_LEARNED;
  for (int j = 0; j < g->size && ok && first; j++) {
    IrWeightKind k = bias[j] ? weight_kind(bias[j]->t) : WEIGHT_LEARNED;
    if (k == kind) continue;
    diag_error(s->diag, bias[j] ? bias[j]->t->loc : by[j]->name_loc, "'%s[%d]' has %s bias but '%s[%d]' has %s "
               "one: the biases of a group are all learned, all initial or all fixed", g->name, j,
               kind_adjective(k), g->name, first->j, kind_adjective(kind));
    ok = 0;
  }
  int src = named ? named->src : implicit_bias(s, g)->id;
  IrEdges *e = add_edges(s, g, EDGES_ONE, src, 0, first ? first->t->loc : g->loc);
  e->weight = ok ? kind : WEIGHT_LEARNED;
  if (e->weight != WEIGHT_LEARNED) {
    double *v = arena_alloc(s->arena, sizeof(double) * (size_t)g->size);
    for (int j = 0; j < g->size; j++) {
      int bad = 0;
      char name[64];
      neuron_name(g, j, name, sizeof name);
      const double *lit = term_values(s, bias[j]->t, (LitShape){name, 1, NULL, 1}, &bad);
      v[j] = lit ? lit[0] : bias[j]->t->weight;
    }
    e->values = v;
  }
  free(bias);
}

/* The incoming edges of g from the sums of its neurons: one edge set per source (a whole
 * group, when any sum names it whole, or one neuron), each edge with its neuron's weight,
 * then the bias edge set. */
static void resolve_neuron_sums(Sema *s, IrGroup *g) {
  const AstDecl **by = sums_by_neuron(s, g);
  if (!by) return;
  unsigned char *dense = s->named_whole; /* all 0 between groups: cleared below */
  Contrib *cs = NULL;
  int n = 0, cap = 0, ok = 1;
  for (int j = 0; j < g->size; j++) ok &= resolve_neuron_terms(s, g, j, by[j], &cs, &n, &cap, dense);
  Merge *ms = NULL;
  int mcap = 0, errors = s->diag->errors;
  for (int i = 0; i < n && ok; i++) {
    if (cs[i].src < 0 || s->net->groups[cs[i].src].role == ROLE_BIAS) continue;
    int pos = merged_set(s, g, cs, &cs[i], dense, &ms, &mcap);
    if (pos >= 0) merge_contrib(s, g, pos, cs, i, &ms[pos]);
  }
  for (int pos = 0; pos < g->n_in; pos++) {
    if (s->diag->errors == errors) check_gaps(s, g, pos, cs, &ms[pos], by); /* else they would cascade */
    free(ms[pos].from);
  }
  if (ok) merge_bias(s, g, cs, n, by);
  for (int i = 0; i < n; i++)
    if (cs[i].src >= 0) dense[cs[i].src] = 0;
  free(ms);
  free(cs);
  free(by);
}

/* --- order -------------------------------------------------------------------------- */

/* Reports the cycle closed by the edge set e into the group on top of the stack. Each stack
 * entry is fed by the one above it, so the cycle along the data flow is e->src, then the
 * stack from the top down to e->src again: "a -> b -> c -> a". */
static void report_cycle(Sema *s, const int *stack, int depth, const IrEdges *e) {
  int start = depth - 1;
  while (start > 0 && stack[start] != e->src) start--;
  size_t len = 64 + strlen(s->net->groups[e->src].name);
  for (int i = start; i < depth; i++) len += strlen(s->net->groups[stack[i]].name) + 4;
  char *text = xmalloc(len);
  strcpy(text, s->net->groups[e->src].name);
  for (int i = depth - 1; i >= start; i--) {
    strcat(text, " -> ");
    strcat(text, s->net->groups[stack[i]].name);
  }
  diag_error(s->diag, e->loc, "the network has a cycle: %s", text);
  free(text);
}

enum { UNSEEN, ON_STACK, DONE };

/* Depth-first search over incoming edges from root, reporting every edge that closes a
 * cycle. Iterative so that deep graphs cannot overflow the C stack. */
static void find_cycles(Sema *s, int root, unsigned char *state, int *stack, int *edge_pos) {
  int depth = 0;
  stack[depth] = root;
  edge_pos[depth++] = 0;
  state[root] = ON_STACK;
  while (depth > 0) {
    int id = stack[depth - 1];
    IrGroup *g = &s->net->groups[id];
    if (edge_pos[depth - 1] == g->n_in) {
      state[id] = DONE;
      depth--;
      continue;
    }
    const IrEdges *e = &g->in[edge_pos[depth - 1]++];
    if (state[e->src] == ON_STACK) {
      report_cycle(s, stack, depth, e);
    } else if (state[e->src] == UNSEEN) {
      state[e->src] = ON_STACK;
      stack[depth] = e->src;
      edge_pos[depth++] = 0;
    }
  }
}

static void report_cycles(Sema *s) {
  int n = s->net->n_groups;
  unsigned char *state = xcalloc((size_t)n, 1);
  int *stack = xmalloc(sizeof(int) * (size_t)n);
  int *edge_pos = xmalloc(sizeof(int) * (size_t)n);
  for (int i = 0; i < n; i++)
    if (state[i] == UNSEEN) find_cycles(s, i, state, stack, edge_pos);
  free(state);
  free(stack);
  free(edge_pos);
}

/* A binary min-heap of group ids: the ready group declared first is taken first. */
typedef struct IdHeap {
  int *ids;
  int n;
} IdHeap;

static void heap_push(IdHeap *h, int id) {
  int i = h->n++;
  for (; i > 0 && h->ids[(i - 1) / 2] > id; i = (i - 1) / 2) h->ids[i] = h->ids[(i - 1) / 2];
  h->ids[i] = id;
}

static int heap_pop(IdHeap *h) {
  int top = h->ids[0], last = h->ids[--h->n], i = 0;
  for (;;) {
    int c = 2 * i + 1;
    if (c >= h->n) break;
    if (c + 1 < h->n && h->ids[c + 1] < h->ids[c]) c++;
    if (last <= h->ids[c]) break;
    h->ids[i] = h->ids[c];
    i = c;
  }
  h->ids[i] = last;
  return top;
}

/* Outgoing edge sets as compressed rows: the groups fed by group i are
 * succ[first[i] .. first[i + 1]), one entry per edge set. */
static int *successors(const IrNetwork *n, int **first_out) {
  int *first = xcalloc((size_t)n->n_groups + 1, sizeof(int));
  for (int i = 0; i < n->n_groups; i++)
    for (int k = 0; k < n->groups[i].n_in; k++) first[n->groups[i].in[k].src + 1]++;
  for (int i = 0; i < n->n_groups; i++) first[i + 1] += first[i];
  int *fill = xmalloc(sizeof(int) * (size_t)n->n_groups);
  memcpy(fill, first, sizeof(int) * (size_t)n->n_groups);
  int *succ = xmalloc(sizeof(int) * (size_t)(first[n->n_groups] + 1));
  for (int i = 0; i < n->n_groups; i++)
    for (int k = 0; k < n->groups[i].n_in; k++) succ[fill[n->groups[i].in[k].src]++] = i;
  free(fill);
  *first_out = first;
  return succ;
}

/* Orders hidden and output groups so every group comes after its sources; ties keep the
 * declaration order: Kahn's algorithm always taking the earliest-declared ready group
 * (O((V + E) log V)). Returns 0 after reporting the cycles if the graph has any. */
static int order_groups(Sema *s) {
  IrNetwork *n = s->net;
  int *first, *succ = successors(n, &first);
  int *waiting = xmalloc(sizeof(int) * (size_t)n->n_groups); /* edge sets from unordered groups */
  IdHeap ready = {xmalloc(sizeof(int) * (size_t)n->n_groups), 0};
  for (int i = 0; i < n->n_groups; i++)
    if ((waiting[i] = n->groups[i].n_in) == 0) heap_push(&ready, i);
  n->order = arena_alloc(s->arena, sizeof(int) * (size_t)n->n_groups);
  int n_done = 0;
  while (ready.n > 0) {
    int id = heap_pop(&ready);
    n_done++;
    if (n->groups[id].role == ROLE_HIDDEN || n->groups[id].role == ROLE_OUTPUT) n->order[n->n_order++] = id;
    for (int k = first[id]; k < first[id + 1]; k++)
      if (--waiting[succ[k]] == 0) heap_push(&ready, succ[k]);
  }
  free(first);
  free(succ);
  free(waiting);
  free(ready.ids);
  if (n_done == n->n_groups) return 1;
  report_cycles(s);
  return 0;
}

static void compute_depths(IrNetwork *n) {
  for (int i = 0; i < n->n_order; i++) {
    IrGroup *g = &n->groups[n->order[i]];
    int depth = 0, vec = 1;
    for (int k = 0; k < g->n_in; k++) {
      const IrGroup *src = &n->groups[g->in[k].src];
      if (src->role != ROLE_BIAS && src->depth + 1 > depth) depth = src->depth + 1;
      if (src->role != ROLE_BIAS && g->in[k].kind != EDGES_DENSE) vec = 0;
    }
    g->depth = depth;
    g->vectorisable = vec && g->size > 1;
  }
}

/* --- layout ------------------------------------------------------------------------- */

/* A network's inputs and outputs are counted in 32 bits (nnc_model), its parameters in 64:
 * a sum past these limits is reported once, at the group or edge set that passes it. The
 * parameter limit leaves the scratch and gradient sizes (a few reals per parameter) well
 * inside 64 bits. */
#define SEMA_MAX_IO_WIDTH 2147483647LL
#define SEMA_MAX_PARAMS (1LL << 52)

static void check_width(Sema *s, const IrGroup *g, int64_t total, int64_t *reported) {
  if (total <= SEMA_MAX_IO_WIDTH || *reported) return;
  *reported = 1;
  const char *what = g->role == ROLE_INPUT ? "inputs" : "outputs";
  diag_error(s->diag, g->loc, "'%s' brings the network's %s to %lld; a network has at most %lld %s", g->name, what,
             (long long)total, SEMA_MAX_IO_WIDTH, what);
}

static void layout_values(Sema *s) {
  IrNetwork *n = s->net;
  int64_t values = 0, inputs = 0, outputs = 0, input_reported = 0, output_reported = 0;
  for (int i = 0; i < n->n_groups; i++) {
    IrGroup *g = &n->groups[i];
    g->value_offset = values;
    values += g->size;
    if (g->role == ROLE_INPUT) g->io_offset = inputs, inputs += g->size, check_width(s, g, inputs, &input_reported);
    if (g->role == ROLE_OUTPUT) g->io_offset = outputs, outputs += g->size, check_width(s, g, outputs, &output_reported);
    if (g->dropout > 0) g->dropout_offset = n->n_dropout, n->n_dropout += g->size;
  }
  n->n_inputs = (int)(input_reported ? SEMA_MAX_IO_WIDTH : inputs); /* an error was reported */
  n->n_outputs = (int)(output_reported ? SEMA_MAX_IO_WIDTH : outputs);
  n->n_values = values;
}

static void layout(Sema *s) {
  IrNetwork *n = s->net;
  layout_values(s);
  int64_t params = 0;
  for (int i = 0; i < n->n_order; i++) {
    IrGroup *g = &n->groups[n->order[i]];
    for (int k = 0; k < g->n_in; k++) {
      IrEdges *e = &g->in[k];
      e->dst = g->id;
      e->count = e->kind == EDGES_DENSE ? (int64_t)g->size * n->groups[e->src].size : g->size;
      if (e->weight == WEIGHT_FIXED) continue;
      e->param_offset = params;
      if (params <= SEMA_MAX_PARAMS && e->count > SEMA_MAX_PARAMS - params)
        diag_error(s->diag, e->loc, "the edges from '%s' into '%s' bring the network's parameters past %lld, "
                   "the most a network has", n->groups[e->src].name, g->name, SEMA_MAX_PARAMS);
      if (params <= SEMA_MAX_PARAMS) params += e->count;
    }
  }
  n->n_params = params;
}

/* --- whole-network checks ----------------------------------------------------------- */

static void check_roles(Sema *s, const AstNetwork *ast) {
  IrNetwork *n = s->net;
  if (n->n_inputs == 0) diag_error(s->diag, ast->loc, "network '%s' has no input", n->name);
  if (n->n_outputs == 0) diag_error(s->diag, ast->loc, "network '%s' has no output", n->name);
  for (int i = 0; i < n->n_groups; i++) {
    const IrGroup *g = &n->groups[i];
    int whole = g->act == ACT_SOFTMAX || g->act == ACT_LOG_SOFTMAX;
    if (whole && g->role != ROLE_OUTPUT)
      diag_error(s->diag, s->decl_of[i]->act->loc, "%s is only allowed on an output group; '%s' is a %s",
                 ir_act_name(g->act), g->name, ast_decl_kind_name(s->decl_of[i]->kind));
    else if (whole && g->size < 2)
      diag_error(s->diag, s->decl_of[i]->act->loc, "%s needs an output group of at least 2 neurons; "
                 "'%s' has 1 (use sigmoid for one output)", ir_act_name(g->act), g->name);
  }
}

/* Marks groups reachable backwards from the outputs; warns about dead neurons. */
static void check_reachability(Sema *s) {
  IrNetwork *n = s->net;
  unsigned char *live = xcalloc((size_t)n->n_groups, 1);
  for (int i = n->n_order - 1; i >= 0; i--) {
    const IrGroup *g = &n->groups[n->order[i]];
    if (g->role == ROLE_OUTPUT) live[g->id] = 1;
    if (!live[g->id]) continue;
    for (int k = 0; k < g->n_in; k++) live[g->in[k].src] = 1;
  }
  for (int i = 0; i < n->n_groups; i++) {
    const IrGroup *g = &n->groups[i];
    if (!live[i] && !g->implicit)
      diag_warning(s->diag, g->loc, "%s '%s' does not feed any output", ast_decl_kind_name(s->decl_of[i]->kind), g->name);
  }
  free(live);
}

/* feeds[i] is 1 if group i feeds a hidden or output group (one pass over the edges). */
static unsigned char *feeding_groups(const IrNetwork *n) {
  unsigned char *feeds = xcalloc((size_t)n->n_groups, 1);
  for (int i = 0; i < n->n_order; i++) {
    const IrGroup *g = &n->groups[n->order[i]];
    for (int k = 0; k < g->n_in; k++) feeds[g->in[k].src] = 1;
  }
  return feeds;
}

static void check_outputs_against_loss(Sema *s) {
  IrNetwork *n = s->net;
  int softmax = 0, all_sigmoid = 1;
  unsigned char *feeds = feeding_groups(n);
  for (int i = 0; i < n->n_groups; i++) {
    const IrGroup *g = &n->groups[i];
    if (g->role != ROLE_OUTPUT) continue;
    if (g->act == ACT_SOFTMAX || g->act == ACT_LOG_SOFTMAX) softmax = 1;
    if (g->act != ACT_SIGMOID && g->act != ACT_STEP) all_sigmoid = 0;
    if (n->train.loss == NNC_LOSS_CROSS_ENTROPY && g->act != ACT_SOFTMAX && g->act != ACT_SIGMOID)
      diag_error(s->diag, g->loc, "cross_entropy needs softmax or sigmoid outputs; '%s' is %s",
                 g->name, ir_act_name(g->act));
    if (n->train.loss == NNC_LOSS_CROSS_ENTROPY && feeds[g->id])
      diag_error(s->diag, g->loc, "with cross_entropy, output '%s' cannot feed other neurons", g->name);
    if (g->act == ACT_SOFTMAX && n->train.loss != NNC_LOSS_CROSS_ENTROPY)
      diag_error(s->diag, g->loc, "softmax output '%s' needs 'loss cross_entropy' in the train block", g->name);
  }
  free(feeds);
  /* class scores: softmax (or its log), cross-entropy, one-hot labels, or 0/1 units read at 0.5 */
  n->classifier = softmax || all_sigmoid || n->train.loss == NNC_LOSS_CROSS_ENTROPY || n->train.data.onehot;
  /* softmax outputs are one distribution over classes, whatever the targets look like */
  if (softmax && n->train.metric == NNC_METRIC_AUTO) n->train.metric = NNC_METRIC_CLASSIFICATION;
}

/* Column selections of the data sources must match the network's widths; reported at the
 * 'data' or 'test' setting. */
static void check_data_widths(Sema *s, SrcLoc loc, const nnc_data_source *d, const char *what) {
  const IrNetwork *n = s->net;
  if (!d->path) return;
  if (d->n_input_cols && d->n_input_cols != n->n_inputs)
    diag_error(s->diag, loc, "%s selects %d input column%s but the network has %d input%s", what,
               d->n_input_cols, d->n_input_cols == 1 ? "" : "s", n->n_inputs, n->n_inputs == 1 ? "" : "s");
  if (d->n_target_cols && !d->onehot && d->n_target_cols != n->n_outputs)
    diag_error(s->diag, loc, "%s selects %d target column%s but the network has %d output%s "
               "(add 'onehot' if the column is a class index)", what, d->n_target_cols,
               d->n_target_cols == 1 ? "" : "s", n->n_outputs, n->n_outputs == 1 ? "" : "s");
  if (d->targets_inputs && n->n_inputs != n->n_outputs)
    diag_error(s->diag, loc, "%s says 'targets inputs' but the network has %d input%s and %d output%s: the "
               "outputs of an autoencoder reproduce its inputs", what, n->n_inputs, n->n_inputs == 1 ? "" : "s",
               n->n_outputs, n->n_outputs == 1 ? "" : "s");
}

/* Every literal weight and bias must be a finite real of the network's precision (known only
 * after the train block is read): in f32, `3.5e38*x` would become infinity. A literal vector
 * or matrix is checked number by number, each at its place. */
static void check_literal_values(Sema *s, const AstNetwork *ast) {
  for (const AstDecl *d = ast->decls; d; d = d->next)
    for (const AstTerm *t = d->has_sum ? d->sum : NULL; t; t = t->next) {
      const char *what = t->ref ? (t->fixed ? "fixed weight" : "weight") : "bias";
      if (!t->lit) {
        if (t->has_weight) sema_check_real(s, t->loc, what, t->weight);
        continue;
      }
      for (const AstValue *e = t->lit->args; e; e = e->next) {
        if (e->kind != VAL_LIST) sema_check_real(s, e->loc, what, t->weight * e->num);
        for (const AstValue *x = e->kind == VAL_LIST ? e->args : NULL; x; x = x->next)
          sema_check_real(s, x->loc, what, t->weight * x->num);
      }
    }
}

/* --- entry -------------------------------------------------------------------------- */

static void sema_init(Sema *s, const AstNetwork *ast, int n_decls, Arena *arena, Diag *diag) {
  memset(s, 0, sizeof *s);
  s->arena = arena;
  s->diag = diag;
  s->net = arena_alloc(arena, sizeof(IrNetwork));
  s->net->name = ast->name;
  s->net->loc = ast->loc;
  int max_groups = 2 * n_decls + 1;
  s->net->groups = arena_alloc(arena, sizeof(IrGroup) * (size_t)max_groups);
  s->name_cap = 16;
  while (s->name_cap < (size_t)max_groups * 2) s->name_cap *= 2;
  s->names = xmalloc(sizeof(int) * s->name_cap);
  for (size_t i = 0; i < s->name_cap; i++) s->names[i] = -1;
  s->decl_of = xcalloc((size_t)max_groups, sizeof(AstDecl *));
  s->bias_term = xcalloc((size_t)max_groups, sizeof(AstTerm *));
  s->bias_src = xmalloc(sizeof(int) * (size_t)max_groups);
  for (int i = 0; i < max_groups; i++) s->bias_src[i] = -1;
  s->in_cap = xcalloc((size_t)max_groups, sizeof(int));
}

static void sema_fini(Sema *s) {
  free(s->names);
  free(s->decl_of);
  free(s->bias_term);
  free(s->bias_src);
  free(s->in_cap);
  free(s->edge_slots);
  free(s->neuron_sums);
  free(s->neuron_sums_first);
  free(s->named_whole);
}

IrNetwork *sema_check(const AstFile *file, const char *source_path, Arena *arena, Diag *diag) {
  const AstNetwork *ast = file->networks;
  if (!ast) return NULL;
  for (const AstNetwork *extra = ast->next; extra; extra = extra->next) {
    diag_error(diag, extra->loc, "only one network per file; '%s' is the second", extra->name);
    diag_note(diag, ast->loc, "the first network is '%s'", ast->name);
  }
  int n_decls = 0;
  for (const AstDecl *d = ast->decls; d; d = d->next) n_decls++;
  Sema s;
  sema_init(&s, ast, n_decls, arena, diag);
  s.net->source_path = source_path;
  declare_groups(&s, ast);
  collect_neuron_sums(&s, ast);
  resolve_groups(&s, ast);
  settings_check(&s, ast);
  check_literal_values(&s, ast);
  int errors_before_order = diag->errors;
  if (order_groups(&s) && errors_before_order == 0) {
    compute_depths(s.net);
    layout(&s);
    for (int i = 0; i < s.net->n_groups; i++) collapse_equal_values(&s.net->groups[i]);
    check_roles(&s, ast);
    check_outputs_against_loss(&s);
    check_reachability(&s);
    check_data_widths(&s, s.data_loc, &s.net->train.data, "'data'");
    check_data_widths(&s, s.test_loc, &s.net->train.test, "'test'");
    s.net->fingerprint = ir_fingerprint(s.net);
  }
  sema_fini(&s);
  return diag->errors ? NULL : s.net;
}
