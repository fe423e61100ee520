/* codegen.c — builds the LLVM module of a network from its IR.
 * Consumes: a verified IrNetwork. Produces: an LLVM module with the functions of the ABI in
 * include/nnc/model.h (NAME_init, NAME_forward, NAME_loss_grad, NAME_train_step), the
 * descriptor NAME_model and, for executables, main. With trained weights compiled in, the
 * module is for inference only, and the input scaling of the weights is applied to the raw
 * inputs where forward and evaluate read them. Every size, offset, activation and
 * fixed weight is a constant; loops over dense groups are left for LLVM to vectorise (fast
 * math on their reductions, noalias buffers) and tiny networks unroll completely.
 *
 * Per sample the code keeps two vectors of n_values reals in the scratch buffer: V, the
 * output of every neuron, and G, ∂L/∂(output) accumulated over a neuron's consumers.
 * Backprop is the reverse topological sweep: for each group, delta = G · f'(y), then for
 * each incoming edge set G[src] += w · delta and ∂L/∂w = delta · y[src]. In the fused
 * per-sample SGD step the weight is updated in that same pass, right after it is read. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc/cpu_features.h"
#include "nnc/limits.h"

#include "cg.h"
#include "backend.h"
#include "codegen.h"
#include "export.h"

typedef enum BwdMode { BWD_ACCUMULATE, BWD_SGD } BwdMode;

/* --- large networks: code in parts ------------------------------------------------- */

/* LLVM's optimisations take time that grows faster than the size of one function, so the
 * per-sample code of a large network is cut into parts of about CG_PART_COST (edge sets,
 * plus CG_GROUP_COST per group), each an internal function that the pass calls in order;
 * compile time then grows linearly with the network. Beyond a budget, the groups with the
 * least arithmetic per unit of code are not written out at all but walked from tables
 * (cg_table.c), so the code has a bounded size. */
int64_t cg_group_cost(const IrGroup *g) { return CG_GROUP_COST + g->n_in; }

int64_t cg_code_cost(const IrNetwork *n) {
  int64_t cost = 0;
  for (int i = 0; i < n->n_order; i++) cost += cg_group_cost(&n->groups[n->order[i]]);
  return cost;
}

/* Small networks are unrolled into straight-line code; large ones are not. */
int cg_is_small_network(const IrNetwork *n) { return n->n_params <= 4096 && cg_code_cost(n) <= CG_PART_COST / 2; }

/* Tiny networks (a few hundred weights) also have their kernels inlined into every entry
 * point, as a call per sample costs them about 10 % of training time. Beyond that, inlining
 * only multiplies the unrolled code LLVM optimises, one copy per entry point, at no gain in
 * speed (21-32-3: 4.6 s of compile CPU time inlined, 1.4 s called). */
static int inlines_kernels(const IrNetwork *n) { return n->n_params <= CG_INLINE_PARAMS && cg_is_small_network(n); }

typedef struct CgParts {
  LLVMValueRef parent;           /* the function of the pass; its parameters are passed on */
  LLVMBasicBlockRef parent_entry, parent_at;
  unsigned noalias;
  int active;                    /* the network is large */
  int64_t cost;                  /* of the open part; -1: none open */
} CgParts;

static void parts_begin(Cg *cg, CgParts *p, unsigned noalias) {
  p->parent = cg->fn;
  p->parent_entry = cg->entry;
  p->noalias = noalias;
  p->active = !cg_is_small_network(cg->net);
  p->cost = -1;
}

static void parts_close(Cg *cg, CgParts *p) {
  LLVMBuildRetVoid(cg->b);
  cg->fn = p->parent;
  cg->entry = p->parent_entry;
  LLVMPositionBuilderAtEnd(cg->b, p->parent_at);
  p->cost = -1;
}

/* Before the code of a group of the given cost: opens a new part when the open one is full
 * (the parent calls it with its own arguments). Code then goes into cg->fn, whose
 * parameters are the parent's. */
static void parts_reserve(Cg *cg, CgParts *p, int64_t cost) {
  if (!p->active) return;
  if (p->cost >= 0 && p->cost + cost <= CG_PART_COST) {
    p->cost += cost;
    return;
  }
  if (p->cost >= 0) parts_close(cg, p);
  unsigned np = LLVMCountParams(p->parent);
  LLVMValueRef args[8];
  LLVMTypeRef types[8];
  NNC_ASSERT(np <= 8);
  for (unsigned i = 0; i < np; i++) types[i] = LLVMTypeOf(args[i] = LLVMGetParam(p->parent, i));
  p->parent_at = LLVMGetInsertBlock(cg->b);
  char name[64];
  snprintf(name, sizeof name, "%s.part", LLVMGetValueName(p->parent));
  LLVMValueRef part = cg_begin_function(cg, name, cg->void_t, types, np, p->noalias, 1);
  LLVMPositionBuilderAtEnd(cg->b, p->parent_at);
  LLVMBuildCall2(cg->b, LLVMGlobalGetValueType(part), part, args, np, "");
  LLVMPositionBuilderAtEnd(cg->b, cg->entry);
  p->cost = cost;
}

static void parts_end(Cg *cg, CgParts *p) {
  if (p->active && p->cost >= 0) parts_close(cg, p);
}

/* At position i of the order, in a pass stepping by step: if a run of tabled groups is
 * there, calls the tables' function fn(the pass's parameters numbered in args, lo, hi)
 * over it and returns the position beyond the run; otherwise returns i, for the caller to
 * write the group's code. */
static int call_tabled_run(Cg *cg, CgParts *parts, int i, int step, LLVMValueRef fn, const unsigned *args, unsigned n) {
  if (!cg_is_tabled(cg, &cg->net->groups[cg->net->order[i]])) return i;
  int64_t lo, hi;
  int beyond = cg_table_run(cg, i, step, &lo, &hi);
  parts_reserve(cg, parts, 1);
  LLVMValueRef a[8];
  NNC_ASSERT(n + 2 <= 8);
  for (unsigned k = 0; k < n; k++) a[k] = LLVMGetParam(cg->fn, args[k]);
  a[n] = cg_int(cg, lo);
  a[n + 1] = cg_int(cg, hi);
  LLVMBuildCall2(cg->b, LLVMGlobalGetValueType(fn), fn, a, n + 2, "");
  return beyond;
}

/* Parameter i of the function being built (a part has its parent's parameters). */
static LLVMValueRef arg(Cg *cg, unsigned i) { return LLVMGetParam(cg->fn, i); }

static int64_t align64(int64_t bytes) { return (bytes + 63) & ~(int64_t)63; }

/* V and G hold a slot per neuron, then (V) the weighted inputs z of the outputs, from which
 * cross-entropy is computed without rounding y to 0 or 1 first, then (loss_grad of a network
 * with dropout) the sample's mask row. */
static int64_t values_bytes(const IrNetwork *n) {
  return align64((n->n_values + n->n_outputs + n->n_dropout) * n->real_bytes);
}

/* --- dropout ------------------------------------------------------------------------ */

/* NAME_loss_grad, NAME_train_step and NAME_loss_grad_update of a network with dropout read
 * sample s's mask row (n_dropout reals, each 0 or 1/(1 − p), written by their caller) at this
 * byte offset of their scratch plus s rows. The per-sample code copies the row into V after
 * the outputs' z, where its training kernels read it; the batch kernels read the rows where
 * they are, their region following them. forward, evaluate and train_sequence never drop units. */
static int64_t mask_row_bytes(const IrNetwork *n) { return n->n_dropout * n->real_bytes; }
static int drops(const Cg *cg, const IrGroup *g) { return cg->dropout && g->dropout > 0; }
static LLVMValueRef mask_index(Cg *cg, const IrGroup *g, LLVMValueRef j) {
  return LLVMBuildAdd(cg->b, cg_int(cg, cg->net->n_values + cg->net->n_outputs + g->dropout_offset), j, "");
}

/* y·m: a unit's output as the training forward pass of loss_grad passes it on. */
static LLVMValueRef dropout_output(Cg *cg, const IrGroup *g, LLVMValueRef V, LLVMValueRef j, LLVMValueRef y) {
  return drops(cg, g) ? cg_fmul(cg, y, cg_load(cg, V, mask_index(cg, g, j))) : y;
}

LLVMValueRef cg_dropout_delta(Cg *cg, const IrGroup *g, LLVMValueRef G, LLVMValueRef m, LLVMValueRef ym) {
  LLVMValueRef y = cg_fmul(cg, ym, cg_real(cg, 1 - g->dropout));
  return cg_fmul(cg, cg_fmul(cg, G, m), cg_derivative(cg, g->act, g->act_param, y));
}

static LLVMValueRef dropout_delta(Cg *cg, const IrGroup *g, LLVMValueRef V, LLVMValueRef vi, LLVMValueRef j,
                                  LLVMValueRef G_j) {
  return cg_dropout_delta(cg, g, G_j, cg_load(cg, V, mask_index(cg, g, j)), cg_load(cg, V, vi));
}

/* Scratch: V, G and a gradient for the per-sample code, then the batch region (with dropout:
 * the masks of the call's samples, then the batch region from the next 64 bytes on). */
static int64_t per_sample_region(const IrNetwork *n) {
  int64_t vals = values_bytes(n);
  return 2 * vals + align64(n->n_params * n->real_bytes);
}

/* precision bf16: the workspace of the batch products, after the region (cg_bf16_work),
 * then the operands a part keeps for the rows step (cg_bf16_kept_work). */
static int64_t bf16_work(const IrNetwork *n, int per_sample) {
  int64_t fixed = 0, ps = 0, kept_fixed = 0, kept_ps = 0;
  if (n->bf16_products && cg_batch_eligible(n)) {
    cg_bf16_work(n, &fixed, &ps);
    cg_bf16_kept_work(n, &kept_fixed, &kept_ps);
  }
  return per_sample ? ps + kept_ps : fixed + kept_fixed;
}

int64_t cg_scratch_per_sample(const IrNetwork *n, int vec_bytes) {
  int64_t batch = cg_batch_eligible(n) ? cg_batch_reals_per_sample(n, vec_bytes) * n->real_bytes : 0;
  return batch + mask_row_bytes(n) + bf16_work(n, 1);
}

int64_t cg_dropout_mask_offset(const IrNetwork *n) { return per_sample_region(n); }

int64_t cg_scratch_bytes(const IrNetwork *n, int vec_bytes) {
  int64_t slack = cg_batch_eligible(n) ? cg_batch_align(n, vec_bytes) - 1 : 0;
  int64_t realign = cg_batch_eligible(n) && n->n_dropout ? 64 : 0; /* the region after the masks */
  return per_sample_region(n) + slack * cg_scratch_per_sample(n, vec_bytes) + realign + bf16_work(n, 0);
}

/* Samples per call of a batch kernel (call_in_chunks): 4 vectors of them. */
static int64_t chunk_samples(const IrNetwork *n, int vec_bytes) { return 4 * (vec_bytes / n->real_bytes); }

/* The end of the reals one forward pass writes in V: every neuron's output but the biases',
 * then (cross-entropy) the outputs' z. */
static int64_t forward_values_end(const IrNetwork *n) {
  if (n->train.loss == NNC_LOSS_CROSS_ENTROPY) return n->n_values + n->n_outputs;
  int64_t end = 0;
  for (int i = 0; i < n->n_groups; i++)
    if (n->groups[i].role != ROLE_BIAS && n->groups[i].value_offset + n->groups[i].size > end)
      end = n->groups[i].value_offset + n->groups[i].size;
  return end;
}

/* NAME_forward alone: one sample writes V; more than one go through the batch kernels with
 * their region at the start of scratch. */
CgForwardScratch cg_forward_scratch(const IrNetwork *n, int vec_bytes) {
  CgForwardScratch s = {forward_values_end(n) * n->real_bytes, 0, 0, chunk_samples(n, vec_bytes),
                        cg_batch_align(n, vec_bytes), {0}};
  if (cg_batch_eligible(n)) {
    s.per_sample = cg_batch_forward_reals_per_sample(n, vec_bytes, &s.row_tail) * n->real_bytes;
    s.row_tail *= n->real_bytes;
  }
  /* precision bf16: the products' workspace follows the last A (cg_bf16_forward_bytes) */
  for (int i = 0; n->bf16_products && s.per_sample && i < 4 && s.align * (i + 1) <= s.chunk; i++) {
    int64_t npad = s.align * (i + 1);
    s.bf16[i] = s.per_sample * npad + cg_bf16_forward_bytes(n, npad);
  }
  return s;
}

/* --- functions and attributes ------------------------------------------------------- */

static void add_attr(Cg *cg, LLVMValueRef fn, unsigned idx, const char *name) {
  unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
  LLVMAddAttributeAtIndex(fn, idx, LLVMCreateEnumAttribute(cg->ctx, kind, 0));
}

static void add_str_attr(Cg *cg, LLVMValueRef fn, const char *k, const char *v) {
  LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                          LLVMCreateStringAttribute(cg->ctx, k, (unsigned)strlen(k), v, (unsigned)strlen(v)));
}

/* Starts a function; pointer parameters named in noalias_mask (bit i: parameter i) get
 * noalias. Internal functions of a tiny network are inlined into the exported ones. */
LLVMValueRef cg_begin_function(Cg *cg, const char *name, LLVMTypeRef ret, LLVMTypeRef *params,
                                   unsigned n, unsigned noalias_mask, int internal) {
  LLVMTypeRef fty = LLVMFunctionType(ret, params, n, 0);
  LLVMValueRef fn = LLVMAddFunction(cg->mod, name, fty);
  if (internal) {
    /* Tiny networks become straight-line code in their callers; larger networks' pieces
     * are called (the call costs nothing beside them) so that their many entry points do not
     * each carry, and make LLVM optimise, a copy of every kernel. */
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    add_attr(cg, fn, LLVMAttributeFunctionIndex, inlines_kernels(cg->net) ? "alwaysinline" : "noinline");
  }
  for (unsigned i = 0; i < n; i++)
    if (noalias_mask & (1u << i)) add_attr(cg, fn, i + 1, "noalias");
  add_attr(cg, fn, LLVMAttributeFunctionIndex, "nounwind");
  add_str_attr(cg, fn, "prefer-vector-width", "512");
  cg->fn = fn;
  cg->entry = LLVMAppendBasicBlockInContext(cg->ctx, fn, "entry");
  LLVMPositionBuilderAtEnd(cg->b, cg->entry);
  return fn;
}

static LLVMValueRef call(Cg *cg, LLVMValueRef fn, LLVMValueRef *args, unsigned n) {
  return LLVMBuildCall2(cg->b, LLVMGlobalGetValueType(fn), fn, args, n, "");
}

static LLVMValueRef offset_ptr(Cg *cg, LLVMValueRef base, LLVMValueRef elems) {
  return cg_elem(cg, base, elems);
}

static LLVMValueRef to_f64(Cg *cg, LLVMValueRef v) {
  return cg->real_bytes == 8 ? v : LLVMBuildFPExt(cg->b, v, cg->f64, "");
}

static LLVMValueRef from_f64(Cg *cg, LLVMValueRef v) {
  return cg->real_bytes == 8 ? v : LLVMBuildFPTrunc(cg->b, v, cg->real, "");
}

static LLVMValueRef byte_ptr(Cg *cg, LLVMValueRef base, int64_t bytes) {
  LLVMValueRef idx = cg_int(cg, bytes);
  return LLVMBuildInBoundsGEP2(cg->b, cg->i8, base, &idx, 1, "");
}

static void memzero(Cg *cg, LLVMValueRef p, int64_t elems) {
  if (elems == 0) return;
  cg_zero(cg, p, cg_int(cg, elems));
}

/* --- weights ------------------------------------------------------------------------ */

/* The per-edge literal weights of set e as a private constant array of type ty (the model's
 * reals for fixed weights, doubles for initial ones), made once per set and named after its
 * place in the IR: `nnc.values.G.K` for set K into group G. */
static LLVMValueRef edge_values(Cg *cg, const IrEdges *e, LLVMTypeRef ty) {
  char name[64];
  snprintf(name, sizeof name, "nnc.values.%d.%d", e->dst, (int)(e - cg->net->groups[e->dst].in));
  LLVMValueRef g = LLVMGetNamedGlobal(cg->mod, name);
  if (g) return g;
  LLVMValueRef *elems = xmalloc(sizeof(LLVMValueRef) * (size_t)e->count);
  for (int64_t i = 0; i < e->count; i++) elems[i] = LLVMConstReal(ty, e->values[i]);
  g = cg_const_array(cg, ty, elems, e->count, name);
  free(elems);
  return g;
}

/* The weight of edge k of set e (k: row-major index within the set). */
static LLVMValueRef weight(Cg *cg, const IrEdges *e, LLVMValueRef params, LLVMValueRef k) {
  if (e->weight == WEIGHT_FIXED && e->values) return cg_load(cg, edge_values(cg, e, cg->real), k);
  if (e->weight == WEIGHT_FIXED) return cg_real(cg, e->value);
  LLVMValueRef idx = LLVMBuildAdd(cg->b, cg_int(cg, cg_param_offset(cg, e)), k, "");
  return cg_load(cg, params, idx);
}

static int is_bias_set(Cg *cg, const IrEdges *e) { return cg->net->groups[e->src].role == ROLE_BIAS; }

/* Needs ∂L/∂(output) of src: hidden and output neurons, not inputs and biases. */
int cg_wants_grad(const IrNetwork *n, int src) {
  IrRole r = n->groups[src].role;
  return r == ROLE_HIDDEN || r == ROLE_OUTPUT;
}

/* --- forward ------------------------------------------------------------------------ */

/* Σ_i w[row·m + i] · V[src + i] over the m neurons of a dense source. */
static LLVMValueRef emit_dot(Cg *cg, const IrEdges *e, const IrGroup *src, LLVMValueRef row,
                             LLVMValueRef params, LLVMValueRef V) {
  LLVMValueRef acc = cg_alloca(cg, cg->real, "dot");
  LLVMBuildStore(cg->b, cg_real(cg, 0.0), acc);
  CgLoop li;
  LLVMValueRef i = cg_loop_begin(cg, &li, cg_int(cg, src->size), "i");
  LLVMValueRef k = LLVMBuildAdd(cg->b, LLVMBuildMul(cg->b, row, cg_int(cg, src->size), ""), i, "");
  LLVMValueRef x = cg_load(cg, V, LLVMBuildAdd(cg->b, cg_int(cg, src->value_offset), i, ""));
  LLVMValueRef sum = cg_fmuladd(cg, weight(cg, e, params, k), x, LLVMBuildLoad2(cg->b, cg->real, acc, ""));
  LLVMBuildStore(cg->b, sum, acc);
  cg_loop_end(cg, &li);
  return LLVMBuildLoad2(cg->b, cg->real, acc, "");
}

/* Weighted input of neuron j of g: its bias plus every incoming edge set. */
/* Sum over the edge sets the vector kernels of cg_dense.c do not take (all if !skip_dense). */
static LLVMValueRef emit_net_input(Cg *cg, const IrGroup *g, LLVMValueRef j, LLVMValueRef params, LLVMValueRef V,
                                   int skip_dense) {
  LLVMValueRef z = cg_real(cg, 0.0);
  for (int k = 0; k < g->n_in; k++) {
    const IrEdges *e = &g->in[k];
    const IrGroup *src = &cg->net->groups[e->src];
    LLVMValueRef term;
    if (skip_dense && cg_has_kernel(cg, e)) continue;
    if (is_bias_set(cg, e))
      term = weight(cg, e, params, j);
    else if (e->kind == EDGES_DENSE)
      term = emit_dot(cg, e, src, j, params, V);
    else
      term = cg_fmul(cg, weight(cg, e, params, j), cg_load(cg, V, cg_int(cg, src->value_offset + e->src_index)));
    z = cg_fadd(cg, z, term);
  }
  return z;
}

/* softmax over size values at base, in place: y = e^{z − max z} / Σ e^{z − max z}; its log
 * (act ACT_LOG_SOFTMAX): y = (z − max z) − log Σ e^{z − max z}, as ONNX's LogSoftmax. */
void cg_softmax(Cg *cg, LLVMValueRef base, LLVMValueRef size, IrAct act) {
  LLVMValueRef mx = cg_alloca(cg, cg->real, "max"), sum = cg_alloca(cg, cg->real, "sum");
  LLVMBuildStore(cg->b, cg_load(cg, base, cg_int(cg, 0)), mx);
  LLVMBuildStore(cg->b, cg_real(cg, 0.0), sum);
  CgLoop l1, l2, l3;
  LLVMValueRef i = cg_loop_begin(cg, &l1, size, "smax");
  LLVMBuildStore(cg->b, cg_fmax(cg, cg_load(cg, base, i), LLVMBuildLoad2(cg->b, cg->real, mx, "")), mx);
  cg_loop_end(cg, &l1);
  LLVMValueRef m = LLVMBuildLoad2(cg->b, cg->real, mx, "");
  i = cg_loop_begin(cg, &l2, size, "sexp");
  LLVMValueRef e = cg_exp(cg, cg_fsub(cg, cg_load(cg, base, i), m));
  if (act != ACT_LOG_SOFTMAX) cg_store(cg, base, i, e);
  LLVMBuildStore(cg->b, cg_fadd(cg, e, LLVMBuildLoad2(cg->b, cg->real, sum, "")), sum);
  cg_loop_end(cg, &l2);
  if (act == ACT_LOG_SOFTMAX) {
    LLVMValueRef log_sum = cg_log(cg, LLVMBuildLoad2(cg->b, cg->real, sum, ""));
    i = cg_loop_begin(cg, &l3, size, "lsnorm");
    cg_store(cg, base, i, cg_fsub(cg, cg_fsub(cg, cg_load(cg, base, i), m), log_sum));
    cg_loop_end(cg, &l3);
    return;
  }
  LLVMValueRef inv = LLVMBuildFDiv(cg->b, cg_real(cg, 1.0), LLVMBuildLoad2(cg->b, cg->real, sum, ""), "");
  i = cg_loop_begin(cg, &l3, size, "snorm");
  cg_store(cg, base, i, cg_fmul(cg, cg_load(cg, base, i), inv));
  cg_loop_end(cg, &l3);
}

static int has_dense_kernel(Cg *cg, const IrGroup *g) {
  for (int k = 0; k < g->n_in; k++)
    if (cg_has_kernel(cg, &g->in[k])) return 1;
  return 0;
}

/* V[g] = bias and the narrow sets (plus, fused >= 0, the product already in V). */
static void emit_narrow_net_inputs(Cg *cg, const IrGroup *g, LLVMValueRef params, LLVMValueRef V, int fused) {
  CgLoop lj;
  LLVMValueRef j = cg_loop_begin(cg, &lj, cg_int(cg, g->size), "narrow");
  LLVMValueRef vi = LLVMBuildAdd(cg->b, cg_int(cg, g->value_offset), j, "");
  LLVMValueRef z = emit_net_input(cg, g, j, params, V, 1);
  cg_store(cg, V, vi, fused >= 0 ? cg_fadd(cg, cg_load(cg, V, vi), z) : z);
  cg_loop_end(cg, &lj);
}

/* With wide dense sets: V[g] = bias and narrow sets, then the vector kernels add theirs. */
static void emit_dense_net_inputs(Cg *cg, const IrGroup *g, LLVMValueRef params, LLVMValueRef V) {
  int fused = cg->prefused ? cg_prefusable_set(cg, g) : -1; /* its product is in V already */
  emit_narrow_net_inputs(cg, g, params, V, fused);
  for (int k = 0; k < g->n_in; k++)
    if (cg_quantized(cg, &g->in[k])) cg_emit_quant_forward(cg, g, &g->in[k], V);
    else if (k != fused && cg_dense_vectorisable(cg, &g->in[k])) cg_emit_dense_forward(cg, g, &g->in[k], params, V);
}

static void emit_group_activate(Cg *cg, const IrGroup *g, LLVMValueRef params, LLVMValueRef V, int dense);

static void emit_group_forward(Cg *cg, const IrGroup *g, LLVMValueRef params, LLVMValueRef V) {
  int dense = has_dense_kernel(cg, g);
  if (dense) emit_dense_net_inputs(cg, g, params, V);
  emit_group_activate(cg, g, params, V, dense);
}

/* y = f(z) over g, z in V[g] (dense) or summed here. */
static void emit_group_activate(Cg *cg, const IrGroup *g, LLVMValueRef params, LLVMValueRef V, int dense) {
  CgLoop lj;
  LLVMValueRef j = cg_loop_begin(cg, &lj, cg_int(cg, g->size), g->name);
  LLVMValueRef z = dense ? cg_load(cg, V, LLVMBuildAdd(cg->b, cg_int(cg, g->value_offset), j, ""))
                         : emit_net_input(cg, g, j, params, V, 0);
  if (cg_keeps_logits(cg, g))
    cg_store(cg, V, LLVMBuildAdd(cg->b, cg_int(cg, cg->net->n_values + g->io_offset), j, ""), z);
  LLVMValueRef y = dropout_output(cg, g, V, j, cg_activate(cg, g->act, g->act_param, z));
  cg_store(cg, V, LLVMBuildAdd(cg->b, cg_int(cg, g->value_offset), j, ""), y);
  cg_loop_end(cg, &lj);
  if (cg_normalises(g->act))
    cg_softmax(cg, offset_ptr(cg, V, cg_int(cg, g->value_offset)), cg_int(cg, g->size), g->act);
}

static void emit_copy(Cg *cg, LLVMValueRef dst, int64_t dst_off, LLVMValueRef src, int64_t src_off, int64_t n) {
  LLVMValueRef d = offset_ptr(cg, dst, cg_int(cg, dst_off)), s = offset_ptr(cg, src, cg_int(cg, src_off));
  cg_copy(cg, d, s, cg_int(cg, n));
}

/* --- input scaling ------------------------------------------------------------------ */

static LLVMValueRef const_f64s(Cg *cg, const double *v, int n, const char *name) {
  LLVMValueRef *elems = xmalloc(sizeof(LLVMValueRef) * (size_t)(n ? n : 1));
  for (int i = 0; i < n; i++) elems[i] = LLVMConstReal(cg->f64, v[i]);
  LLVMValueRef g = cg_const_array(cg, cg->f64, elems, n, name);
  free(elems);
  return g;
}

static LLVMValueRef load_f64(Cg *cg, LLVMValueRef base, LLVMValueRef i) {
  return LLVMBuildLoad2(cg->b, cg->f64, LLVMBuildInBoundsGEP2(cg->b, cg->f64, base, &i, 1, ""), "");
}

static LLVMValueRef splat_like(Cg *cg, LLVMValueRef s, LLVMTypeRef vec) {
  LLVMValueRef one = LLVMBuildInsertElement(cg->b, LLVMGetUndef(vec), s, LLVMConstInt(cg->i32, 0, 0), "");
  return LLVMBuildShuffleVector(cg->b, one, LLVMGetUndef(vec), LLVMConstNull(LLVMVectorType(cg->i32, LLVMGetVectorSize(vec))), "");
}

/* (x − offset[i]) · mul[i] computed in double, then rounded to the model's reals: exactly
 * what nnrt_scaler_apply does to a dataset (no reassociation, no fused multiply-add); a
 * quantized module's in its reals (cg_quant.c). */
LLVMValueRef cg_scale_input(Cg *cg, LLVMValueRef v, LLVMValueRef i) {
  if (!cg->scale_offset) return v;
  if (cg->q) return cg_quant_scale_input(cg, v, i);
  LLVMTypeRef ty = LLVMTypeOf(v), dty = cg->f64;
  LLVMValueRef a = load_f64(cg, cg->scale_offset, i), m = load_f64(cg, cg->scale_mul, i);
  if (LLVMGetTypeKind(ty) == LLVMVectorTypeKind) {
    dty = LLVMVectorType(cg->f64, LLVMGetVectorSize(ty));
    a = splat_like(cg, a, dty);
    m = splat_like(cg, m, dty);
  }
  LLVMValueRef d = cg->real_bytes == 8 ? v : LLVMBuildFPExt(cg->b, v, dty, "");
  d = LLVMBuildFMul(cg->b, LLVMBuildFSub(cg->b, d, a, ""), m, "scaled");
  return cg->real_bytes == 8 ? d : LLVMBuildFPTrunc(cg->b, d, ty, "");
}

/* V[input group] = its inputs from x, scaled when the module scales its inputs; the
 * group's size, first column and first value are constants or loaded from a table. */
static void emit_inputs(Cg *cg, LLVMValueRef size, LLVMValueRef io, LLVMValueRef voff, LLVMValueRef x, LLVMValueRef V) {
  CgLoop l;
  LLVMValueRef i = cg_loop_begin(cg, &l, size, "input");
  LLVMValueRef in = LLVMBuildAdd(cg->b, io, i, "");
  cg_store(cg, V, LLVMBuildAdd(cg->b, voff, i, ""), cg_scale_input(cg, cg_load(cg, x, in), in));
  cg_loop_end(cg, &l);
}

/* Many input groups are copied by one loop over a table of (size, column, value offset)
 * rather than by code per group, which would make one long block of copies. */
enum { CG_MAX_INPUT_COPIES = 8 };

static void emit_all_inputs(Cg *cg, LLVMValueRef x, LLVMValueRef V) {
  const IrNetwork *n = cg->net;
  int count = 0;
  for (int i = 0; i < n->n_groups; i++) count += n->groups[i].role == ROLE_INPUT;
  if (count <= CG_MAX_INPUT_COPIES) {
    for (int i = 0; i < n->n_groups; i++) {
      const IrGroup *g = &n->groups[i];
      if (g->role != ROLE_INPUT) continue;
      if (cg->scale_offset)
        emit_inputs(cg, cg_int(cg, g->size), cg_int(cg, g->io_offset), cg_int(cg, g->value_offset), x, V);
      else
        emit_copy(cg, V, g->value_offset, x, g->io_offset, g->size);
    }
    return;
  }
  LLVMValueRef *rows = xmalloc(sizeof(LLVMValueRef) * 3 * (size_t)count);
  int r = 0;
  for (int i = 0; i < n->n_groups; i++) {
    const IrGroup *g = &n->groups[i];
    if (g->role != ROLE_INPUT) continue;
    rows[r++] = cg_int(cg, g->size);
    rows[r++] = cg_int(cg, g->io_offset);
    rows[r++] = cg_int(cg, g->value_offset);
  }
  LLVMValueRef table = cg_const_array(cg, cg->i64, rows, r, "nnc.inputs");
  free(rows);
  CgLoop l;
  LLVMValueRef row = LLVMBuildMul(cg->b, cg_loop_begin(cg, &l, cg_int(cg, count), "input_group"), cg_int(cg, 3), "");
  LLVMValueRef f[3];
  for (int k = 0; k < 3; k++) {
    LLVMValueRef idx = LLVMBuildAdd(cg->b, row, cg_int(cg, k), "");
    f[k] = LLVMBuildLoad2(cg->b, cg->i64, LLVMBuildInBoundsGEP2(cg->b, cg->i64, table, &idx, 1, ""), "");
  }
  emit_inputs(cg, f[0], f[1], f[2], x, V);
  cg_loop_end(cg, &l);
}

/* fwd1(params, x, V): V = the outputs of every neuron for one sample. */
static LLVMValueRef build_forward_one(Cg *cg) {
  const IrNetwork *n = cg->net;
  LLVMTypeRef ps[] = {cg->ptr, cg->ptr, cg->ptr};
  const char *name = cg->prefused ? "nnc.forward1p" : cg->dropout ? "nnc.forward1d" : "nnc.forward1";
  LLVMValueRef fn = cg_begin_function(cg, name, cg->void_t, ps, 3, 7, 1);
  LLVMValueRef x = LLVMGetParam(fn, 1), V = LLVMGetParam(fn, 2);
  emit_all_inputs(cg, x, V);
  CgParts parts;
  parts_begin(cg, &parts, 7);
  static const unsigned targs[] = {0, 2};
  for (int i = 0; i < n->n_order; i++) {
    int beyond = call_tabled_run(cg, &parts, i, 1, cg->tables->forward, targs, 2);
    if (beyond != i) {
      i = beyond - 1;
      continue;
    }
    const IrGroup *g = &n->groups[n->order[i]];
    parts_reserve(cg, &parts, cg_group_cost(g));
    emit_group_forward(cg, g, arg(cg, 0), arg(cg, 2));
  }
  parts_end(cg, &parts);
  LLVMBuildRetVoid(cg->b);
  return fn;
}

/* --- batches of a quantized module ------------------------------------------------- */

static int has_multi_kernel(Cg *cg) {
  const IrNetwork *n = cg->net;
  for (int i = 0; i < n->n_order; i++)
    for (int k = 0; k < n->groups[n->order[i]].n_in; k++)
      if (cg_quant_multi(cg, &n->groups[n->order[i]].in[k])) return 1;
  return 0;
}

/* Group g for cg_quant_block samples: the sets of cg_quant_multi in one pass for all; the
 * first such set of the block also prefetches *ahead (the next block's inputs), then NULL. */
static void emit_group_forward_multi(Cg *cg, const IrGroup *g, LLVMValueRef params, const LLVMValueRef *V,
                                     LLVMValueRef *ahead) {
  int ns = cg_quant_block(cg);
  int64_t ahead_bytes = (int64_t)ns * cg->net->n_inputs * cg->real_bytes;
  int multi = 0;
  for (int k = 0; k < g->n_in; k++) multi |= cg_quant_multi(cg, &g->in[k]);
  for (int s = 0; !multi && s < ns; s++) emit_group_forward(cg, g, params, V[s]);
  if (!multi) return;
  for (int s = 0; s < ns; s++) emit_narrow_net_inputs(cg, g, params, V[s], -1);
  for (int k = 0; k < g->n_in; k++) {
    const IrEdges *e = &g->in[k];
    if (cg_quant_multi(cg, e)) {
      cg_emit_quant_forward_multi(cg, g, e, V, *ahead, ahead_bytes);
      *ahead = NULL;
    } else if (cg_quantized(cg, e))
      for (int s = 0; s < ns; s++) cg_emit_quant_forward(cg, g, e, V[s]);
    else if (cg_dense_vectorisable(cg, e))
      for (int s = 0; s < ns; s++) cg_emit_dense_forward(cg, g, e, params, V[s]);
  }
  for (int s = 0; s < ns; s++) emit_group_activate(cg, g, params, V[s], 1);
}

static LLVMValueRef sample_ptr(Cg *cg, LLVMValueRef base, LLVMValueRef s, int width);
static void emit_outputs_copy(Cg *cg, LLVMValueRef V, LLVMValueRef y);
static LLVMValueRef call(Cg *cg, LLVMValueRef fn, LLVMValueRef *args, unsigned n);

/* nnc.forwardQ(params, n, x, y, V): n samples of a quantized module, cg_quant_block at a
 * time through the multi-sample kernels (their values on the stack), the rest one by one. */
static LLVMValueRef build_quant_batch(Cg *cg, LLVMValueRef fwd1) {
  const IrNetwork *n = cg->net;
  LLVMTypeRef ps[] = {cg->ptr, cg->i64, cg->ptr, cg->ptr, cg->ptr};
  LLVMValueRef fn = cg_begin_function(cg, "nnc.forwardQ", cg->void_t, ps, 5, 0x1d, 1);
  LLVMValueRef params = arg(cg, 0), count = arg(cg, 1), x = arg(cg, 2), y = arg(cg, 3);
  int64_t nv = values_bytes(n) / n->real_bytes;
  int ns = cg_quant_block(cg);
  LLVMValueRef buf = cg_alloca(cg, LLVMArrayType2(cg->real, (uint64_t)(nv * ns)), "Vq"), V[CG_QUANT_SAMPLES];
  LLVMSetAlignment(buf, 64);
  for (int s = 0; s < ns; s++) V[s] = cg_elem(cg, buf, cg_int(cg, s * nv));
  LLVMValueRef blocks = LLVMBuildSDiv(cg->b, count, cg_int(cg, ns), "");
  CgLoop lb;
  LLVMValueRef b = LLVMBuildMul(cg->b, cg_loop_begin(cg, &lb, blocks, "qblock"), cg_int(cg, ns), "");
  for (int s = 0; s < ns; s++)
    emit_all_inputs(cg, sample_ptr(cg, x, LLVMBuildAdd(cg->b, b, cg_int(cg, s), ""), n->n_inputs), V[s]);
  LLVMValueRef next = LLVMBuildMul(cg->b, LLVMBuildAdd(cg->b, b, cg_int(cg, ns), ""), cg_int(cg, n->n_inputs), "");
  LLVMValueRef ahead = LLVMBuildGEP2(cg->b, cg->real, x, &next, 1, "ahead"); /* past x after the last block: only prefetched */
  for (int i = 0; i < n->n_order; i++) emit_group_forward_multi(cg, &n->groups[n->order[i]], params, V, &ahead);
  for (int s = 0; s < ns; s++)
    emit_outputs_copy(cg, V[s], sample_ptr(cg, y, LLVMBuildAdd(cg->b, b, cg_int(cg, s), ""), n->n_outputs));
  cg_loop_end(cg, &lb);
  LLVMValueRef done = LLVMBuildMul(cg->b, blocks, cg_int(cg, ns), "");
  CgLoop ls;
  LLVMValueRef s = LLVMBuildAdd(cg->b, done, cg_loop_begin(cg, &ls, LLVMBuildSub(cg->b, count, done, ""), "qrest"), "");
  LLVMValueRef args[] = {params, sample_ptr(cg, x, s, n->n_inputs), V[0]};
  call(cg, fwd1, args, 3);
  emit_outputs_copy(cg, V[0], sample_ptr(cg, y, s, n->n_outputs));
  cg_loop_end(cg, &ls);
  LLVMBuildRetVoid(cg->b);
  return fn;
}

/* --- loss --------------------------------------------------------------------------- */

/* Σ_j t_j over an output: softmax + cross-entropy has ∂L/∂z_j = y_j·Σt − t_j, which is
 * y − t only for targets that sum to 1. */
static LLVMValueRef emit_target_sum(Cg *cg, CgOutput o, LLVMValueRef t) {
  LLVMValueRef sum = cg_alloca(cg, cg->real, "tsum");
  LLVMBuildStore(cg->b, cg_real(cg, 0.0), sum);
  CgLoop l;
  LLVMValueRef j = cg_loop_begin(cg, &l, o.size, "tsum");
  LLVMValueRef tj = cg_load(cg, t, LLVMBuildAdd(cg->b, o.io, j, ""));
  LLVMBuildStore(cg->b, cg_fadd(cg, LLVMBuildLoad2(cg->b, cg->real, sum, ""), tj), sum);
  cg_loop_end(cg, &l);
  return LLVMBuildLoad2(cg->b, cg->real, sum, "");
}

int cg_keeps_logits(const Cg *cg, const IrGroup *g) {
  return g->role == ROLE_OUTPUT && cg->net->train.loss == NNC_LOSS_CROSS_ENTROPY;
}

/* log Σ_k e^{z_k} over an output, as m + log Σ e^{z_k − m} with m = max z. */
static LLVMValueRef emit_log_sum_exp(Cg *cg, CgOutput o, LLVMValueRef z, LLVMValueRef zs) {
  LLVMValueRef mx = cg_alloca(cg, cg->real, "lse_max"), sum = cg_alloca(cg, cg->real, "lse_sum");
  LLVMBuildStore(cg->b, cg_load(cg, z, cg_int(cg, 0)), mx);
  LLVMBuildStore(cg->b, cg_real(cg, 0.0), sum);
  CgLoop l1, l2;
  LLVMValueRef k = cg_loop_begin(cg, &l1, o.size, "lmax");
  LLVMBuildStore(cg->b, cg_fmax(cg, cg_load(cg, z, LLVMBuildMul(cg->b, k, zs, "")), LLVMBuildLoad2(cg->b, cg->real, mx, "")), mx);
  cg_loop_end(cg, &l1);
  LLVMValueRef m = LLVMBuildLoad2(cg->b, cg->real, mx, "");
  k = cg_loop_begin(cg, &l2, o.size, "lsum");
  LLVMValueRef e = cg_exp(cg, cg_fsub(cg, cg_load(cg, z, LLVMBuildMul(cg->b, k, zs, "")), m));
  LLVMBuildStore(cg->b, cg_fadd(cg, LLVMBuildLoad2(cg->b, cg->real, sum, ""), e), sum);
  cg_loop_end(cg, &l2);
  return cg_fadd(cg, m, cg_log(cg, LLVMBuildLoad2(cg->b, cg->real, sum, "")));
}

CgOutput cg_output_of(Cg *cg, const IrGroup *g) {
  CgOutput o = {cg_int(cg, g->size), cg_int(cg, g->io_offset), g->act == ACT_SOFTMAX};
  return o;
}

/* Adds one sample's loss over output o into *loss and ∂L/∂y into G; y and G point at the
 * output's first neuron, t at the sample's target row, z (cross-entropy only) at its
 * first weighted input, zs apart. Squared error: Σ (y − t)². Cross-entropy from z, stable
 * however saturated y is: sigmoid softplus(z) − t·z, softmax Σ t·(log Σ e^z − z). For
 * cross-entropy G receives ∂L/∂z directly: y − t, or y·Σt − t for softmax. */
void cg_emit_output_loss(Cg *cg, CgOutput o, LLVMValueRef y, LLVMValueRef G, LLVMValueRef t,
                         LLVMValueRef loss, LLVMValueRef z, LLVMValueRef zs) {
  int xent = cg->net->train.loss == NNC_LOSS_CROSS_ENTROPY;
  LLVMValueRef tsum = xent && o.softmax ? emit_target_sum(cg, o, t) : NULL;
  LLVMValueRef lse = xent && o.softmax ? emit_log_sum_exp(cg, o, z, zs) : NULL;
  CgLoop lj;
  LLVMValueRef j = cg_loop_begin(cg, &lj, o.size, "loss");
  LLVMValueRef out = cg_load(cg, y, j);
  LLVMValueRef target = cg_load(cg, t, LLVMBuildAdd(cg->b, o.io, j, ""));
  LLVMValueRef diff = cg_fsub(cg, out, target), l, grad;
  if (!xent) {
    l = cg_fmul(cg, diff, diff);
    grad = cg_fadd(cg, diff, diff);
  } else {
    LLVMValueRef zj = cg_load(cg, z, LLVMBuildMul(cg->b, j, zs, ""));
    if (o.softmax)
      l = cg_fmul(cg, target, cg_fsub(cg, lse, zj));
    else
      l = cg_fsub(cg, cg_activate(cg, ACT_SOFTPLUS, 0, zj), cg_fmul(cg, target, zj));
    grad = tsum ? cg_fsub(cg, cg_fmul(cg, out, tsum), target) : diff;
  }
  LLVMBuildStore(cg->b, cg_fadd(cg, LLVMBuildLoad2(cg->b, cg->real, loss, ""), l), loss);
  cg_store(cg, G, j, cg_fadd(cg, cg_load(cg, G, j), grad));
  cg_loop_end(cg, &lj);
}

/* --- backward ----------------------------------------------------------------------- */

/* ∂L/∂w = delta · x for the weight at params[e.offset + k]: accumulate, or step. */
static void emit_weight_grad(Cg *cg, const IrEdges *e, LLVMValueRef k, LLVMValueRef dx, LLVMValueRef w,
                             LLVMValueRef out, LLVMValueRef rate, BwdMode mode) {
  if (e->weight == WEIGHT_FIXED) return;
  LLVMValueRef idx = LLVMBuildAdd(cg->b, cg_int(cg, e->param_offset), k, "");
  if (mode == BWD_SGD)
    cg_store(cg, out, idx, cg_fsub(cg, w, cg_fmul(cg, rate, dx)));
  else
    cg_store(cg, out, idx, cg_fadd(cg, cg_load(cg, out, idx), dx));
}

/* One edge from V[s] with weight index k into a neuron with error delta. */
static void emit_edge_backward(Cg *cg, const IrEdges *e, LLVMValueRef k, LLVMValueRef s, LLVMValueRef delta,
                               LLVMValueRef params, LLVMValueRef V, LLVMValueRef G, LLVMValueRef out,
                               LLVMValueRef rate, BwdMode mode) {
  LLVMValueRef w = weight(cg, e, params, k);
  if (cg_wants_grad(cg->net, e->src)) cg_store(cg, G, s, cg_fmuladd(cg, w, delta, cg_load(cg, G, s)));
  emit_weight_grad(cg, e, k, cg_fmul(cg, delta, cg_load(cg, V, s)), w, out, rate, mode);
}

static void emit_set_backward(Cg *cg, const IrEdges *e, LLVMValueRef j, LLVMValueRef delta, LLVMValueRef params,
                              LLVMValueRef V, LLVMValueRef G, LLVMValueRef out, LLVMValueRef rate, BwdMode mode) {
  const IrGroup *src = &cg->net->groups[e->src];
  if (is_bias_set(cg, e)) {
    emit_weight_grad(cg, e, j, delta, weight(cg, e, params, j), out, rate, mode);
  } else if (e->kind == EDGES_ONE) {
    emit_edge_backward(cg, e, j, cg_int(cg, src->value_offset + e->src_index), delta, params, V, G, out, rate, mode);
  } else {
    CgLoop li;
    LLVMValueRef i = cg_loop_begin(cg, &li, cg_int(cg, src->size), "bi");
    LLVMValueRef k = LLVMBuildAdd(cg->b, LLVMBuildMul(cg->b, j, cg_int(cg, src->size), ""), i, "");
    LLVMValueRef s = LLVMBuildAdd(cg->b, cg_int(cg, src->value_offset), i, "");
    emit_edge_backward(cg, e, k, s, delta, params, V, G, out, rate, mode);
    cg_loop_end(cg, &li);
  }
}

/* The output layer of a cross-entropy net already holds ∂L/∂z in G. */
int cg_delta_is_direct(Cg *cg, const IrGroup *g) {
  return g->role == ROLE_OUTPUT && cg->net->train.loss == NNC_LOSS_CROSS_ENTROPY;
}

/* With wide dense sets: deltas into G[g] first, the narrow sets per neuron, then the
 * vector kernels over whole rows. */
static void emit_group_backward_dense(Cg *cg, const IrGroup *g, LLVMValueRef params, LLVMValueRef V, LLVMValueRef G,
                                      LLVMValueRef out, LLVMValueRef rate, BwdMode mode) {
  CgLoop l1, l2;
  LLVMValueRef j = cg_loop_begin(cg, &l1, cg_int(cg, g->size), "delta");
  LLVMValueRef vi = LLVMBuildAdd(cg->b, cg_int(cg, g->value_offset), j, "");
  if (drops(cg, g))
    cg_store(cg, G, vi, dropout_delta(cg, g, V, vi, j, cg_load(cg, G, vi)));
  else if (!cg_delta_is_direct(cg, g))
    cg_store(cg, G, vi, cg_fmul(cg, cg_load(cg, G, vi), cg_derivative(cg, g->act, g->act_param, cg_load(cg, V, vi))));
  cg_loop_end(cg, &l1);
  j = cg_loop_begin(cg, &l2, cg_int(cg, g->size), "narrow");
  LLVMValueRef delta = cg_load(cg, G, LLVMBuildAdd(cg->b, cg_int(cg, g->value_offset), j, ""));
  for (int k = 0; k < g->n_in; k++)
    if (!cg_dense_vectorisable(cg, &g->in[k])) emit_set_backward(cg, &g->in[k], j, delta, params, V, G, out, rate, mode);
  cg_loop_end(cg, &l2);
  int fused = cg->next_x ? cg_prefusable_set(cg, g) : -1;
  for (int k = 0; k < g->n_in; k++)
    if (cg_dense_vectorisable(cg, &g->in[k]))
      cg_emit_dense_backward(cg, g, &g->in[k], params, V, G, out, rate, mode == BWD_SGD, k == fused ? cg->next_x : NULL);
}

static void emit_group_backward(Cg *cg, const IrGroup *g, LLVMValueRef params, LLVMValueRef V, LLVMValueRef G,
                                LLVMValueRef out, LLVMValueRef rate, BwdMode mode) {
  if (has_dense_kernel(cg, g)) {
    emit_group_backward_dense(cg, g, params, V, G, out, rate, mode);
    return;
  }
  CgLoop lj;
  LLVMValueRef j = cg_loop_begin(cg, &lj, cg_int(cg, g->size), g->name);
  LLVMValueRef vi = LLVMBuildAdd(cg->b, cg_int(cg, g->value_offset), j, "");
  LLVMValueRef delta = cg_load(cg, G, vi);
  if (drops(cg, g)) delta = dropout_delta(cg, g, V, vi, j, delta);
  else if (!cg_delta_is_direct(cg, g)) delta = cg_fmul(cg, delta, cg_derivative(cg, g->act, g->act_param, cg_load(cg, V, vi)));
  for (int k = 0; k < g->n_in; k++) emit_set_backward(cg, &g->in[k], j, delta, params, V, G, out, rate, mode);
  cg_loop_end(cg, &lj);
}

/* Every output's loss into *loss and ∂L/∂y into G (at each output's neurons). */
static void emit_outputs_loss(Cg *cg, LLVMValueRef V, LLVMValueRef G, LLVMValueRef t, LLVMValueRef loss) {
  const IrNetwork *n = cg->net;
  if (cg->tables->loss) {
    LLVMValueRef args[] = {V, G, t, loss};
    call(cg, cg->tables->loss, args, 4);
    return;
  }
  for (int i = 0; i < n->n_groups; i++)
    if (n->groups[i].role == ROLE_OUTPUT) {
      LLVMValueRef at = cg_int(cg, n->groups[i].value_offset);
      LLVMValueRef z = offset_ptr(cg, V, cg_int(cg, n->n_values + n->groups[i].io_offset));
      cg_emit_output_loss(cg, cg_output_of(cg, &n->groups[i]), offset_ptr(cg, V, at), offset_ptr(cg, G, at), t, loss, z, cg_int(cg, 1));
    }
}

/* y (one sample's row) = the values of the output neurons. */
static void emit_outputs_copy(Cg *cg, LLVMValueRef V, LLVMValueRef y) {
  const IrNetwork *n = cg->net;
  if (cg->tables->copy) {
    LLVMValueRef args[] = {V, y};
    call(cg, cg->tables->copy, args, 2);
    return;
  }
  for (int i = 0; i < n->n_groups; i++)
    if (n->groups[i].role == ROLE_OUTPUT)
      emit_copy(cg, y, n->groups[i].io_offset, V, n->groups[i].value_offset, n->groups[i].size);
}

/* bwd(params, t, V, G, out, rate) -> loss: loss of one sample (V from forward1), then the
 * reverse sweep; out is the gradient (accumulated) or, for BWD_SGD, the parameters. */
static LLVMValueRef build_backward_one(Cg *cg, BwdMode mode, int pipelined) {
  const IrNetwork *n = cg->net;
  LLVMTypeRef ps[] = {cg->ptr, cg->ptr, cg->ptr, cg->ptr, cg->ptr, cg->real, cg->ptr};
  /* In SGD mode params and out are the same buffer: neither may be noalias. */
  unsigned noalias = mode == BWD_SGD ? 0x4e : 0x5f;
  const char *name = mode == BWD_SGD ? (pipelined ? "nnc.sgd1p" : cg->dropout ? "nnc.sgd1d" : "nnc.sgd1")
                                     : cg->dropout ? "nnc.backward1d" : "nnc.backward1";
  LLVMValueRef fn = cg_begin_function(cg, name, cg->real, ps, 7, noalias, 1);
  LLVMValueRef t = LLVMGetParam(fn, 1), V = LLVMGetParam(fn, 2), G = LLVMGetParam(fn, 3);
  LLVMValueRef loss = cg_alloca(cg, cg->real, "loss");
  LLVMBuildStore(cg->b, cg_real(cg, 0.0), loss);
  memzero(cg, G, n->n_values);
  emit_outputs_loss(cg, V, G, t, loss);
  CgParts parts;
  parts_begin(cg, &parts, noalias);
  static const unsigned targs[] = {0, 2, 3, 4, 5};
  LLVMValueRef tfn = mode == BWD_SGD ? cg->tables->sgd : cg->tables->backward;
  for (int i = n->n_order - 1; i >= 0; i--) {
    int beyond = call_tabled_run(cg, &parts, i, -1, tfn, targs, 5);
    if (beyond != i) {
      i = beyond + 1;
      continue;
    }
    const IrGroup *g = &n->groups[n->order[i]];
    parts_reserve(cg, &parts, cg_group_cost(g));
    cg->next_x = pipelined ? arg(cg, 6) : NULL; /* the next sample's inputs */
    emit_group_backward(cg, g, arg(cg, 0), arg(cg, 2), arg(cg, 3), arg(cg, 4), arg(cg, 5), mode);
  }
  parts_end(cg, &parts);
  LLVMBuildRet(cg->b, LLVMBuildLoad2(cg->b, cg->real, loss, ""));
  cg->next_x = NULL;
  return fn;
}

/* --- exported functions ------------------------------------------------------------- */

/* PREFIX_suffix, whole however long the prefix (a network's name has no length limit): a
 * name cut short would give two functions one name and LLVMGetNamedFunction the wrong one.
 * The buffer is reused by the next call. */
static char *symbol(Cg *cg, const char *suffix) {
  static char *buf;
  static size_t cap;
  size_t need = strlen(cg->prefix) + strlen(suffix) + 2;
  if (need > cap) {
    free(buf);
    buf = xmalloc(need);
    cap = need;
  }
  snprintf(buf, cap, "%s_%s", cg->prefix, suffix);
  return buf;
}

static LLVMValueRef sample_ptr(Cg *cg, LLVMValueRef base, LLVMValueRef s, int width) {
  return offset_ptr(cg, base, LLVMBuildMul(cg->b, s, cg_int(cg, width), ""));
}

/* Branches to a new block when 1 < n (≤ most, if most > 0) and the batch kernels exist;
 * returns that block. */
static LLVMBasicBlockRef branch_if_batch(Cg *cg, LLVMValueRef count, LLVMValueRef batch_fn, int64_t most) {
  if (!batch_fn) return NULL;
  LLVMBasicBlockRef batch = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "batch_kernels");
  LLVMBasicBlockRef single = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "per_sample_loop");
  LLVMValueRef take = LLVMBuildICmp(cg->b, LLVMIntSGT, count, cg_int(cg, 1), "");
  if (most > 0)
    take = LLVMBuildAnd(cg->b, take, LLVMBuildICmp(cg->b, LLVMIntSLE, count, cg_int(cg, most), ""), "");
  LLVMBuildCondBr(cg->b, take, batch, single);
  LLVMPositionBuilderAtEnd(cg->b, single);
  return batch;
}

/* Calls a batch kernel over chunks of at most 4 vectors of samples, so that a chunk's
 * activations stay in L1 however large the caller's batch: args[1] is the count, args[xi],
 * args[ti], args[yi] (index < 0: none) the sample rows, advanced by each chunk, and so are
 * dropout's mask rows, the last argument, when the kernel takes them (cg->dropout). Returns the
 * sum of the results as a double, or NULL for a void kernel. Only for kernels whose chunks
 * are independent (forward, evaluate, gradient accumulation), never for a batch step. */
static LLVMValueRef call_in_chunks(Cg *cg, LLVMValueRef kernel, LLVMValueRef *args, unsigned nargs, int xi, int ti,
                                   int yi, int returns) {
  const IrNetwork *n = cg->net;
  int64_t chunk = chunk_samples(n, cg->vec_bytes);
  LLVMValueRef total = cg_alloca(cg, cg->f64, "chunks");
  LLVMBuildStore(cg->b, LLVMConstReal(cg->f64, 0.0), total);
  LLVMValueRef count = args[1];
  LLVMValueRef chunks = LLVMBuildSDiv(cg->b, LLVMBuildAdd(cg->b, count, cg_int(cg, chunk - 1), ""), cg_int(cg, chunk), "");
  CgLoop l;
  LLVMValueRef c = cg_loop_begin(cg, &l, chunks, "chunk");
  LLVMValueRef s = LLVMBuildMul(cg->b, c, cg_int(cg, chunk), "");
  LLVMValueRef left = LLVMBuildSub(cg->b, count, s, "");
  LLVMValueRef a[8];
  for (unsigned i = 0; i < nargs; i++) a[i] = args[i];
  a[1] = LLVMBuildSelect(cg->b, LLVMBuildICmp(cg->b, LLVMIntSLT, left, cg_int(cg, chunk), ""), left, cg_int(cg, chunk), "");
  a[xi] = sample_ptr(cg, args[xi], s, n->n_inputs);
  if (ti >= 0) a[ti] = sample_ptr(cg, args[ti], s, n->n_outputs);
  if (yi >= 0) a[yi] = sample_ptr(cg, args[yi], s, n->n_outputs);
  if (cg->dropout) a[nargs - 1] = sample_ptr(cg, args[nargs - 1], s, (int)n->n_dropout);
  LLVMValueRef r = call(cg, kernel, a, nargs);
  if (returns) LLVMBuildStore(cg->b, LLVMBuildFAdd(cg->b, LLVMBuildLoad2(cg->b, cg->f64, total, ""), to_f64(cg, r), ""), total);
  cg_loop_end(cg, &l);
  return returns ? LLVMBuildLoad2(cg->b, cg->f64, total, "") : NULL;
}

/* After the per-sample region; with dropout (cg->dropout), after the count samples' masks
 * there, from the next multiple of 64 bytes. */
LLVMValueRef cg_batch_region(Cg *cg, LLVMValueRef scratch, LLVMValueRef count) {
  if (!cg->dropout) return byte_ptr(cg, scratch, per_sample_region(cg->net));
  LLVMValueRef masks = byte_ptr(cg, scratch, cg_dropout_mask_offset(cg->net));
  LLVMValueRef bytes = LLVMBuildMul(cg->b, count, cg_int(cg, mask_row_bytes(cg->net)), "");
  LLVMValueRef skip = LLVMBuildAnd(cg->b, LLVMBuildAdd(cg->b, bytes, cg_int(cg, 63), ""), cg_int(cg, ~(int64_t)63), "");
  return LLVMBuildInBoundsGEP2(cg->b, cg->i8, masks, &skip, 1, "region");
}

/* The last arguments of a batch kernel, from args[n] on: its region in scratch, and while
 * building the training kernels of a network with dropout (cg->dropout), then the count
 * samples' masks, which the region follows (from the next multiple of 64 bytes). Returns the
 * number of arguments. */
static unsigned batch_args(Cg *cg, LLVMValueRef scratch, LLVMValueRef count, LLVMValueRef *args, unsigned n) {
  args[n] = cg_batch_region(cg, scratch, count);
  if (!cg->dropout) return n + 1;
  args[n + 1] = byte_ptr(cg, scratch, cg_dropout_mask_offset(cg->net));
  return n + 2;
}

/* NAME_forward(params, n, x, y, scratch) */
static LLVMValueRef build_forward(Cg *cg, LLVMValueRef fwd1, LLVMValueRef fwdN) {
  const IrNetwork *n = cg->net;
  LLVMTypeRef ps[] = {cg->ptr, cg->i64, cg->ptr, cg->ptr, cg->ptr};
  LLVMValueRef fn = cg_begin_function(cg, symbol(cg, "forward"), cg->void_t, ps, 5, 0x1d, 0);
  LLVMValueRef params = LLVMGetParam(fn, 0), count = LLVMGetParam(fn, 1), x = LLVMGetParam(fn, 2),
               y = LLVMGetParam(fn, 3), V = LLVMGetParam(fn, 4);
  if (cg->embedded) params = cg->embedded; /* constants: loads of them fold into the code */
  LLVMBasicBlockRef batch = branch_if_batch(cg, count, fwdN, 0);
  CgLoop ls;
  LLVMValueRef s = cg_loop_begin(cg, &ls, count, "sample");
  LLVMValueRef args[] = {params, sample_ptr(cg, x, s, n->n_inputs), V};
  call(cg, fwd1, args, 3);
  emit_outputs_copy(cg, V, sample_ptr(cg, y, s, n->n_outputs));
  cg_loop_end(cg, &ls);
  LLVMBuildRetVoid(cg->b);
  if (batch) {
    LLVMPositionBuilderAtEnd(cg->b, batch);
    LLVMValueRef bargs[] = {params, count, x, y, V}; /* forward needs no per-sample region */
    call_in_chunks(cg, fwdN, bargs, 5, 2, -1, 3, 0);
    LLVMBuildRetVoid(cg->b);
  }
  return fn;
}

/* V's mask slots = sample s's row of the caller's masks in scratch. */
static void emit_mask_row(Cg *cg, LLVMValueRef scratch, LLVMValueRef s, LLVMValueRef V) {
  const IrNetwork *n = cg->net;
  LLVMValueRef rows = byte_ptr(cg, scratch, cg_dropout_mask_offset(n));
  LLVMValueRef src = sample_ptr(cg, rows, s, (int)n->n_dropout);
  LLVMValueRef dst = byte_ptr(cg, V, (n->n_values + n->n_outputs) * n->real_bytes);
  LLVMBuildMemCpy(cg->b, dst, (unsigned)n->real_bytes, src, (unsigned)n->real_bytes,
                  cg_int(cg, mask_row_bytes(n)));
}

/* NAME_loss_grad(params, n, x, t, grad, scratch) -> summed loss */
/* The body as an internal function (inlined into train_step too), the export a wrapper. */
static LLVMValueRef build_loss_grad(Cg *cg, LLVMValueRef fwd1, LLVMValueRef bwd1, LLVMValueRef bwdN) {
  const IrNetwork *n = cg->net;
  LLVMTypeRef ps[] = {cg->ptr, cg->i64, cg->ptr, cg->ptr, cg->ptr, cg->ptr};
  LLVMValueRef fn = cg_begin_function(cg, cg->dropout ? "nnc.loss_grad_dropout" : "nnc.loss_grad", cg->f64, ps, 6, 0x3d, 1);
  LLVMValueRef params = LLVMGetParam(fn, 0), count = LLVMGetParam(fn, 1), x = LLVMGetParam(fn, 2),
               t = LLVMGetParam(fn, 3), grad = LLVMGetParam(fn, 4), scratch = LLVMGetParam(fn, 5);
  LLVMValueRef V = scratch, G = byte_ptr(cg, scratch, values_bytes(n));
  LLVMBasicBlockRef batch = branch_if_batch(cg, count, bwdN, 0);
  LLVMValueRef total = cg_alloca(cg, cg->f64, "total");
  LLVMBuildStore(cg->b, LLVMConstReal(cg->f64, 0.0), total);
  CgLoop ls;
  LLVMValueRef s = cg_loop_begin(cg, &ls, count, "sample");
  if (cg->dropout) emit_mask_row(cg, scratch, s, V);
  LLVMValueRef fargs[] = {params, sample_ptr(cg, x, s, n->n_inputs), V};
  call(cg, fwd1, fargs, 3);
  LLVMValueRef bargs[] = {params, sample_ptr(cg, t, s, n->n_outputs), V, G, grad, cg_real(cg, 0.0),
                          LLVMConstNull(cg->ptr)};
  LLVMValueRef l = to_f64(cg, call(cg, bwd1, bargs, 7));
  LLVMBuildStore(cg->b, LLVMBuildFAdd(cg->b, LLVMBuildLoad2(cg->b, cg->f64, total, ""), l, ""), total);
  cg_loop_end(cg, &ls);
  LLVMBuildRet(cg->b, LLVMBuildLoad2(cg->b, cg->f64, total, ""));
  if (batch) {
    LLVMPositionBuilderAtEnd(cg->b, batch);
    LLVMValueRef args[8] = {params, count, x, t, grad};
    LLVMBuildRet(cg->b, call_in_chunks(cg, bwdN, args, batch_args(cg, scratch, count, args, 5), 2, 3, -1, 1));
  }
  return fn;
}

/* NAME_loss_grad(params, n, x, t, grad, scratch) */
static void build_loss_grad_export(Cg *cg, LLVMValueRef body) {
  LLVMTypeRef ps[] = {cg->ptr, cg->i64, cg->ptr, cg->ptr, cg->ptr, cg->ptr};
  LLVMValueRef fn = cg_begin_function(cg, symbol(cg, "loss_grad"), cg->f64, ps, 6, 0x3d, 0);
  LLVMValueRef args[6];
  for (unsigned i = 0; i < 6; i++) args[i] = LLVMGetParam(fn, i);
  LLVMBuildRet(cg->b, call(cg, body, args, 6));
}

/* update(ctx, 0, n_params) unless the loss is not finite. */
static void emit_update_all(Cg *cg, LLVMValueRef loss, LLVMValueRef update, LLVMValueRef ctx) {
  LLVMValueRef finite = LLVMBuildFCmp(cg->b, LLVMRealOEQ, LLVMBuildFSub(cg->b, loss, loss, ""),
                                      LLVMConstReal(cg->f64, 0.0), "");
  LLVMBasicBlockRef step = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "update_all");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "updated_all");
  LLVMBuildCondBr(cg->b, finite, step, done);
  LLVMPositionBuilderAtEnd(cg->b, step);
  LLVMTypeRef ps[] = {cg->ptr, cg->i64, cg->i64};
  LLVMValueRef args[] = {ctx, cg_int(cg, 0), cg_int(cg, cg->net->n_params)};
  LLVMBuildCall2(cg->b, LLVMFunctionType(cg->void_t, ps, 3, 0), update, args, 3, "");
  LLVMBuildBr(cg->b, done);
  LLVMPositionBuilderAtEnd(cg->b, done);
}

/* NAME_loss_grad_update(params, n, x, t, grad, scratch, update, ctx) -> summed loss: the
 * batch's gradient stored into grad and handed to the runtime's optimizer, update(ctx, lo, hi),
 * range by range as the batch kernels' backward sweep completes each edge set's (updN, a
 * batch of one chunk), or whole after the gradient (per-sample code, a batch of one, and a
 * batch of several chunks). */
static LLVMValueRef build_loss_grad_update(Cg *cg, LLVMValueRef loss_grad, LLVMValueRef updN) {
  LLVMTypeRef ps[] = {cg->ptr, cg->i64, cg->ptr, cg->ptr, cg->ptr, cg->ptr, cg->ptr, cg->ptr};
  LLVMValueRef fn = cg_begin_function(cg, symbol(cg, "loss_grad_update"), cg->f64, ps, 8, 0x2c, 0);
  LLVMValueRef params = LLVMGetParam(fn, 0), count = LLVMGetParam(fn, 1), x = LLVMGetParam(fn, 2),
               t = LLVMGetParam(fn, 3), grad = LLVMGetParam(fn, 4), scratch = LLVMGetParam(fn, 5),
               update = LLVMGetParam(fn, 6), ctx = LLVMGetParam(fn, 7);
  /* updN sums the whole batch in one call where loss_grad sums it chunk by chunk
   * (call_in_chunks): a batch of more than one chunk takes loss_grad, then the update, so
   * that the weights are the same bits as an update after NAME_loss_grad. */
  LLVMBasicBlockRef batch = branch_if_batch(cg, count, updN, chunk_samples(cg->net, cg->vec_bytes));
  memzero(cg, grad, cg->net->n_params);
  LLVMValueRef largs[] = {params, count, x, t, grad, scratch};
  LLVMValueRef loss = call(cg, loss_grad, largs, 6);
  emit_update_all(cg, loss, update, ctx);
  LLVMBuildRet(cg->b, loss);
  if (batch) {
    LLVMPositionBuilderAtEnd(cg->b, batch);
    LLVMValueRef args[9] = {params, count, x, t, grad, update, ctx};
    LLVMBuildRet(cg->b, to_f64(cg, call(cg, updN, args, batch_args(cg, scratch, count, args, 7))));
  }
  return fn;
}

/* NAME_evaluate(params, n, x, t, y, scratch) -> summed loss: outputs and loss without a
 * backward pass (per sample, or through the batch kernels). */
static LLVMValueRef build_evaluate(Cg *cg, LLVMValueRef fwd1, LLVMValueRef evalN) {
  const IrNetwork *n = cg->net;
  LLVMTypeRef ps[] = {cg->ptr, cg->i64, cg->ptr, cg->ptr, cg->ptr, cg->ptr};
  LLVMValueRef fn = cg_begin_function(cg, symbol(cg, "evaluate"), cg->f64, ps, 6, 0x3d, 0);
  LLVMValueRef params = LLVMGetParam(fn, 0), count = LLVMGetParam(fn, 1), x = LLVMGetParam(fn, 2),
               t = LLVMGetParam(fn, 3), y = LLVMGetParam(fn, 4), V = LLVMGetParam(fn, 5);
  if (cg->embedded) params = cg->embedded;
  LLVMValueRef G = byte_ptr(cg, V, values_bytes(n));
  LLVMBasicBlockRef batch = branch_if_batch(cg, count, evalN, 0);
  LLVMValueRef loss = cg_alloca(cg, cg->real, "loss");
  LLVMBuildStore(cg->b, cg_real(cg, 0.0), loss);
  CgLoop ls;
  LLVMValueRef s = cg_loop_begin(cg, &ls, count, "sample");
  LLVMValueRef fargs[] = {params, sample_ptr(cg, x, s, n->n_inputs), V};
  call(cg, fwd1, fargs, 3);
  emit_outputs_copy(cg, V, sample_ptr(cg, y, s, n->n_outputs));
  emit_outputs_loss(cg, V, G, sample_ptr(cg, t, s, n->n_outputs), loss);
  cg_loop_end(cg, &ls);
  LLVMBuildRet(cg->b, to_f64(cg, LLVMBuildLoad2(cg->b, cg->real, loss, "")));
  if (batch) {
    LLVMPositionBuilderAtEnd(cg->b, batch);
    LLVMValueRef bargs[] = {params, count, x, t, y, cg_batch_region(cg, V, count)};
    LLVMBuildRet(cg->b, call_in_chunks(cg, evalN, bargs, 6, 2, 3, 4, 1));
  }
  return fn;
}

/* p += v with v = m·v − rate·g/n, or p −= rate·g/n without momentum. */
static void emit_update(Cg *cg, LLVMValueRef params, LLVMValueRef vel, LLVMValueRef grad, LLVMValueRef scale,
                        LLVMValueRef momentum) {
  LLVMValueRef use_m = LLVMBuildFCmp(cg->b, LLVMRealONE, momentum, cg_real(cg, 0.0), "");
  LLVMBasicBlockRef with_m = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "momentum");
  LLVMBasicBlockRef plain = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "plain");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "updated");
  LLVMBuildCondBr(cg->b, use_m, with_m, plain);
  CgLoop l;
  LLVMPositionBuilderAtEnd(cg->b, with_m);
  LLVMValueRef i = cg_loop_begin(cg, &l, cg_int(cg, cg->net->n_params), "upd");
  LLVMValueRef v = cg_fsub(cg, cg_fmul(cg, momentum, cg_load(cg, vel, i)), cg_fmul(cg, scale, cg_load(cg, grad, i)));
  cg_store(cg, vel, i, v);
  cg_store(cg, params, i, cg_fadd(cg, cg_load(cg, params, i), v));
  cg_loop_end(cg, &l);
  LLVMBuildBr(cg->b, done);
  LLVMPositionBuilderAtEnd(cg->b, plain);
  i = cg_loop_begin(cg, &l, cg_int(cg, cg->net->n_params), "upd");
  cg_store(cg, params, i, cg_fsub(cg, cg_load(cg, params, i), cg_fmul(cg, scale, cg_load(cg, grad, i))));
  cg_loop_end(cg, &l);
  LLVMBuildBr(cg->b, done);
  LLVMPositionBuilderAtEnd(cg->b, done);
}

/* The training entry points that drop units (NAME_loss_grad, NAME_train_step and
 * NAME_loss_grad_update; NAME_train_sequence never does). */
typedef struct CgTraining {
  LLVMValueRef loss_grad, train_step, loss_grad_update;
  LLVMValueRef train_deltas, train_rows; /* batched networks only, else null pointers */
} CgTraining;

/* NAME_train_deltas(params, n, x, t, scratch) -> summed loss, then
 * NAME_train_rows(params, n_parts, ns, xs, scratches, rate, part, of): an SGD step on a batch
 * that threads share, each owning part of the work (nnc.deltasN, nnc.sgdRows). */
static void build_owner_computes(Cg *cg, CgTraining *t) {
  LLVMValueRef deltasN = cg_build_deltas_batch(cg), rowsN = cg_build_rows_batch(cg);
  LLVMTypeRef ps[] = {cg->ptr, cg->i64, cg->ptr, cg->ptr, cg->ptr};
  t->train_deltas = cg_begin_function(cg, symbol(cg, "train_deltas"), cg->f64, ps, 5, 0x1d, 0);
  LLVMValueRef args[8];
  for (unsigned i = 0; i < 4; i++) args[i] = LLVMGetParam(cg->fn, i);
  unsigned nargs = batch_args(cg, LLVMGetParam(cg->fn, 4), args[1], args, 4);
  LLVMBuildRet(cg->b, to_f64(cg, call(cg, deltasN, args, nargs)));
  LLVMTypeRef rs[] = {cg->ptr, cg->i64, cg->ptr, cg->ptr, cg->ptr, cg->f64, cg->i64, cg->i64};
  t->train_rows = cg_begin_function(cg, symbol(cg, "train_rows"), cg->void_t, rs, 8, 0x1, 0);
  for (unsigned i = 0; i < 8; i++) args[i] = LLVMGetParam(cg->fn, i);
  args[5] = from_f64(cg, args[5]);
  call(cg, rowsN, args, 8);
  LLVMBuildRetVoid(cg->b);
}

/* NAME_train_deltas, then NAME_train_rows of the one part there is: an SGD step on a batch of
 * count samples (the rate a double), as the owner-computes step of threads takes it with one
 * thread. Returns the summed loss. */
static LLVMValueRef emit_one_part_step(Cg *cg, const CgTraining *tr, LLVMValueRef count, LLVMValueRef x,
                                       LLVMValueRef t, LLVMValueRef scratch, LLVMValueRef rate) {
  LLVMValueRef params = LLVMGetParam(cg->fn, 0);
  LLVMValueRef dargs[] = {params, count, x, t, scratch};
  LLVMValueRef loss = call(cg, tr->train_deltas, dargs, 5);
  LLVMValueRef ns = cg_alloca(cg, cg->i64, "ns"), xs = cg_alloca(cg, cg->ptr, "xs"), ss = cg_alloca(cg, cg->ptr, "ss");
  LLVMBuildStore(cg->b, count, ns);
  LLVMBuildStore(cg->b, x, xs);
  LLVMBuildStore(cg->b, scratch, ss);
  LLVMValueRef rargs[] = {params, cg_int(cg, 1), ns, xs, ss, rate, cg_int(cg, 0), cg_int(cg, 1)};
  call(cg, tr->train_rows, rargs, 8);
  return loss;
}

/* NAME_train_step(params, velocity, n, x, t, rate, momentum, scratch) -> summed loss */
static LLVMValueRef build_train_step(Cg *cg, LLVMValueRef fwd1, LLVMValueRef sgd1, LLVMValueRef loss_grad,
                                     const CgTraining *tr) {
  const IrNetwork *n = cg->net;
  LLVMTypeRef ps[] = {cg->ptr, cg->ptr, cg->i64, cg->ptr, cg->ptr, cg->f64, cg->f64, cg->ptr};
  LLVMValueRef fn = cg_begin_function(cg, symbol(cg, "train_step"), cg->f64, ps, 8, 0x9b, 0);
  LLVMValueRef params = LLVMGetParam(fn, 0), vel = LLVMGetParam(fn, 1), count = LLVMGetParam(fn, 2),
               x = LLVMGetParam(fn, 3), t = LLVMGetParam(fn, 4), scratch = LLVMGetParam(fn, 7);
  LLVMValueRef rate = from_f64(cg, LLVMGetParam(fn, 5)), momentum = from_f64(cg, LLVMGetParam(fn, 6));
  int64_t vals = values_bytes(n);
  LLVMValueRef V = scratch, G = byte_ptr(cg, scratch, vals), grad = byte_ptr(cg, scratch, 2 * vals);

  LLVMBasicBlockRef empty = LLVMAppendBasicBlockInContext(cg->ctx, fn, "empty");
  LLVMBasicBlockRef start = LLVMAppendBasicBlockInContext(cg->ctx, fn, "start");
  LLVMBuildCondBr(cg->b, LLVMBuildICmp(cg->b, LLVMIntSLT, count, cg_int(cg, 1), ""), empty, start);
  LLVMPositionBuilderAtEnd(cg->b, empty); /* no samples: no step */
  LLVMBuildRet(cg->b, LLVMConstReal(cg->f64, 0.0));
  LLVMPositionBuilderAtEnd(cg->b, start);
  LLVMBasicBlockRef fused = LLVMAppendBasicBlockInContext(cg->ctx, fn, "per_sample");
  LLVMBasicBlockRef batch = LLVMAppendBasicBlockInContext(cg->ctx, fn, "batch");
  LLVMValueRef one = LLVMBuildICmp(cg->b, LLVMIntEQ, count, cg_int(cg, 1), "");
  LLVMValueRef no_m = LLVMBuildFCmp(cg->b, LLVMRealOEQ, momentum, cg_real(cg, 0.0), "");
  LLVMBuildCondBr(cg->b, LLVMBuildAnd(cg->b, one, no_m, ""), fused, batch);

  LLVMPositionBuilderAtEnd(cg->b, fused);
  if (cg->dropout) emit_mask_row(cg, scratch, cg_int(cg, 0), V);
  LLVMValueRef fargs[] = {params, x, V};
  call(cg, fwd1, fargs, 3);
  LLVMValueRef sargs[] = {params, t, V, G, params, rate, LLVMConstNull(cg->ptr)};
  LLVMBuildRet(cg->b, to_f64(cg, call(cg, sgd1, sargs, 7)));

  LLVMPositionBuilderAtEnd(cg->b, batch);
  if (!LLVMIsNull(tr->train_rows)) { /* without momentum the batch kernels apply the step themselves, */
    LLVMBasicBlockRef fused_batch = LLVMAppendBasicBlockInContext(cg->ctx, fn, "fused_batch");
    LLVMBasicBlockRef general = LLVMAppendBasicBlockInContext(cg->ctx, fn, "general");
    int64_t part = nnc_batch_part_samples(cg_scratch_per_sample(n, cg->vec_bytes)); /* in one part */
    LLVMValueRef fits = LLVMBuildICmp(cg->b, LLVMIntSLE, count, cg_int(cg, part), "");
    LLVMBuildCondBr(cg->b, LLVMBuildAnd(cg->b, no_m, fits, ""), fused_batch, general);
    LLVMPositionBuilderAtEnd(cg->b, fused_batch);
    LLVMBuildRet(cg->b, emit_one_part_step(cg, tr, count, x, t, scratch, LLVMGetParam(fn, 5)));
    LLVMPositionBuilderAtEnd(cg->b, general);
  }
  memzero(cg, grad, n->n_params);
  LLVMValueRef largs[] = {params, count, x, t, grad, scratch};
  LLVMValueRef loss = call(cg, loss_grad, largs, 6);
  LLVMValueRef nreal = LLVMBuildSIToFP(cg->b, count, cg->real, "");
  LLVMValueRef scale = LLVMBuildFDiv(cg->b, rate, nreal, "scale");
  emit_update(cg, params, vel, grad, scale, momentum);
  LLVMBuildRet(cg->b, loss);
  return fn;
}

/* Builds them from the per-sample forward fwd1 and, when batched, the batch kernels. With
 * dropout (cg->dropout) they get their own kernels, per sample (the mask row copied into V)
 * and per batch (the masks read where the caller wrote them), and their own batch forward. */
static CgTraining build_training(Cg *cg, LLVMValueRef fwd1, int batched) {
  CgTraining t;
  LLVMValueRef inference_forward = cg->batch_forward;
  if (cg->dropout) {
    fwd1 = build_forward_one(cg);
    if (batched) cg->batch_forward = cg_build_forward_body(cg);
  }
  LLVMValueRef bwd1 = build_backward_one(cg, BWD_ACCUMULATE, 0);
  LLVMValueRef sgd1 = build_backward_one(cg, BWD_SGD, 0);
  LLVMValueRef bwdN = batched ? cg_build_train_batch(cg) : NULL;
  t.train_deltas = t.train_rows = LLVMConstNull(cg->ptr);
  if (batched) build_owner_computes(cg, &t);
  LLVMValueRef body = build_loss_grad(cg, fwd1, bwd1, bwdN);
  t.train_step = build_train_step(cg, fwd1, sgd1, body, &t);
  build_loss_grad_export(cg, body);
  LLVMValueRef updN = batched ? cg_build_update_batch(cg) : NULL;
  t.loss_grad_update = build_loss_grad_update(cg, body, updN);
  t.loss_grad = LLVMGetNamedFunction(cg->mod, symbol(cg, "loss_grad"));
  cg->batch_forward = inference_forward;
  return t;
}

/* NAME_train_sequence(params, n, x, t, rates, scratch) -> summed loss: per-sample SGD over
 * n samples in order, sample s with step rates[s] (momentum 0). Pipelined: while the step of
 * sample s updates the weights from the inputs, it also multiplies the updated rows by
 * sample s+1, so the next forward pass does not read those weights again. */
static LLVMValueRef build_train_sequence(Cg *cg, LLVMValueRef fwd1, LLVMValueRef fwd1p, LLVMValueRef sgd1p) {
  const IrNetwork *n = cg->net;
  LLVMTypeRef ps[] = {cg->ptr, cg->i64, cg->ptr, cg->ptr, cg->ptr, cg->ptr};
  LLVMValueRef fn = cg_begin_function(cg, symbol(cg, "train_sequence"), cg->f64, ps, 6, 0x3c, 0);
  LLVMValueRef params = LLVMGetParam(fn, 0), count = LLVMGetParam(fn, 1), x = LLVMGetParam(fn, 2),
               t = LLVMGetParam(fn, 3), rates = LLVMGetParam(fn, 4), V = LLVMGetParam(fn, 5);
  LLVMValueRef G = byte_ptr(cg, V, values_bytes(n));
  LLVMValueRef total = cg_alloca(cg, cg->f64, "total");
  LLVMBuildStore(cg->b, LLVMConstReal(cg->f64, 0.0), total);
  LLVMBasicBlockRef run = LLVMAppendBasicBlockInContext(cg->ctx, fn, "run");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(cg->ctx, fn, "done");
  LLVMBuildCondBr(cg->b, LLVMBuildICmp(cg->b, LLVMIntSGT, count, cg_int(cg, 0), ""), run, done);
  LLVMPositionBuilderAtEnd(cg->b, run);
  LLVMValueRef first[] = {params, x, V};
  call(cg, fwd1, first, 3);
  CgLoop ls;
  LLVMValueRef s = cg_loop_begin(cg, &ls, count, "sample");
  LLVMValueRef next = LLVMBuildAdd(cg->b, s, cg_int(cg, 1), "");
  LLVMValueRef has_next = LLVMBuildICmp(cg->b, LLVMIntSLT, next, count, "");
  LLVMValueRef xn = sample_ptr(cg, x, LLVMBuildSelect(cg->b, has_next, next, s, ""), n->n_inputs);
  LLVMValueRef rate = from_f64(cg, LLVMBuildLoad2(cg->b, cg->f64, LLVMBuildInBoundsGEP2(cg->b, cg->f64, rates, &s, 1, ""), ""));
  LLVMValueRef sargs[] = {params, sample_ptr(cg, t, s, n->n_outputs), V, G, params, rate, xn};
  LLVMValueRef l = to_f64(cg, call(cg, sgd1p, sargs, 7));
  LLVMBuildStore(cg->b, LLVMBuildFAdd(cg->b, LLVMBuildLoad2(cg->b, cg->f64, total, ""), l, ""), total);
  LLVMBasicBlockRef fwd = LLVMAppendBasicBlockInContext(cg->ctx, fn, "next_forward");
  LLVMBasicBlockRef cont = LLVMAppendBasicBlockInContext(cg->ctx, fn, "next_sample");
  LLVMBuildCondBr(cg->b, has_next, fwd, cont);
  LLVMPositionBuilderAtEnd(cg->b, fwd);
  LLVMValueRef fargs[] = {params, xn, V};
  call(cg, fwd1p, fargs, 3);
  LLVMBuildBr(cg->b, cont);
  LLVMPositionBuilderAtEnd(cg->b, cont);
  cg_loop_end(cg, &ls);
  LLVMBuildBr(cg->b, done);
  LLVMPositionBuilderAtEnd(cg->b, done);
  LLVMBuildRet(cg->b, LLVMBuildLoad2(cg->b, cg->f64, total, ""));
  return fn;
}

/* --- initialisation ----------------------------------------------------------------- */

/* A uniform double in [0, 1) from (seed, stream): the splitmix64 finaliser, so each
 * parameter's value depends on its index alone, not on the order of initialisation. */
static LLVMValueRef emit_uniform01(Cg *cg, LLVMValueRef seed, LLVMValueRef stream) {
  LLVMBuilderRef b = cg->b;
  LLVMValueRef z = LLVMBuildAdd(b, LLVMBuildMul(b, seed, cg_int(cg, (int64_t)0xD1B54A32D192ED03ull), ""),
                                LLVMBuildMul(b, LLVMBuildAdd(b, stream, cg_int(cg, 1), ""),
                                             cg_int(cg, (int64_t)0x9E3779B97F4A7C15ull), ""), "");
  z = LLVMBuildMul(b, LLVMBuildXor(b, z, LLVMBuildLShr(b, z, cg_int(cg, 30), ""), ""), cg_int(cg, (int64_t)0xBF58476D1CE4E5B9ull), "");
  z = LLVMBuildMul(b, LLVMBuildXor(b, z, LLVMBuildLShr(b, z, cg_int(cg, 27), ""), ""), cg_int(cg, (int64_t)0x94D049BB133111EBull), "");
  z = LLVMBuildXor(b, z, LLVMBuildLShr(b, z, cg_int(cg, 31), ""), "");
  LLVMValueRef top = LLVMBuildUIToFP(b, LLVMBuildLShr(b, z, cg_int(cg, 11), ""), cg->f64, "");
  return LLVMBuildFMul(b, top, LLVMConstReal(cg->f64, 1.0 / 9007199254740992.0), "u");
}

static LLVMValueRef f64c(Cg *cg, double v) { return LLVMConstReal(cg->f64, v); }

static LLVMValueRef f64_intrinsic(Cg *cg, const char *name, LLVMValueRef x) {
  return cg_intrinsic(cg, name, &x, 1);
}

/* mean + std · N(0,1) by Box–Muller from two independent uniforms. */
static LLVMValueRef emit_normal(Cg *cg, LLVMValueRef seed, LLVMValueRef index, LLVMValueRef mean, LLVMValueRef std) {
  LLVMValueRef u1 = emit_uniform01(cg, seed, index);
  LLVMValueRef u2 = emit_uniform01(cg, seed, LLVMBuildAdd(cg->b, index, cg_int(cg, (int64_t)1 << 62), ""));
  LLVMValueRef r = f64_intrinsic(cg, "llvm.sqrt",
                                 LLVMBuildFMul(cg->b, f64c(cg, -2.0), f64_intrinsic(cg, "llvm.log", LLVMBuildFSub(cg->b, f64c(cg, 1.0), u1, "")), ""));
  LLVMValueRef c = f64_intrinsic(cg, "llvm.cos", LLVMBuildFMul(cg->b, u2, f64c(cg, 6.283185307179586), ""));
  return LLVMBuildFAdd(cg->b, mean, LLVMBuildFMul(cg->b, std, LLVMBuildFMul(cg->b, r, c, ""), ""), "");
}

static LLVMValueRef emit_uniform(Cg *cg, LLVMValueRef seed, LLVMValueRef index, LLVMValueRef lo, LLVMValueRef hi) {
  LLVMValueRef u = emit_uniform01(cg, seed, index);
  return LLVMBuildFAdd(cg->b, lo, LLVMBuildFMul(cg->b, u, LLVMBuildFSub(cg->b, hi, lo, ""), ""), "");
}

/* The draw of one init scheme, for weights or (bias 1) bias weights. */
static CgInitRule init_rule_of(const IrInitSpec *spec, int bias, double fan_in, double fan_out) {
  CgInitRule zero = {CG_DRAW_CONSTANT, 0.0, 0.0};
  double in = fan_in > 0 ? fan_in : 1.0;
  switch ((IrInit)spec->kind) {
  case INIT_UNIFORM: return (CgInitRule){CG_DRAW_UNIFORM, spec->a, spec->b};
  case INIT_NORMAL: return (CgInitRule){CG_DRAW_NORMAL, spec->a, spec->b};
  case INIT_XAVIER: {
    double limit = sqrt(6.0 / (fan_in + fan_out));
    return bias ? zero : (CgInitRule){CG_DRAW_UNIFORM, -limit, limit};
  }
  case INIT_HE: {
    double limit = sqrt(6.0 / in);
    return bias ? zero : (CgInitRule){CG_DRAW_UNIFORM, -limit, limit};
  }
  case INIT_TORCH: return (CgInitRule){CG_DRAW_UNIFORM, -1 / sqrt(in), 1 / sqrt(in)};
  case INIT_CONSTANT: return (CgInitRule){CG_DRAW_CONSTANT, spec->a, 0.0};
  case INIT_ZERO: return zero;
  }
  return zero;
}

/* How the initial values of edge set e into g are drawn; fan_in is ir_fan_in(n, g). The
 * group's `init` (else the network's) for weights; for bias weights the group's `bias_init`,
 * else the train block's, else what the weights' scheme gives bias weights. */
CgInitRule cg_init_rule(const IrNetwork *n, const IrGroup *g, int64_t fan_in, const IrEdges *e) {
  if (e->weight == WEIGHT_INITIAL && e->values) return (CgInitRule){CG_DRAW_VALUES, 0.0, 0.0};
  if (e->weight == WEIGHT_INITIAL) {
    CgInitRule literal = {CG_DRAW_CONSTANT, e->value, 0.0};
    return literal;
  }
  int bias = n->groups[e->src].role == ROLE_BIAS;
  IrInitSpec net = {n->init_kind, n->init_a, n->init_b};
  const IrInitSpec *spec = g->init.kind >= 0 ? &g->init : &net;
  if (bias && g->bias_init.kind >= 0)
    spec = &g->bias_init;
  else if (bias && n->bias_init.kind >= 0)
    spec = &n->bias_init;
  return init_rule_of(spec, bias, (double)fan_in, (double)g->size);
}

/* The initial value of parameter `index` under a rule of the given draw whose numbers a
 * and b (doubles) are constants or loaded from a table. */
LLVMValueRef cg_emit_draw(Cg *cg, CgDraw draw, LLVMValueRef a, LLVMValueRef b, LLVMValueRef seed, LLVMValueRef index) {
  switch (draw) {
  case CG_DRAW_UNIFORM: return emit_uniform(cg, seed, index, a, b);
  case CG_DRAW_NORMAL: return emit_normal(cg, seed, index, a, b);
  case CG_DRAW_CONSTANT:
  case CG_DRAW_VALUES: break; /* the caller's: see cg_init_rule */
  }
  return a;
}

/* The initial value of parameter `index` of edge set e into g, as a double. */
static LLVMValueRef emit_initial_value(Cg *cg, const IrGroup *g, int64_t fan_in, const IrEdges *e, LLVMValueRef seed,
                                       LLVMValueRef index) {
  if (e->weight == WEIGHT_INITIAL && e->values) {
    LLVMValueRef k = LLVMBuildSub(cg->b, index, cg_int(cg, e->param_offset), "");
    return LLVMBuildLoad2(cg->b, cg->f64, LLVMBuildInBoundsGEP2(cg->b, cg->f64, edge_values(cg, e, cg->f64), &k, 1, ""), "");
  }
  CgInitRule r = cg_init_rule(cg->net, g, fan_in, e);
  return cg_emit_draw(cg, r.draw, f64c(cg, r.a), f64c(cg, r.b), seed, index);
}

/* The trained weights as a constant array NAME_weights. */
static LLVMValueRef build_embedded_weights(Cg *cg, const void *weights) {
  int64_t np = cg->net->n_params;
  LLVMValueRef *elems = xmalloc(sizeof(LLVMValueRef) * (size_t)(np ? np : 1));
  for (int64_t i = 0; i < np; i++)
    elems[i] = cg_real(cg, cg->real_bytes == 8 ? ((const double *)weights)[i] : ((const float *)weights)[i]);
  LLVMValueRef arr = LLVMConstArray2(cg->real, elems, (uint64_t)np);
  free(elems);
  LLVMValueRef g = LLVMAddGlobal(cg->mod, LLVMTypeOf(arr), symbol(cg, "weights"));
  LLVMSetInitializer(g, arr);
  LLVMSetGlobalConstant(g, 1);
  LLVMSetAlignment(g, 64);
  return g;
}

/* NAME_init(params, seed): with embedded weights, a copy of them (seed unused). */
static LLVMValueRef build_init(Cg *cg) {
  const IrNetwork *n = cg->net;
  LLVMTypeRef ps[] = {cg->ptr, cg->i64};
  LLVMValueRef fn = cg_begin_function(cg, symbol(cg, "init"), cg->void_t, ps, 2, 1, 0);
  LLVMValueRef params = LLVMGetParam(fn, 0), seed = LLVMGetParam(fn, 1);
  if (cg->q) {
    cg_emit_quant_init(cg, params);
    LLVMBuildRetVoid(cg->b);
    return fn;
  }
  if (cg->embedded) {
    if (n->n_params)
      cg_copy(cg, params, cg->embedded, cg_int(cg, n->n_params));
    LLVMBuildRetVoid(cg->b);
    return fn;
  }
  CgParts parts;
  parts_begin(cg, &parts, 1);
  static const unsigned targs[] = {0, 1};
  for (int i = 0; i < n->n_order; i++) {
    int beyond = call_tabled_run(cg, &parts, i, 1, cg->tables->init, targs, 2);
    if (beyond != i) {
      i = beyond - 1;
      continue;
    }
    const IrGroup *g = &n->groups[n->order[i]];
    parts_reserve(cg, &parts, cg_group_cost(g));
    params = arg(cg, 0);
    seed = arg(cg, 1);
    int64_t fan_in = ir_fan_in(n, g);
    for (int k = 0; k < g->n_in; k++) {
      const IrEdges *e = &g->in[k];
      if (e->param_offset < 0) continue;
      CgLoop l;
      LLVMValueRef j = cg_loop_begin(cg, &l, cg_int(cg, e->count), "init");
      LLVMValueRef index = LLVMBuildAdd(cg->b, cg_int(cg, e->param_offset), j, "");
      LLVMValueRef v = emit_initial_value(cg, g, fan_in, e, seed, index);
      cg_store(cg, params, index, from_f64(cg, v));
      cg_loop_end(cg, &l);
    }
  }
  parts_end(cg, &parts);
  LLVMBuildRetVoid(cg->b);
  return fn;
}

/* --- descriptor --------------------------------------------------------------------- */

static LLVMValueRef const_string(Cg *cg, const char *s, const char *name) {
  if (!s) return LLVMConstNull(cg->ptr);
  LLVMValueRef str = LLVMConstStringInContext(cg->ctx, s, (unsigned)strlen(s), 0);
  LLVMValueRef g = LLVMAddGlobal(cg->mod, LLVMTypeOf(str), name);
  LLVMSetInitializer(g, str);
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
  return g;
}

/* A private constant array of len bytes (the ONNX export plan). */
static LLVMValueRef const_bytes(Cg *cg, const unsigned char *bytes, size_t len, const char *name) {
  LLVMValueRef data = LLVMConstStringInContext(cg->ctx, (const char *)bytes, (unsigned)len, 1);
  LLVMValueRef g = LLVMAddGlobal(cg->mod, LLVMTypeOf(data), name);
  LLVMSetInitializer(g, data);
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  LLVMSetAlignment(g, 8);
  return g;
}

static LLVMValueRef const_ints(Cg *cg, const int32_t *v, int n) {
  if (!n) return LLVMConstNull(cg->ptr);
  LLVMValueRef *elems = xmalloc(sizeof(LLVMValueRef) * (size_t)n);
  for (int i = 0; i < n; i++) elems[i] = LLVMConstInt(cg->i32, (unsigned long long)v[i], 1);
  LLVMValueRef g = cg_const_array(cg, cg->i32, elems, n, "nnc.columns");
  free(elems);
  return g;
}

static LLVMValueRef i32c(Cg *cg, int64_t v) { return LLVMConstInt(cg->i32, (unsigned long long)v, 1); }

/* nnc_data_source, field for field (include/nnc/model.h). */
static LLVMValueRef const_source(Cg *cg, LLVMTypeRef ty, const nnc_data_source *d) {
  LLVMValueRef f[] = {const_string(cg, d->path, "nnc.path"), const_string(cg, d->labels, "nnc.labels"),
                      i32c(cg, d->format), i32c(cg, d->header), i32c(cg, d->n_input_cols),
                      const_ints(cg, d->input_cols, d->n_input_cols), i32c(cg, d->n_target_cols),
                      const_ints(cg, d->target_cols, d->n_target_cols), i32c(cg, d->onehot),
                      i32c(cg, d->scale), f64c(cg, d->scale_factor), i32c(cg, d->targets_inputs),
                      i32c(cg, d->target_scale), i32c(cg, d->delimiter)};
  return LLVMConstNamedStruct(ty, f, 14);
}

/* nnc_schedule_settings, field for field (include/nnc/model.h). */
static LLVMTypeRef schedule_type(Cg *cg) {
  LLVMTypeRef f[] = {cg->i32, cg->i32, cg->f64, cg->f64, cg->i32, cg->i32,
                     cg->f64, cg->i32, cg->i32, cg->f64, cg->f64, cg->f64};
  LLVMTypeRef ty = LLVMStructCreateNamed(cg->ctx, "nnc_schedule_settings");
  LLVMStructSetBody(ty, f, 12, 0);
  return ty;
}

static LLVMValueRef const_schedule(Cg *cg, LLVMTypeRef ty, const nnc_schedule_settings *s) {
  LLVMValueRef f[] = {i32c(cg, s->period),   i32c(cg, s->period_mult), f64c(cg, s->min_rate),
                      f64c(cg, s->factor),   i32c(cg, s->patience),    i32c(cg, s->cooldown),
                      f64c(cg, s->threshold), i32c(cg, s->warmup),     i32c(cg, s->warmup_steps),
                      f64c(cg, s->warmup_from), f64c(cg, s->clip_norm), f64c(cg, s->clip_value)};
  return LLVMConstNamedStruct(ty, f, 12);
}

static LLVMValueRef build_settings(Cg *cg, const nnc_train_settings *t) {
  LLVMTypeRef src_fields[] = {cg->ptr, cg->ptr, cg->i32, cg->i32, cg->i32, cg->ptr, cg->i32, cg->ptr,
                              cg->i32, cg->i32, cg->f64, cg->i32, cg->i32, cg->i32};
  LLVMTypeRef src_ty = LLVMStructCreateNamed(cg->ctx, "nnc_data_source");
  LLVMStructSetBody(src_ty, src_fields, 14, 0);
  LLVMTypeRef fields[] = {src_ty, src_ty, cg->i32, cg->f64, cg->i32, cg->f64, cg->i32, cg->f64, cg->i32,
                          cg->i32, cg->i32, cg->i64, cg->f64, cg->i32, cg->ptr, cg->i32, cg->i32, cg->i32,
                          cg->i32, cg->f64, cg->f64, cg->f64, cg->f64, cg->f64, cg->i32, cg->i32, cg->i32,
                          cg->f64, cg->f64, cg->f64, cg->f64, cg->f64, schedule_type(cg)};
  LLVMTypeRef ty = LLVMStructCreateNamed(cg->ctx, "nnc_train_settings");
  LLVMStructSetBody(ty, fields, 33, 0);
  LLVMValueRef v[] = {const_source(cg, src_ty, &t->data), const_source(cg, src_ty, &t->test), i32c(cg, t->loss),
                      f64c(cg, t->rate), i32c(cg, t->decay), f64c(cg, t->decay_rate), i32c(cg, t->decay_every),
                      f64c(cg, t->momentum), i32c(cg, t->batch), i32c(cg, t->epochs), i32c(cg, t->restarts),
                      LLVMConstInt(cg->i64, t->seed, 0), f64c(cg, t->validation), i32c(cg, t->patience),
                      const_string(cg, t->checkpoint, "nnc.checkpoint"), i32c(cg, t->checkpoint_every),
                      i32c(cg, t->metric), i32c(cg, t->shuffle_off), i32c(cg, t->optimizer), f64c(cg, t->beta1),
                      f64c(cg, t->beta2), f64c(cg, t->eps), f64c(cg, t->weight_decay), f64c(cg, t->alpha),
                      i32c(cg, t->amsgrad), i32c(cg, t->centered), i32c(cg, t->nesterov),
                      f64c(cg, t->eta_minus), f64c(cg, t->eta_plus), f64c(cg, t->step_min), f64c(cg, t->step_max),
                      f64c(cg, t->dampening), const_schedule(cg, fields[32], &t->sched)};
  LLVMValueRef g = LLVMAddGlobal(cg->mod, ty, "nnc.train");
  LLVMSetInitializer(g, LLVMConstNamedStruct(ty, v, 33));
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  return g;
}

/* double[n_dropout]: each dropout unit's p, or NULL without dropout. */
static LLVMValueRef dropout_rates(Cg *cg) {
  const IrNetwork *n = cg->net;
  if (!n->n_dropout) return LLVMConstNull(cg->ptr);
  double *p = xmalloc(sizeof(double) * (size_t)n->n_dropout);
  for (int i = 0; i < n->n_groups; i++)
    for (int j = 0; n->groups[i].dropout > 0 && j < n->groups[i].size; j++)
      p[n->groups[i].dropout_offset + j] = n->groups[i].dropout;
  LLVMValueRef v = const_f64s(cg, p, (int)n->n_dropout, "nnc.dropout_rates");
  free(p);
  return v;
}

/* nnc_model NAME_model = {...}: the descriptor the runtime drives the model through. An
 * executable's carries the ONNX export plan (export.c) for `weights export --onnx`; an
 * object's, linked into firmware or a program, does not (its bytes would be dead weight). */
static LLVMValueRef build_descriptor(Cg *cg, const nnc_train_settings *train, LLVMValueRef init,
                                     LLVMValueRef forward, LLVMValueRef loss_grad, LLVMValueRef train_step,
                                     LLVMValueRef evaluate, LLVMValueRef train_sequence, int scale_mode,
                                     int with_plan, LLVMValueRef loss_grad_update, LLVMValueRef train_deltas,
                                     LLVMValueRef train_rows) {
  const IrNetwork *n = cg->net;
  LLVMTypeRef fields[] = {cg->i32, cg->ptr, cg->i64, cg->i32, cg->i32, cg->i32, cg->i64, cg->i64,
                          cg->i64, cg->i32, cg->ptr, cg->ptr, cg->ptr, cg->ptr, cg->ptr, cg->ptr, cg->ptr,
                          cg->i32, cg->ptr, cg->ptr, cg->ptr, cg->i64, cg->i64, cg->ptr, cg->i64, cg->ptr,
                          cg->ptr, cg->ptr, cg->i64};
  LLVMTypeRef ty = LLVMStructCreateNamed(cg->ctx, "nnc_model");
  LLVMStructSetBody(ty, fields, 29, 0);
  size_t plan_len = 0;
  unsigned char *plan = with_plan ? export_plan(n, &plan_len) : NULL;
  LLVMValueRef none = LLVMConstNull(cg->ptr);
  LLVMValueRef v[] = {i32c(cg, NNC_ABI_VERSION), const_string(cg, n->name, "nnc.name"),
                      LLVMConstInt(cg->i64, n->fingerprint, 0), i32c(cg, n->real_bytes), i32c(cg, n->n_inputs),
                      i32c(cg, n->n_outputs), cg_int(cg, n->n_params), cg_int(cg, cg_scratch_bytes(n, cg->vec_bytes)),
                      cg_int(cg, cg_scratch_per_sample(n, cg->vec_bytes)), i32c(cg, n->classifier), build_settings(cg, train), init, forward,
                      loss_grad, train_step, evaluate, train_sequence, i32c(cg, cg->scale_offset ? scale_mode : 0),
                      cg->scale_offset ? cg->scale_offset : none, cg->scale_mul ? cg->scale_mul : none,
                      plan ? const_bytes(cg, plan, plan_len, "nnc.onnx_plan") : none, cg_int(cg, (int64_t)plan_len),
                      cg_int(cg, n->n_dropout), dropout_rates(cg), cg_int(cg, cg_dropout_mask_offset(n)),
                      loss_grad_update, train_deltas, train_rows, LLVMConstInt(cg->i64, cg->x86_features, 0)};
  free(plan);
  LLVMValueRef g = LLVMAddGlobal(cg->mod, ty, symbol(cg, "model"));
  LLVMSetInitializer(g, LLVMConstNamedStruct(ty, v, 29));
  LLVMSetGlobalConstant(g, 1);
  return g;
}

/* int main(int argc, char **argv) { return nnrt_main(&NAME_model, argc, argv); } */
static void build_main(Cg *cg, LLVMValueRef model) {
  LLVMTypeRef rt_params[] = {cg->ptr, cg->i32, cg->ptr};
  LLVMValueRef rt = LLVMAddFunction(cg->mod, "nnrt_main", LLVMFunctionType(cg->i32, rt_params, 3, 0));
  LLVMTypeRef ps[] = {cg->i32, cg->ptr};
  LLVMValueRef fn = cg_begin_function(cg, "main", cg->i32, ps, 2, 0, 0);
  LLVMValueRef args[] = {model, LLVMGetParam(fn, 0), LLVMGetParam(fn, 1)};
  LLVMBuildRet(cg->b, call(cg, rt, args, 3));
}

/* An executable's code is reached through main alone (the descriptor holds the rest): every
 * other definition is made internal, so that no network name can clash with a symbol of
 * libnnrt (a network `nnrt` defined nnrt_evaluate), of libc (`pthread_mutex` defined
 * pthread_mutex_init, taken by the runtime's own calls) or of libgcc. */
static void internalize_all_but_main(LLVMModuleRef m) {
  for (LLVMValueRef fn = LLVMGetFirstFunction(m); fn; fn = LLVMGetNextFunction(fn))
    if (!LLVMIsDeclaration(fn) && strcmp(LLVMGetValueName(fn), "main") != 0) LLVMSetLinkage(fn, LLVMInternalLinkage);
  for (LLVMValueRef g = LLVMGetFirstGlobal(m); g; g = LLVMGetNextGlobal(g))
    if (!LLVMIsDeclaration(g) && LLVMGetLinkage(g) == LLVMExternalLinkage) LLVMSetLinkage(g, LLVMInternalLinkage);
}

/* --- entry -------------------------------------------------------------------------- */

CgBf16 cg_bf16_products(const IrNetwork *n, CgVectorUnit vec, unsigned isa) {
  if (!n->bf16_products || !cg_batch_eligible(n) || vec.bytes != 64) return CG_BF16_NONE;
  if (!(isa & CG_ISA_BF16_512)) return CG_BF16_NONE; /* the operands are rounded by vcvtneps2bf16 */
  return isa & CG_ISA_AMX_BF16 ? CG_BF16_AMX : CG_BF16_DOT;
}

uint64_t cg_x86_requirements(const IrNetwork *n, CgVectorUnit vec, CgQuantize quant, unsigned isa) {
  int tiles = (quant != CG_QUANT_NONE && (isa & (CG_ISA_AMX_INT8 | CG_ISA_AMX_BF16))) ||
              (quant == CG_QUANT_NONE && cg_bf16_products(n, vec, isa) == CG_BF16_AMX);
  return tiles ? vec.x86_features : vec.x86_features & ~NNC_X86_AMX;
}

LLVMModuleRef cg_build_module(const IrNetwork *n, LLVMContextRef ctx, const nnc_train_settings *train,
                              int with_main, CgVectorUnit vec, const void *weights, const CgInputScale *scale,
                              const char *prefix, CgQuantize quant, unsigned isa) {
  Cg cg = {0};
  cg.net = n;
  cg.prefix = prefix ? prefix : n->name;
  cg.ctx = ctx;
  cg.mod = LLVMModuleCreateWithNameInContext(n->name, ctx);
  cg.b = LLVMCreateBuilderInContext(ctx);
  cg.real_bytes = n->real_bytes;
  cg.real = n->real_bytes == 8 ? LLVMDoubleTypeInContext(ctx) : LLVMFloatTypeInContext(ctx);
  cg.i1 = LLVMInt1TypeInContext(ctx);
  cg.i8 = LLVMInt8TypeInContext(ctx);
  cg.i32 = LLVMInt32TypeInContext(ctx);
  cg.i64 = LLVMInt64TypeInContext(ctx);
  cg.f64 = LLVMDoubleTypeInContext(ctx);
  cg.ptr = LLVMPointerTypeInContext(ctx, 0);
  cg.void_t = LLVMVoidTypeInContext(ctx);
  cg.vec_bytes = vec.bytes;
  cg.vec_regs = vec.regs;
  cg.vec_fma = vec.fma;
  cg.x86_features = cg_x86_requirements(n, vec, quant, isa);

  cg.quant = weights ? quant : CG_QUANT_NONE;
  cg.isa = isa;
  if (!cg.quant) cg.bf16 = cg_bf16_products(n, vec, isa);
  if (cg.quant) cg_quant_build(&cg, weights); /* the quantized kernels take no batch or tables */
  else if (weights) cg.embedded = build_embedded_weights(&cg, weights);
  if (weights && scale) { /* only inference code reads inputs through the scaling */
    cg.scale_offset = const_f64s(&cg, scale->offset, n->n_inputs, "nnc.scale_offset");
    cg.scale_mul = const_f64s(&cg, scale->mul, n->n_inputs, "nnc.scale_mul");
    if (cg.quant) cg_quant_scaling(&cg, scale->offset, scale->mul, n->n_inputs);
  }
  int batched = cg_batch_eligible(n) && !cg.quant, trainable = !weights;
  CgTables tables;
  cg_tables_build(&cg, &tables, trainable);
  cg.tables = &tables;
  LLVMValueRef fwd1 = build_forward_one(&cg);
  LLVMValueRef init = build_init(&cg);
  if (batched) cg.batch_forward = cg_build_forward_body(&cg);
  LLVMValueRef fwdN = batched ? cg_build_forward_batch(&cg) : NULL;
  if (cg.quant && has_multi_kernel(&cg)) fwdN = build_quant_batch(&cg, fwd1);
  LLVMValueRef forward = build_forward(&cg, fwd1, fwdN);
  LLVMValueRef loss_grad = LLVMConstNull(cg.ptr), train_step = LLVMConstNull(cg.ptr);
  LLVMValueRef train_sequence = LLVMConstNull(cg.ptr), loss_grad_update = LLVMConstNull(cg.ptr);
  LLVMValueRef train_deltas = LLVMConstNull(cg.ptr), train_rows = LLVMConstNull(cg.ptr);
  if (trainable) { /* an object with embedded weights is for inference only */
    LLVMValueRef sgd1p = build_backward_one(&cg, BWD_SGD, 1);
    cg.prefused = 1;
    LLVMValueRef fwd1p = build_forward_one(&cg);
    cg.prefused = 0;
    train_sequence = build_train_sequence(&cg, fwd1, fwd1p, sgd1p);
    cg.dropout = n->n_dropout > 0;
    CgTraining t = build_training(&cg, fwd1, batched);
    cg.dropout = 0;
    loss_grad = t.loss_grad, train_step = t.train_step, loss_grad_update = t.loss_grad_update;
    train_deltas = t.train_deltas, train_rows = t.train_rows;
  }
  LLVMValueRef evalN = batched ? cg_build_eval_batch(&cg) : NULL;
  LLVMValueRef evaluate = build_evaluate(&cg, fwd1, evalN);
  LLVMValueRef model = build_descriptor(&cg, train, init, forward, loss_grad, train_step, evaluate, train_sequence,
                                        scale ? scale->mode : NNC_SCALE_NONE, with_main, loss_grad_update,
                                        train_deltas, train_rows);
  if (with_main) build_main(&cg, model), internalize_all_but_main(cg.mod);
  cg_tables_free(&tables);
  cg_quant_free(&cg);
  LLVMDisposeBuilder(cg.b);
  return cg.mod;
}
