/* cg_bf16.c — the products of the batch kernels for `precision bf16`: O (+)= A·B with the
 * operands rounded to bf16 and the sums kept in f32, as mixed-precision training computes.
 * Consumes: one product of cg_batch.c (A(r, k) and B(k, c) in f32 memory, its sizes) and a
 * workspace in the batch scratch (cg_bf16_work sizes it).
 * Produces: code that rounds A and B to bf16 into the workspace, in the layouts of the tile
 * instructions, multiplies them (AMX tdpbf16ps where the target has AMX-BF16, AVX-512
 * vdpbf16ps otherwise), and hands each 16-wide f32 row of sums to the caller's finish rule,
 * which adds the bias, adds to O or takes the SGD step as the f32 kernels do.
 *
 * Layouts (every size padded with zeros: R and C to 16, K to 32):
 *   Ab[r][k]          bf16, rows of Kp: the tiles' left operand, 16 rows × 32 k
 *   Bb[k/2][c][k%2]   bf16 pairs, rows of Cp pairs: the right operand, 16 pair-rows × 16 c
 * A tile product is 16 × 16 sums over 32 k; 2 panels of 16 columns share each A tile. */
#include <string.h>

#include "cg.h"
#include "codegen.h"

enum { LANES = 16, PANELS = 2, STEP_K = 32, CHUNK = 8, ROW_BYTES = 64 };

static int64_t up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

/* K padded to a whole step (32). */
static int64_t k_pad_const(int64_t k) { return up(k, STEP_K); }

void cg_bf16_work(const IrNetwork *n, int64_t *fixed, int64_t *per_sample) {
  int64_t f = 0, ps = 0, slack = STEP_K - 1;
#define MAX(a, b) ((a) > (b) ? (a) : (b))
  for (int i = 0; i < n->n_groups; i++) {
    const IrGroup *g = &n->groups[i];
    for (int k = 0; k < g->n_in - 1; k++) {
      const IrGroup *src = &n->groups[g->in[k].src];
      int64_t G = g->size, S = src->size;
      /* forward: Ab = W (G × S), Bb = Xᵀ (S × npad) */
      f = MAX(f, up(G, LANES) * k_pad_const(S) * 2), ps = MAX(ps, k_pad_const(S) * 2);
      /* input gradient: Ab = D (npad × G), Bb = W (G × S) */
      f = MAX(f, k_pad_const(G) * up(S, LANES) * 2), ps = MAX(ps, k_pad_const(G) * 2);
      /* weights' term: Ab = Dᵀ (G × n), Bb = X (n × S), n padded to at most npad + slack */
      f = MAX(f, (up(G, LANES) + up(S, LANES)) * slack * 2), ps = MAX(ps, (up(G, LANES) + up(S, LANES)) * 2);
    }
  }
#undef MAX
  *fixed = up(f, 64) + 2 * 64, *per_sample = up(ps, 64); /* Bb starts on a line after Ab */
}

int64_t cg_bf16_forward_bytes(const IrNetwork *n, int64_t npad) {
  int64_t most = 0;
  for (int i = 0; i < n->n_groups; i++)
    for (int k = 0; k < n->groups[i].n_in - 1; k++) { /* Ab = W (G × S), then Bb = Xᵀ (S × npad) */
      int64_t kp = k_pad_const(n->groups[n->groups[i].in[k].src].size);
      int64_t bytes = up(up(n->groups[i].size, LANES) * kp * 2, 64) + kp * up(npad, LANES) * 2;
      most = bytes > most ? bytes : most;
    }
  return most;
}

void cg_bf16_kept_work(const IrNetwork *n, int64_t *fixed, int64_t *per_sample) {
  int64_t f = 0, ps = 0;
  for (int i = 0; i < n->n_groups; i++) {
    const IrGroup *g = &n->groups[i];
    for (int k = 0; k < g->n_in - 1; k++) {
      int64_t rc = up(g->size, LANES) + up(n->groups[g->in[k].src].size, LANES);
      f += rc * (STEP_K - 1) * 2 + 2 * 64, ps += rc * 2; /* cg_bf16_packed_bytes */
    }
  }
  *fixed = f, *per_sample = ps;
}

/* --- small pieces ------------------------------------------------------------------- */

static LLVMTypeRef bf16_t(Cg *cg) { return LLVMBFloatTypeInContext(cg->ctx); }
static LLVMTypeRef f32x16(Cg *cg) { return LLVMVectorType(LLVMFloatTypeInContext(cg->ctx), LANES); }
static LLVMValueRef add(Cg *cg, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildAdd(cg->b, a, b, ""); }
static LLVMValueRef mul(Cg *cg, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildMul(cg->b, a, b, ""); }
static LLVMValueRef mulc(Cg *cg, LLVMValueRef a, int64_t b) { return mul(cg, a, cg_int(cg, b)); }
static LLVMValueRef byte_at(Cg *cg, LLVMValueRef base, LLVMValueRef off) {
  return LLVMBuildInBoundsGEP2(cg->b, cg->i8, base, &off, 1, "");
}
static LLVMValueRef lt(Cg *cg, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildICmp(cg->b, LLVMIntSLT, a, b, ""); }
static LLVMValueRef round_up_rt(Cg *cg, LLVMValueRef v, int64_t m) {
  return mulc(cg, LLVMBuildSDiv(cg->b, add(cg, v, cg_int(cg, m - 1)), cg_int(cg, m), ""), m);
}

/* v in each of 16 lanes. */
static LLVMValueRef splat16(Cg *cg, LLVMValueRef v) {
  LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(v), LANES);
  LLVMValueRef one = LLVMBuildInsertElement(cg->b, LLVMGetUndef(vt), v, LLVMConstInt(cg->i32, 0, 0), "");
  return LLVMBuildShuffleVector(cg->b, one, LLVMGetUndef(vt), LLVMConstNull(LLVMVectorType(cg->i32, LANES)), "");
}

/* Lanes l of a 16-lane mask: from + l < limit, and `also` (an i1, or NULL). */
static LLVMValueRef lanes_below(Cg *cg, LLVMValueRef from, LLVMValueRef limit, LLVMValueRef also) {
  LLVMValueRef iota[LANES];
  for (int l = 0; l < LANES; l++) iota[l] = cg_int(cg, l);
  LLVMValueRef m = LLVMBuildICmp(cg->b, LLVMIntSLT, add(cg, splat16(cg, from), LLVMConstVector(iota, LANES)),
                                 splat16(cg, limit), "");
  return also ? LLVMBuildAnd(cg->b, m, splat16(cg, also), "") : m;
}

/* 16 f32 at p where mask (the others 0), rounded to bf16. */
static LLVMValueRef load_rounded(Cg *cg, LLVMValueRef p, LLVMValueRef mask) {
  return LLVMBuildFPTrunc(cg->b, cg_vload(cg, p, mask), LLVMVectorType(bf16_t(cg), LANES), "");
}

static void store_aligned(Cg *cg, LLVMValueRef v, LLVMValueRef p, unsigned align) {
  LLVMSetAlignment(LLVMBuildStore(cg->b, v, p), align);
}

/* --- packing ------------------------------------------------------------------------ */

/* The product's shape, its sizes as i64 values, padded (Kp: one part's). */
typedef struct Shape {
  LLVMValueRef R, C, K, Rp, Cp, Kp;
  int whole_cols; /* C is a constant multiple of 16: no column mask */
} Shape;

/* Ab[r][k] = A(r, k) rounded, for r < Rp, k < Kp (zero outside R × K). A's rows contiguous
 * (a_ks = 1): 16 k at a time; else its columns are (a_rs = 1): 16 r at a time, stored apart. */
static void pack_a(Cg *cg, const CgBf16Product *p, const Shape *s, LLVMValueRef ab) {
  CgLoop l1, l2;
  int rows_contiguous = LLVMIsAConstantInt(p->a_ks) && LLVMConstIntGetSExtValue(p->a_ks) == 1;
  if (rows_contiguous) {
    LLVMValueRef r = cg_loop_begin(cg, &l1, s->Rp, "pack_ar");
    LLVMValueRef k0 = mulc(cg, cg_loop_begin(cg, &l2, LLVMBuildSDiv(cg->b, s->Kp, cg_int(cg, LANES), ""), "pack_ak"), LANES);
    LLVMValueRef mask = lanes_below(cg, k0, s->K, lt(cg, r, s->R));
    LLVMValueRef v = load_rounded(cg, cg_elem(cg, p->a, add(cg, mul(cg, r, p->a_rs), k0)), mask);
    store_aligned(cg, v, byte_at(cg, ab, mulc(cg, add(cg, mul(cg, r, s->Kp), k0), 2)), 32);
  } else {
    LLVMValueRef k = cg_loop_begin(cg, &l1, s->Kp, "pack_ak");
    LLVMValueRef r0 = mulc(cg, cg_loop_begin(cg, &l2, LLVMBuildSDiv(cg->b, s->Rp, cg_int(cg, LANES), ""), "pack_ar"), LANES);
    LLVMValueRef mask = lanes_below(cg, r0, s->R, lt(cg, k, s->K));
    LLVMValueRef v = load_rounded(cg, cg_elem(cg, p->a, add(cg, r0, mul(cg, k, p->a_ks))), mask);
    for (int l = 0; l < LANES; l++) {
      LLVMValueRef at = mulc(cg, add(cg, mul(cg, add(cg, r0, cg_int(cg, l)), s->Kp), k), 2);
      store_aligned(cg, LLVMBuildExtractElement(cg->b, v, LLVMConstInt(cg->i32, (unsigned)l, 0), ""), byte_at(cg, ab, at), 2);
    }
  }
  cg_loop_end(cg, &l2);
  cg_loop_end(cg, &l1);
}

/* Bb[k/2][c][k%2] = B(k, c) rounded: rows 2q and 2q+1 of B, 16 c at a time, interleaved. */
static void pack_b(Cg *cg, const CgBf16Product *p, const Shape *s, LLVMValueRef bb) {
  CgLoop lq, lc;
  LLVMValueRef q = cg_loop_begin(cg, &lq, LLVMBuildSDiv(cg->b, s->Kp, cg_int(cg, 2), ""), "pack_bq");
  LLVMValueRef c0 = mulc(cg, cg_loop_begin(cg, &lc, LLVMBuildSDiv(cg->b, s->Cp, cg_int(cg, LANES), ""), "pack_bc"), LANES);
  LLVMValueRef h[2];
  for (int t = 0; t < 2; t++) {
    LLVMValueRef k = add(cg, mulc(cg, q, 2), cg_int(cg, t));
    LLVMValueRef mask = lanes_below(cg, c0, s->C, lt(cg, k, s->K));
    h[t] = load_rounded(cg, cg_elem(cg, p->b, add(cg, mul(cg, k, p->b_ks), c0)), mask);
  }
  LLVMValueRef order[2 * LANES];
  for (int l = 0; l < 2 * LANES; l++) order[l] = LLVMConstInt(cg->i32, (unsigned)(l / 2 + (l % 2) * LANES), 0);
  LLVMValueRef pairs = LLVMBuildShuffleVector(cg->b, h[0], h[1], LLVMConstVector(order, 2 * LANES), "");
  store_aligned(cg, pairs, byte_at(cg, bb, mulc(cg, add(cg, mul(cg, q, s->Cp), c0), 4)), 64);
  cg_loop_end(cg, &lc);
  cg_loop_end(cg, &lq);
}

/* --- the products ------------------------------------------------------------------- */

/* Packed operands: where Ab and Bb start, and k padded. */
typedef struct Packed {
  LLVMValueRef ab, bb, Kp;
} Packed;

static LLVMValueRef b_after_a(Cg *cg, LLVMValueRef ab, LLVMValueRef Rp, LLVMValueRef Kp) {
  return byte_at(cg, ab, round_up_rt(cg, mulc(cg, mul(cg, Rp, Kp), 2), 64));
}

/* The operands of every part: one packed product, or a batch in parts (each packed apart). */
typedef struct Operands {
  Packed one;
  const CgBf16Parts *parts;
} Operands;

/* A block of sums: rows r0.. (16), columns c0.. (np panels of 16). */
typedef struct Block {
  LLVMValueRef r0, c0, sums; /* sums: [PANELS][16] rows of 16 f32 */
  int np;
} Block;

static LLVMValueRef sums_row(Cg *cg, const Block *b, int panel, int row) {
  return byte_at(cg, b->sums, cg_int(cg, (int64_t)(panel * LANES + row) * ROW_BYTES));
}

/* Where step `step`'s A tile starts (16 rows × 64 bytes, rows Kp·2 apart), and panel i's B
 * tile (16 pair-rows × 64 bytes, rows Cp·4 apart). */
static LLVMValueRef a_tile(Cg *cg, const Block *b, const Packed *pk, LLVMValueRef step) {
  return byte_at(cg, pk->ab, mulc(cg, add(cg, mul(cg, b->r0, pk->Kp), mulc(cg, step, STEP_K)), 2));
}
static LLVMValueRef b_tile(Cg *cg, const Block *b, const Shape *s, const Packed *pk, LLVMValueRef step, int i) {
  LLVMValueRef row = mulc(cg, step, STEP_K / 2), col = add(cg, b->c0, cg_int(cg, (int64_t)i * LANES));
  return byte_at(cg, pk->bb, mulc(cg, add(cg, mul(cg, row, s->Cp), col), 4));
}

static LLVMValueRef tile_load(Cg *cg, LLVMValueRef p, LLVMValueRef stride) {
  LLVMValueRef args[] = {cg_i16(cg, LANES), cg_i16(cg, ROW_BYTES), p, stride};
  return cg_call_intrinsic(cg, "llvm.x86.tileloadd64.internal", args, 4);
}

/* AMX: steps k0 .. k0+n−1 of the block, its sums loaded into tiles and stored back (tiles
 * are not carried through a loop). Each step's operands are loaded before the previous step's
 * products, into other tile registers. */
static void amx_steps(Cg *cg, const Block *b, const Shape *s, const Packed *pk, LLVMValueRef k0, int64_t n) {
  LLVMValueRef c[PANELS], ops[2][1 + PANELS];
  LLVMValueRef sa = mulc(cg, pk->Kp, 2), sb = mulc(cg, s->Cp, 4), row = cg_int(cg, ROW_BYTES);
  for (int i = 0; i < b->np; i++) c[i] = tile_load(cg, sums_row(cg, b, i, 0), row);
  for (int64_t k = 0; k <= n; k++) {
    if (k < n) {
      LLVMValueRef step = add(cg, k0, cg_int(cg, k)), *o = ops[k % 2];
      o[0] = tile_load(cg, a_tile(cg, b, pk, step), sa);
      for (int i = 0; i < b->np; i++) o[1 + i] = tile_load(cg, b_tile(cg, b, s, pk, step, i), sb);
    }
    if (k == 0) continue;
    LLVMValueRef *now = ops[(k - 1) % 2];
    for (int i = 0; i < b->np; i++) {
      LLVMValueRef args[] = {cg_i16(cg, LANES), cg_i16(cg, ROW_BYTES), cg_i16(cg, ROW_BYTES), c[i], now[0], now[1 + i]};
      c[i] = cg_call_intrinsic(cg, "llvm.x86.tdpbf16ps.internal", args, 6);
    }
  }
  for (int i = 0; i < b->np; i++) {
    LLVMValueRef args[] = {cg_i16(cg, LANES), cg_i16(cg, ROW_BYTES), sums_row(cg, b, i, 0), row, c[i]};
    cg_call_intrinsic(cg, "llvm.x86.tilestored64.internal", args, 5);
  }
}

/* AMX: the block's sums += every step of k, a loop of s->k_unroll steps, then the remainder:
 * constant, or with a runtime k (unrolled by 2) one step where the count is odd. */
static void amx_sums(Cg *cg, const Block *b, const Shape *s, const Packed *pk) {
  LLVMValueRef n_steps = LLVMBuildSDiv(cg->b, pk->Kp, cg_int(cg, STEP_K), "");
  int64_t unroll = LLVMIsAConstantInt(n_steps) ? CHUNK : 2;
  CgLoop lk;
  LLVMValueRef chunks = LLVMBuildSDiv(cg->b, n_steps, cg_int(cg, unroll), "");
  LLVMValueRef k0 = mulc(cg, cg_loop_begin(cg, &lk, chunks, "bf16_k"), unroll);
  amx_steps(cg, b, s, pk, k0, unroll);
  cg_loop_end(cg, &lk);
  LLVMValueRef last = mulc(cg, chunks, unroll);
  if (LLVMIsAConstantInt(n_steps)) {
    int64_t rem = LLVMConstIntGetSExtValue(n_steps) % unroll;
    if (rem) amx_steps(cg, b, s, pk, last, rem);
    return;
  }
  LLVMBasicBlockRef odd = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "bf16_odd_step");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "bf16_steps_done");
  LLVMBuildCondBr(cg->b, lt(cg, last, n_steps), odd, done);
  LLVMPositionBuilderAtEnd(cg->b, odd);
  amx_steps(cg, b, s, pk, last, 1);
  LLVMBuildBr(cg->b, done);
  LLVMPositionBuilderAtEnd(cg->b, done);
}

/* AVX-512 BF16: the block's sums += every pair of k, 8 rows at a time: each row's pair of A
 * broadcast, times a vector of 16 column pairs of B, added into 16 sums by vdpbf16ps. */
static void dot_sums(Cg *cg, const Block *b, const Shape *s, const Packed *pk) {
  const char *name = "llvm.x86.avx512bf16.dpbf16ps.512";
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  LLVMTypeRef ops[3];
  LLVMGetParamTypes(LLVMIntrinsicGetType(cg->ctx, id, NULL, 0), ops);
  for (int half = 0; half < 2; half++) {
    LLVMValueRef acc[8][PANELS];
    for (int r = 0; r < 8; r++)
      for (int i = 0; i < b->np; i++) {
        acc[r][i] = cg_alloca(cg, f32x16(cg), "bf16_acc");
        LLVMValueRef v = LLVMBuildLoad2(cg->b, f32x16(cg), sums_row(cg, b, i, half * 8 + r), "");
        LLVMSetAlignment(v, 64);
        LLVMBuildStore(cg->b, v, acc[r][i]);
      }
    CgLoop lq;
    LLVMValueRef pair = cg_loop_begin(cg, &lq, LLVMBuildSDiv(cg->b, pk->Kp, cg_int(cg, 2), ""), "bf16_pair");
    LLVMValueRef bv[PANELS];
    for (int i = 0; i < b->np; i++) {
      LLVMValueRef col = add(cg, b->c0, cg_int(cg, (int64_t)i * LANES));
      bv[i] = LLVMBuildLoad2(cg->b, ops[2], byte_at(cg, pk->bb, mulc(cg, add(cg, mul(cg, pair, s->Cp), col), 4)), "");
      LLVMSetAlignment(bv[i], 64);
    }
    for (int r = 0; r < 8; r++) {
      LLVMValueRef row = add(cg, b->r0, cg_int(cg, half * 8 + r));
      LLVMValueRef a = LLVMBuildLoad2(cg->b, cg->i32, byte_at(cg, pk->ab, mulc(cg, add(cg, mul(cg, row, pk->Kp), mulc(cg, pair, 2)), 2)), "");
      LLVMSetAlignment(a, 4);
      LLVMValueRef av = LLVMBuildBitCast(cg->b, splat16(cg, a), ops[1], "");
      for (int i = 0; i < b->np; i++) {
        LLVMValueRef args[] = {LLVMBuildLoad2(cg->b, f32x16(cg), acc[r][i], ""), av, bv[i]};
        LLVMBuildStore(cg->b, cg_call_intrinsic(cg, name, args, 3), acc[r][i]);
      }
    }
    cg_loop_end(cg, &lq);
    for (int r = 0; r < 8; r++)
      for (int i = 0; i < b->np; i++)
        store_aligned(cg, LLVMBuildLoad2(cg->b, f32x16(cg), acc[r][i], ""), sums_row(cg, b, i, half * 8 + r), 64);
  }
}

static void add_sums(Cg *cg, const Block *b, const Shape *s, const Packed *pk) {
  if (cg->bf16 == CG_BF16_AMX) amx_sums(cg, b, s, pk);
  else dot_sums(cg, b, s, pk);
}

/* Part s's packed operands (cg_bf16_pack's layout at the place the caller gives). */
static Packed part_packed(Cg *cg, const Shape *s, const CgBf16Parts *pp, LLVMValueRef part) {
  LLVMValueRef k;
  LLVMValueRef ab = pp->packed(cg, pp->ctx, part, &k);
  LLVMValueRef Kp = round_up_rt(cg, k, STEP_K);
  return (Packed){ab, b_after_a(cg, ab, s->Rp, Kp), Kp};
}

/* One block: its sums over all of k (of every part), then each row below R handed to finish. */
static void block(Cg *cg, const Shape *s, const Operands *src, const Block *b, CgBf16Finish *finish, const void *ctx) {
  for (int i = 0; i < b->np; i++)
    for (int r = 0; r < LANES; r++) store_aligned(cg, LLVMConstNull(f32x16(cg)), sums_row(cg, b, i, r), 64);
  if (src->parts) {
    CgLoop lp;
    LLVMValueRef part = cg_loop_begin(cg, &lp, src->parts->count, "bf16_part");
    Packed pk = part_packed(cg, s, src->parts, part);
    add_sums(cg, b, s, &pk);
    cg_loop_end(cg, &lp);
  } else {
    add_sums(cg, b, s, &src->one);
  }
  for (int r = 0; r < LANES; r++) {
    LLVMValueRef row = add(cg, b->r0, cg_int(cg, r));
    LLVMBasicBlockRef take = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "bf16_row");
    LLVMBasicBlockRef next = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "bf16_row_done");
    LLVMBuildCondBr(cg->b, lt(cg, row, s->R), take, next);
    LLVMPositionBuilderAtEnd(cg->b, take);
    for (int i = 0; i < b->np; i++) {
      LLVMValueRef col = add(cg, b->c0, cg_int(cg, (int64_t)i * LANES));
      LLVMValueRef sum = LLVMBuildLoad2(cg->b, f32x16(cg), sums_row(cg, b, i, r), "");
      LLVMSetAlignment(sum, 64);
      finish(cg, ctx, row, col, sum, s->whole_cols ? NULL : lanes_below(cg, col, s->C, NULL));
    }
    LLVMBuildBr(cg->b, next);
    LLVMPositionBuilderAtEnd(cg->b, next);
  }
}

/* Every block of the row tiles [tile_lo, tile_hi): pairs of column panels, then an odd one. */
static void blocks(Cg *cg, const Shape *s, const Operands *src, LLVMValueRef tile_lo, LLVMValueRef tile_hi,
                   CgBf16Finish *finish, const void *ctx) {
  Block b = {NULL, NULL, cg_alloca(cg, LLVMArrayType2(f32x16(cg), PANELS * LANES), "bf16_sums"), PANELS};
  LLVMSetAlignment(b.sums, 64);
  CgLoop lr, lc;
  LLVMValueRef panels = LLVMBuildSDiv(cg->b, s->Cp, cg_int(cg, LANES), "");
  LLVMValueRef tile = add(cg, cg_loop_begin(cg, &lr, LLVMBuildSub(cg->b, tile_hi, tile_lo, ""), "bf16_r"), tile_lo);
  b.r0 = mulc(cg, tile, LANES);
  b.c0 = mulc(cg, cg_loop_begin(cg, &lc, LLVMBuildSDiv(cg->b, panels, cg_int(cg, PANELS), ""), "bf16_c"), PANELS * LANES);
  block(cg, s, src, &b, finish, ctx);
  cg_loop_end(cg, &lc);
  LLVMValueRef odd = LLVMBuildICmp(cg->b, LLVMIntNE, LLVMBuildSRem(cg->b, panels, cg_int(cg, PANELS), ""), cg_int(cg, 0), "");
  LLVMBasicBlockRef take = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "bf16_last_panel");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "bf16_panels_done");
  LLVMBuildCondBr(cg->b, odd, take, done);
  LLVMPositionBuilderAtEnd(cg->b, take);
  Block last = b;
  last.np = 1;
  last.c0 = mulc(cg, LLVMBuildSub(cg->b, panels, cg_int(cg, 1), ""), LANES);
  block(cg, s, src, &last, finish, ctx);
  LLVMBuildBr(cg->b, done);
  LLVMPositionBuilderAtEnd(cg->b, done);
  cg_loop_end(cg, &lr);
}

static Shape shape_of(Cg *cg, const CgBf16Product *p) {
  Shape s = {p->rows, p->cols, p->k, NULL, NULL, NULL, p->cols_const >= 0 && p->cols_const % LANES == 0};
  s.Rp = p->rows_const >= 0 ? cg_int(cg, up(p->rows_const, LANES)) : round_up_rt(cg, p->rows, LANES);
  s.Cp = p->cols_const >= 0 ? cg_int(cg, up(p->cols_const, LANES)) : round_up_rt(cg, p->cols, LANES);
  s.Kp = LLVMIsAConstantInt(p->k) ? cg_int(cg, k_pad_const(LLVMConstIntGetSExtValue(p->k))) : round_up_rt(cg, p->k, STEP_K);
  return s;
}

LLVMValueRef cg_bf16_pack(Cg *cg, const CgBf16Product *p, LLVMValueRef dst) {
  NNC_ASSERT(cg->bf16 && cg_vec_len(cg) == LANES);
  Shape s = shape_of(cg, p);
  LLVMValueRef bb = b_after_a(cg, dst, s.Rp, s.Kp);
  pack_a(cg, p, &s, dst);
  pack_b(cg, p, &s, bb);
  return bb;
}

LLVMValueRef cg_bf16_packed_bytes(Cg *cg, int64_t rows, int64_t cols, LLVMValueRef k) {
  LLVMValueRef Kp = round_up_rt(cg, k, STEP_K);
  LLVMValueRef a = round_up_rt(cg, mulc(cg, Kp, up(rows, LANES) * 2), 64);
  return add(cg, a, round_up_rt(cg, mulc(cg, Kp, up(cols, LANES) * 2), 64));
}

void cg_bf16_product(Cg *cg, const CgBf16Product *p, CgBf16Finish *finish, const void *ctx) {
  Shape s = shape_of(cg, p);
  Operands src = {{p->work, cg_bf16_pack(cg, p, p->work), s.Kp}, NULL};
  blocks(cg, &s, &src, cg_int(cg, 0), LLVMBuildSDiv(cg->b, s.Rp, cg_int(cg, LANES), ""), finish, ctx);
}

void cg_bf16_product_parts(Cg *cg, const CgBf16Parts *pp, CgBf16Finish *finish, const void *ctx) {
  NNC_ASSERT(cg->bf16 && cg_vec_len(cg) == LANES);
  Shape s = {cg_int(cg, pp->rows), cg_int(cg, pp->cols), NULL, cg_int(cg, up(pp->rows, LANES)),
             cg_int(cg, up(pp->cols, LANES)), NULL, pp->cols % LANES == 0};
  Operands src = {{NULL, NULL, NULL}, pp};
  blocks(cg, &s, &src, pp->tile_lo, pp->tile_hi, finish, ctx);
}
