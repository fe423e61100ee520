/* cg_table.c — table-driven per-sample code for the many small groups of a large network.
 * Consumes: the IR. Produces: the plan of which groups are tabled (cg_table_plan), constant
 * tables that describe those groups, their edge sets and the network's outputs, and the
 * internal functions that walk the tables:
 *   nnc.tforward(params, V, lo, hi)               forward over tabled groups [lo, hi)
 *   nnc.tbackward / nnc.tsgd(params, V, G, out, rate, lo, hi)   the reverse sweep over them
 *   nnc.tinit(params, seed, lo, hi)               their initial weights
 *   nnc.tloss(V, G, t, loss) and nnc.tcopy(V, y)  every output's loss and copy-out
 * Specialised code (codegen.c) grows with the groups and edge sets it is written for, and
 * LLVM's time with it; these functions have a fixed size, so a network of any size compiles
 * in time linear in its tables. The plan keeps specialised code for the groups that do the
 * most arithmetic per unit of code (the wide dense layers) within a fixed budget, and
 * tables the rest, cheapest work first. The sums, derivatives and updates are the same
 * rules as the specialised code's (cg_math.c, codegen.c), in the same order per neuron. */
#include <stdlib.h>
#include <string.h>

#include "cg.h"

/* Specialised code beyond this cost (codegen.c's unit: CG_GROUP_COST per group plus one
 * per edge set) is replaced by tables; within it, nothing is tabled. One group costing
 * more than a part (CG_PART_COST) is always tabled, as its code cannot be cut. */
enum { CG_TABLE_BUDGET = 256 };

/* Field layout of the int64 tables: one row per tabled group, edge set and output. */
enum { GF_VOFF, GF_SIZE, GF_ACT, GF_ELO, GF_EHI, GF_ZOFF, GF_DIRECT, GF_N };
enum { EF_BIAS, EF_SOFF, EF_N, EF_POFF, EF_LEARNED, EF_GRAD, EF_DRAW, EF_COUNT, EF_VOFF, EF_VSTRIDE, EF_NF };
enum { OF_VOFF, OF_SIZE, OF_IO, OF_ZOFF, OF_SOFTMAX, OF_N };
/* …and of the double tables: group: act_param; edge set: init a, b. The literal weights
 * of edge sets (fixed ones, and the initial values of per-edge literals) are a table of
 * reals of their own: edge k of a set is values[voff + k·vstride], vstride 0 for a set
 * whose edges share one value. */
enum { GR_PARAM, GR_N };
enum { ER_A, ER_B, ER_N };

typedef struct Rank {
  int id;
  double work_per_cost;
} Rank;

static int by_work_per_cost(const void *a, const void *b) {
  const Rank *x = a, *y = b;
  if (x->work_per_cost != y->work_per_cost) return x->work_per_cost < y->work_per_cost ? -1 : 1;
  return x->id - y->id;
}

static int64_t group_work(const IrGroup *g) {
  int64_t w = g->size;
  for (int k = 0; k < g->n_in; k++) w += g->in[k].count;
  return w;
}

/* The budget; the environment variable NNC_TABLE_BUDGET overrides it, so that the tests can
 * run every network through the tables (0) and compare them with the specialised code. */
static int64_t table_budget(void) {
  const char *v = getenv("NNC_TABLE_BUDGET");
  char *end;
  long long b = v ? strtoll(v, &end, 10) : -1;
  return v && *v && !*end && b >= 0 ? b : CG_TABLE_BUDGET;
}

int cg_uses_tables(const IrNetwork *n) { return cg_code_cost(n) > table_budget(); }

unsigned char *cg_table_plan(const IrNetwork *n) {
  if (!cg_uses_tables(n)) return NULL;
  unsigned char *tabled = xcalloc((size_t)n->n_groups, 1);
  Rank *rank = xmalloc(sizeof(Rank) * (size_t)(n->n_order ? n->n_order : 1));
  int64_t cost = 0;
  int nr = 0;
  for (int i = 0; i < n->n_order; i++) {
    const IrGroup *g = &n->groups[n->order[i]];
    int64_t c = cg_group_cost(g);
    if (g->dropout > 0) continue; /* its masks are applied in written-out code only */
    if (c > CG_PART_COST) {
      tabled[g->id] = 1;
      continue;
    }
    cost += c;
    rank[nr++] = (Rank){g->id, (double)group_work(g) / (double)c};
  }
  qsort(rank, (size_t)nr, sizeof *rank, by_work_per_cost);
  for (int i = 0; i < nr && cost > table_budget(); i++) {
    tabled[rank[i].id] = 1;
    cost -= cg_group_cost(&n->groups[rank[i].id]);
  }
  free(rank);
  return tabled;
}

/* --- the tables --------------------------------------------------------------------- */

typedef struct Rows {
  LLVMValueRef *ints, *reals;
  int64_t n, ni, nr; /* rows, and int64 / real fields per row */
} Rows;

static void rows_init(Rows *r, int64_t rows, int64_t ni, int64_t nr) {
  r->n = 0;
  r->ni = ni;
  r->nr = nr;
  r->ints = xmalloc(sizeof(LLVMValueRef) * (size_t)(rows * ni + 1));
  r->reals = xmalloc(sizeof(LLVMValueRef) * (size_t)(rows * nr + 1));
}

static void rows_add(Cg *cg, Rows *r, const int64_t *ints, const double *reals) {
  for (int64_t f = 0; f < r->ni; f++) r->ints[r->n * r->ni + f] = cg_int(cg, ints[f]);
  for (int64_t f = 0; f < r->nr; f++) r->reals[r->n * r->nr + f] = LLVMConstReal(cg->f64, reals[f]);
  r->n++;
}

static void rows_emit(Cg *cg, Rows *r, LLVMValueRef *ints, LLVMValueRef *reals, const char *name) {
  char buf[64];
  snprintf(buf, sizeof buf, "nnc.%s.i", name);
  *ints = cg_const_array(cg, cg->i64, r->ints, r->n * r->ni, buf);
  snprintf(buf, sizeof buf, "nnc.%s.r", name);
  *reals = cg_const_array(cg, cg->f64, r->reals, r->n * r->nr, buf);
  free(r->ints);
  free(r->reals);
}

static CgDraw add_edge_row(Cg *cg, Rows *edges, LLVMValueRef *values, int64_t *n_values, const IrGroup *g,
                           int64_t fan_in, const IrEdges *e) {
  const IrNetwork *n = cg->net;
  const IrGroup *src = &n->groups[e->src];
  int bias = src->role == ROLE_BIAS, dense = e->kind == EDGES_DENSE;
  CgInitRule init = cg_init_rule(n, g, fan_in, e);
  int64_t ints[EF_NF] = {
      [EF_BIAS] = bias,
      [EF_SOFF] = bias ? 0 : src->value_offset + (dense ? 0 : e->src_index),
      [EF_N] = dense ? src->size : 1,
      [EF_POFF] = e->param_offset,
      [EF_LEARNED] = e->weight != WEIGHT_FIXED,
      [EF_GRAD] = !bias && cg_wants_grad(n, e->src),
      [EF_DRAW] = init.draw,
      [EF_COUNT] = e->count,
      [EF_VOFF] = *n_values,
      [EF_VSTRIDE] = e->values != NULL,
  };
  double reals[ER_N] = {[ER_A] = init.a, [ER_B] = init.b};
  if (e->values)
    for (int64_t k = 0; k < e->count; k++) values[(*n_values)++] = cg_real(cg, e->values[k]);
  else
    values[(*n_values)++] = cg_real(cg, e->weight == WEIGHT_FIXED ? e->value : 0.0);
  rows_add(cg, edges, ints, reals);
  return init.draw;
}

/* The group, edge and output tables, and the table index of every tabled group. */
static void build_tables(Cg *cg, CgTables *t) {
  const IrNetwork *n = cg->net;
  int64_t n_edges = 0, n_groups = 0, n_outputs = 0, n_values = 0;
  for (int i = 0; i < n->n_order; i++) {
    const IrGroup *g = &n->groups[n->order[i]];
    if (!t->tabled[g->id]) continue;
    n_groups++;
    n_edges += g->n_in;
    for (int k = 0; k < g->n_in; k++) n_values += g->in[k].values ? g->in[k].count : 1;
  }
  for (int i = 0; i < n->n_groups; i++) n_outputs += n->groups[i].role == ROLE_OUTPUT;
  Rows groups, edges, outputs;
  rows_init(&groups, n_groups, GF_N, GR_N);
  rows_init(&edges, n_edges, EF_NF, ER_N);
  rows_init(&outputs, n_outputs, OF_N, 0);
  LLVMValueRef *values = xmalloc(sizeof(LLVMValueRef) * (size_t)(n_values + 1));
  n_values = 0;
  t->index = xmalloc(sizeof(int) * (size_t)n->n_groups);
  for (int i = 0; i < n->n_groups; i++) t->index[i] = -1;
  for (int i = 0; i < n->n_order; i++) {
    const IrGroup *g = &n->groups[n->order[i]];
    if (!t->tabled[g->id]) continue;
    t->acts |= 1u << g->act;
    t->index[g->id] = (int)groups.n;
    int64_t elo = edges.n, fan_in = ir_fan_in(n, g);
    for (int k = 0; k < g->n_in; k++) t->draws |= 1u << add_edge_row(cg, &edges, values, &n_values, g, fan_in, &g->in[k]);
    int64_t ints[GF_N] = {
        [GF_VOFF] = g->value_offset, [GF_SIZE] = g->size, [GF_ACT] = g->act, [GF_ELO] = elo, [GF_EHI] = edges.n,
        [GF_ZOFF] = cg_keeps_logits(cg, g) ? n->n_values + g->io_offset : -1, [GF_DIRECT] = cg_delta_is_direct(cg, g),
    };
    double reals[GR_N] = {[GR_PARAM] = g->act_param};
    rows_add(cg, &groups, ints, reals);
  }
  for (int i = 0; i < n->n_groups; i++) {
    const IrGroup *g = &n->groups[i];
    if (g->role != ROLE_OUTPUT) continue;
    t->softmax_outputs |= 1u << (g->act == ACT_SOFTMAX);
    int64_t ints[OF_N] = {[OF_VOFF] = g->value_offset, [OF_SIZE] = g->size, [OF_IO] = g->io_offset,
                          [OF_ZOFF] = n->n_values + g->io_offset, [OF_SOFTMAX] = g->act == ACT_SOFTMAX};
    rows_add(cg, &outputs, ints, NULL);
  }
  t->n_outputs = outputs.n;
  rows_emit(cg, &groups, &t->group_i, &t->group_r, "tgroups");
  rows_emit(cg, &edges, &t->edge_i, &t->edge_r, "tedges");
  rows_emit(cg, &outputs, &t->output_i, &t->output_r, "toutputs");
  t->values = cg_const_array(cg, cg->real, values, n_values, "nnc.tvalues");
  LLVMValueRef one = cg_real(cg, 1.0);
  t->one = cg_const_array(cg, cg->real, &one, 1, "nnc.tone");
  free(values);
}

/* --- reading them ------------------------------------------------------------------- */

static LLVMValueRef field_i(Cg *cg, LLVMValueRef table, int64_t stride, LLVMValueRef row, int field) {
  LLVMValueRef idx = LLVMBuildAdd(cg->b, LLVMBuildMul(cg->b, row, cg_int(cg, stride), ""), cg_int(cg, field), "");
  return LLVMBuildLoad2(cg->b, cg->i64, LLVMBuildInBoundsGEP2(cg->b, cg->i64, table, &idx, 1, ""), "");
}

static LLVMValueRef field_r(Cg *cg, LLVMValueRef table, int64_t stride, LLVMValueRef row, int field) {
  LLVMValueRef idx = LLVMBuildAdd(cg->b, LLVMBuildMul(cg->b, row, cg_int(cg, stride), ""), cg_int(cg, field), "");
  return LLVMBuildLoad2(cg->b, cg->f64, LLVMBuildInBoundsGEP2(cg->b, cg->f64, table, &idx, 1, ""), "");
}

static LLVMValueRef to_real(Cg *cg, LLVMValueRef d) {
  return cg->real_bytes == 8 ? d : LLVMBuildFPTrunc(cg->b, d, cg->real, "");
}

static LLVMValueRef is_set(Cg *cg, LLVMValueRef v) { return LLVMBuildICmp(cg->b, LLVMIntNE, v, cg_int(cg, 0), ""); }

static LLVMValueRef add(Cg *cg, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildAdd(cg->b, a, b, ""); }

/* if (cond) { then } : returns the block after; the builder is in the `then` block. */
static LLVMBasicBlockRef begin_if(Cg *cg, LLVMValueRef cond, const char *name) {
  LLVMBasicBlockRef then = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, name);
  LLVMBasicBlockRef after = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "endif");
  LLVMBuildCondBr(cg->b, cond, then, after);
  LLVMPositionBuilderAtEnd(cg->b, then);
  return after;
}

static void end_if(Cg *cg, LLVMBasicBlockRef after) {
  LLVMBuildBr(cg->b, after);
  LLVMPositionBuilderAtEnd(cg->b, after);
}

/* A value chosen by a run-time case among the compile-time cases in `present` (a bit per
 * case): one block per case, each computing emit(case), joined by a phi. */
typedef LLVMValueRef (*CaseFn)(Cg *cg, int c, void *ctx);

static LLVMValueRef switch_value(Cg *cg, LLVMValueRef which, unsigned present, LLVMTypeRef ty, CaseFn emit, void *ctx) {
  int only = -1, count = 0;
  for (int c = 0; c < 32; c++)
    if (present & (1u << c)) only = c, count++;
  if (count == 1) return emit(cg, only, ctx);
  LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "case_join");
  LLVMBasicBlockRef dflt = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "case_none");
  LLVMValueRef sw = LLVMBuildSwitch(cg->b, which, dflt, (unsigned)count);
  LLVMValueRef vals[32];
  LLVMBasicBlockRef from[32];
  int n = 0;
  for (int c = 0; c < 32; c++) {
    if (!(present & (1u << c))) continue;
    LLVMBasicBlockRef bb = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "case");
    LLVMAddCase(sw, cg_int(cg, c), bb);
    LLVMPositionBuilderAtEnd(cg->b, bb);
    vals[n] = emit(cg, c, ctx);
    from[n++] = LLVMGetInsertBlock(cg->b);
    LLVMBuildBr(cg->b, join);
  }
  LLVMPositionBuilderAtEnd(cg->b, dflt);
  LLVMBuildUnreachable(cg->b);
  LLVMPositionBuilderAtEnd(cg->b, join);
  LLVMValueRef phi = LLVMBuildPhi(cg->b, ty, "case");
  LLVMAddIncoming(phi, vals, from, (unsigned)n);
  return phi;
}

typedef struct ActCtx {
  LLVMValueRef param, v;
} ActCtx;

static LLVMValueRef activate_case(Cg *cg, int act, void *p) {
  ActCtx *a = p;
  return cg_activate_with(cg, (IrAct)act, a->param, a->v);
}

static LLVMValueRef derivative_case(Cg *cg, int act, void *p) {
  ActCtx *a = p;
  return cg_derivative_with(cg, (IrAct)act, a->param, a->v);
}

/* One tabled group's row, loaded. */
typedef struct TGroup {
  LLVMValueRef voff, size, act, param, elo, ehi, zoff, direct;
} TGroup;

static TGroup load_group(Cg *cg, const CgTables *t, LLVMValueRef row) {
  TGroup g = {
      field_i(cg, t->group_i, GF_N, row, GF_VOFF), field_i(cg, t->group_i, GF_N, row, GF_SIZE),
      field_i(cg, t->group_i, GF_N, row, GF_ACT), to_real(cg, field_r(cg, t->group_r, GR_N, row, GR_PARAM)),
      field_i(cg, t->group_i, GF_N, row, GF_ELO), field_i(cg, t->group_i, GF_N, row, GF_EHI),
      field_i(cg, t->group_i, GF_N, row, GF_ZOFF), field_i(cg, t->group_i, GF_N, row, GF_DIRECT),
  };
  return g;
}

/* One edge set's row, loaded; w(k) is its weight k: params[poff + k], or its constant. */
typedef struct TEdges {
  LLVMValueRef bias, soff, n, poff, learned, grad, voff, vstride;
} TEdges;

static TEdges load_edges(Cg *cg, const CgTables *t, LLVMValueRef row) {
  TEdges e = {
      is_set(cg, field_i(cg, t->edge_i, EF_NF, row, EF_BIAS)), field_i(cg, t->edge_i, EF_NF, row, EF_SOFF),
      field_i(cg, t->edge_i, EF_NF, row, EF_N), field_i(cg, t->edge_i, EF_NF, row, EF_POFF),
      is_set(cg, field_i(cg, t->edge_i, EF_NF, row, EF_LEARNED)), is_set(cg, field_i(cg, t->edge_i, EF_NF, row, EF_GRAD)),
      field_i(cg, t->edge_i, EF_NF, row, EF_VOFF), field_i(cg, t->edge_i, EF_NF, row, EF_VSTRIDE),
  };
  return e;
}

/* Weight k of the set: params[poff + k] if learned, else its constant (no load of params
 * when nothing is learned: params may then be empty). */
static LLVMValueRef edge_weight(Cg *cg, const CgTables *t, const TEdges *e, LLVMValueRef params, LLVMValueRef k) {
  LLVMValueRef learned = cg_elem(cg, params, add(cg, e->poff, k));
  LLVMValueRef fixed = cg_elem(cg, t->values, add(cg, e->voff, LLVMBuildMul(cg->b, k, e->vstride, "")));
  LLVMValueRef w = LLVMBuildLoad2(cg->b, cg->real, LLVMBuildSelect(cg->b, e->learned, learned, fixed, ""), "w");
  LLVMSetAlignment(w, (unsigned)cg->real_bytes);
  return w;
}

/* The source value of edge i of a set: V[soff + i], or 1 for a bias, read from a constant:
 * a bias neuron's slot in V is never written, and may lie past what forward's scratch holds. */
static LLVMValueRef edge_source(Cg *cg, const CgTables *t, const TEdges *e, LLVMValueRef V, LLVMValueRef i) {
  LLVMValueRef p = LLVMBuildSelect(cg->b, e->bias, t->one, cg_elem(cg, V, add(cg, e->soff, i)), "");
  LLVMValueRef v = LLVMBuildLoad2(cg->b, cg->real, p, "x");
  LLVMSetAlignment(v, (unsigned)cg->real_bytes);
  return v;
}

/* --- forward ------------------------------------------------------------------------ */

/* z of neuron j of group g: the sum over its edge sets, in order, as emit_net_input does. */
static LLVMValueRef emit_net_input(Cg *cg, const CgTables *t, const TGroup *g, LLVMValueRef j, LLVMValueRef params,
                                   LLVMValueRef V) {
  LLVMValueRef z = cg_alloca(cg, cg->real, "z");
  LLVMBuildStore(cg->b, cg_real(cg, 0.0), z);
  CgLoop le, li;
  LLVMValueRef r = cg_loop_begin(cg, &le, LLVMBuildSub(cg->b, g->ehi, g->elo, ""), "set");
  TEdges e = load_edges(cg, t, add(cg, g->elo, r));
  LLVMValueRef base = LLVMBuildMul(cg->b, j, e.n, "");
  LLVMValueRef dot = cg_alloca(cg, cg->real, "dot");
  LLVMBuildStore(cg->b, cg_real(cg, 0.0), dot);
  LLVMValueRef i = cg_loop_begin(cg, &li, e.n, "i");
  LLVMValueRef term = cg_fmul(cg, edge_weight(cg, t, &e, params, add(cg, base, i)), edge_source(cg, t, &e, V, i));
  LLVMBuildStore(cg->b, cg_fadd(cg, LLVMBuildLoad2(cg->b, cg->real, dot, ""), term), dot);
  cg_loop_end(cg, &li);
  LLVMBuildStore(cg->b, cg_fadd(cg, LLVMBuildLoad2(cg->b, cg->real, z, ""), LLVMBuildLoad2(cg->b, cg->real, dot, "")), z);
  cg_loop_end(cg, &le);
  return LLVMBuildLoad2(cg->b, cg->real, z, "");
}

static void build_forward(Cg *cg, CgTables *t) {
  LLVMTypeRef ps[] = {cg->ptr, cg->ptr, cg->i64, cg->i64};
  t->forward = cg_begin_function(cg, "nnc.tforward", cg->void_t, ps, 4, 0x3, 1);
  LLVMValueRef params = LLVMGetParam(t->forward, 0), V = LLVMGetParam(t->forward, 1);
  LLVMValueRef lo = LLVMGetParam(t->forward, 2), hi = LLVMGetParam(t->forward, 3);
  CgLoop lg, lj;
  LLVMValueRef row = add(cg, lo, cg_loop_begin(cg, &lg, LLVMBuildSub(cg->b, hi, lo, ""), "tgroup"));
  TGroup g = load_group(cg, t, row);
  LLVMValueRef j = cg_loop_begin(cg, &lj, g.size, "neuron");
  LLVMValueRef z = emit_net_input(cg, t, &g, j, params, V);
  LLVMBasicBlockRef after = begin_if(cg, LLVMBuildICmp(cg->b, LLVMIntSGE, g.zoff, cg_int(cg, 0), ""), "logits");
  cg_store(cg, V, add(cg, g.zoff, j), z);
  end_if(cg, after);
  ActCtx a = {g.param, z};
  cg_store(cg, V, add(cg, g.voff, j), switch_value(cg, g.act, t->acts, cg->real, activate_case, &a));
  cg_loop_end(cg, &lj);
  static const IrAct whole[] = {ACT_SOFTMAX, ACT_LOG_SOFTMAX};
  for (int w = 0; w < 2; w++) {
    if (!(t->acts & (1u << whole[w]))) continue;
    after = begin_if(cg, LLVMBuildICmp(cg->b, LLVMIntEQ, g.act, cg_int(cg, whole[w]), ""), ir_act_name(whole[w]));
    cg_softmax(cg, cg_elem(cg, V, g.voff), g.size, whole[w]);
    end_if(cg, after);
  }
  cg_loop_end(cg, &lg);
  LLVMBuildRetVoid(cg->b);
}

/* --- backward ----------------------------------------------------------------------- */

/* For every edge of every set into neuron j (error delta): G[src] += w·delta where the
 * source wants it, and ∂L/∂w = delta·x accumulated into out, or (sgd) the step
 * w − rate·∂L/∂w stored there; as emit_set_backward does. */
static void emit_sets_backward(Cg *cg, const CgTables *t, const TGroup *g, LLVMValueRef j, LLVMValueRef delta,
                               LLVMValueRef params, LLVMValueRef V, LLVMValueRef G, LLVMValueRef out,
                               LLVMValueRef rate, int sgd) {
  CgLoop le, li;
  LLVMValueRef r = cg_loop_begin(cg, &le, LLVMBuildSub(cg->b, g->ehi, g->elo, ""), "set");
  TEdges e = load_edges(cg, t, add(cg, g->elo, r));
  LLVMValueRef base = LLVMBuildMul(cg->b, j, e.n, "");
  LLVMValueRef i = cg_loop_begin(cg, &li, e.n, "i");
  LLVMValueRef k = add(cg, base, i), s = add(cg, e.soff, i);
  LLVMValueRef w = edge_weight(cg, t, &e, params, k), x = edge_source(cg, t, &e, V, i);
  LLVMBasicBlockRef after = begin_if(cg, e.grad, "src_grad");
  cg_store(cg, G, s, cg_fmuladd(cg, w, delta, cg_load(cg, G, s)));
  end_if(cg, after);
  after = begin_if(cg, e.learned, "learned");
  LLVMValueRef dx = cg_fmul(cg, delta, x), idx = add(cg, e.poff, k);
  cg_store(cg, out, idx, sgd ? cg_fsub(cg, w, cg_fmul(cg, rate, dx)) : cg_fadd(cg, cg_load(cg, out, idx), dx));
  end_if(cg, after);
  cg_loop_end(cg, &li);
  cg_loop_end(cg, &le);
}

static LLVMValueRef build_backward(Cg *cg, const CgTables *t, int sgd) {
  LLVMTypeRef ps[] = {cg->ptr, cg->ptr, cg->ptr, cg->ptr, cg->real, cg->i64, cg->i64};
  /* With sgd, params and out are one buffer. */
  LLVMValueRef fn = cg_begin_function(cg, sgd ? "nnc.tsgd" : "nnc.tbackward", cg->void_t, ps, 7, sgd ? 0x6 : 0xf, 1);
  LLVMValueRef params = LLVMGetParam(fn, 0), V = LLVMGetParam(fn, 1), G = LLVMGetParam(fn, 2), out = LLVMGetParam(fn, 3);
  LLVMValueRef rate = LLVMGetParam(fn, 4), lo = LLVMGetParam(fn, 5), hi = LLVMGetParam(fn, 6);
  CgLoop lg, lj;
  LLVMValueRef back = cg_loop_begin(cg, &lg, LLVMBuildSub(cg->b, hi, lo, ""), "tgroup");
  LLVMValueRef row = LLVMBuildSub(cg->b, LLVMBuildSub(cg->b, hi, cg_int(cg, 1), ""), back, "");
  TGroup g = load_group(cg, t, row);
  LLVMValueRef j = cg_loop_begin(cg, &lj, g.size, "neuron");
  LLVMValueRef vi = add(cg, g.voff, j);
  ActCtx a = {g.param, cg_load(cg, V, vi)};
  LLVMValueRef d = switch_value(cg, g.act, t->acts, cg->real, derivative_case, &a);
  LLVMValueRef delta = cg_load(cg, G, vi);
  delta = LLVMBuildSelect(cg->b, is_set(cg, g.direct), delta, cg_fmul(cg, delta, d), "delta");
  emit_sets_backward(cg, t, &g, j, delta, params, V, G, out, rate, sgd);
  cg_loop_end(cg, &lj);
  cg_loop_end(cg, &lg);
  LLVMBuildRetVoid(cg->b);
  return fn;
}

/* --- initialisation ----------------------------------------------------------------- */

typedef struct DrawCtx {
  LLVMValueRef a, b, seed, index, literal;
} DrawCtx;

static LLVMValueRef draw_case(Cg *cg, int draw, void *p) {
  DrawCtx *d = p;
  if (draw == CG_DRAW_VALUES) return d->literal;
  return cg_emit_draw(cg, (CgDraw)draw, d->a, d->b, d->seed, d->index);
}

static void build_init(Cg *cg, CgTables *t) {
  LLVMTypeRef ps[] = {cg->ptr, cg->i64, cg->i64, cg->i64};
  t->init = cg_begin_function(cg, "nnc.tinit", cg->void_t, ps, 4, 0x1, 1);
  LLVMValueRef params = LLVMGetParam(t->init, 0), seed = LLVMGetParam(t->init, 1);
  LLVMValueRef lo = LLVMGetParam(t->init, 2), hi = LLVMGetParam(t->init, 3);
  LLVMValueRef elo = field_i(cg, t->group_i, GF_N, lo, GF_ELO);
  LLVMValueRef ehi = field_i(cg, t->group_i, GF_N, LLVMBuildSub(cg->b, hi, cg_int(cg, 1), ""), GF_EHI);
  CgLoop le, lk;
  LLVMValueRef row = add(cg, elo, cg_loop_begin(cg, &le, LLVMBuildSub(cg->b, ehi, elo, ""), "tset"));
  LLVMValueRef learned = is_set(cg, field_i(cg, t->edge_i, EF_NF, row, EF_LEARNED));
  LLVMBasicBlockRef after = begin_if(cg, learned, "learned");
  LLVMValueRef poff = field_i(cg, t->edge_i, EF_NF, row, EF_POFF);
  LLVMValueRef draw = field_i(cg, t->edge_i, EF_NF, row, EF_DRAW);
  LLVMValueRef voff = field_i(cg, t->edge_i, EF_NF, row, EF_VOFF);
  DrawCtx d = {field_r(cg, t->edge_r, ER_N, row, ER_A), field_r(cg, t->edge_r, ER_N, row, ER_B), seed, NULL, NULL};
  LLVMValueRef k = cg_loop_begin(cg, &lk, field_i(cg, t->edge_i, EF_NF, row, EF_COUNT), "init");
  d.index = add(cg, poff, k);
  if (t->draws & (1u << CG_DRAW_VALUES)) {
    LLVMValueRef v = cg_load(cg, t->values, add(cg, voff, k));
    d.literal = cg->real_bytes == 8 ? v : LLVMBuildFPExt(cg->b, v, cg->f64, "");
  }
  LLVMValueRef v = switch_value(cg, draw, t->draws, cg->f64, draw_case, &d);
  cg_store(cg, params, d.index, to_real(cg, v));
  cg_loop_end(cg, &lk);
  end_if(cg, after);
  cg_loop_end(cg, &le);
  LLVMBuildRetVoid(cg->b);
}

/* --- outputs ------------------------------------------------------------------------ */

typedef struct TOutput {
  LLVMValueRef voff, zoff;
  CgOutput o;
} TOutput;

static TOutput load_output(Cg *cg, const CgTables *t, LLVMValueRef row, int softmax) {
  TOutput o = {field_i(cg, t->output_i, OF_N, row, OF_VOFF), field_i(cg, t->output_i, OF_N, row, OF_ZOFF),
               {field_i(cg, t->output_i, OF_N, row, OF_SIZE), field_i(cg, t->output_i, OF_N, row, OF_IO), softmax}};
  return o;
}

/* The loss of one output of the given kind (softmax or not) into *loss, ∂L/∂y into G. */
static void emit_one_loss(Cg *cg, const CgTables *t, LLVMValueRef row, int softmax, LLVMValueRef V, LLVMValueRef G,
                          LLVMValueRef tr, LLVMValueRef loss) {
  TOutput o = load_output(cg, t, row, softmax);
  cg_emit_output_loss(cg, o.o, cg_elem(cg, V, o.voff), cg_elem(cg, G, o.voff), tr, loss, cg_elem(cg, V, o.zoff),
                      cg_int(cg, 1));
}

static void build_loss(Cg *cg, CgTables *t) {
  LLVMTypeRef ps[] = {cg->ptr, cg->ptr, cg->ptr, cg->ptr};
  t->loss = cg_begin_function(cg, "nnc.tloss", cg->void_t, ps, 4, 0xf, 1);
  LLVMValueRef V = LLVMGetParam(t->loss, 0), G = LLVMGetParam(t->loss, 1), tr = LLVMGetParam(t->loss, 2),
               loss = LLVMGetParam(t->loss, 3);
  CgLoop lo;
  LLVMValueRef row = cg_loop_begin(cg, &lo, cg_int(cg, t->n_outputs), "output");
  if (t->softmax_outputs == 3) {
    LLVMValueRef is_softmax = is_set(cg, field_i(cg, t->output_i, OF_N, row, OF_SOFTMAX));
    LLVMBasicBlockRef soft = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "softmax_loss");
    LLVMBasicBlockRef plain = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "plain_loss");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "loss_done");
    LLVMBuildCondBr(cg->b, is_softmax, soft, plain);
    LLVMPositionBuilderAtEnd(cg->b, soft);
    emit_one_loss(cg, t, row, 1, V, G, tr, loss);
    LLVMBuildBr(cg->b, done);
    LLVMPositionBuilderAtEnd(cg->b, plain);
    emit_one_loss(cg, t, row, 0, V, G, tr, loss);
    LLVMBuildBr(cg->b, done);
    LLVMPositionBuilderAtEnd(cg->b, done);
  } else {
    emit_one_loss(cg, t, row, t->softmax_outputs == 2, V, G, tr, loss);
  }
  cg_loop_end(cg, &lo);
  LLVMBuildRetVoid(cg->b);
}

static void build_copy(Cg *cg, CgTables *t) {
  LLVMTypeRef ps[] = {cg->ptr, cg->ptr};
  t->copy = cg_begin_function(cg, "nnc.tcopy", cg->void_t, ps, 2, 0x3, 1);
  LLVMValueRef V = LLVMGetParam(t->copy, 0), y = LLVMGetParam(t->copy, 1);
  CgLoop lo, lj;
  LLVMValueRef row = cg_loop_begin(cg, &lo, cg_int(cg, t->n_outputs), "output");
  TOutput o = load_output(cg, t, row, 0);
  LLVMValueRef j = cg_loop_begin(cg, &lj, o.o.size, "copy");
  cg_store(cg, y, add(cg, o.o.io, j), cg_load(cg, V, add(cg, o.voff, j)));
  cg_loop_end(cg, &lj);
  cg_loop_end(cg, &lo);
  LLVMBuildRetVoid(cg->b);
}

/* --- entry -------------------------------------------------------------------------- */

void cg_tables_build(Cg *cg, CgTables *t, int trainable) {
  memset(t, 0, sizeof *t);
  t->tabled = cg->quant ? NULL : cg_table_plan(cg->net); /* quantized: code for every group */
  if (!t->tabled) return;
  build_tables(cg, t);
  build_forward(cg, t);
  build_copy(cg, t);
  build_loss(cg, t);
  if (!trainable) return;
  build_init(cg, t);
  t->backward = build_backward(cg, t, 0);
  t->sgd = build_backward(cg, t, 1);
}

void cg_tables_free(CgTables *t) {
  free(t->tabled);
  free(t->index);
}

int cg_is_tabled(const Cg *cg, const IrGroup *g) { return cg->tables && cg->tables->tabled && cg->tables->tabled[g->id]; }

/* The run of tabled groups through position i of the evaluation order, extended in the
 * direction step (+1 or −1): its table rows [*lo, *hi). Returns the position beyond it. */
int cg_table_run(const Cg *cg, int i, int step, int64_t *lo, int64_t *hi) {
  const IrNetwork *n = cg->net;
  int j = i;
  while (j >= 0 && j < n->n_order && cg_is_tabled(cg, &n->groups[n->order[j]])) j += step;
  int first = step > 0 ? i : j + 1, last = step > 0 ? j - 1 : i;
  *lo = cg->tables->index[n->order[first]];
  *hi = cg->tables->index[n->order[last]] + 1;
  return j;
}
