/* sema.c — checks the AST of one network and builds its network IR.
 * Consumes: the AST of a parsed file. Produces: an IrNetwork (ir.h) in the given arena, or
 * NULL after reporting every error found. Afterwards names are resolved to group ids, the
 * graph is acyclic and in topological order, sizes and settings are valid, every hidden and
 * output neuron has exactly one bias edge, and parameters and values are laid out.
 * Training settings are checked by settings.c, called from here. */
#include <stdlib.h>
#include <string.h>

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

const char *sema_closest(const char *word, const char *const *cands, int n) {
  const char *best = NULL;
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
                                        "leaky_relu", "softplus", "softmax", "step"};

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
                 "leaky_relu, softplus, softmax or step)", act->text);
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

/* `w*x`: initial w; `fixed w*x`: fixed w; `x`: learned; `fixed x`: fixed 1 (the AST's
 * weight is 1 when none was written, -1 after a minus). */
static void set_weight(IrEdges *e, const AstTerm *t) {
  e->weight = t->fixed ? WEIGHT_FIXED : t->has_weight ? WEIGHT_INITIAL : WEIGHT_LEARNED;
  e->value = e->weight == WEIGHT_LEARNED ? 0 : t->weight;
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
  set_weight(add_edges(s, g, kind, src, idx, t->ref_loc), t);
  remember_edges(s, g, kind, src, idx);
  return 1;
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
  if (t)
    set_weight(e, t);
  else
    e->weight = WEIGHT_LEARNED;
}

static void resolve_group(Sema *s, IrGroup *g, const AstDecl *d, int prev) {
  if (g->role == ROLE_INPUT || g->role == ROLE_BIAS) return;
  resolve_activation(s, g, d->act);
  resolve_sum(s, g, d, prev);
  attach_bias(s, g);
}

/* Resolves the declarations in order. A layer without `<-` is fed from the last declaration
 * before it that is not a bias; a repeated name (already reported) is skipped. */
static void resolve_groups(Sema *s, const AstNetwork *ast) {
  int prev = -1;
  for (const AstDecl *d = ast->decls; d; d = d->next) {
    int id = sema_lookup(s, d->name);
    if (id < 0 || s->decl_of[id] != d) continue;
    resolve_group(s, &s->net->groups[id], d, prev);
    if (d->kind != DECL_BIAS) prev = id;
  }
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

static void layout(IrNetwork *n) {
  int64_t values = 0, params = 0;
  for (int i = 0; i < n->n_groups; i++) {
    IrGroup *g = &n->groups[i];
    g->value_offset = values;
    values += g->size;
    if (g->role == ROLE_INPUT) g->io_offset = n->n_inputs, n->n_inputs += g->size;
    if (g->role == ROLE_OUTPUT) g->io_offset = n->n_outputs, n->n_outputs += g->size;
  }
  for (int i = 0; i < n->n_order; i++) {
    IrGroup *g = &n->groups[n->order[i]];
    for (int k = 0; k < g->n_in; k++) {
      IrEdges *e = &g->in[k];
      e->count = e->kind == EDGES_DENSE ? (int64_t)g->size * n->groups[e->src].size : g->size;
      if (e->weight != WEIGHT_FIXED) e->param_offset = params, params += e->count;
    }
  }
  n->n_values = values;
  n->n_params = params;
}

/* --- whole-network checks ----------------------------------------------------------- */

static void check_roles(Sema *s, const AstNetwork *ast) {
  IrNetwork *n = s->net;
  if (n->n_inputs == 0) diag_error(s->diag, ast->loc, "network '%s' has no input", n->name);
  if (n->n_outputs == 0) diag_error(s->diag, ast->loc, "network '%s' has no output", n->name);
  for (int i = 0; i < n->n_groups; i++) {
    const IrGroup *g = &n->groups[i];
    if (g->act == ACT_SOFTMAX && g->role != ROLE_OUTPUT)
      diag_error(s->diag, s->decl_of[i]->act->loc, "softmax is only allowed on an output group; '%s' is a %s",
                 g->name, ast_decl_kind_name(s->decl_of[i]->kind));
    else if (g->act == ACT_SOFTMAX && g->size < 2)
      diag_error(s->diag, s->decl_of[i]->act->loc, "softmax needs an output group of at least 2 neurons; "
                 "'%s' has 1 (use sigmoid for one output)", g->name);
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
    if (g->act == ACT_SOFTMAX) softmax = 1;
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
  /* class scores: softmax, cross-entropy, one-hot labels, or 0/1 units read at 0.5 */
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
 * after the train block is read): in f32, `3.5e38*x` would become infinity. */
static void check_literal_values(Sema *s, const AstNetwork *ast) {
  for (const AstDecl *d = ast->decls; d; d = d->next)
    for (const AstTerm *t = d->has_sum ? d->sum : NULL; t; t = t->next)
      if (t->has_weight) sema_check_real(s, t->loc, t->ref ? (t->fixed ? "fixed weight" : "weight") : "bias", t->weight);
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
  resolve_groups(&s, ast);
  settings_check(&s, ast);
  check_literal_values(&s, ast);
  int errors_before_order = diag->errors;
  if (order_groups(&s) && errors_before_order == 0) {
    compute_depths(s.net);
    layout(s.net);
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
