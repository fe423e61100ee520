/* cg_batch.c — mini-batch kernels: a batch of samples goes through each dense group as
 * matrix products, computed by register-tiled micro-kernels that nnc writes itself.
 * Consumes: the IR of a network whose weights are all dense and learned (cg_batch_eligible).
 * Produces: internal functions nnc.forwardN, nnc.backwardN, nnc.updateN, and the SGD step
 * in two halves, nnc.deltasN then nnc.sgdRows (whole batch: one part; threads: a part each),
 * used by the exported batch entry points when n > 1. A network with dropout gets a second set
 * of training kernels (nnc.forwardBd, nnc.backwardNd, nnc.deltasNd, nnc.updateNd) that take
 * the batch's masks as one more parameter: M[b][u], sample b's mask row, as the caller of
 * loss_grad writes them.
 *
 * Every product is one shape, an outer-product tile (emit_gemm): O[r][c] (+)= Σ_k A[r][k]·B[k][c]
 * with A broadcast one element at a time and B read as vectors along c, so each loaded
 * vector feeds several FMAs and no horizontal sum is ever needed:
 *   forward      Zᵀ[j][b] = Σ_i W[j][i] · Xᵀ[i][b]   activations kept feature-major (b contiguous)
 *   input grad   G[b][i] += Σ_j D[b][j] · W[j][i]    batch-major
 *   weight grad  W[j][i] −= s·Σ_b D[b][j] · X[b][i]  batch-major, the SGD step fused in
 * Between them each group's outputs are transposed once per batch (cheap: size × batch).
 * The tile's shape (rows × vectors) is chosen from the target's vector registers (tile_shape).
 * The batch is padded to whole vectors (cg_batch_align): column loops over samples end in a
 * tile of 0 to vt − 1 vectors chosen at run time; column tails over neurons (compile-time
 * sizes) use constant masks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"
#include "codegen.h"

/* --- layout of the batch scratch ---------------------------------------------------- */

static int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }


/* The padded batch is a whole number of vectors, and of 8 samples: the input-gradient tile's
 * rows, a runtime count, divide it (tile_shape). */
int64_t cg_batch_align(const IrNetwork *n, int vec_bytes) {
  int64_t vl = vec_bytes / n->real_bytes;
  return vl >= 8 ? vl : 8;
}

/* Row length of a group's batch-major buffers (A and G): its size rounded to vectors. */
static int64_t padded(const Cg *cg, const IrGroup *g) { return round_up(g->size, cg_vec_len(cg)); }

/* Reals per sample in the batch region: Aᵀ for every group, A and G for computed ones. */
int64_t cg_batch_reals_per_sample(const IrNetwork *n, int vec_bytes) {
  int64_t vl = vec_bytes / n->real_bytes, total = 0;
  for (int i = 0; i < n->n_groups; i++) {
    const IrGroup *g = &n->groups[i];
    if (g->role == ROLE_INPUT) total += g->size;
    if (g->role == ROLE_HIDDEN || g->role == ROLE_OUTPUT) total += g->size + 2 * round_up(g->size, vl);
  }
  return total;
}

/* Reals per sample of the batch region up to the end of the last Aᵀ or A of batch_layout,
 * which the forward pass reaches (G, after them, is the backward pass's). *row_tail: the
 * columns that end's last row leaves unwritten (the padding of an A row, 0 after an Aᵀ). */
int64_t cg_batch_forward_reals_per_sample(const IrNetwork *n, int vec_bytes, int64_t *row_tail) {
  int64_t vl = vec_bytes / n->real_bytes, off = 0, end = 0;
  *row_tail = 0;
  for (int i = 0; i < n->n_groups; i++) {
    const IrGroup *g = &n->groups[i];
    if (g->role == ROLE_BIAS) continue;
    end = off += g->size;
    *row_tail = 0;
    if (g->role == ROLE_INPUT) continue;
    end = off += round_up(g->size, vl);
    *row_tail = round_up(g->size, vl) - g->size;
    off += round_up(g->size, vl);
  }
  return end;
}

/* The batch kernels pay off when some dense product is at least one vector wide both ways
 * (tiny networks stay with per-sample code in registers); they need every weight dense and
 * learned, and a fixed bias to be one number (initial values only matter to init). Whether
 * groups are tabled does not matter: tables replace the per-sample code only, and the batch
 * kernels are loops whose code does not grow with a layer's size, with their own region. */
int cg_batch_eligible(const IrNetwork *n) {
  int64_t largest = 0;
  for (int i = 0; i < n->n_order; i++) {
    const IrGroup *g = &n->groups[n->order[i]];
    for (int k = 0; k < g->n_in; k++)
      if (g->in[k].kind == EDGES_DENSE && g->size >= 8 && n->groups[g->in[k].src].size >= 8)
        largest = largest > g->in[k].count ? largest : g->in[k].count;
  }
  if (largest < 256) return 0;
  for (int i = 0; i < n->n_order; i++) {
    const IrGroup *g = &n->groups[n->order[i]];
    for (int k = 0; k < g->n_in; k++) {
      const IrEdges *e = &g->in[k];
      if (n->groups[e->src].role == ROLE_BIAS && e->weight == WEIGHT_FIXED && e->values) return 0;
      if (n->groups[e->src].role == ROLE_BIAS) continue;
      if (e->kind != EDGES_DENSE || e->weight == WEIGHT_FIXED) return 0;
    }
  }
  return 1;
}

/* Pointers to one group's three batch buffers, given the padded batch npad. */
typedef struct BatchBufs {
  LLVMValueRef at, a, g; /* Aᵀ [size][npad], A [npad][padded], G [npad][padded] */
} BatchBufs;

typedef struct Batch {
  LLVMValueRef npad, n;  /* i64 */
  LLVMValueRef region;   /* where the buffers start */
  BatchBufs *bufs;       /* per group id */
  LLVMValueRef masks;    /* dropout's M [n][n_dropout] (real samples only), or NULL: none */
  LLVMValueRef work;     /* precision bf16: the products' workspace, after the buffers */
} Batch;

/* Where group id's buffers start in a region, in reals per padded sample (-1: none). */
typedef struct BufOffsets {
  int64_t at, a, g;
} BufOffsets;

static BufOffsets buf_offsets(const Cg *cg, int id) {
  const IrNetwork *net = cg->net;
  BufOffsets o = {-1, -1, -1};
  int64_t off = 0;
  for (int i = 0; i < net->n_groups && i <= id; i++) {
    const IrGroup *g = &net->groups[i];
    if (g->role == ROLE_BIAS) continue;
    if (i == id) o.at = off;
    off += g->size;
    if (g->role == ROLE_INPUT) continue;
    if (i == id) o.a = off, o.g = off + padded(cg, g);
    off += 2 * padded(cg, g);
  }
  return o;
}

static LLVMValueRef buf_at(Cg *cg, LLVMValueRef region, LLVMValueRef npad, int64_t off) {
  return off < 0 ? NULL : cg_elem(cg, region, LLVMBuildMul(cg->b, npad, cg_int(cg, off), ""));
}

static void batch_layout(Cg *cg, Batch *bt, LLVMValueRef region) {
  for (int i = 0; i < cg->net->n_groups; i++) {
    BufOffsets o = buf_offsets(cg, i);
    bt->bufs[i] = (BatchBufs){buf_at(cg, region, bt->npad, o.at), buf_at(cg, region, bt->npad, o.a),
                              buf_at(cg, region, bt->npad, o.g)};
  }
}

/* --- tile shapes from the register file --------------------------------------------- */

/* A register tile: rt rows × vt vectors of accumulators. */
typedef struct TileShape {
  int rt, vt;
} TileShape;

enum { TILE_MAX_ROWS = 8, TILE_MAX_VECTORS = 4 };

/* Vector registers a tile of rt × vt holds in its k loop: the accumulators, the vt vectors of
 * B, the broadcast of A, and where multiply-adds are not fused, the product before its add. */
static int tile_registers(const Cg *cg, int rt, int vt) { return rt * vt + vt + 1 + !cg->vec_fma; }

/* The register tile of a product, from the target's vector registers (cg->vec_regs): the most
 * accumulators that fit with one register to spare, then the fewest loads per step of k
 * (rt + vt), then the most rows. rows_divide > 0: the row count is a runtime multiple of it
 * (the padded batch), which rt must divide, and the tile may take every register: with 16,
 * one to spare left 4 × 2, 8 accumulators, just the multiply-adds two FMA units keep in flight
 * (4 cycles each), and AVX2's input gradient ran at two thirds of the FMA peak; 4 × 3 fills
 * the 16 ymm and its k loop still touches no stack. What that gives, any rows (rows dividing
 * 8 or 16):
 *   32 registers with FMA (AVX-512 zmm, AArch64 NEON)  6 × 4 (8 × 3)
 *   16 with FMA (AVX2 ymm)                             6 × 2 (4 × 3)
 *   16 without (SSE2 xmm)                              5 × 2 (4 × 2)
 *    8 with FMA (Cortex-M4: 32 single-precision)       5 × 1 (2 × 2) */
static TileShape tile_shape(const Cg *cg, int64_t rows_divide) {
  TileShape best = {1, 1};
  int spare = rows_divide ? 0 : 1;
  for (int rt = 1; rt <= TILE_MAX_ROWS; rt++)
    for (int vt = 1; vt <= TILE_MAX_VECTORS; vt++) {
      if (tile_registers(cg, rt, vt) > cg->vec_regs - spare || (rows_divide && rows_divide % rt)) continue;
      int more = rt * vt > best.rt * best.vt, as_many = rt * vt == best.rt * best.vt;
      if (more || (as_many && rt + vt <= best.rt + best.vt)) best = (TileShape){rt, vt};
    }
  return best;
}


/* The parts of one batch whose deltas threads computed (nnc.deltasN), each in its own
 * scratch: part s has ns[s] samples (i64), inputs xs[s] and scratch scratches[s]. */
typedef struct Parts {
  LLVMValueRef count, ns, xs, scratches;
} Parts;

/* --- the outer-product tile --------------------------------------------------------- */

typedef enum TileOut {
  OUT_STORE,      /* O = acc + bias[r] (bias NULL: O = acc) */
  OUT_ADD,        /* O += acc */
  OUT_SUBSCALED,  /* O −= scale · acc (the fused SGD step) */
} TileOut;

typedef struct Gemm {
  LLVMValueRef a, a_rs, a_ks;   /* A(r, k) = a[r·a_rs + k·a_ks] (broadcast) */
  LLVMValueRef b, b_ks;         /* B(k, c) = b[k·b_ks + c]      (vectors)   */
  LLVMValueRef o, o_rs;         /* O(r, c) = o[r·o_rs + c]                  */
  LLVMValueRef k;               /* reduction length */
  LLVMValueRef rows;            /* row count: runtime (a multiple of rt) or constant */
  int64_t rows_const;           /* ≥ 0: rows is this constant and may have a tail */
  LLVMValueRef cols;            /* column count: runtime (whole vectors; rows outer only) or constant */
  int64_t cols_const;           /* ≥ 0: the constant column count, tail masked */
  int rt, vt;                   /* tile: rt rows × vt vectors */
  int cols_outer;               /* loop column tiles outside row bands (B stays in L1) */
  int64_t k_const, k_block;     /* k_block > 0: block k (a constant) so B's block stays in L1 */
  TileOut out;
  LLVMValueRef bias;            /* OUT_STORE: bias[r] pointer, or NULL */
  double bias_const;            /* OUT_STORE without pointer: this constant (0: none) */
  LLVMValueRef scale;           /* OUT_SUBSCALED */
  LLVMValueRef first;           /* k-blocked OUT_STORE: i1, this is the first block (later ones add) */
  /* A batch in parts (nnc.sgdRows): the reduction runs over part 0's k, then part 1's, …, the
   * accumulators carried across them, so the sums are those of the whole batch in one call;
   * part_at gives part s's a, b and k. parts NULL: one reduction over a, b and k. */
  const struct Parts *parts;
  const IrGroup *group, *src;   /* the edge set whose buffers part_at reads */
  /* Rows (cols_outer, constant rows): only the bands [band_lo, band_hi) of rt rows, and the
   * constant tail only where tail_on. band_lo NULL: every row. */
  LLVMValueRef band_lo, band_hi, tail_on;
  LLVMValueRef work;            /* precision bf16: the batch's workspace (cg_bf16.c) */
} Gemm;

static void part_at(Cg *cg, const Gemm *m, LLVMValueRef s, LLVMValueRef *a, LLVMValueRef *b, LLVMValueRef *k);

static LLVMValueRef idx2(Cg *cg, LLVMValueRef r, LLVMValueRef rs, LLVMValueRef c, LLVMValueRef cs) {
  LLVMValueRef a = LLVMBuildMul(cg->b, r, rs, ""), b = cs ? LLVMBuildMul(cg->b, c, cs, "") : c;
  return LLVMBuildAdd(cg->b, a, b, "");
}

static LLVMValueRef at_col(Cg *cg, LLVMValueRef c0, int v) {
  return LLVMBuildAdd(cg->b, c0, cg_int(cg, (int64_t)v * cg_vec_len(cg)), "");
}

static void emit_tile_store(Cg *cg, const Gemm *g, LLVMValueRef r, LLVMValueRef c, LLVMValueRef acc,
                            LLVMValueRef mask) {
  LLVMValueRef p = cg_elem(cg, g->o, idx2(cg, r, g->o_rs, c, NULL));
  switch (g->out) {
  case OUT_STORE: {
    LLVMValueRef base = g->bias ? cg_splat(cg, cg_load(cg, g->bias, r))
                      : g->bias_const != 0 ? cg_splat(cg, cg_real(cg, g->bias_const)) : NULL;
    if (g->first)
      base = LLVMBuildSelect(cg->b, g->first, base ? base : LLVMConstNull(cg_vec_type(cg)), cg_vload(cg, p, mask), "");
    if (base) acc = LLVMBuildFAdd(cg->b, acc, base, "");
    break;
  }
  case OUT_ADD: acc = LLVMBuildFAdd(cg->b, cg_vload(cg, p, mask), acc, ""); break;
  case OUT_SUBSCALED: acc = cg_vfma(cg, LLVMBuildFNeg(cg->b, cg_splat(cg, g->scale), ""), acc, cg_vload(cg, p, mask)); break;
  }
  cg_vstore(cg, acc, p, mask);
}

/* The k loop of a tile: acc[r][v] += A(r0 + r, k) · B(k, c0 + v) over g's k. */
static void emit_tile_k_loop(Cg *cg, const Gemm *g, LLVMValueRef acc[][TILE_MAX_VECTORS], LLVMValueRef r0, int nr,
                             LLVMValueRef c0, int nv, LLVMValueRef tail) {
  LLVMTypeRef vt = cg_vec_type(cg);
  CgLoop lk;
  LLVMValueRef k = cg_loop_begin(cg, &lk, g->k, "k");
  LLVMValueRef bv[TILE_MAX_VECTORS];
  for (int v = 0; v < nv; v++)
    bv[v] = cg_vload(cg, cg_elem(cg, g->b, idx2(cg, k, g->b_ks, at_col(cg, c0, v), NULL)), v == nv - 1 ? tail : NULL);
  for (int r = 0; r < nr; r++) {
    LLVMValueRef row = LLVMBuildAdd(cg->b, r0, cg_int(cg, r), "");
    LLVMValueRef a = cg_splat(cg, cg_load(cg, g->a, idx2(cg, row, g->a_rs, k, g->a_ks)));
    for (int v = 0; v < nv; v++)
      LLVMBuildStore(cg->b, cg_vfma(cg, a, bv[v], LLVMBuildLoad2(cg->b, vt, acc[r][v], "")), acc[r][v]);
  }
  cg_loop_end(cg, &lk);
}

/* One tile: nr rows from r0, nv vectors from column c0; the last vector has `last` lanes. */
static void emit_tile(Cg *cg, const Gemm *g, LLVMValueRef r0, int nr, LLVMValueRef c0, int nv, int last) {
  LLVMValueRef acc[TILE_MAX_ROWS][TILE_MAX_VECTORS];
  NNC_ASSERT(nr >= 1 && nr <= TILE_MAX_ROWS && nv >= 1 && nv <= TILE_MAX_VECTORS);
  LLVMTypeRef vt = cg_vec_type(cg);
  for (int r = 0; r < nr; r++)
    for (int v = 0; v < nv; v++) {
      acc[r][v] = cg_alloca(cg, vt, "acc");
      LLVMBuildStore(cg->b, LLVMConstNull(vt), acc[r][v]);
    }
  LLVMValueRef tail = cg_lane_mask(cg, last);
  if (g->parts) {
    CgLoop lp;
    LLVMValueRef s = cg_loop_begin(cg, &lp, g->parts->count, "part");
    Gemm part = *g;
    part_at(cg, g, s, &part.a, &part.b, &part.k);
    emit_tile_k_loop(cg, &part, acc, r0, nr, c0, nv, tail);
    cg_loop_end(cg, &lp);
  } else {
    emit_tile_k_loop(cg, g, acc, r0, nr, c0, nv, tail);
  }
  for (int r = 0; r < nr; r++)
    for (int v = 0; v < nv; v++)
      emit_tile_store(cg, g, LLVMBuildAdd(cg->b, r0, cg_int(cg, r), ""), at_col(cg, c0, v),
                      LLVMBuildLoad2(cg->b, vt, acc[r][v], ""), v == nv - 1 ? tail : NULL);
}

/* All column tiles of the rows [r0, r0 + nr). */
/* A runtime column count (a whole number of vectors) ends in 0 to vt − 1 leftover vectors:
 * one tile of each possible width, chosen by a switch. */
static void emit_runtime_col_tail(Cg *cg, const Gemm *g, LLVMValueRef r0, int nr, LLVMValueRef c0) {
  int vl = cg_vec_len(cg);
  LLVMValueRef left = LLVMBuildSDiv(cg->b, LLVMBuildSub(cg->b, g->cols, c0, ""), cg_int(cg, vl), "left");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "tail_done");
  LLVMValueRef sw = LLVMBuildSwitch(cg->b, left, done, (unsigned)g->vt - 1);
  for (int nv = 1; nv < g->vt; nv++) {
    LLVMBasicBlockRef bb = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "tail");
    LLVMAddCase(sw, cg_int(cg, nv), bb);
    LLVMPositionBuilderAtEnd(cg->b, bb);
    emit_tile(cg, g, r0, nr, c0, nv, vl);
    LLVMBuildBr(cg->b, done);
  }
  LLVMPositionBuilderAtEnd(cg->b, done);
}

static void emit_row_band(Cg *cg, const Gemm *g, LLVMValueRef r0, int nr) {
  int vl = cg_vec_len(cg);
  int64_t step = (int64_t)g->vt * vl;
  LLVMValueRef full = g->cols;
  int64_t rem = 0;
  if (g->cols_const >= 0) {
    full = cg_int(cg, g->cols_const / step);
    rem = g->cols_const % step;
  } else {
    full = LLVMBuildSDiv(cg->b, g->cols, cg_int(cg, step), "");
  }
  CgLoop lc;
  LLVMValueRef ci = cg_loop_begin(cg, &lc, full, "c");
  emit_tile(cg, g, r0, nr, LLVMBuildMul(cg->b, ci, cg_int(cg, step), ""), g->vt, vl);
  cg_loop_end(cg, &lc);
  if (rem) {
    int nv = (int)((rem + vl - 1) / vl), last = (int)(rem - (int64_t)(nv - 1) * vl);
    emit_tile(cg, g, r0, nr, cg_int(cg, g->cols_const - rem), nv, last);
  }
  if (g->cols_const < 0) emit_runtime_col_tail(cg, g, r0, nr, LLVMBuildMul(cg->b, full, cg_int(cg, step), ""));
}

/* All row tiles at the column tile c0 (nv vectors, `last` lanes in the last one). */
static void emit_col_band(Cg *cg, const Gemm *g, LLVMValueRef c0, int nv, int last) {
  LLVMValueRef bands = g->rows_const >= 0 ? cg_int(cg, g->rows_const / g->rt)
                                          : LLVMBuildSDiv(cg->b, g->rows, cg_int(cg, g->rt), "");
  LLVMValueRef lo = cg_int(cg, 0);
  if (g->band_lo) lo = g->band_lo, bands = LLVMBuildSub(cg->b, g->band_hi, g->band_lo, "");
  CgLoop lr;
  LLVMValueRef ri = LLVMBuildAdd(cg->b, cg_loop_begin(cg, &lr, bands, "r"), lo, "");
  emit_tile(cg, g, LLVMBuildMul(cg->b, ri, cg_int(cg, g->rt), ""), g->rt, c0, nv, last);
  cg_loop_end(cg, &lr);
  int tail = g->rows_const >= 0 ? (int)(g->rows_const % g->rt) : 0;
  if (!tail) return;
  LLVMBasicBlockRef done = NULL;
  if (g->tail_on) {
    LLVMBasicBlockRef take = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "row_tail");
    done = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "row_tail_done");
    LLVMBuildCondBr(cg->b, g->tail_on, take, done);
    LLVMPositionBuilderAtEnd(cg->b, take);
  }
  emit_tile(cg, g, cg_int(cg, g->rows_const - tail), tail, c0, nv, last);
  if (done) {
    LLVMBuildBr(cg->b, done);
    LLVMPositionBuilderAtEnd(cg->b, done);
  }
}

static void emit_gemm_cols_outer(Cg *cg, const Gemm *g) {
  int vl = cg_vec_len(cg);
  NNC_ASSERT(g->cols_const >= 0);
  int64_t step = (int64_t)g->vt * vl;
  LLVMValueRef full = g->cols_const >= 0 ? cg_int(cg, g->cols_const / step)
                                         : LLVMBuildSDiv(cg->b, g->cols, cg_int(cg, step), "");
  int64_t rem = g->cols_const >= 0 ? g->cols_const % step : 0;
  CgLoop lc;
  LLVMValueRef ci = cg_loop_begin(cg, &lc, full, "c");
  emit_col_band(cg, g, LLVMBuildMul(cg->b, ci, cg_int(cg, step), ""), g->vt, vl);
  cg_loop_end(cg, &lc);
  if (rem) {
    int nv = (int)((rem + vl - 1) / vl), last = (int)(rem - (int64_t)(nv - 1) * vl);
    emit_col_band(cg, g, cg_int(cg, g->cols_const - rem), nv, last);
  }
}

static void emit_gemm_rows_outer(Cg *cg, const Gemm *g) {
  LLVMValueRef bands = g->rows_const >= 0 ? cg_int(cg, g->rows_const / g->rt)
                                          : LLVMBuildSDiv(cg->b, g->rows, cg_int(cg, g->rt), "");
  CgLoop lr;
  LLVMValueRef ri = cg_loop_begin(cg, &lr, bands, "r");
  emit_row_band(cg, g, LLVMBuildMul(cg->b, ri, cg_int(cg, g->rt), ""), g->rt);
  cg_loop_end(cg, &lr);
  int tail = g->rows_const >= 0 ? (int)(g->rows_const % g->rt) : 0;
  if (tail) emit_row_band(cg, g, cg_int(cg, g->rows_const - tail), tail);
}

static void emit_gemm_unblocked(Cg *cg, const Gemm *g) {
  if (g->cols_outer)
    emit_gemm_cols_outer(cg, g);
  else
    emit_gemm_rows_outer(cg, g);
}

static void finish_bf16_row(Cg *cg, const void *ctx, LLVMValueRef r, LLVMValueRef c, LLVMValueRef sums,
                            LLVMValueRef mask) {
  emit_tile_store(cg, ctx, r, c, sums, mask);
}

/* precision bf16: the product through cg_bf16.c, its rows of sums stored by the gemm's rule. */
static void emit_gemm_bf16(Cg *cg, const Gemm *g) {
  NNC_ASSERT(g->work && !g->parts && !g->band_lo && !g->first);
  CgBf16Product p = {g->a, g->a_rs, g->a_ks, g->b, g->b_ks, g->rows, g->cols, g->k,
                     g->rows_const, g->cols_const, g->work};
  cg_bf16_product(cg, &p, finish_bf16_row, g);
}

/* Blocked over k so that B's block stays in L1: K is cut into equal blocks of at most k_block
 * (the last one shorter when they do not divide K), all emitted once inside a loop; the first
 * block applies the gemm's own output rule, the others add to what it stored. */
static void emit_gemm(Cg *cg, const Gemm *g) {
  if (cg->bf16) {
    emit_gemm_bf16(cg, g);
    return;
  }
  if (g->k_block <= 0 || g->k_const <= g->k_block) {
    emit_gemm_unblocked(cg, g);
    return;
  }
  int64_t blocks = (g->k_const + g->k_block - 1) / g->k_block;
  int64_t len = (g->k_const + blocks - 1) / blocks;
  CgLoop lk;
  LLVMValueRef kb = cg_loop_begin(cg, &lk, cg_int(cg, blocks), "kb");
  LLVMValueRef k0 = LLVMBuildMul(cg->b, kb, cg_int(cg, len), "");
  LLVMValueRef left = LLVMBuildSub(cg->b, cg_int(cg, g->k_const), k0, "");
  LLVMValueRef shorter = LLVMBuildICmp(cg->b, LLVMIntSLT, left, cg_int(cg, len), "");
  Gemm blk = *g;
  blk.a = cg_elem(cg, g->a, LLVMBuildMul(cg->b, k0, g->a_ks, ""));
  blk.b = cg_elem(cg, g->b, LLVMBuildMul(cg->b, k0, g->b_ks, ""));
  blk.k = LLVMBuildSelect(cg->b, shorter, left, cg_int(cg, len), "klen");
  LLVMValueRef first = LLVMBuildICmp(cg->b, LLVMIntEQ, kb, cg_int(cg, 0), "first");
  if (g->out == OUT_STORE) blk.first = first;
  emit_gemm_unblocked(cg, &blk);
  cg_loop_end(cg, &lk);
}

/* --- forward ------------------------------------------------------------------------ */

/* Transposes the VL×VL block v in registers: for h = VL/2, …, 1 rows i and i + h swap their
 * off-diagonal h-lane blocks (log2 VL stages of VL two-source shuffles, no gathers). */
static void transpose_block(Cg *cg, LLVMValueRef *v, int vl) {
  for (int h = vl / 2; h >= 1; h /= 2)
    for (int i = 0; i < vl; i++) {
      if (i & h) continue;
      LLVMValueRef lo[64], hi[64];
      for (int k = 0; k < vl; k++) {
        lo[k] = LLVMConstInt(cg->i32, (unsigned)((k & h) ? vl + k - h : k), 0);
        hi[k] = LLVMConstInt(cg->i32, (unsigned)((k & h) ? vl + k : k + h), 0);
      }
      LLVMValueRef a = v[i], b = v[i + h];
      v[i] = LLVMBuildShuffleVector(cg->b, a, b, LLVMConstVector(lo, (unsigned)vl), "");
      v[i + h] = LLVMBuildShuffleVector(cg->b, a, b, LLVMConstVector(hi, (unsigned)vl), "");
    }
}

/* Xᵀ[i][b] = x[b][io + i] for b < n, 0 for the padding; inputs scaled when the module has
 * compiled-in input scaling. Per block of VL samples: whole VL×VL blocks are loaded as VL row
 * vectors and transposed in registers; the last columns (size mod VL) are assembled from
 * scalars. Every vector of Xᵀ is stored whole. */
static void emit_input_transpose(Cg *cg, const IrGroup *g, const Batch *bt, LLVMValueRef x) {
  int vl = cg_vec_len(cg);
  CgLoop lb, li;
  LLVMValueRef blk = cg_loop_begin(cg, &lb, LLVMBuildSDiv(cg->b, bt->npad, cg_int(cg, vl), ""), "tb");
  LLVMValueRef b0 = LLVMBuildMul(cg->b, blk, cg_int(cg, vl), "");
  LLVMValueRef rows[64];
  LLVMValueRef last = LLVMBuildSub(cg->b, bt->n, cg_int(cg, 1), "");
  LLVMValueRef inside = LLVMGetUndef(LLVMVectorType(cg->i1, (unsigned)vl));
  for (int k = 0; k < vl; k++) { /* padding lanes read the last real row, then become 0 */
    LLVMValueRef b = LLVMBuildAdd(cg->b, b0, cg_int(cg, k), "");
    LLVMValueRef in = LLVMBuildICmp(cg->b, LLVMIntSLT, b, bt->n, "");
    inside = LLVMBuildInsertElement(cg->b, inside, in, LLVMConstInt(cg->i32, (unsigned)k, 0), "");
    LLVMValueRef row = LLVMBuildSelect(cg->b, in, b, last, "");
    rows[k] = cg_elem(cg, x, LLVMBuildAdd(cg->b, LLVMBuildMul(cg->b, row, cg_int(cg, cg->net->n_inputs), ""),
                                          cg_int(cg, g->io_offset), ""));
  }
  LLVMValueRef zero = LLVMConstNull(cg_vec_type(cg));
  int64_t whole = g->size / vl;
  if (whole > 0) {
    LLVMValueRef i0 = LLVMBuildMul(cg->b, cg_loop_begin(cg, &li, cg_int(cg, whole), "tw"), cg_int(cg, vl), "");
    LLVMValueRef v[64];
    for (int k = 0; k < vl; k++) v[k] = cg_vload(cg, cg_elem(cg, rows[k], i0), NULL);
    transpose_block(cg, v, vl);
    for (int k = 0; k < vl; k++) {
      LLVMValueRef i = LLVMBuildAdd(cg->b, i0, cg_int(cg, k), "");
      v[k] = cg_scale_input(cg, v[k], LLVMBuildAdd(cg->b, cg_int(cg, g->io_offset), i, ""));
      cg_vstore(cg, LLVMBuildSelect(cg->b, inside, v[k], zero, ""),
                cg_elem(cg, bt->bufs[g->id].at, idx2(cg, i, bt->npad, b0, NULL)), NULL);
    }
    cg_loop_end(cg, &li);
  }
  if (g->size % vl) {
    LLVMValueRef i = cg_loop_begin(cg, &li, cg_int(cg, g->size % vl), "ti");
    i = LLVMBuildAdd(cg->b, i, cg_int(cg, whole * vl), "");
    LLVMValueRef v = LLVMGetUndef(cg_vec_type(cg));
    for (int k = 0; k < vl; k++)
      v = LLVMBuildInsertElement(cg->b, v, cg_load(cg, rows[k], i), LLVMConstInt(cg->i32, (unsigned)k, 0), "");
    v = cg_scale_input(cg, v, LLVMBuildAdd(cg->b, cg_int(cg, g->io_offset), i, ""));
    cg_vstore(cg, LLVMBuildSelect(cg->b, inside, v, zero, ""),
              cg_elem(cg, bt->bufs[g->id].at, idx2(cg, i, bt->npad, b0, NULL)), NULL);
    cg_loop_end(cg, &li);
  }
  cg_loop_end(cg, &lb);
}

/* A[b][j] = Aᵀ[j][b]: the batch-major copy backprop reads. Per block of VL samples, whole
 * VL×VL blocks are transposed in registers; the last rows (size mod VL) of Aᵀ are loaded
 * whole and their lanes stored one by one. */
static void emit_transpose_out(Cg *cg, const IrGroup *g, const Batch *bt) {
  int vl = cg_vec_len(cg);
  int64_t pad = padded(cg, g), whole = g->size / vl;
  CgLoop lb, lj;
  LLVMValueRef blk = cg_loop_begin(cg, &lb, LLVMBuildSDiv(cg->b, bt->npad, cg_int(cg, vl), ""), "ob");
  LLVMValueRef b0 = LLVMBuildMul(cg->b, blk, cg_int(cg, vl), "");
  LLVMValueRef rows = cg_elem(cg, bt->bufs[g->id].a, LLVMBuildMul(cg->b, b0, cg_int(cg, pad), ""));
  if (whole > 0) {
    LLVMValueRef j0 = LLVMBuildMul(cg->b, cg_loop_begin(cg, &lj, cg_int(cg, whole), "ow"), cg_int(cg, vl), "");
    LLVMValueRef v[64];
    for (int k = 0; k < vl; k++)
      v[k] = cg_vload(cg, cg_elem(cg, bt->bufs[g->id].at,
                                  idx2(cg, LLVMBuildAdd(cg->b, j0, cg_int(cg, k), ""), bt->npad, b0, NULL)), NULL);
    transpose_block(cg, v, vl);
    for (int k = 0; k < vl; k++)
      cg_vstore(cg, v[k], cg_elem(cg, rows, LLVMBuildAdd(cg->b, cg_int(cg, (int64_t)k * pad), j0, "")), NULL);
    cg_loop_end(cg, &lj);
  }
  if (g->size % vl) {
    LLVMValueRef j = LLVMBuildAdd(cg->b, cg_loop_begin(cg, &lj, cg_int(cg, g->size % vl), "oj"),
                                  cg_int(cg, whole * vl), "");
    LLVMValueRef v = cg_vload(cg, cg_elem(cg, bt->bufs[g->id].at, idx2(cg, j, bt->npad, b0, NULL)), NULL);
    for (int k = 0; k < vl; k++) {
      LLVMValueRef e = LLVMBuildExtractElement(cg->b, v, LLVMConstInt(cg->i32, (unsigned)k, 0), "");
      cg_store(cg, rows, LLVMBuildAdd(cg->b, cg_int(cg, (int64_t)k * pad), j, ""), e);
    }
    cg_loop_end(cg, &lj);
  }
  cg_loop_end(cg, &lb);
}

/* Aᵀ = f(Zᵀ) in place; outputs that keep their logits get f applied to A instead. */
static void emit_activation_inplace(Cg *cg, const IrGroup *g, const Batch *bt) {
  if (g->act == ACT_IDENTITY || cg_normalises(g->act) || cg_keeps_logits(cg, g)) return;
  CgLoop lj, lb;
  LLVMValueRef j = cg_loop_begin(cg, &lj, cg_int(cg, g->size), "aj");
  LLVMValueRef b = cg_loop_begin(cg, &lb, bt->npad, "ab");
  LLVMValueRef k = idx2(cg, j, bt->npad, b, NULL);
  cg_store(cg, bt->bufs[g->id].at, k, cg_activate(cg, g->act, g->act_param, cg_load(cg, bt->bufs[g->id].at, k)));
  cg_loop_end(cg, &lb);
  cg_loop_end(cg, &lj);
}

/* Sample b's mask of unit j of g. */
static LLVMValueRef batch_mask(Cg *cg, const IrGroup *g, const Batch *bt, LLVMValueRef b, LLVMValueRef j) {
  LLVMValueRef u = LLVMBuildAdd(cg->b, cg_int(cg, g->dropout_offset), j, "");
  return cg_load(cg, bt->masks, idx2(cg, b, cg_int(cg, cg->net->n_dropout), u, NULL));
}

/* Aᵀ[j][b] ·= M[b][u_j] over the real samples: y·m, what the next layer reads and (once
 * transposed) backprop finds in A. The padding samples' columns stay unmasked: nothing reads
 * them into a real sample's result. */
static void emit_dropout_forward(Cg *cg, const IrGroup *g, const Batch *bt) {
  if (!bt->masks || g->dropout <= 0) return;
  CgLoop lj, lb;
  LLVMValueRef j = cg_loop_begin(cg, &lj, cg_int(cg, g->size), "mj");
  LLVMValueRef b = cg_loop_begin(cg, &lb, bt->n, "mb");
  LLVMValueRef k = idx2(cg, j, bt->npad, b, NULL);
  LLVMValueRef m = batch_mask(cg, g, bt, b, j);
  cg_store(cg, bt->bufs[g->id].at, k, cg_fmul(cg, cg_load(cg, bt->bufs[g->id].at, k), m));
  cg_loop_end(cg, &lb);
  cg_loop_end(cg, &lj);
}

/* softmax of each real sample's row of A. */
static void emit_softmax_rows(Cg *cg, const IrGroup *g, const Batch *bt) {
  CgLoop lb;
  LLVMValueRef b = cg_loop_begin(cg, &lb, bt->n, "sb");
  LLVMValueRef row = cg_elem(cg, bt->bufs[g->id].a, LLVMBuildMul(cg->b, b, cg_int(cg, padded(cg, g)), ""));
  cg_softmax(cg, row, cg_int(cg, g->size), g->act);
  cg_loop_end(cg, &lb);
}

/* A = f(A) over every row, for outputs whose Aᵀ keeps the logits (softmax aside). */
static void emit_activation_rows(Cg *cg, const IrGroup *g, const Batch *bt) {
  if (g->act == ACT_IDENTITY || cg_normalises(g->act)) return;
  CgLoop lb, lj;
  LLVMValueRef b = cg_loop_begin(cg, &lb, bt->npad, "rb");
  LLVMValueRef j = cg_loop_begin(cg, &lj, cg_int(cg, g->size), "rj");
  LLVMValueRef k = idx2(cg, b, cg_int(cg, padded(cg, g)), j, NULL);
  cg_store(cg, bt->bufs[g->id].a, k, cg_activate(cg, g->act, g->act_param, cg_load(cg, bt->bufs[g->id].a, k)));
  cg_loop_end(cg, &lj);
  cg_loop_end(cg, &lb);
}

static LLVMValueRef edge_params(Cg *cg, LLVMValueRef params, const IrEdges *e) {
  return cg_elem(cg, params, cg_int(cg, e->param_offset));
}

static void emit_group_forward_batch(Cg *cg, const IrGroup *g, LLVMValueRef params, const Batch *bt) {
  const IrEdges *bias = &g->in[g->n_in - 1];
  int first = 1;
  for (int k = 0; k < g->n_in - 1; k++) {
    const IrEdges *e = &g->in[k];
    const IrGroup *src = &cg->net->groups[e->src];
    Gemm m = {0};
    m.a = edge_params(cg, params, e), m.a_rs = cg_int(cg, src->size), m.a_ks = cg_int(cg, 1);
    m.b = bt->bufs[src->id].at, m.b_ks = bt->npad;
    m.o = bt->bufs[g->id].at, m.o_rs = bt->npad;
    m.k = cg_int(cg, src->size), m.k_const = src->size, m.k_block = 128;
    m.rows_const = g->size, m.rows = cg_int(cg, g->size);
    m.cols = bt->npad, m.cols_const = -1;
    TileShape ts = tile_shape(cg, 0);
    m.rt = ts.rt, m.vt = ts.vt;
    m.out = first ? OUT_STORE : OUT_ADD;
    m.work = bt->work;
    if (first && bias->weight == WEIGHT_FIXED) m.bias_const = bias->value;
    else if (first) m.bias = edge_params(cg, params, bias);
    emit_gemm(cg, &m);
    first = 0;
  }
  emit_activation_inplace(cg, g, bt);
  emit_dropout_forward(cg, g, bt);
  emit_transpose_out(cg, g, bt);
  if (cg_keeps_logits(cg, g)) emit_activation_rows(cg, g, bt);
  if (cg_normalises(g->act)) emit_softmax_rows(cg, g, bt);
}

/* --- backward ----------------------------------------------------------------------- */

static void emit_batch_loss(Cg *cg, const IrGroup *g, const Batch *bt, LLVMValueRef t, LLVMValueRef loss) {
  CgLoop lb;
  LLVMValueRef b = cg_loop_begin(cg, &lb, bt->n, "lb");
  int64_t pad = padded(cg, g);
  LLVMValueRef row = LLVMBuildMul(cg->b, b, cg_int(cg, pad), "");
  LLVMValueRef y = cg_elem(cg, bt->bufs[g->id].a, row), G = cg_elem(cg, bt->bufs[g->id].g, row);
  LLVMValueRef trow = cg_elem(cg, t, LLVMBuildMul(cg->b, b, cg_int(cg, cg->net->n_outputs), ""));
  LLVMValueRef z = cg_elem(cg, bt->bufs[g->id].at, b); /* column b of Zᵀ */
  cg_emit_output_loss(cg, cg_output_of(cg, g), y, G, trow, loss, z, bt->npad);
  cg_loop_end(cg, &lb);
}

/* D = G · f'(y) (with dropout, G·m·f'(y)) in place over the real samples (padding rows stay zero). */
static void emit_delta(Cg *cg, const IrGroup *g, const Batch *bt) {
  int drops = bt->masks && g->dropout > 0;
  if (!drops && (cg_delta_is_direct(cg, g) || g->act == ACT_IDENTITY)) return;
  CgLoop lb, lj;
  LLVMValueRef b = cg_loop_begin(cg, &lb, bt->n, "db");
  LLVMValueRef j = cg_loop_begin(cg, &lj, cg_int(cg, g->size), "dj");
  LLVMValueRef k = idx2(cg, b, cg_int(cg, padded(cg, g)), j, NULL);
  LLVMValueRef G = cg_load(cg, bt->bufs[g->id].g, k), A = cg_load(cg, bt->bufs[g->id].a, k);
  LLVMValueRef d = drops ? cg_dropout_delta(cg, g, G, batch_mask(cg, g, bt, b, j), A)
                         : cg_fmul(cg, G, cg_derivative(cg, g->act, g->act_param, A));
  cg_store(cg, bt->bufs[g->id].g, k, d);
  cg_loop_end(cg, &lj);
  cg_loop_end(cg, &lb);
}

/* --- a batch in parts (threads: owner computes) --------------------------------------- */

/* Part s: its sample count, padded count, inputs and region. */
typedef struct Part {
  LLVMValueRef n, npad, x, region;
} Part;

static LLVMValueRef batch_npad(Cg *cg, LLVMValueRef n) {
  int64_t align = cg_batch_align(cg->net, cg->vec_bytes);
  return LLVMBuildMul(cg->b, LLVMBuildSDiv(cg->b, LLVMBuildAdd(cg->b, n, cg_int(cg, align - 1), ""), cg_int(cg, align), ""),
                      cg_int(cg, align), "npad");
}

static LLVMValueRef load_at(Cg *cg, LLVMTypeRef t, LLVMValueRef base, LLVMValueRef i) {
  return LLVMBuildLoad2(cg->b, t, LLVMBuildInBoundsGEP2(cg->b, t, base, &i, 1, ""), "");
}

static Part part_of(Cg *cg, const Parts *ps, LLVMValueRef s) {
  Part p;
  p.n = load_at(cg, cg->i64, ps->ns, s);
  p.npad = batch_npad(cg, p.n);
  p.x = load_at(cg, cg->ptr, ps->xs, s);
  p.region = cg_batch_region(cg, load_at(cg, cg->ptr, ps->scratches, s), p.n);
  return p;
}

/* Part s's D of m's group (A), its source's outputs (B) and sample count (k). */
static void part_at(Cg *cg, const Gemm *m, LLVMValueRef s, LLVMValueRef *a, LLVMValueRef *b, LLVMValueRef *k) {
  Part p = part_of(cg, m->parts, s);
  *k = p.n;
  *a = buf_at(cg, p.region, p.npad, buf_offsets(cg, m->group->id).g);
  *b = m->src->role == ROLE_INPUT ? cg_elem(cg, p.x, cg_int(cg, m->src->io_offset))
                                   : buf_at(cg, p.region, p.npad, buf_offsets(cg, m->src->id).a);
}

/* sum += D[b][j] over the n samples of the D rows at d (row length: g padded), in order. */
static void emit_column_sum(Cg *cg, const IrGroup *g, LLVMValueRef d, LLVMValueRef n, LLVMValueRef j, LLVMValueRef sum) {
  CgLoop lb;
  LLVMValueRef b = cg_loop_begin(cg, &lb, n, "bb");
  LLVMValueRef v = cg_load(cg, d, idx2(cg, b, cg_int(cg, padded(cg, g)), j, NULL));
  LLVMBuildStore(cg->b, LLVMBuildFAdd(cg->b, LLVMBuildLoad2(cg->b, cg->real, sum, ""), v, ""), sum);
  cg_loop_end(cg, &lb);
}

/* bias: Σ_b D[b][j] of rows [lo, hi) into the gradient or the step, summed in sample order:
 * the batch's (bt), or its parts' one after the other (parts). */
static void emit_bias_grad(Cg *cg, const IrGroup *g, const IrEdges *e, const Batch *bt, const Parts *parts,
                           LLVMValueRef lo, LLVMValueRef hi, LLVMValueRef out, LLVMValueRef scale) {
  if (e->weight == WEIGHT_FIXED) return;
  CgLoop lj, lp;
  LLVMValueRef sum = cg_alloca(cg, cg->real, "bsum");
  LLVMValueRef j = LLVMBuildAdd(cg->b, cg_loop_begin(cg, &lj, LLVMBuildSub(cg->b, hi, lo, ""), "bj"), lo, "");
  LLVMBuildStore(cg->b, cg_real(cg, 0.0), sum);
  if (parts) {
    LLVMValueRef s = cg_loop_begin(cg, &lp, parts->count, "bp");
    Part p = part_of(cg, parts, s);
    emit_column_sum(cg, g, buf_at(cg, p.region, p.npad, buf_offsets(cg, g->id).g), p.n, j, sum);
    cg_loop_end(cg, &lp);
  } else {
    emit_column_sum(cg, g, bt->bufs[g->id].g, bt->n, j, sum);
  }
  LLVMValueRef v = LLVMBuildLoad2(cg->b, cg->real, sum, "");
  LLVMValueRef idx = LLVMBuildAdd(cg->b, cg_int(cg, e->param_offset), j, "");
  LLVMValueRef old = cg_load(cg, out, idx);
  cg_store(cg, out, idx, scale ? cg_fsub(cg, old, cg_fmul(cg, scale, v)) : cg_fadd(cg, old, v));
  cg_loop_end(cg, &lj);
}

/* G_src[b][i] += Σ_j D[b][j] W[j][i]: what backprop passes on to a computed source. */
static void emit_input_grad_batch(Cg *cg, const IrGroup *g, const IrEdges *e, LLVMValueRef params, const Batch *bt) {
  const IrGroup *src = &cg->net->groups[e->src];
  if (src->role != ROLE_HIDDEN && src->role != ROLE_OUTPUT) return;
  Gemm m = {0};
  m.a = bt->bufs[g->id].g, m.a_rs = cg_int(cg, padded(cg, g)), m.a_ks = cg_int(cg, 1);
  m.b = edge_params(cg, params, e), m.b_ks = cg_int(cg, src->size);
  m.o = bt->bufs[src->id].g, m.o_rs = cg_int(cg, padded(cg, src));
  m.k = cg_int(cg, g->size);
  m.rows = bt->npad, m.rows_const = -1;
  m.cols = cg_int(cg, src->size), m.cols_const = src->size;
  TileShape ts = tile_shape(cg, cg_batch_align(cg->net, cg->vec_bytes));
  m.rt = ts.rt, m.vt = ts.vt, m.cols_outer = 1;
  m.out = OUT_ADD;
  m.work = bt->work;
  emit_gemm(cg, &m);
}

/* The weights' term of edge set e into g, Σ_b D[b][j] X[b][i], written to out as `wout` says:
 * OUT_SUBSCALED (the fused SGD step, W −= scale · term), OUT_ADD (grad += term) or
 * OUT_STORE (grad = term, no zeroing first). A, B and k are the caller's. */
static Gemm weight_grad_gemm(Cg *cg, const IrGroup *g, const IrEdges *e, LLVMValueRef out, int wout,
                             LLVMValueRef scale) {
  const IrGroup *src = &cg->net->groups[e->src];
  Gemm m = {0};
  m.a_rs = cg_int(cg, 1), m.a_ks = cg_int(cg, padded(cg, g));
  m.b_ks = cg_int(cg, src->role == ROLE_INPUT ? cg->net->n_inputs : padded(cg, src));
  m.o = edge_params(cg, out, e), m.o_rs = cg_int(cg, src->size);
  m.rows = cg_int(cg, g->size), m.rows_const = g->size;
  m.cols = cg_int(cg, src->size), m.cols_const = src->size;
  TileShape ts = tile_shape(cg, 0);
  m.rt = ts.rt, m.vt = ts.vt, m.cols_outer = 1;
  m.out = wout;
  m.scale = scale;
  m.group = g, m.src = src;
  return m;
}

/* The operands of edge set e's weights' term in a batch: D of g (A) and its source's
 * outputs X (B), batch-major. */
static void weight_operands(Cg *cg, const IrGroup *g, const IrEdges *e, LLVMValueRef x, const Batch *bt,
                            LLVMValueRef *a, LLVMValueRef *b) {
  const IrGroup *src = &cg->net->groups[e->src];
  *a = bt->bufs[g->id].g;
  *b = src->role == ROLE_INPUT ? cg_elem(cg, x, cg_int(cg, src->io_offset)) : bt->bufs[src->id].a;
}

/* An edge set's backward step: the input gradient, then the weights' term (weight_grad_gemm). */
static void emit_set_backward_batch(Cg *cg, const IrGroup *g, const IrEdges *e, LLVMValueRef params,
                                    LLVMValueRef x, const Batch *bt, LLVMValueRef out, int wout) {
  emit_input_grad_batch(cg, g, e, params, bt);
  Gemm m = weight_grad_gemm(cg, g, e, out, wout, NULL);
  weight_operands(cg, g, e, x, bt, &m.a, &m.b);
  m.k = bt->n;
  m.work = bt->work;
  emit_gemm(cg, &m);
}

/* --- functions ---------------------------------------------------------------------- */

/* Begins a batch kernel named name; while cg->dropout (the training kernels of a network with
 * dropout) it takes one more parameter, the batch's masks (noalias: only read), and its name
 * ends in d. */
static LLVMValueRef batch_function(Cg *cg, const char *name, LLVMTypeRef ret, LLVMTypeRef *ps, unsigned n,
                                   unsigned noalias) {
  if (!cg->dropout) return cg_begin_function(cg, name, ret, ps, n, noalias, 1);
  LLVMTypeRef all[16];
  char dname[64];
  NNC_ASSERT(n < 16 && strlen(name) + 2 <= sizeof dname);
  memcpy(all, ps, n * sizeof *ps);
  all[n] = cg->ptr;
  snprintf(dname, sizeof dname, "%sd", name);
  return cg_begin_function(cg, dname, ret, all, n + 1, noalias | 1u << n, 1);
}

/* Begins a batch kernel. Its loops are tiled by hand and stay loops: unrolling them (which a
 * small network's optimisation does to every loop) only costs compile time (82-32-19: a
 * third of it) at no gain in speed. */
static void batch_begin(Cg *cg, Batch *bt, LLVMValueRef n, LLVMValueRef region) {
  cg->rolled = 1;
  bt->n = n;
  bt->region = region;
  bt->npad = batch_npad(cg, n);
  bt->bufs = xcalloc((size_t)cg->net->n_groups, sizeof(BatchBufs));
  bt->masks = cg->dropout ? LLVMGetParam(cg->fn, LLVMCountParams(cg->fn) - 1) : NULL;
  batch_layout(cg, bt, region);
  bt->work = NULL;
  if (cg->bf16) { /* after the buffers of the npad samples */
    int64_t bytes = cg_batch_reals_per_sample(cg->net, cg->vec_bytes) * cg->real_bytes;
    LLVMValueRef off = LLVMBuildMul(cg->b, bt->npad, cg_int(cg, bytes), "");
    bt->work = LLVMBuildInBoundsGEP2(cg->b, cg->i8, region, &off, 1, "bf16_work");
  }
}

static void batch_end(Cg *cg, Batch *bt) {
  free(bt->bufs);
  cg->rolled = 0;
}

/* precision bf16: the forward pass's workspace, from the end of the last Aᵀ or A on (no G is
 * live yet), so that NAME_forward keeps to NAME_FORWARD_SCRATCH_BYTES; within the training
 * kernels' workspace, before the operands a part keeps. */
static LLVMValueRef forward_work(Cg *cg, const Batch *bt) {
  int64_t tail, bytes = cg_batch_forward_reals_per_sample(cg->net, cg->vec_bytes, &tail) * cg->real_bytes;
  LLVMValueRef off = LLVMBuildMul(cg->b, bt->npad, cg_int(cg, bytes), "");
  return LLVMBuildInBoundsGEP2(cg->b, cg->i8, bt->region, &off, 1, "bf16_forward_work");
}

/* nnc.forwardB(params, n, x, region): the batch's activations, Aᵀ and A of every group, in
 * the region; built once and called by every batch entry point (nnc.forwardBd(…, masks):
 * dropout's, called by the training kernels of a network with dropout). */
LLVMValueRef cg_build_forward_body(Cg *cg) {
  const IrNetwork *n = cg->net;
  LLVMTypeRef ps[] = {cg->ptr, cg->i64, cg->ptr, cg->ptr};
  LLVMValueRef fn = batch_function(cg, "nnc.forwardB", cg->void_t, ps, 4, 0xd);
  LLVMValueRef params = LLVMGetParam(fn, 0), x = LLVMGetParam(fn, 2);
  Batch bt;
  batch_begin(cg, &bt, LLVMGetParam(fn, 1), LLVMGetParam(fn, 3));
  if (cg->bf16) bt.work = forward_work(cg, &bt);
  for (int i = 0; i < n->n_groups; i++)
    if (n->groups[i].role == ROLE_INPUT) emit_input_transpose(cg, &n->groups[i], &bt, x);
  for (int i = 0; i < n->n_order; i++) emit_group_forward_batch(cg, &n->groups[n->order[i]], params, &bt);
  LLVMBuildRetVoid(cg->b);
  batch_end(cg, &bt);
  return fn;
}

static void emit_forward_batch(Cg *cg, const Batch *bt, LLVMValueRef params, LLVMValueRef x) {
  LLVMValueRef args[] = {params, bt->n, x, bt->region, bt->masks};
  LLVMBuildCall2(cg->b, LLVMGlobalGetValueType(cg->batch_forward), cg->batch_forward, args, bt->masks ? 5 : 4, "");
}

/* y[b][io + j] = A[b][j] for the real samples of every output group. */
static void emit_copy_outputs(Cg *cg, const Batch *bt, LLVMValueRef y) {
  const IrNetwork *n = cg->net;
  for (int i = 0; i < n->n_groups; i++) {
    const IrGroup *g = &n->groups[i];
    if (g->role != ROLE_OUTPUT) continue;
    CgLoop lb, lj;
    LLVMValueRef b = cg_loop_begin(cg, &lb, bt->n, "yb");
    LLVMValueRef j = cg_loop_begin(cg, &lj, cg_int(cg, g->size), "yj");
    LLVMValueRef v = cg_load(cg, bt->bufs[i].a, idx2(cg, b, cg_int(cg, padded(cg, g)), j, NULL));
    cg_store(cg, y, LLVMBuildAdd(cg->b, idx2(cg, b, cg_int(cg, n->n_outputs), j, NULL), cg_int(cg, g->io_offset), ""), v);
    cg_loop_end(cg, &lj);
    cg_loop_end(cg, &lb);
  }
}

/* nnc.forwardN(params, n, x, y, region): y[b] = network(x[b]) for a batch. */
LLVMValueRef cg_build_forward_batch(Cg *cg) {
  LLVMTypeRef ps[] = {cg->ptr, cg->i64, cg->ptr, cg->ptr, cg->ptr};
  LLVMValueRef fn = cg_begin_function(cg, "nnc.forwardN", cg->void_t, ps, 5, 0x1d, 1);
  LLVMValueRef params = LLVMGetParam(fn, 0), count = LLVMGetParam(fn, 1), x = LLVMGetParam(fn, 2),
               y = LLVMGetParam(fn, 3), region = LLVMGetParam(fn, 4);
  Batch bt;
  batch_begin(cg, &bt, count, region);
  emit_forward_batch(cg, &bt, params, x);
  emit_copy_outputs(cg, &bt, y);
  LLVMBuildRetVoid(cg->b);
  batch_end(cg, &bt);
  return fn;
}

/* nnc.evalN(params, n, x, t, y, region) -> summed loss: the batch forward, outputs copied
 * to y, and the loss (the gradient it also yields lands in the outputs' G, unused). */
LLVMValueRef cg_build_eval_batch(Cg *cg) {
  const IrNetwork *n = cg->net;
  LLVMTypeRef ps[] = {cg->ptr, cg->i64, cg->ptr, cg->ptr, cg->ptr, cg->ptr};
  LLVMValueRef fn = cg_begin_function(cg, "nnc.evalN", cg->real, ps, 6, 0x3d, 1);
  LLVMValueRef params = LLVMGetParam(fn, 0), count = LLVMGetParam(fn, 1), x = LLVMGetParam(fn, 2),
               t = LLVMGetParam(fn, 3), y = LLVMGetParam(fn, 4), region = LLVMGetParam(fn, 5);
  Batch bt;
  batch_begin(cg, &bt, count, region);
  emit_forward_batch(cg, &bt, params, x);
  emit_copy_outputs(cg, &bt, y);
  LLVMValueRef loss = cg_alloca(cg, cg->real, "loss");
  LLVMBuildStore(cg->b, cg_real(cg, 0.0), loss);
  for (int i = 0; i < n->n_groups; i++)
    if (n->groups[i].role == ROLE_OUTPUT) emit_batch_loss(cg, &n->groups[i], &bt, t, loss);
  LLVMBuildRet(cg->b, LLVMBuildLoad2(cg->b, cg->real, loss, ""));
  batch_end(cg, &bt);
  return fn;
}

/* The forward pass of a batch, every computed group's G zeroed (padding rows included) and
 * the batch's summed loss in a stack slot, which is returned: what a backward sweep starts from. */
static LLVMValueRef emit_forward_and_loss(Cg *cg, Batch *bt, LLVMValueRef params, LLVMValueRef x,
                                          LLVMValueRef t) {
  const IrNetwork *n = cg->net;
  emit_forward_batch(cg, bt, params, x);
  for (int i = 0; i < n->n_groups; i++)
    if (bt->bufs[i].g)
      cg_zero(cg, bt->bufs[i].g, LLVMBuildMul(cg->b, bt->npad, cg_int(cg, padded(cg, &n->groups[i])), ""));
  LLVMValueRef loss = cg_alloca(cg, cg->real, "loss");
  LLVMBuildStore(cg->b, cg_real(cg, 0.0), loss);
  for (int i = 0; i < n->n_groups; i++)
    if (n->groups[i].role == ROLE_OUTPUT) emit_batch_loss(cg, &n->groups[i], bt, t, loss);
  return loss;
}

/* nnc.backwardN(params, n, x, t, grad, region) -> summed loss: the batch's gradient added
 * into grad. (The SGD step of a batch is nnc.deltasN, then nnc.sgdRows of one part.) */
LLVMValueRef cg_build_train_batch(Cg *cg) {
  const IrNetwork *n = cg->net;
  LLVMTypeRef ps[] = {cg->ptr, cg->i64, cg->ptr, cg->ptr, cg->ptr, cg->ptr};
  LLVMValueRef fn = batch_function(cg, "nnc.backwardN", cg->real, ps, 6, 0x3d);
  LLVMValueRef params = LLVMGetParam(fn, 0), count = LLVMGetParam(fn, 1), x = LLVMGetParam(fn, 2),
               t = LLVMGetParam(fn, 3), grad = LLVMGetParam(fn, 4), region = LLVMGetParam(fn, 5);
  Batch bt;
  batch_begin(cg, &bt, count, region);
  LLVMValueRef loss = emit_forward_and_loss(cg, &bt, params, x, t);
  for (int i = n->n_order - 1; i >= 0; i--) {
    const IrGroup *g = &n->groups[n->order[i]];
    emit_delta(cg, g, &bt);
    for (int k = 0; k < g->n_in - 1; k++) emit_set_backward_batch(cg, g, &g->in[k], params, x, &bt, grad, OUT_ADD);
    emit_bias_grad(cg, g, &g->in[g->n_in - 1], &bt, NULL, cg_int(cg, 0), cg_int(cg, g->size), grad, NULL);
  }
  LLVMBuildRet(cg->b, LLVMBuildLoad2(cg->b, cg->real, loss, ""));
  batch_end(cg, &bt);
  return fn;
}

/* precision bf16: where a part keeps the packed operands of edge set e's weights' term
 * (cg_bf16_pack), for nnc.sgdRows: after the products' workspace, the edge sets of every
 * group in network order, each cg_bf16_packed_bytes for the part's n samples. */
static LLVMValueRef kept_pack(Cg *cg, LLVMValueRef region, LLVMValueRef npad, LLVMValueRef n, const IrEdges *e) {
  const IrNetwork *net = cg->net;
  int64_t fixed, ps, batch = cg_batch_reals_per_sample(net, cg->vec_bytes) * cg->real_bytes;
  cg_bf16_work(net, &fixed, &ps);
  LLVMValueRef off = LLVMBuildAdd(cg->b, LLVMBuildMul(cg->b, npad, cg_int(cg, batch + ps), ""), cg_int(cg, fixed), "");
  for (int i = 0; i < net->n_groups; i++)
    for (int k = 0; k < net->groups[i].n_in - 1; k++) {
      const IrEdges *before = &net->groups[i].in[k];
      if (before == e) return LLVMBuildInBoundsGEP2(cg->b, cg->i8, region, &off, 1, "kept");
      off = LLVMBuildAdd(cg->b, off, cg_bf16_packed_bytes(cg, net->groups[i].size, net->groups[before->src].size, n), "");
    }
  NNC_ASSERT(!"edge set not in the network");
  return NULL;
}

/* precision bf16, in a part's deltas: each edge set's weights'-term operands into g's keep. */
static void emit_keep_weight_operands(Cg *cg, const IrGroup *g, LLVMValueRef params, LLVMValueRef x, const Batch *bt) {
  for (int k = 0; k < g->n_in - 1; k++) {
    const IrEdges *e = &g->in[k];
    Gemm m = weight_grad_gemm(cg, g, e, params, OUT_ADD, NULL);
    weight_operands(cg, g, e, x, bt, &m.a, &m.b);
    CgBf16Product p = {m.a, m.a_rs, m.a_ks, m.b, m.b_ks, m.rows, m.cols, bt->n, m.rows_const, m.cols_const, NULL};
    cg_bf16_pack(cg, &p, kept_pack(cg, bt->region, bt->npad, bt->n, e));
  }
}

/* nnc.deltasN(params, n, x, t, region) -> summed loss: the first half of a step that threads
 * share (owner computes): the batch's forward pass and every computed group's delta D, left
 * in its G; no weight is touched. Each thread runs it on its part of the batch. */
LLVMValueRef cg_build_deltas_batch(Cg *cg) {
  const IrNetwork *n = cg->net;
  LLVMTypeRef ps[] = {cg->ptr, cg->i64, cg->ptr, cg->ptr, cg->ptr};
  LLVMValueRef fn = batch_function(cg, "nnc.deltasN", cg->real, ps, 5, 0x1d);
  LLVMValueRef params = LLVMGetParam(fn, 0), x = LLVMGetParam(fn, 2), t = LLVMGetParam(fn, 3);
  Batch bt;
  batch_begin(cg, &bt, LLVMGetParam(fn, 1), LLVMGetParam(fn, 4));
  LLVMValueRef loss = emit_forward_and_loss(cg, &bt, params, x, t);
  for (int i = n->n_order - 1; i >= 0; i--) {
    const IrGroup *g = &n->groups[n->order[i]];
    emit_delta(cg, g, &bt);
    for (int k = 0; k < g->n_in - 1; k++) emit_input_grad_batch(cg, g, &g->in[k], params, &bt);
    if (cg->bf16) emit_keep_weight_operands(cg, g, params, x, &bt);
  }
  LLVMBuildRet(cg->b, LLVMBuildLoad2(cg->b, cg->real, loss, ""));
  batch_end(cg, &bt);
  return fn;
}

/* Σ ns[s] over the parts, as a real. */
static LLVMValueRef parts_total(Cg *cg, const Parts *ps) {
  LLVMValueRef total = cg_alloca(cg, cg->i64, "total");
  LLVMBuildStore(cg->b, cg_int(cg, 0), total);
  CgLoop l;
  LLVMValueRef s = cg_loop_begin(cg, &l, ps->count, "tp");
  LLVMBuildStore(cg->b, LLVMBuildAdd(cg->b, LLVMBuildLoad2(cg->b, cg->i64, total, ""), load_at(cg, cg->i64, ps->ns, s), ""), total);
  cg_loop_end(cg, &l);
  return LLVMBuildSIToFP(cg->b, LLVMBuildLoad2(cg->b, cg->i64, total, ""), cg->real, "");
}

/* The rows of group g (the i-th in evaluation order) that part `part` of `of` owns: the
 * bands [band_lo, band_hi) of weight_grad_gemm's tile rows, and the row tail where `tail`;
 * rows [lo, hi) in all. The tail's owner turns with i, so that no part takes every tail. */
typedef struct OwnedRows {
  LLVMValueRef band_lo, band_hi, tail, lo, hi;
} OwnedRows;

static OwnedRows owned_rows(Cg *cg, const IrGroup *g, int i, LLVMValueRef part, LLVMValueRef of) {
  int64_t rt = cg->bf16 ? 16 : tile_shape(cg, 0).rt; /* weight_grad_gemm's, or bf16's tiles */
  LLVMValueRef bands = cg_int(cg, g->size / rt), one = cg_int(cg, 1);
  LLVMValueRef slot = LLVMBuildSRem(cg->b, LLVMBuildAdd(cg->b, part, cg_int(cg, i), ""), of, "slot");
  OwnedRows o;
  o.tail = LLVMBuildICmp(cg->b, LLVMIntEQ, slot, LLVMBuildSub(cg->b, of, one, ""), "tail");
  o.band_lo = LLVMBuildSDiv(cg->b, LLVMBuildMul(cg->b, bands, slot, ""), of, "band_lo");
  o.band_hi = LLVMBuildSDiv(cg->b, LLVMBuildMul(cg->b, bands, LLVMBuildAdd(cg->b, slot, one, ""), ""), of, "band_hi");
  o.lo = LLVMBuildMul(cg->b, o.band_lo, cg_int(cg, rt), "");
  o.hi = LLVMBuildSelect(cg->b, o.tail, cg_int(cg, g->size), LLVMBuildMul(cg->b, o.band_hi, cg_int(cg, rt), ""), "");
  return o;
}

/* Part s's kept operands of an edge set's weights' term (cg_bf16_product_parts asks). */
typedef struct KeptOf {
  const Parts *parts;
  const IrEdges *e;
} KeptOf;

static LLVMValueRef kept_of_part(Cg *cg, const void *ctx, LLVMValueRef s, LLVMValueRef *k) {
  const KeptOf *ko = ctx;
  Part p = part_of(cg, ko->parts, s);
  *k = p.n;
  return kept_pack(cg, p.region, p.npad, p.n, ko->e);
}

/* precision bf16: the rows step m of edge set e over the parts' kept operands, in the row
 * tiles of 16 the part owns (the last, partial one with the tail). */
static void emit_rows_bf16(Cg *cg, const Gemm *m, const IrEdges *e, const OwnedRows *own) {
  KeptOf ko = {m->parts, e};
  LLVMValueRef hi = own->band_hi;
  if (m->group->size % 16) hi = LLVMBuildSelect(cg->b, own->tail, LLVMBuildAdd(cg->b, hi, cg_int(cg, 1), ""), hi, "");
  CgBf16Parts pp = {m->parts->count, kept_of_part, &ko, m->group->size, m->src->size, own->band_lo, hi};
  cg_bf16_product_parts(cg, &pp, finish_bf16_row, m);
}

/* nnc.sgdRows(params, n_parts, ns, xs, scratches, rate, part, of): the second half of a step
 * that threads share, after nnc.deltasN of every part: for each edge set, the rows (output
 * units) that part `part` of `of` owns — whole bands of the weight tile's rows, the row tail
 * with one part, which turns with the layer so that no part takes every tail — get the SGD step W −= rate/N · Σ_b D[b][j] X[b][i], the sum over the
 * parts' samples in part order, so that the weights are the same bits whatever the parts
 * (train_step takes the whole batch as one part). No gradient is stored; no two parts write the same parameter. */
LLVMValueRef cg_build_rows_batch(Cg *cg) {
  const IrNetwork *n = cg->net;
  LLVMTypeRef ps[] = {cg->ptr, cg->i64, cg->ptr, cg->ptr, cg->ptr, cg->real, cg->i64, cg->i64};
  LLVMValueRef fn = cg_begin_function(cg, "nnc.sgdRows", cg->void_t, ps, 8, 0x1, 1);
  Parts parts = {LLVMGetParam(fn, 1), LLVMGetParam(fn, 2), LLVMGetParam(fn, 3), LLVMGetParam(fn, 4)};
  LLVMValueRef params = LLVMGetParam(fn, 0), rate = LLVMGetParam(fn, 5), part = LLVMGetParam(fn, 6),
               of = LLVMGetParam(fn, 7);
  cg->rolled = 1;
  LLVMValueRef scale = LLVMBuildFDiv(cg->b, rate, parts_total(cg, &parts), "scale");
  for (int i = 0; i < n->n_order; i++) {
    const IrGroup *g = &n->groups[n->order[i]];
    OwnedRows own = owned_rows(cg, g, i, part, of);
    for (int k = 0; k < g->n_in - 1; k++) {
      Gemm m = weight_grad_gemm(cg, g, &g->in[k], params, OUT_SUBSCALED, scale);
      m.parts = &parts, m.band_lo = own.band_lo, m.band_hi = own.band_hi, m.tail_on = own.tail;
      if (cg->bf16) emit_rows_bf16(cg, &m, &g->in[k], &own);
      else emit_gemm(cg, &m);
    }
    emit_bias_grad(cg, g, &g->in[g->n_in - 1], NULL, &parts, own.lo, own.hi, params, scale);
  }
  LLVMBuildRetVoid(cg->b);
  cg->rolled = 0;
  return fn;
}

/* --- the optimizer's update beside the backward sweep ------------------------------- */

/* update(ctx, lo, hi): the runtime's optimizer steps parameters [lo, hi). */
static void emit_update_call(Cg *cg, LLVMValueRef update, LLVMValueRef ctx, const IrEdges *e) {
  LLVMTypeRef ps[] = {cg->ptr, cg->i64, cg->i64};
  LLVMValueRef args[] = {ctx, cg_int(cg, e->param_offset), cg_int(cg, e->param_offset + e->count)};
  LLVMBuildCall2(cg->b, LLVMFunctionType(cg->void_t, ps, 3, 0), update, args, 3, "");
}

/* Branches to a return of the loss when it is not finite (no update for such a batch). */
static void emit_return_unless_finite(Cg *cg, LLVMValueRef loss) {
  LLVMValueRef l = LLVMBuildLoad2(cg->b, cg->real, loss, "");
  LLVMValueRef finite = LLVMBuildFCmp(cg->b, LLVMRealOEQ, LLVMBuildFSub(cg->b, l, l, ""), cg_real(cg, 0.0), "");
  LLVMBasicBlockRef sweep = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "sweep");
  LLVMBasicBlockRef skip = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "not_finite");
  LLVMBuildCondBr(cg->b, finite, sweep, skip);
  LLVMPositionBuilderAtEnd(cg->b, skip);
  LLVMBuildRet(cg->b, l);
  LLVMPositionBuilderAtEnd(cg->b, sweep);
}

/* One group's backward step, each edge set's gradient handed to the update as soon as it
 * is complete: the sweep reads an edge set's weights only in its own step, before the
 * update. (The biases' gradient, one row, is zeroed and summed into.) */
static void emit_group_backward_update(Cg *cg, const IrGroup *g, LLVMValueRef params, LLVMValueRef x,
                                       const Batch *bt, LLVMValueRef grad, LLVMValueRef update, LLVMValueRef ctx) {
  emit_delta(cg, g, bt);
  for (int k = 0; k < g->n_in; k++) {
    const IrEdges *e = &g->in[k];
    if (e->weight == WEIGHT_FIXED) continue; /* a fixed bias: nothing to learn */
    if (k < g->n_in - 1) {
      emit_set_backward_batch(cg, g, e, params, x, bt, grad, OUT_STORE);
    } else {
      cg_zero(cg, cg_elem(cg, grad, cg_int(cg, e->param_offset)), cg_int(cg, e->count));
      emit_bias_grad(cg, g, e, bt, NULL, cg_int(cg, 0), cg_int(cg, g->size), grad, NULL);
    }
    emit_update_call(cg, update, ctx, e);
  }
}

/* nnc.updateN(params, n, x, t, grad, update, ctx, region) -> summed loss: the batch's
 * gradient into grad, each edge set's range [lo, hi) passed to update(ctx, lo, hi) as soon
 * as it is complete; nothing updated when the loss is not finite. params and grad are not
 * noalias: update writes them. */
LLVMValueRef cg_build_update_batch(Cg *cg) {
  const IrNetwork *n = cg->net;
  LLVMTypeRef ps[] = {cg->ptr, cg->i64, cg->ptr, cg->ptr, cg->ptr, cg->ptr, cg->ptr, cg->ptr};
  LLVMValueRef fn = batch_function(cg, "nnc.updateN", cg->real, ps, 8, 0x8c);
  LLVMValueRef params = LLVMGetParam(fn, 0), x = LLVMGetParam(fn, 2), t = LLVMGetParam(fn, 3),
               grad = LLVMGetParam(fn, 4), update = LLVMGetParam(fn, 5), ctx = LLVMGetParam(fn, 6);
  Batch bt;
  batch_begin(cg, &bt, LLVMGetParam(fn, 1), LLVMGetParam(fn, 7));
  LLVMValueRef loss = emit_forward_and_loss(cg, &bt, params, x, t);
  emit_return_unless_finite(cg, loss);
  for (int i = n->n_order - 1; i >= 0; i--)
    emit_group_backward_update(cg, &n->groups[n->order[i]], params, x, &bt, grad, update, ctx);
  LLVMBuildRet(cg->b, LLVMBuildLoad2(cg->b, cg->real, loss, ""));
  batch_end(cg, &bt);
  return fn;
}
