/* cg_dense.c — per-sample kernels for dense edge sets at least one vector wide.
 * Consumes: a dense edge set W[j][i] (row-major, rows = neurons of the group, i = neurons of
 * the source) and the per-sample vectors V (outputs) and G (∂L/∂output, deltas).
 * Produces: forward  z[j] += W[j]·x over rows of DENSE_ROWS at once, so each vector of x
 * loaded feeds DENSE_ROWS FMAs and each row ends in one reduction;
 * backward G_src += Σ_j d_j·W[j] and, in the same pass over W, either W[j] −= rate·d_j·x
 * (the fused per-sample SGD step: one read and one write of every weight) or
 * grad[j] += d_j·x. Tails of a row (size not a multiple of the vector) use a constant mask. */
#include "cg.h"

/* Rows per pass: the forward pass keeps one accumulator chain per row, and FMA latency × 2
 * pipes needs 8 of them in flight; the backward pass has no chain across positions. */
#define FORWARD_ROWS 8
#define DENSE_ROWS 4

/* The one wide dense set of g from an input group, whose next-sample product the pipelined
 * per-sample SGD computes while it updates the weights; -1 if none or several. */
int cg_prefusable_set(const Cg *cg, const IrGroup *g) {
  int found = -1;
  if (cg_is_tabled(cg, g)) return -1;
  for (int k = 0; k < g->n_in; k++) {
    if (!cg_dense_vectorisable(cg, &g->in[k]) || cg->net->groups[g->in[k].src].role != ROLE_INPUT) continue;
    if (found >= 0) return -1;
    found = k;
  }
  return found;
}

int cg_dense_vectorisable(const Cg *cg, const IrEdges *e) {
  const IrGroup *src = &cg->net->groups[e->src];
  return e->kind == EDGES_DENSE && e->weight != WEIGHT_FIXED && src->role != ROLE_BIAS &&
         src->size >= cg_vec_len(cg);
}

typedef struct RowPass {
  int64_t m;          /* row length (source size) */
  int64_t full;       /* whole vectors per row */
  int tail;           /* lanes of the last, masked vector (0: none) */
} RowPass;

static RowPass row_pass(Cg *cg, int64_t m) {
  RowPass r = {m, m / cg_vec_len(cg), (int)(m % cg_vec_len(cg))};
  return r;
}

static LLVMValueRef at(Cg *cg, LLVMValueRef base, LLVMValueRef idx) { return cg_elem(cg, base, idx); }

static LLVMValueRef add(Cg *cg, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildAdd(cg->b, a, b, ""); }

static LLVMValueRef reduce_add(Cg *cg, LLVMValueRef v) {
  unsigned id = LLVMLookupIntrinsicID("llvm.vector.reduce.fadd", 23);
  LLVMTypeRef t = cg_vec_type(cg);
  LLVMValueRef fn = LLVMGetIntrinsicDeclaration(cg->mod, id, &t, 1);
  LLVMValueRef args[] = {cg_real(cg, 0.0), v};
  return cg_fast(LLVMBuildCall2(cg->b, LLVMIntrinsicGetType(cg->ctx, id, &t, 1), fn, args, 2, ""));
}

/* --- forward ------------------------------------------------------------------------ */

/* acc[r] += W[row0 + r][i..] · x[i..] for one vector position (i = offset). */
static void forward_step(Cg *cg, LLVMValueRef w, LLVMValueRef x, LLVMValueRef row0, int nr, const RowPass *rp,
                         LLVMValueRef i, LLVMValueRef mask, LLVMValueRef *acc) {
  LLVMValueRef xv = cg_vload(cg, at(cg, x, i), mask);
  for (int r = 0; r < nr; r++) {
    LLVMValueRef row = LLVMBuildMul(cg->b, add(cg, row0, cg_int(cg, r)), cg_int(cg, rp->m), "");
    LLVMValueRef wv = cg_vload(cg, at(cg, w, add(cg, row, i)), mask);
    LLVMBuildStore(cg->b, cg_vfma(cg, wv, xv, LLVMBuildLoad2(cg->b, cg_vec_type(cg), acc[r], "")), acc[r]);
  }
}

static void forward_rows(Cg *cg, LLVMValueRef w, LLVMValueRef x, LLVMValueRef z, LLVMValueRef row0, int nr,
                         const RowPass *rp) {
  LLVMValueRef acc[FORWARD_ROWS];
  for (int r = 0; r < nr; r++) {
    acc[r] = cg_alloca(cg, cg_vec_type(cg), "dacc");
    LLVMBuildStore(cg->b, LLVMConstNull(cg_vec_type(cg)), acc[r]);
  }
  CgLoop li;
  LLVMValueRef iv = cg_loop_begin(cg, &li, cg_int(cg, rp->full), "dv");
  forward_step(cg, w, x, row0, nr, rp, LLVMBuildMul(cg->b, iv, cg_int(cg, cg_vec_len(cg)), ""), NULL, acc);
  cg_loop_end(cg, &li);
  if (rp->tail)
    forward_step(cg, w, x, row0, nr, rp, cg_int(cg, rp->full * cg_vec_len(cg)), cg_lane_mask(cg, rp->tail), acc);
  for (int r = 0; r < nr; r++) {
    LLVMValueRef k = add(cg, row0, cg_int(cg, r));
    LLVMValueRef sum = reduce_add(cg, LLVMBuildLoad2(cg->b, cg_vec_type(cg), acc[r], ""));
    cg_store(cg, z, k, cg_fadd(cg, cg_load(cg, z, k), sum));
  }
}

/* z[j] += Σ_i W[j][i]·x[i] for every neuron j of g; z, x: the group's and the source's slots. */
void cg_emit_dense_forward(Cg *cg, const IrGroup *g, const IrEdges *e, LLVMValueRef params, LLVMValueRef V) {
  const IrGroup *src = &cg->net->groups[e->src];
  RowPass rp = row_pass(cg, src->size);
  LLVMValueRef w = at(cg, params, cg_int(cg, e->param_offset));
  LLVMValueRef x = at(cg, V, cg_int(cg, src->value_offset)), z = at(cg, V, cg_int(cg, g->value_offset));
  CgLoop lr;
  LLVMValueRef blk = cg_loop_begin(cg, &lr, cg_int(cg, g->size / FORWARD_ROWS), "drows");
  forward_rows(cg, w, x, z, LLVMBuildMul(cg->b, blk, cg_int(cg, FORWARD_ROWS), ""), FORWARD_ROWS, &rp);
  cg_loop_end(cg, &lr);
  int tail = g->size % FORWARD_ROWS;
  if (tail) forward_rows(cg, w, x, z, cg_int(cg, g->size - tail), tail, &rp);
}

/* --- backward ----------------------------------------------------------------------- */

typedef struct BackPass {
  LLVMValueRef w, out, x, gsrc; /* weights, gradient or weights to step, source outputs, source G (or NULL) */
  LLVMValueRef step[DENSE_ROWS];  /* SGD: −rate·d_r; accumulate: d_r (splats) */
  LLVMValueRef d[DENSE_ROWS];     /* d_r (splats) */
  int sgd;
  LLVMValueRef xnext, znext;      /* pipelined SGD: the next sample's inputs, where its z goes */
  LLVMValueRef zacc[DENSE_ROWS];  /* the next sample's dot products, per row */
} BackPass;

static void backward_step(Cg *cg, const BackPass *bp, LLVMValueRef row0, int nr, const RowPass *rp, LLVMValueRef i,
                          LLVMValueRef mask) {
  LLVMValueRef xv = cg_vload(cg, at(cg, bp->x, i), mask);
  LLVMValueRef xn = bp->xnext ? cg_vload(cg, at(cg, bp->xnext, i), mask) : NULL;
  LLVMValueRef gv = bp->gsrc ? cg_vload(cg, at(cg, bp->gsrc, i), mask) : NULL;
  for (int r = 0; r < nr; r++) {
    LLVMValueRef k = add(cg, LLVMBuildMul(cg->b, add(cg, row0, cg_int(cg, r)), cg_int(cg, rp->m), ""), i);
    LLVMValueRef wv = cg_vload(cg, at(cg, bp->w, k), mask);
    if (gv) gv = cg_vfma(cg, wv, bp->d[r], gv);
    LLVMValueRef base = bp->sgd ? wv : cg_vload(cg, at(cg, bp->out, k), mask);
    LLVMValueRef stepped = cg_vfma(cg, bp->step[r], xv, base);
    cg_vstore(cg, stepped, at(cg, bp->out, k), mask);
    if (xn) /* the updated weights, still in registers, times the next sample */
      LLVMBuildStore(cg->b, cg_vfma(cg, stepped, xn, LLVMBuildLoad2(cg->b, cg_vec_type(cg), bp->zacc[r], "")), bp->zacc[r]);
  }
  if (gv) cg_vstore(cg, gv, at(cg, bp->gsrc, i), mask);
}

static void backward_rows(Cg *cg, BackPass *bp, LLVMValueRef delta, LLVMValueRef rate, LLVMValueRef row0, int nr,
                          const RowPass *rp) {
  for (int r = 0; r < nr; r++) {
    LLVMValueRef d = cg_load(cg, delta, add(cg, row0, cg_int(cg, r)));
    bp->d[r] = cg_splat(cg, d);
    bp->step[r] = bp->sgd ? cg_splat(cg, LLVMBuildFNeg(cg->b, cg_fmul(cg, rate, d), "")) : bp->d[r];
    if (bp->xnext) {
      bp->zacc[r] = cg_alloca(cg, cg_vec_type(cg), "znext");
      LLVMBuildStore(cg->b, LLVMConstNull(cg_vec_type(cg)), bp->zacc[r]);
    }
  }
  CgLoop li;
  LLVMValueRef iv = cg_loop_begin(cg, &li, cg_int(cg, rp->full), "bv");
  backward_step(cg, bp, row0, nr, rp, LLVMBuildMul(cg->b, iv, cg_int(cg, cg_vec_len(cg)), ""), NULL);
  cg_loop_end(cg, &li);
  if (rp->tail) backward_step(cg, bp, row0, nr, rp, cg_int(cg, rp->full * cg_vec_len(cg)), cg_lane_mask(cg, rp->tail));
  for (int r = 0; bp->xnext && r < nr; r++)
    cg_store(cg, bp->znext, add(cg, row0, cg_int(cg, r)), reduce_add(cg, LLVMBuildLoad2(cg->b, cg_vec_type(cg), bp->zacc[r], "")));
}

/* Deltas of g are in G[g]; propagates them into G[src] (hidden sources) and steps or
 * accumulates the weights of e. out: params (sgd) or the gradient. xnext (sgd from an input
 * group only, else NULL): the next sample's input row; its dot products with the updated
 * rows are left in V[g] for the next forward pass, which then need not read W again. */
void cg_emit_dense_backward(Cg *cg, const IrGroup *g, const IrEdges *e, LLVMValueRef params, LLVMValueRef V,
                            LLVMValueRef G, LLVMValueRef out, LLVMValueRef rate, int sgd, LLVMValueRef xnext) {
  const IrGroup *src = &cg->net->groups[e->src];
  RowPass rp = row_pass(cg, src->size);
  BackPass bp = {0};
  bp.w = at(cg, params, cg_int(cg, e->param_offset));
  bp.out = at(cg, out, cg_int(cg, e->param_offset));
  bp.x = at(cg, V, cg_int(cg, src->value_offset));
  if (src->role == ROLE_HIDDEN || src->role == ROLE_OUTPUT) bp.gsrc = at(cg, G, cg_int(cg, src->value_offset));
  bp.sgd = sgd;
  if (xnext) {
    NNC_ASSERT(sgd && src->role == ROLE_INPUT);
    bp.xnext = at(cg, xnext, cg_int(cg, src->io_offset));
    bp.znext = at(cg, V, cg_int(cg, g->value_offset));
  }
  LLVMValueRef delta = at(cg, G, cg_int(cg, g->value_offset));
  CgLoop lr;
  LLVMValueRef blk = cg_loop_begin(cg, &lr, cg_int(cg, g->size / DENSE_ROWS), "brows");
  backward_rows(cg, &bp, delta, rate, LLVMBuildMul(cg->b, blk, cg_int(cg, DENSE_ROWS), ""), DENSE_ROWS, &rp);
  cg_loop_end(cg, &lr);
  int tail = g->size % DENSE_ROWS;
  if (tail) backward_rows(cg, &bp, delta, rate, cg_int(cg, g->size - tail), tail, &rp);
}
