/* cg_quant.c — quantized inference (nnc --quantize bf16|int8) of a module with trained weights.
 * Consumes: the network IR, its trained parameters and a scheme.
 * Produces: for every dense edge set with learned weights (the quantized sets) a constant
 * array of its weights in the scheme's type, the parameters of every other set (biases,
 * single edges, fixed ones) as reals in one private constant array that cg->embedded then
 * names, and the kernels that read them:
 *   bf16: w rounded to nearest even; z[j] += Σ_i w[j][i]·x[i] with each weight widened to
 *         f32 (a 16-bit shift) and multiplied and summed in the model's reals;
 *   int8: w[j][i] = round(W[j][i] / s_j), s_j = max_i |W[j][i]| / 127 per neuron j (symmetric);
 *         the source's outputs quantized per sample, s_x = max_i |x_i| / 127; products
 *         summed in i32, then z[j] += acc · s_j · s_x.
 * With AVX-512 VNNI (int8) or BF16 (bf16) and f32 reals the weights are tiled: panels of 16
 * rows, each group of 4 (int8) or 2 (bf16) consecutive inputs of the 16 rows one vector, so
 * that one vpdpbusd / vdpbf16ps multiplies it by a sample's group broadcast to every lane and
 * each lane sums one row: a register tile of panels × samples, no horizontal sums; a batch
 * runs cg_quant_block samples per pass over the weights through the same kernel, its first
 * tiled set prefetching the next block's inputs meanwhile. A quantized module scales its inputs
 * (the compiled-in scaling) in its reals, not in double.
 * With the Armv8.2 dot product (aarch64 +dotprod) int8 rows are padded to 16 bytes and
 * summed 16 products per sdot, inputs quantized to signed bytes as the weights are: the
 * same i32 sums as the rows elsewhere (which shift the inputs by 128 and undo it).
 * Afterwards: forward and evaluate read only these arrays; init writes the dequantized
 * weights into params, so the runtime's weights commands see what the kernels compute with. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"

typedef struct CgQuantSet {
  LLVMValueRef w;      /* i16 (bf16) or i8 weights, row-major [dst][src]; NULL: not quantized */
  LLVMValueRef scale;  /* int8: reals s_j per neuron */
  LLVMValueRef wsum;   /* int8: i32 Σ_i w[j][i] per neuron, to undo the +128 of the inputs;
                        * NULL with sdot, whose inputs are signed */
  int64_t rest;        /* not quantized: the set's first parameter in the rest array */
  int64_t stride;      /* a row's length in w, padded with zero weights (int8: to whole vectors) */
  int per_lane;        /* tiled: a lane's consecutive weights of one row (4 int8, 2 bf16); 0: row-major */
  int64_t depth;       /* tiled: groups of per_lane inputs in a row (stride / per_lane) */
  int64_t panels;      /* tiled: panels of TILE_LANES rows, the last padded with zero rows */
} CgQuantSet;

typedef struct CgQuant {
  CgQuantSet **sets;   /* [group id][set index] */
  int n_groups;
  int batch_fits;      /* a block of the batch kernels fits BATCH_STACK_BYTES of stack */
  LLVMValueRef scale_offset, scale_mul; /* the inputs' scaling as reals, or NULL */
  LLVMValueRef operands;               /* the sets' operand array of the function being built */
  LLVMBasicBlockRef operands_entry;    /* that function's entry block */
  int64_t operands_bytes;              /* its size */
} CgQuant;

const char *cg_quant_name(CgQuantize q) { return q == CG_QUANT_BF16 ? "bf16" : q == CG_QUANT_INT8 ? "int8" : "none"; }

/* e's weights are stored in the scheme's type: a dense set of learned weights from a group
 * that is not a bias. */
static int quantizable(const IrNetwork *n, const IrEdges *e) {
  return e->kind == EDGES_DENSE && e->weight != WEIGHT_FIXED && e->param_offset >= 0 && n->groups[e->src].role != ROLE_BIAS;
}

int cg_quantized(const Cg *cg, const IrEdges *e) { return cg->quant != CG_QUANT_NONE && quantizable(cg->net, e); }

int cg_has_kernel(const Cg *cg, const IrEdges *e) { return cg_quantized(cg, e) || cg_dense_vectorisable(cg, e); }

static const CgQuantSet *set_of(const Cg *cg, const IrEdges *e) {
  return &cg->q->sets[e->dst][e - cg->net->groups[e->dst].in];
}

int64_t cg_param_offset(const Cg *cg, const IrEdges *e) { return cg->q ? set_of(cg, e)->rest : e->param_offset; }

/* --- the weights, quantized at compile time --------------------------------------- */

static double param_at(const Cg *cg, const void *w, int64_t i) {
  return cg->real_bytes == 8 ? ((const double *)w)[i] : ((const float *)w)[i];
}

/* f rounded to the nearest bf16, ties to even (NaN stays NaN). */
static uint16_t bf16_of(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1);
  return (uint16_t)(u >> 16);
}

/* The weight w (finite) becomes an infinite bf16: rounded, its magnitude passes the largest
 * bf16, 0x1.fep127 (a float weight from 0x1.ff p127 on, a double one beyond float's range). */
static int bf16_overflows(double w) { return (bf16_of((float)w) & 0x7fff) == 0x7f80; }

int64_t cg_quant_unrepresentable(const IrNetwork *n, const void *params, CgQuantize q) {
  if (q != CG_QUANT_BF16) return -1; /* int8: any finite row has a finite scale */
  for (int gi = 0; gi < n->n_groups; gi++)
    for (int k = 0; k < n->groups[gi].n_in; k++) {
      const IrEdges *e = &n->groups[gi].in[k];
      if (!quantizable(n, e)) continue;
      for (int64_t i = e->param_offset; i < e->param_offset + e->count; i++) {
        double w = n->real_bytes == 8 ? ((const double *)params)[i] : ((const float *)params)[i];
        if (bf16_overflows(w)) return i;
      }
    }
  return -1;
}

static LLVMValueRef int_array(Cg *cg, LLVMTypeRef ty, const int64_t *v, int64_t n, const char *name) {
  LLVMValueRef *elems = xmalloc(sizeof(LLVMValueRef) * (size_t)(n ? n : 1));
  for (int64_t i = 0; i < n; i++) elems[i] = LLVMConstInt(ty, (unsigned long long)v[i], 1);
  LLVMValueRef g = cg_const_array(cg, ty, elems, n, name);
  free(elems);
  return g;
}

static LLVMValueRef real_array(Cg *cg, const double *v, int64_t n, const char *name) {
  LLVMValueRef *elems = xmalloc(sizeof(LLVMValueRef) * (size_t)(n ? n : 1));
  for (int64_t i = 0; i < n; i++) elems[i] = cg_real(cg, v[i]);
  LLVMValueRef g = cg_const_array(cg, cg->real, elems, n, name);
  free(elems);
  return g;
}

/* The tiled kernels: an AVX-512 dot-product instruction whose 16 lanes each sum per_lane
 * products, a lane being one row (neuron) and the inputs one sample's, broadcast. */
typedef struct TileScheme {
  const char *dot;     /* acc[l] += Σ_{t < per_lane} a[l][t]·b[l][t] for the 16 lanes l */
  int per_lane;
  const char *amx;     /* the AMX tile product of the same operands: C[m][n] += Σ_k A[m][k]·B[k/per_lane][n][k%per_lane] */
  unsigned amx_isa;    /* the CG_ISA_ bit of the target's AMX for it */
} TileScheme;

#define TILE_LANES 16
#define CACHE_LINE 64
/* AMX: a tile row holds 64 bytes, a step of the tile product AMX_GROUPS groups of inputs,
 * a tile AMX_ROWS rows: a batch's block is AMX_ROWS samples. With AMX a row of the tiled
 * layout is padded with zero weights to whole steps, so that every tile of a function has one
 * shape, 16 rows × 64 bytes (LLVM gives a tile register one shape for the whole function:
 * more shapes than its 8 registers and it cannot allocate them). */
#define AMX_ROW_BYTES 64
#define AMX_GROUPS (AMX_ROW_BYTES / 4)
#define AMX_ROWS 16

static const TileScheme tile_int8 = {"llvm.x86.avx512.vpdpbusd.512", 4, "llvm.x86.tdpbusd.internal", CG_ISA_AMX_INT8};
static const TileScheme tile_bf16 = {"llvm.x86.avx512bf16.dpbf16ps.512", 2, "llvm.x86.tdpbf16ps.internal", CG_ISA_AMX_BF16};

/* The scheme's tiled kernel where the target has its instruction (and the reals are f32,
 * 16 to a vector), else NULL: rows one after another, loops LLVM vectorises. */
static const TileScheme *tile_scheme(const Cg *cg) {
  if (cg->real_bytes != 4 || cg->vec_bytes != 64) return NULL;
  if (cg->quant == CG_QUANT_INT8 && (cg->isa & CG_ISA_VNNI512)) return &tile_int8;
  if (cg->quant == CG_QUANT_BF16 && (cg->isa & CG_ISA_BF16_512)) return &tile_bf16;
  return NULL;
}

/* s's layout for rows × m weights: tiled, panels of TILE_LANES rows stored group of per_lane
 * inputs after group ([panel][group][row in panel][per_lane]: one vector per panel and group),
 * else rows of `row` weights. Returns the number of weights with their zero padding. */
static int64_t lay_out(const Cg *cg, CgQuantSet *s, int64_t rows, int64_t m, int64_t row) {
  const TileScheme *t = tile_scheme(cg);
  if (!t) {
    s->stride = row;
    return rows * row;
  }
  s->per_lane = t->per_lane;
  s->depth = (m + t->per_lane - 1) / t->per_lane;
  if (cg->isa & t->amx_isa) s->depth = (s->depth + AMX_GROUPS - 1) / AMX_GROUPS * AMX_GROUPS;
  s->stride = s->depth * t->per_lane;
  s->panels = (rows + TILE_LANES - 1) / TILE_LANES;
  return s->panels * TILE_LANES * s->stride;
}

/* Where weight (j, i) of s is in its array. */
static int64_t weight_at(const CgQuantSet *s, int64_t j, int64_t i) {
  if (!s->per_lane) return j * s->stride + i;
  int64_t pl = s->per_lane;
  return ((j / TILE_LANES) * s->depth + i / pl) * TILE_LANES * pl + (j % TILE_LANES) * pl + i % pl;
}

static void quantize_bf16(Cg *cg, CgQuantSet *s, const IrEdges *e, int64_t m, const void *w, const char *name) {
  int64_t rows = e->count / m, n = lay_out(cg, s, rows, m, m);
  int64_t *q = xcalloc((size_t)n, sizeof(int64_t));
  for (int64_t j = 0; j < rows; j++)
    for (int64_t i = 0; i < m; i++)
      q[weight_at(s, j, i)] = (int16_t)bf16_of((float)param_at(cg, w, e->param_offset + j * m + i));
  s->w = int_array(cg, LLVMInt16TypeInContext(cg->ctx), q, n, name);
  LLVMSetAlignment(s->w, 64);
  free(q);
}

/* int8 with the Armv8.2 dot product: rows of whole 16-byte vectors, one sdot each. */
static int sdot_rows(const Cg *cg) { return cg->quant == CG_QUANT_INT8 && (cg->isa & CG_ISA_SDOT128); }

#define SDOT_BYTES 16

/* Rows at least a vector long are padded to whole vectors of bytes: the dot product then
 * has no scalar remainder (784 inputs: 13 vectors of 64 instead of 12 and 16 single bytes);
 * with sdot every row is. */
static int64_t padded_row(const Cg *cg, int64_t m) {
  int64_t v = sdot_rows(cg) ? SDOT_BYTES : cg->vec_bytes;
  return m < v && !sdot_rows(cg) ? m : (m + v - 1) / v * v;
}

/* Row j's int8 weights (m of them) for the scale s_j: w / s_j rounded, within ±127, into q;
 * returns the sum of their magnitudes. */
static int64_t quantize_row(Cg *cg, const CgQuantSet *s, const IrEdges *e, const void *w, int64_t j, int64_t m,
                            double scale, int64_t *q) {
  int64_t total = 0;
  for (int64_t i = 0; i < m; i++) {
    double v = scale > 0 ? nearbyint(param_at(cg, w, e->param_offset + j * m + i) / scale) : 0;
    q[weight_at(s, j, i)] = (int64_t)fmin(127, fmax(-127, v));
    total += llabs(q[weight_at(s, j, i)]);
  }
  return total;
}

/* A row's int32 sum Σ x_i·w_i (|x_i| ≤ 127) stays within int32 on every kernel when
 * 127·Σ|w_i| does (the unsigned inputs' x + 128 and the weight sum's correction wrap around and
 * cancel). A wider row of large weights (200,000 inputs of one weight: 127·127 each) is given a
 * coarser scale until it does: its sums wrapped, and 200 came out as -66. */
#define INT8_ROW_MAGNITUDE (INT32_MAX / 127)

/* s times 1.125 in the model's reals, and at least the next one up (a subnormal s). */
static double coarser_scale(double s, int f64) {
  double next = f64 ? s * 1.125 : (float)(s * 1.125);
  if (next > s) return next;
  return f64 ? nextafter(s, INFINITY) : nextafterf((float)s, INFINITY);
}

static void quantize_int8(Cg *cg, CgQuantSet *s, const IrEdges *e, int64_t m, const void *w, const char *name) {
  int64_t rows = e->count / m, n = lay_out(cg, s, rows, m, padded_row(cg, m));
  int64_t n_rows = s->per_lane ? s->panels * TILE_LANES : rows; /* the padding rows: all zero */
  int64_t *q = xcalloc((size_t)n, sizeof(int64_t));
  int64_t *wsum = xcalloc((size_t)n_rows, sizeof(int64_t));
  double *scale = xcalloc((size_t)n_rows, sizeof(double));
  int f64 = cg->real_bytes == 8;
  for (int64_t j = 0; j < rows; j++) {
    double amax = 0;
    for (int64_t i = 0; i < m; i++) amax = fmax(amax, fabs(param_at(cg, w, e->param_offset + j * m + i)));
    scale[j] = f64 ? amax / 127 : (float)(amax / 127); /* as the kernels hold it */
    while (quantize_row(cg, s, e, w, j, m, scale[j], q) > INT8_ROW_MAGNITUDE)
      scale[j] = coarser_scale(scale[j], f64);
    for (int64_t i = 0; i < m; i++) wsum[j] += q[weight_at(s, j, i)];
  }
  s->w = int_array(cg, cg->i8, q, n, name);
  LLVMSetAlignment(s->w, 64);
  char sname[80];
  snprintf(sname, sizeof sname, "%s.scale", name);
  s->scale = real_array(cg, scale, n_rows, sname);
  LLVMSetAlignment(s->scale, 64);
  if (!sdot_rows(cg)) {
    snprintf(sname, sizeof sname, "%s.sum", name);
    s->wsum = int_array(cg, cg->i32, wsum, n_rows, sname);
    LLVMSetAlignment(s->wsum, 64);
  }
  free(wsum);
  free(q);
  free(scale);
}

/* The batch kernels keep a block's value vectors and quantized operands on the stack (so that
 * NAME_FORWARD_SCRATCH_BYTES(n) stays the one-sample size), some 80 bytes per input of the
 * network with AMX's 16 samples (int8: a real and a byte each), 40 with 8 samples: a network
 * whose block would take more than this (from about 26,000 inputs with AMX) has its batches
 * go one sample after another instead, as on targets without the tiled kernels, rather than
 * overflow the stack (8 MiB on Linux's main thread and glibc's threads, often less). */
#define BATCH_STACK_BYTES ((int64_t)2 << 20)

/* The batch kernels' code grows with the tiled sets times the samples of a block (each set
 * quantizes its source and finishes its sums for every sample of the block, straight-line
 * code the optimiser then works through): a network of more tiled sets than this (many
 * small neurons each fed by a whole group) has its batches go one sample after another, as
 * its code for one sample does (300 one-neuron sets took minutes to compile with AMX). */
#define BATCH_MAX_SETS 16

static int64_t align_line(int64_t bytes) { return (bytes + 63) / 64 * 64; }

/* What a block of cg_quant_block samples puts on the stack: each sample's value vector
 * (codegen.c's build_quant_batch) and, per tiled set, its quantized operands (a byte per int8
 * input, two per bf16 input, rows of whole lines) and AMX's sums. */
static int64_t batch_stack_bytes(const Cg *cg) {
  const IrNetwork *n = cg->net;
  int64_t block = cg_quant_block(cg);
  int64_t bytes = block * align_line((n->n_values + n->n_outputs + n->n_dropout) * n->real_bytes);
  for (int gi = 0; gi < cg->q->n_groups; gi++)
    for (int k = 0; k < n->groups[gi].n_in; k++) {
      const CgQuantSet *s = &cg->q->sets[gi][k];
      if (s->per_lane) bytes += block * (align_line(s->stride * (cg->quant == CG_QUANT_BF16 ? 2 : 1)) + 2 * 64);
    }
  return bytes;
}

static int tiled_sets(const Cg *cg) {
  int count = 0;
  for (int gi = 0; gi < cg->q->n_groups; gi++)
    for (int k = 0; k < cg->net->groups[gi].n_in; k++) count += cg->q->sets[gi][k].per_lane != 0;
  return count;
}

/* The quantized arrays of every quantized set and the rest array of the others'
 * parameters (cg->embedded), from the trained weights. */
void cg_quant_build(Cg *cg, const void *weights) {
  const IrNetwork *n = cg->net;
  CgQuant *q = xcalloc(1, sizeof *q);
  q->n_groups = n->n_groups;
  q->sets = xcalloc((size_t)n->n_groups, sizeof *q->sets);
  double *rest = xmalloc(sizeof(double) * (size_t)(n->n_params ? n->n_params : 1));
  int64_t n_rest = 0;
  cg->q = q;
  for (int gi = 0; gi < n->n_groups; gi++) {
    const IrGroup *g = &n->groups[gi];
    q->sets[gi] = xcalloc((size_t)(g->n_in ? g->n_in : 1), sizeof **q->sets);
    for (int k = 0; k < g->n_in; k++) {
      const IrEdges *e = &g->in[k];
      CgQuantSet *s = &q->sets[gi][k];
      char name[64];
      snprintf(name, sizeof name, "nnc.%s.%d.%d", cg_quant_name(cg->quant), gi, k);
      s->rest = -1;
      if (cg_quantized(cg, e) && cg->quant == CG_QUANT_BF16) quantize_bf16(cg, s, e, n->groups[e->src].size, weights, name);
      else if (cg_quantized(cg, e)) quantize_int8(cg, s, e, n->groups[e->src].size, weights, name);
      else if (e->param_offset >= 0) {
        s->rest = n_rest;
        for (int64_t i = 0; i < e->count; i++) rest[n_rest++] = param_at(cg, weights, e->param_offset + i);
      }
    }
  }
  cg->embedded = real_array(cg, rest, n_rest, "nnc.weights");
  LLVMSetAlignment(cg->embedded, 64);
  free(rest);
  q->batch_fits = batch_stack_bytes(cg) <= BATCH_STACK_BYTES && tiled_sets(cg) <= BATCH_MAX_SETS;
}

void cg_quant_free(Cg *cg) {
  if (!cg->q) return;
  for (int i = 0; i < cg->q->n_groups; i++) free(cg->q->sets[i]);
  free(cg->q->sets);
  free(cg->q);
  cg->q = NULL;
}

/* --- the inputs' scaling, in the model's reals ------------------------------------- */

/* The compiled-in input scaling as reals: a quantized module scales its inputs in its own
 * precision, (x − offset)·mul with both rounded to reals, not in double as the runtime's
 * scaler does (f32: one vector operation a step, none widened; a Cortex-M4 has no double
 * unit). The inputs then differ from the scaler's by at most an ulp or so, below the step
 * of any int8 or bf16 input. */
void cg_quant_scaling(Cg *cg, const double *offset, const double *mul, int64_t n) {
  cg->q->scale_offset = real_array(cg, offset, n, "nnc.qscale_offset");
  cg->q->scale_mul = real_array(cg, mul, n, "nnc.qscale_mul");
  LLVMSetAlignment(cg->q->scale_offset, 64);
  LLVMSetAlignment(cg->q->scale_mul, 64);
}

/* s in every lane of a vector like v (v itself when a scalar). */
static LLVMValueRef lanes_like(Cg *cg, LLVMValueRef s, LLVMValueRef v) {
  LLVMTypeRef ty = LLVMTypeOf(v);
  if (LLVMGetTypeKind(ty) != LLVMVectorTypeKind) return s;
  LLVMValueRef one = LLVMBuildInsertElement(cg->b, LLVMGetUndef(ty), s, LLVMConstInt(cg->i32, 0, 0), "");
  return LLVMBuildShuffleVector(cg->b, one, LLVMGetUndef(ty), LLVMConstNull(LLVMVectorType(cg->i32, LLVMGetVectorSize(ty))), "");
}

/* Input i (v: its value, or a vector of inputs from i on) scaled in the model's reals:
 * (v − offset[i])·mul[i], strict (no fused multiply-add), whichever loop calls it. */
LLVMValueRef cg_quant_scale_input(Cg *cg, LLVMValueRef v, LLVMValueRef i) {
  LLVMValueRef a = lanes_like(cg, cg_load(cg, cg->q->scale_offset, i), v);
  LLVMValueRef m = lanes_like(cg, cg_load(cg, cg->q->scale_mul, i), v);
  return LLVMBuildFMul(cg->b, LLVMBuildFSub(cg->b, v, a, ""), m, "scaled");
}

/* --- kernels ------------------------------------------------------------------------ */

static LLVMValueRef vnni_call(Cg *cg, const char *name, LLVMValueRef *args, unsigned n, LLVMTypeRef overload) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  LLVMValueRef fn = LLVMGetIntrinsicDeclaration(cg->mod, id, overload ? &overload : NULL, overload ? 1 : 0);
  return LLVMBuildCall2(cg->b, LLVMGlobalGetValueType(fn), fn, args, n, "");
}

static LLVMValueRef idx2(Cg *cg, LLVMValueRef row, int64_t m, LLVMValueRef i) {
  return LLVMBuildAdd(cg->b, LLVMBuildMul(cg->b, row, cg_int(cg, m), ""), i, "");
}

static LLVMValueRef load_typed(Cg *cg, LLVMTypeRef ty, LLVMValueRef base, LLVMValueRef i) {
  return LLVMBuildLoad2(cg->b, ty, LLVMBuildInBoundsGEP2(cg->b, ty, base, &i, 1, ""), "");
}

/* A bf16 (i16 bits) as the model's real: its bits in the high half of an f32. */
static LLVMValueRef widen_bf16(Cg *cg, LLVMValueRef h) {
  LLVMValueRef bits = LLVMBuildShl(cg->b, LLVMBuildZExt(cg->b, h, cg->i32, ""), LLVMConstInt(cg->i32, 16, 0), "");
  LLVMValueRef f = LLVMBuildBitCast(cg->b, bits, LLVMFloatTypeInContext(cg->ctx), "");
  return cg->real_bytes == 8 ? LLVMBuildFPExt(cg->b, f, cg->real, "") : f;
}

/* The weight k of a quantized set as a real (int8: without its row scale). */
static LLVMValueRef dequant_unscaled(Cg *cg, const CgQuantSet *s, LLVMValueRef k) {
  if (cg->quant == CG_QUANT_BF16) return widen_bf16(cg, load_typed(cg, LLVMInt16TypeInContext(cg->ctx), s->w, k));
  return LLVMBuildSIToFP(cg->b, load_typed(cg, cg->i8, s->w, k), cg->real, "");
}

/* weight_at at run time: where weight (j, i) of s is. */
static LLVMValueRef weight_index(Cg *cg, const CgQuantSet *s, LLVMValueRef j, LLVMValueRef i) {
  if (!s->per_lane) return idx2(cg, j, s->stride, i);
  LLVMValueRef lanes = cg_int(cg, TILE_LANES), pl = cg_int(cg, s->per_lane);
  LLVMValueRef group = idx2(cg, LLVMBuildUDiv(cg->b, j, lanes, ""), s->depth, LLVMBuildUDiv(cg->b, i, pl, ""));
  LLVMValueRef in_group = idx2(cg, LLVMBuildURem(cg->b, j, lanes, ""), s->per_lane, LLVMBuildURem(cg->b, i, pl, ""));
  return idx2(cg, group, TILE_LANES * s->per_lane, in_group);
}

/* nr accumulators of vector type ty on the stack, each zero. */
static void zeroed_accumulators(Cg *cg, LLVMTypeRef ty, LLVMValueRef *acc, int nr) {
  for (int r = 0; r < nr; r++) {
    acc[r] = cg_alloca(cg, ty, "acc");
    LLVMBuildStore(cg->b, LLVMConstNull(ty), acc[r]);
  }
}

static void bf16_rows(Cg *cg, const CgQuantSet *s, int64_t rows, int64_t m, LLVMValueRef x, LLVMValueRef z) {
  CgLoop lj, li;
  LLVMValueRef j = cg_loop_begin(cg, &lj, cg_int(cg, rows), "qrow");
  LLVMValueRef acc = cg_alloca(cg, cg->real, "qacc");
  LLVMBuildStore(cg->b, cg_real(cg, 0.0), acc);
  LLVMValueRef i = cg_loop_begin(cg, &li, cg_int(cg, m), "qcol");
  LLVMValueRef w = dequant_unscaled(cg, s, idx2(cg, j, m, i));
  LLVMBuildStore(cg->b, cg_fmuladd(cg, w, cg_load(cg, x, i), LLVMBuildLoad2(cg->b, cg->real, acc, "")), acc);
  cg_loop_end(cg, &li);
  cg_store(cg, z, j, cg_fadd(cg, cg_load(cg, z, j), LLVMBuildLoad2(cg->b, cg->real, acc, "")));
  cg_loop_end(cg, &lj);
}

static LLVMValueRef byte_at(Cg *cg, LLVMValueRef base, int64_t k) {
  LLVMValueRef i = cg_int(cg, k);
  return LLVMBuildInBoundsGEP2(cg->b, cg->i8, base, &i, 1, "");
}

/* A constant of integer type it, in every lane of a vector of `lanes` lanes (0: a scalar). */
static LLVMValueRef const_lanes(LLVMTypeRef it, unsigned long long v, unsigned lanes) {
  LLVMValueRef c = LLVMConstInt(it, v, 0), elems[TILE_LANES];
  if (!lanes) return c;
  for (unsigned k = 0; k < lanes; k++) elems[k] = c;
  return LLVMConstVector(elems, lanes);
}

/* |v|'s bits as an unsigned integer (lane by lane for a vector of reals): ordered as the
 * magnitudes are, with every NaN above infinity, so that the largest of them is a NaN if any
 * value is one, else an infinity if any is one, else the largest magnitude. */
static LLVMValueRef magnitude_bits(Cg *cg, LLVMValueRef v) {
  LLVMTypeRef ty = LLVMTypeOf(v), it = LLVMIntTypeInContext(cg->ctx, (unsigned)cg->real_bytes * 8);
  unsigned lanes = LLVMGetTypeKind(ty) == LLVMVectorTypeKind ? LLVMGetVectorSize(ty) : 0;
  unsigned long long sign_off = cg->real_bytes == 8 ? 0x7fffffffffffffffull : 0x7fffffffull;
  LLVMValueRef bits = LLVMBuildBitCast(cg->b, v, lanes ? LLVMVectorType(it, lanes) : it, "");
  return LLVMBuildAnd(cg->b, bits, const_lanes(it, sign_off, lanes), "");
}

static LLVMValueRef umax(Cg *cg, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildSelect(cg->b, LLVMBuildICmp(cg->b, LLVMIntUGT, a, b, ""), a, b, "");
}

/* max_i |x_i| over the m values at x, through magnitude_bits: NaN if any x_i is NaN. */
static LLVMValueRef abs_max(Cg *cg, LLVMValueRef x, int64_t m) {
  LLVMTypeRef it = LLVMIntTypeInContext(cg->ctx, (unsigned)cg->real_bytes * 8);
  LLVMValueRef mx = cg_alloca(cg, it, "qmax");
  LLVMBuildStore(cg->b, LLVMConstInt(it, 0, 0), mx);
  CgLoop l;
  LLVMValueRef i = cg_loop_begin(cg, &l, cg_int(cg, m), "qabs");
  LLVMBuildStore(cg->b, umax(cg, magnitude_bits(cg, cg_load(cg, x, i)), LLVMBuildLoad2(cg->b, it, mx, "")), mx);
  cg_loop_end(cg, &l);
  return LLVMBuildBitCast(cg->b, LLVMBuildLoad2(cg->b, it, mx, ""), cg->real, "");
}

#define MAX_CHAINS 4

/* The largest lane of the integer vector v: halves folded onto each other (log2 lanes maxima). */
static LLVMValueRef lanes_max(Cg *cg, LLVMValueRef v) {
  for (unsigned half = LLVMGetVectorSize(LLVMTypeOf(v)) / 2; half >= 1; half /= 2) {
    LLVMValueRef idx[TILE_LANES];
    for (unsigned k = 0; k < 2 * half; k++) idx[k] = LLVMConstInt(cg->i32, (k + half) % (2 * half), 0);
    for (unsigned k = 2 * half; k < LLVMGetVectorSize(LLVMTypeOf(v)); k++) idx[k] = LLVMConstInt(cg->i32, k, 0);
    LLVMValueRef sh = LLVMBuildShuffleVector(cg->b, v, LLVMGetUndef(LLVMTypeOf(v)), LLVMConstVector(idx, LLVMGetVectorSize(LLVMTypeOf(v))), "");
    v = umax(cg, v, sh);
  }
  return LLVMBuildExtractElement(cg->b, v, LLVMConstInt(cg->i32, 0, 0), "");
}

/* abs_max with whole vectors of x (f32, 16 lanes, the tiled kernels' targets): MAX_CHAINS
 * independent chains of vector maxima over m/16 vectors (the maximum does not depend on the
 * order), the chains', the lanes' and the remainder's; the same maximum, NaN included. */
static LLVMValueRef abs_max_vectors(Cg *cg, LLVMValueRef x, int64_t m) {
  LLVMTypeRef vt = LLVMVectorType(cg->i32, TILE_LANES);
  int64_t vl = TILE_LANES, nv = m / vl, chains = nv < MAX_CHAINS ? (nv ? nv : 1) : MAX_CHAINS;
  LLVMValueRef mx[MAX_CHAINS];
  for (int64_t c = 0; c < chains; c++) {
    mx[c] = cg_alloca(cg, vt, "qvmax");
    LLVMBuildStore(cg->b, LLVMConstNull(vt), mx[c]);
  }
  CgLoop l;
  if (nv / chains > 0) {
    LLVMValueRef i = LLVMBuildMul(cg->b, cg_loop_begin(cg, &l, cg_int(cg, nv / chains), "qvabs"), cg_int(cg, vl * chains), "");
    for (int64_t c = 0; c < chains; c++) {
      LLVMValueRef v = magnitude_bits(cg, cg_vload(cg, cg_elem(cg, x, LLVMBuildAdd(cg->b, i, cg_int(cg, c * vl), "")), NULL));
      LLVMBuildStore(cg->b, umax(cg, v, LLVMBuildLoad2(cg->b, vt, mx[c], "")), mx[c]);
    }
    cg_loop_end(cg, &l);
  }
  for (int64_t k = nv / chains * chains; k < nv; k++) { /* the vectors left over from the chains */
    LLVMValueRef v = magnitude_bits(cg, cg_vload(cg, cg_elem(cg, x, cg_int(cg, k * vl)), NULL));
    LLVMBuildStore(cg->b, umax(cg, v, LLVMBuildLoad2(cg->b, vt, mx[k % chains], "")), mx[k % chains]);
  }
  LLVMValueRef lanes = LLVMBuildLoad2(cg->b, vt, mx[0], "");
  for (int64_t c = 1; c < chains; c++) lanes = umax(cg, LLVMBuildLoad2(cg->b, vt, mx[c], ""), lanes);
  LLVMValueRef r = lanes_max(cg, lanes);
  for (int64_t k = nv * vl; k < m; k++) r = umax(cg, magnitude_bits(cg, cg_load(cg, x, cg_int(cg, k))), r);
  return LLVMBuildBitCast(cg->b, r, cg->real, "");
}

/* v rounded half away from zero and clamped to [−127, 127], as an i8: compares, an add and a
 * conversion, no call to a C library. */
static LLVMValueRef to_int8(Cg *cg, LLVMValueRef v) {
  LLVMValueRef neg = LLVMBuildFCmp(cg->b, LLVMRealOLT, v, cg_real(cg, 0.0), "");
  LLVMValueRef r = LLVMBuildFAdd(cg->b, v, LLVMBuildSelect(cg->b, neg, cg_real(cg, -0.5), cg_real(cg, 0.5), ""), "");
  r = cg_fmin(cg, cg_fmax(cg, r, cg_real(cg, -127.0)), cg_real(cg, 127.0));
  return LLVMBuildFPToSI(cg->b, r, cg->i8, "");
}

/* to_int8 of x[i]·pre·inv + 128 (xor 0x80), 16 at a time with AVX-512 (the tiled kernels'
 * targets, x86 only), for the whole vectors of the m values; returns how many it did. The same
 * bytes as to_int8 for finite values: |x[i]·pre·inv| ≤ 127·(1 + 2^-23)², so v + copysign(0.5, v)
 * truncates to [−127, 127] with no clamp (a NaN gives byte 0x80, input 0); vcvttps2dq is
 * defined where LLVM's fptosi is not. */
static int64_t quantize_vectors(Cg *cg, LLVMValueRef x, int64_t m, LLVMValueRef pre, LLVMValueRef inv, LLVMValueRef xq) {
  LLVMTypeRef vt = cg_vec_type(cg), vi = LLVMVectorType(cg->i32, TILE_LANES), vb = LLVMVectorType(cg->i8, TILE_LANES);
  int64_t nv = m / TILE_LANES;
  if (nv == 0) return 0;
  CgLoop l;
  LLVMValueRef i = LLVMBuildMul(cg->b, cg_loop_begin(cg, &l, cg_int(cg, nv), "qvx"), cg_int(cg, TILE_LANES), "");
  LLVMValueRef v = LLVMBuildFMul(cg->b, cg_vload(cg, cg_elem(cg, x, i), NULL), cg_splat(cg, pre), "");
  v = LLVMBuildFMul(cg->b, v, cg_splat(cg, inv), "");
  LLVMValueRef half[] = {cg_splat(cg, cg_real(cg, 0.5)), v};
  LLVMValueRef r = LLVMBuildFAdd(cg->b, v, vnni_call(cg, "llvm.copysign", half, 2, vt), "");
  LLVMValueRef args[] = {r, LLVMConstNull(vi), LLVMConstInt(LLVMInt16TypeInContext(cg->ctx), 0xffff, 0), LLVMConstInt(cg->i32, 4, 0)};
  LLVMValueRef q = LLVMBuildTrunc(cg->b, vnni_call(cg, "llvm.x86.avx512.mask.cvttps2dq.512", args, 4, NULL), vb, "");
  LLVMValueRef bias[TILE_LANES];
  for (int k = 0; k < TILE_LANES; k++) bias[k] = LLVMConstInt(cg->i8, 0x80, 0);
  q = LLVMBuildXor(cg->b, q, LLVMConstVector(bias, TILE_LANES), ""); /* + 128, as unsigned */
  LLVMValueRef st = LLVMBuildStore(cg->b, q, LLVMBuildInBoundsGEP2(cg->b, cg->i8, xq, &i, 1, ""));
  LLVMSetAlignment(st, TILE_LANES);
  cg_loop_end(cg, &l);
  return nv * TILE_LANES;
}

/* Below TINY the reciprocal 127 / max |x| would overflow (f32: below 3.7e-37 it is infinite):
 * such inputs are first multiplied by PRE, a power of two, exactly. */
#define TINY_F32 0x1p-64
#define PRE_F32 0x1p64
#define TINY_F64 0x1p-512
#define PRE_F64 0x1p512

/* xq[i] = x[i] / s_x + 128 as an unsigned byte with s_x = max |x| / 127 (unsigned times signed
 * bytes is the operand order of the x86 VNNI dot product), or x[i] / s_x as a signed byte when
 * !shift (sdot); returns s_x: 0 when x is all zeros, NaN when an x[i] is NaN or infinite, so
 * that every sum of the layer is NaN, as in float, on every path alike (rounding such an input
 * has no meaning). x[i] / s_x is x[i]·pre·(127 / (max |x|·pre)), with pre = 1 unless max |x| is
 * tiny, where the reciprocal alone would overflow. */
static LLVMValueRef quantize_source(Cg *cg, LLVMValueRef x, int64_t m, int64_t st, LLVMValueRef xq, int tiled, int shift) {
  LLVMValueRef amax = tiled ? abs_max_vectors(cg, x, m) : abs_max(cg, x, m);
  int f64 = cg->real_bytes == 8;
  LLVMValueRef tiny = LLVMBuildFCmp(cg->b, LLVMRealOLT, amax, cg_real(cg, f64 ? TINY_F64 : TINY_F32), "");
  LLVMValueRef pre = LLVMBuildSelect(cg->b, tiny, cg_real(cg, f64 ? PRE_F64 : PRE_F32), cg_real(cg, 1.0), "");
  LLVMValueRef finite = LLVMBuildFCmp(cg->b, LLVMRealOLT, amax, cg_real(cg, INFINITY), ""); /* false for NaN */
  LLVMValueRef pos = LLVMBuildAnd(cg->b, LLVMBuildFCmp(cg->b, LLVMRealOGT, amax, cg_real(cg, 0.0), ""), finite, "");
  LLVMValueRef scaled_max = LLVMBuildFMul(cg->b, amax, pre, "");
  LLVMValueRef inv = LLVMBuildSelect(cg->b, pos, LLVMBuildFDiv(cg->b, cg_real(cg, 127.0), scaled_max, ""), cg_real(cg, 0.0), "");
  int64_t done = tiled && shift ? quantize_vectors(cg, x, m, pre, inv, xq) : 0;
  CgLoop l;
  LLVMValueRef i = LLVMBuildAdd(cg->b, cg_loop_begin(cg, &l, cg_int(cg, m - done), "qx"), cg_int(cg, done), "");
  LLVMValueRef q = to_int8(cg, LLVMBuildFMul(cg->b, LLVMBuildFMul(cg->b, cg_load(cg, x, i), pre, ""), inv, ""));
  if (shift) q = LLVMBuildXor(cg->b, q, LLVMConstInt(cg->i8, 0x80, 0), ""); /* + 128, as unsigned */
  LLVMBuildStore(cg->b, q, LLVMBuildInBoundsGEP2(cg->b, cg->i8, xq, &i, 1, ""));
  cg_loop_end(cg, &l);
  for (int64_t k = m; k < st; k++) /* the padding: any byte (its weights are 0), but defined */
    LLVMBuildStore(cg->b, LLVMConstInt(cg->i8, shift ? 0x80 : 0, 0), byte_at(cg, xq, k));
  LLVMValueRef sx = LLVMBuildFMul(cg->b, amax, cg_real(cg, 1.0 / 127.0), "");
  return LLVMBuildSelect(cg->b, finite, sx, cg_real(cg, NAN), "");
}

/* xb[i] = x[i] rounded to bf16 (vcvtneps2bf16 with AVX-512 BF16), zeros up to st. */
static void round_source(Cg *cg, LLVMValueRef x, int64_t m, int64_t st, LLVMValueRef xb) {
  LLVMTypeRef bf = LLVMBFloatTypeInContext(cg->ctx);
  CgLoop l;
  LLVMValueRef i = cg_loop_begin(cg, &l, cg_int(cg, m), "xbf16");
  LLVMBuildStore(cg->b, LLVMBuildFPTrunc(cg->b, cg_load(cg, x, i), bf, ""), LLVMBuildInBoundsGEP2(cg->b, bf, xb, &i, 1, ""));
  cg_loop_end(cg, &l);
  for (int64_t k = m; k < st; k++) {
    LLVMValueRef idx = cg_int(cg, k);
    LLVMBuildStore(cg->b, LLVMConstNull(bf), LLVMBuildInBoundsGEP2(cg->b, bf, xb, &idx, 1, ""));
  }
}

/* z[j] += (acc − 128·Σ_i w[j][i]) · s_j · s_x: the dot product of row j made exact and scaled
 * (acc · s_j · s_x with sdot: nothing to undo). Strict float operations (no reassociation, no
 * fusing) whichever loop calls this: the rows with and without sdot give the same bits. */
static void int8_finish(Cg *cg, const CgQuantSet *s, LLVMValueRef j, LLVMValueRef acc, LLVMValueRef sx, LLVMValueRef z) {
  if (s->wsum) {
    LLVMValueRef undo = LLVMBuildShl(cg->b, load_typed(cg, cg->i32, s->wsum, j), LLVMConstInt(cg->i32, 7, 0), "");
    acc = LLVMBuildSub(cg->b, acc, undo, "");
  }
  LLVMValueRef dot = LLVMBuildSIToFP(cg->b, acc, cg->real, "");
  LLVMValueRef scale = LLVMBuildFMul(cg->b, cg_load(cg, s->scale, j), sx, "");
  cg_store(cg, z, j, LLVMBuildFAdd(cg->b, LLVMBuildFMul(cg->b, dot, scale, ""), cg_load(cg, z, j), ""));
}

/* bytes of stack for a set's operands (its quantized or bf16-rounded inputs, AMX's rows):
 * one array per function, which its sets use one after another (each makes its operands, then
 * runs its rows; none is read by the next set), grown to the largest set's need. An array per
 * set made the frame the sum of every set's inputs: 20 neurons fed by 10,000 inputs took 200 KB
 * of stack for one sample, and a thread with a 128 KB stack crashed where 10 KB would do. */
static LLVMValueRef operand_stack(Cg *cg, int64_t bytes) {
  CgQuant *q = cg->q;
  int same = q->operands_entry == cg->entry;
  if (same && q->operands_bytes >= bytes) return q->operands;
  LLVMValueRef a = cg_alloca(cg, LLVMArrayType2(cg->i8, (uint64_t)bytes), "qoperands");
  LLVMSetAlignment(a, 64);
  if (same) {
    LLVMReplaceAllUsesWith(q->operands, a);
    LLVMInstructionEraseFromParent(q->operands);
  }
  q->operands = a, q->operands_entry = cg->entry, q->operands_bytes = bytes;
  return a;
}

/* Without the tiled kernel: row after row, one i32 sum each. */
static void int8_rows(Cg *cg, const CgQuantSet *s, int64_t rows, int64_t m, LLVMValueRef x, LLVMValueRef z) {
  int64_t st = s->stride;
  LLVMValueRef xq = operand_stack(cg, st);
  LLVMValueRef sx = quantize_source(cg, x, m, st, xq, 0, 1);
  CgLoop lj, li;
  LLVMValueRef j = cg_loop_begin(cg, &lj, cg_int(cg, rows), "qrow");
  LLVMValueRef acc = cg_alloca(cg, cg->i32, "qacc");
  LLVMBuildStore(cg->b, LLVMConstInt(cg->i32, 0, 0), acc);
  LLVMValueRef i = cg_loop_begin(cg, &li, cg_int(cg, st), "qcol");
  LLVMValueRef w = LLVMBuildSExt(cg->b, load_typed(cg, cg->i8, s->w, idx2(cg, j, st, i)), cg->i32, "");
  LLVMValueRef xv = LLVMBuildZExt(cg->b, load_typed(cg, cg->i8, xq, i), cg->i32, "");
  LLVMValueRef sum = LLVMBuildAdd(cg->b, LLVMBuildLoad2(cg->b, cg->i32, acc, ""), LLVMBuildMul(cg->b, w, xv, ""), "");
  LLVMBuildStore(cg->b, sum, acc);
  cg_loop_end(cg, &li);
  int8_finish(cg, s, j, LLVMBuildLoad2(cg->b, cg->i32, acc, ""), sx, z);
  cg_loop_end(cg, &lj);
}

/* An intrinsic overloaded on two types (sdot: the accumulator's and the bytes' vectors). */
static LLVMValueRef call2(Cg *cg, const char *name, LLVMValueRef *args, unsigned n, LLVMTypeRef t0, LLVMTypeRef t1) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  LLVMTypeRef over[] = {t0, t1};
  LLVMValueRef fn = LLVMGetIntrinsicDeclaration(cg->mod, id, over, t1 ? 2 : 1);
  return LLVMBuildCall2(cg->b, LLVMGlobalGetValueType(fn), fn, args, n, "");
}

/* 16 bytes at base + off as a vector. */
static LLVMValueRef load_bytes(Cg *cg, LLVMValueRef base, LLVMValueRef off) {
  LLVMTypeRef v16 = LLVMVectorType(cg->i8, SDOT_BYTES);
  LLVMValueRef v = LLVMBuildLoad2(cg->b, v16, LLVMBuildInBoundsGEP2(cg->b, cg->i8, base, &off, 1, ""), "");
  LLVMSetAlignment(v, SDOT_BYTES);
  return v;
}

/* With the Armv8.2 dot product: row after row, four lanes each summing 4 products of signed
 * bytes per sdot (16 per instruction), the lanes added at the end of the row. */
static void int8_rows_sdot(Cg *cg, const CgQuantSet *s, int64_t rows, int64_t m, LLVMValueRef x, LLVMValueRef z) {
  int64_t st = s->stride;
  LLVMTypeRef v4 = LLVMVectorType(cg->i32, 4), v16 = LLVMVectorType(cg->i8, SDOT_BYTES);
  LLVMValueRef xq = operand_stack(cg, st);
  LLVMValueRef sx = quantize_source(cg, x, m, st, xq, 0, 0);
  CgLoop lj, li;
  LLVMValueRef j = cg_loop_begin(cg, &lj, cg_int(cg, rows), "qrow");
  LLVMValueRef acc;
  zeroed_accumulators(cg, v4, &acc, 1);
  LLVMValueRef i = LLVMBuildMul(cg->b, cg_loop_begin(cg, &li, cg_int(cg, st / SDOT_BYTES), "sdot"), cg_int(cg, SDOT_BYTES), "");
  LLVMValueRef args[] = {LLVMBuildLoad2(cg->b, v4, acc, ""), load_bytes(cg, s->w, idx2(cg, j, st, i)), load_bytes(cg, xq, i)};
  LLVMBuildStore(cg->b, call2(cg, "llvm.aarch64.neon.sdot", args, 3, v4, v16), acc);
  cg_loop_end(cg, &li);
  LLVMValueRef lanes = LLVMBuildLoad2(cg->b, v4, acc, "");
  int8_finish(cg, s, j, call2(cg, "llvm.vector.reduce.add", &lanes, 1, v4, NULL), sx, z);
  cg_loop_end(cg, &lj);
}

/* --- the tiled kernel: a register tile of panels × samples (AVX-512 VNNI, BF16) -------- */

/* The register tile: TILE_PANELS_* panels (of TILE_LANES rows) × TILE_SAMPLES samples of
 * accumulators. Each broadcast of a sample's inputs feeds one dot product per panel, each
 * panel's weight vector loaded feeds one per sample. One sample: 8 × 1; batches: 2 × 8 (16
 * accumulators; 4 × 4 measured alike on Fashion-MNIST). */
#define TILE_PANELS_ONE 8
#define TILE_PANELS_MULTI 2
#define TILE_SAMPLES 8

typedef struct Tile {
  const CgQuantSet *s;
  const TileScheme *t;
  LLVMTypeRef acc_ty, x_ty, w_ty; /* the dot product's operands */
  int samples;
  LLVMValueRef xq[CG_QUANT_SAMPLES]; /* each sample's inputs: u8 + 128 (int8), bf16 */
  LLVMValueRef sx[CG_QUANT_SAMPLES]; /* int8: each sample's scale */
  LLVMValueRef z[CG_QUANT_SAMPLES];  /* each sample's net inputs of the set's group */
  LLVMValueRef ahead;                /* batches: the next block's inputs, fetched meanwhile; or NULL */
  int64_t ahead_lines;               /* their cache lines */
  int64_t ahead_every;               /* one line every so many steps of the tile loop */
  LLVMValueRef pass;                 /* the pass over the panels the loop is in (NULL: no fetching) */
  LLVMValueRef rows;                 /* AMX: the samples' operands as the rows of one array, or NULL */
  int64_t operand_bytes;             /* AMX: a sample's operands (the set's stride of them) */
  int64_t row_bytes;                 /* AMX: from one sample's to the next's, whole cache lines */
} Tile;

static void tile_begin(Cg *cg, Tile *t, const CgQuantSet *s, int samples) {
  memset(t, 0, sizeof *t);
  t->s = s;
  t->t = tile_scheme(cg);
  t->samples = samples;
  unsigned id = LLVMLookupIntrinsicID(t->t->dot, strlen(t->t->dot));
  LLVMTypeRef ops[3];
  LLVMGetParamTypes(LLVMIntrinsicGetType(cg->ctx, id, NULL, 0), ops);
  t->acc_ty = ops[0], t->x_ty = ops[1], t->w_ty = ops[2];
}

/* A batch's tile on a target with AMX for the scheme: the samples' operands become the rows
 * of the tiles' left operand, one array. */
static void tile_begin_amx(Cg *cg, Tile *t) {
  if (!(cg->isa & t->t->amx_isa)) return;
  t->operand_bytes = t->s->stride * (t->t == &tile_int8 ? 1 : 2);
  t->row_bytes = (t->operand_bytes + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE;
  t->rows = operand_stack(cg, t->samples * t->row_bytes);
}

/* Sample k's inputs x (m of them) made the kernel's operands, z its group's net inputs. */
static void tile_sample(Cg *cg, Tile *t, int k, LLVMValueRef x, int64_t m, LLVMValueRef z) {
  int64_t st = t->s->stride;
  int int8 = t->t == &tile_int8;
  int64_t line = align_line(st * (int8 ? 1 : 2));
  if (t->rows) t->xq[k] = byte_at(cg, t->rows, k * t->row_bytes);
  else t->xq[k] = byte_at(cg, operand_stack(cg, t->samples * line), k * line);
  if (int8) t->sx[k] = quantize_source(cg, x, m, st, t->xq[k], 1, 1);
  else round_source(cg, x, m, st, t->xq[k]);
  t->z[k] = z;
}

/* The i32 v in every lane. */
static LLVMValueRef lanes_i32(Cg *cg, LLVMValueRef v) {
  LLVMTypeRef v16 = LLVMVectorType(cg->i32, TILE_LANES);
  LLVMValueRef one = LLVMBuildInsertElement(cg->b, LLVMGetUndef(v16), v, LLVMConstInt(cg->i32, 0, 0), "");
  return LLVMBuildShuffleVector(cg->b, one, LLVMGetUndef(v16), LLVMConstNull(v16), "");
}

/* Sample k's group g of per_lane inputs (4 bytes) in every lane. */
static LLVMValueRef tile_broadcast(Cg *cg, const Tile *t, int k, LLVMValueRef g) {
  LLVMValueRef off = LLVMBuildMul(cg->b, g, cg_int(cg, 4), "");
  LLVMValueRef v = LLVMBuildLoad2(cg->b, cg->i32, LLVMBuildInBoundsGEP2(cg->b, cg->i8, t->xq[k], &off, 1, ""), "");
  LLVMSetAlignment(v, 4);
  return LLVMBuildBitCast(cg->b, lanes_i32(cg, v), t->x_ty, "");
}

/* The weights of panel p, group g: TILE_LANES rows × per_lane inputs, one vector. */
static LLVMValueRef tile_weights(Cg *cg, const Tile *t, LLVMValueRef p, LLVMValueRef g) {
  LLVMValueRef off = LLVMBuildMul(cg->b, idx2(cg, p, t->s->depth, g), cg_int(cg, 64), "");
  LLVMValueRef v = LLVMBuildLoad2(cg->b, t->w_ty, LLVMBuildInBoundsGEP2(cg->b, cg->i8, t->s->w, &off, 1, ""), "");
  LLVMSetAlignment(v, 64);
  return v;
}

/* z[k][rows of panel p] += the sums acc, scaled back (int8), in the first `lanes` lanes. */
static void tile_finish(Cg *cg, const Tile *t, LLVMValueRef p, int k, LLVMValueRef acc, int lanes) {
  LLVMValueRef j0 = LLVMBuildMul(cg->b, p, cg_int(cg, TILE_LANES), ""), mask = cg_lane_mask(cg, lanes);
  LLVMValueRef zp = cg_elem(cg, t->z[k], j0), z = cg_vload(cg, zp, mask);
  if (t->t == &tile_bf16) {
    cg_vstore(cg, cg_fadd(cg, z, acc), zp, mask);
    return;
  }
  LLVMTypeRef v16 = LLVMVectorType(cg->i32, TILE_LANES);
  LLVMValueRef wsum = LLVMBuildLoad2(cg->b, v16, LLVMBuildInBoundsGEP2(cg->b, cg->i32, t->s->wsum, &j0, 1, ""), "");
  LLVMSetAlignment(wsum, 64);
  LLVMValueRef undo = LLVMBuildShl(cg->b, wsum, lanes_i32(cg, LLVMConstInt(cg->i32, 7, 0)), "");
  LLVMValueRef dot = LLVMBuildSIToFP(cg->b, LLVMBuildSub(cg->b, acc, undo, ""), cg_vec_type(cg), "");
  LLVMValueRef scale = LLVMBuildLoad2(cg->b, cg_vec_type(cg), cg_elem(cg, t->s->scale, j0), "");
  LLVMSetAlignment(scale, 64);
  cg_vstore(cg, cg_vfma(cg, dot, cg_fmul(cg, scale, cg_splat(cg, t->sx[k])), z), zp, mask);
}

/* During step g of pass t->pass over the panels: a prefetch of the next block's inputs, line
 * (pass·depth + g) / ahead_every (the last line again past the end), so that the block's
 * inputs come from the cache, spread over the passes, when its turn comes: a batch streams
 * its inputs from memory (Fashion-MNIST: 31 MB for 10,000 samples), a block's inputs at a
 * time, each block's first reads otherwise waiting on memory. Prefetches do not fault, and
 * change no value. */
static void tile_fetch_ahead(Cg *cg, const Tile *t, LLVMValueRef g) {
  if (!t->ahead || !t->pass) return;
  LLVMValueRef step = idx2(cg, t->pass, t->s->depth, g);
  LLVMValueRef line = LLVMBuildUDiv(cg->b, step, cg_int(cg, t->ahead_every), "");
  LLVMValueRef last = cg_int(cg, t->ahead_lines - 1);
  line = LLVMBuildSelect(cg->b, LLVMBuildICmp(cg->b, LLVMIntULT, line, last, ""), line, last, "");
  LLVMValueRef off = LLVMBuildMul(cg->b, line, cg_int(cg, CACHE_LINE), "");
  LLVMValueRef args[] = {LLVMBuildGEP2(cg->b, cg->i8, t->ahead, &off, 1, ""), LLVMConstInt(cg->i32, 0, 0),
                         LLVMConstInt(cg->i32, 3, 0), LLVMConstInt(cg->i32, 1, 0)};
  vnni_call(cg, "llvm.prefetch", args, 4, cg->ptr);
}

/* Panels p0 .. p0+np−1 for samples k0 .. k0+nk−1: np × nk accumulators, and per group of
 * inputs np weight vectors and one broadcast per sample. `lanes`: rows in the last panel. */
static void tile_samples(Cg *cg, const Tile *t, LLVMValueRef p0, int np, int lanes, int k0, int nk) {
  LLVMValueRef acc[TILE_PANELS_ONE][CG_QUANT_SAMPLES], p[TILE_PANELS_ONE], w[TILE_PANELS_ONE];
  for (int i = 0; i < np; i++) {
    zeroed_accumulators(cg, t->acc_ty, acc[i] + k0, nk);
    p[i] = LLVMBuildAdd(cg->b, p0, cg_int(cg, i), "");
  }
  CgLoop l;
  LLVMValueRef g = cg_loop_begin(cg, &l, cg_int(cg, t->s->depth), "tile");
  if (k0 == 0) tile_fetch_ahead(cg, t, g);
  for (int i = 0; i < np; i++) w[i] = tile_weights(cg, t, p[i], g);
  for (int k = k0; k < k0 + nk; k++) {
    LLVMValueRef x = tile_broadcast(cg, t, k, g);
    for (int i = 0; i < np; i++) {
      LLVMValueRef args[] = {LLVMBuildLoad2(cg->b, t->acc_ty, acc[i][k], ""), x, w[i]};
      LLVMBuildStore(cg->b, vnni_call(cg, t->t->dot, args, 3, NULL), acc[i][k]);
    }
  }
  cg_loop_end(cg, &l);
  for (int i = 0; i < np; i++)
    for (int k = k0; k < k0 + nk; k++)
      tile_finish(cg, t, p[i], k, LLVMBuildLoad2(cg->b, t->acc_ty, acc[i][k], ""), i == np - 1 ? lanes : TILE_LANES);
}

/* --- AMX: tiles of the batch's samples × 16 neurons ------------------------------------- */

/* With AMX a batch's block of samples goes through tile registers: the left operand A holds
 * the samples' operands as rows (64 bytes of each per step: 64 int8 or 32 bf16 inputs), the
 * right one B a panel's weights as they are laid out for the vector kernel (a row of B is
 * one group of per_lane inputs of the panel's 16 neurons: the tile's packed layout), C the
 * samples × 16 neurons sums (i32 or f32). tdpbusd multiplies unsigned by signed bytes as
 * vpdpbusd does, so an int8 batch has the same i32 sums, and outputs, as its samples one by
 * one; tdpbf16ps adds its pairs of products in its own order, so bf16 outputs may differ from
 * the vector kernel's by rounding. AMX_PANELS panels share each load of A: four tile products
 * independent of each other in flight, 16 samples each, where one tile product's latency is
 * several times its issue interval. The sums stay in
 * tile registers for AMX_STEPS steps of straight-line code, then go to memory (a few L1 lines)
 * and come back for the next steps: LLVM 19's scalar lowering of the AMX intrinsics (the
 * layout's test on hosts without AMX) cannot take tiles carried through a loop's phi. */
#define AMX_PANELS 2
#define AMX_STEPS 8

/* A tile of `rows` rows of `bytes` bytes read from p, rows `stride` bytes apart. */
static LLVMValueRef amx_load(Cg *cg, int64_t rows, int64_t bytes, LLVMValueRef p, int64_t stride) {
  LLVMValueRef args[] = {cg_i16(cg, rows), cg_i16(cg, bytes), p, cg_int(cg, stride)};
  return cg_call_intrinsic(cg, "llvm.x86.tileloadd64.internal", args, 4);
}

static void amx_store(Cg *cg, int64_t rows, LLVMValueRef p, LLVMValueRef c) {
  LLVMValueRef args[] = {cg_i16(cg, rows), cg_i16(cg, AMX_ROW_BYTES), p, cg_int(cg, AMX_ROW_BYTES), c};
  cg_call_intrinsic(cg, "llvm.x86.tilestored64.internal", args, 5);
}

/* Step k0 + k's operands: A (64 bytes of every sample's, from (k0 + k)·64 on) and B of each
 * panel p0 .. p0+np−1, into a[0] and b[0 .. np−1]. */
static void amx_operands(Cg *cg, const Tile *t, LLVMValueRef p0, int np, LLVMValueRef k0, int64_t k, LLVMValueRef *ab) {
  LLVMValueRef step = LLVMBuildAdd(cg->b, k0, cg_int(cg, k), "");
  LLVMValueRef off = LLVMBuildMul(cg->b, step, cg_int(cg, AMX_ROW_BYTES), "");
  ab[0] = amx_load(cg, t->samples, AMX_ROW_BYTES, LLVMBuildInBoundsGEP2(cg->b, cg->i8, t->rows, &off, 1, ""), t->row_bytes);
  LLVMValueRef g = LLVMBuildMul(cg->b, step, cg_int(cg, AMX_GROUPS), ""); /* B's first group */
  for (int i = 0; i < np; i++) {
    LLVMValueRef p = LLVMBuildAdd(cg->b, p0, cg_int(cg, i), "");
    LLVMValueRef woff = LLVMBuildMul(cg->b, idx2(cg, p, t->s->depth, g), cg_int(cg, AMX_ROW_BYTES), "");
    ab[1 + i] = amx_load(cg, AMX_GROUPS, AMX_ROW_BYTES, LLVMBuildInBoundsGEP2(cg->b, cg->i8, t->s->w, &woff, 1, ""), AMX_ROW_BYTES);
  }
}

/* Steps k0 .. k0+n−1 for panels p0 .. p0+np−1: each panel's C from sums, the steps' products
 * added, C back to sums. Each step's operands are loaded before the previous step's products
 * (into other tile registers: a tile register is not renamed, so a load into the register a
 * product still reads would wait for it), so that loading B from L2 overlaps the products. */
static void amx_steps(Cg *cg, const Tile *t, LLVMValueRef p0, int np, LLVMValueRef sums, LLVMValueRef k0, int64_t n) {
  int64_t m = t->samples, c_bytes = m * AMX_ROW_BYTES;
  LLVMValueRef c[AMX_PANELS], ab[2][1 + AMX_PANELS];
  for (int i = 0; i < np; i++) c[i] = amx_load(cg, m, AMX_ROW_BYTES, byte_at(cg, sums, i * c_bytes), AMX_ROW_BYTES);
  amx_operands(cg, t, p0, np, k0, 0, ab[0]);
  for (int64_t k = 0; k < n; k++) {
    LLVMValueRef *now = ab[k % 2];
    if (k + 1 < n) amx_operands(cg, t, p0, np, k0, k + 1, ab[(k + 1) % 2]);
    for (int i = 0; i < np; i++) {
      LLVMValueRef args[] = {cg_i16(cg, m), cg_i16(cg, AMX_ROW_BYTES), cg_i16(cg, AMX_ROW_BYTES), c[i], now[0], now[1 + i]};
      c[i] = cg_call_intrinsic(cg, t->t->amx, args, 6);
    }
  }
  for (int i = 0; i < np; i++) amx_store(cg, m, byte_at(cg, sums, i * c_bytes), c[i]);
}

/* Panels p0 .. p0+np−1 for every sample of the block through AMX tiles, then each sample's
 * 16 sums of each panel finished as the vector kernel finishes its accumulators. */
static void amx_block(Cg *cg, const Tile *t, LLVMValueRef p0, int np, int lanes) {
  int64_t m = t->samples, steps = t->operand_bytes / AMX_ROW_BYTES, chunks = steps / AMX_STEPS;
  LLVMTypeRef v16 = LLVMVectorType(cg->i32, TILE_LANES);
  LLVMValueRef sums = cg_alloca(cg, LLVMArrayType2(v16, (uint64_t)(AMX_PANELS * m)), "amx_sums");
  LLVMSetAlignment(sums, 64);
  for (int64_t r = 0; r < np * m; r++) LLVMBuildStore(cg->b, LLVMConstNull(v16), byte_at(cg, sums, r * AMX_ROW_BYTES));
  if (chunks > 0) {
    CgLoop l;
    int rolled = cg->rolled;
    cg->rolled = 1; /* kept a loop: unrolled, its chunks would be one straight line */
    LLVMValueRef k0 = LLVMBuildMul(cg->b, cg_loop_begin(cg, &l, cg_int(cg, chunks), "amx"), cg_int(cg, AMX_STEPS), "");
    amx_steps(cg, t, p0, np, sums, k0, AMX_STEPS);
    cg_loop_end(cg, &l);
    cg->rolled = rolled;
  }
  if (steps % AMX_STEPS) amx_steps(cg, t, p0, np, sums, cg_int(cg, chunks * AMX_STEPS), steps % AMX_STEPS);
  for (int i = 0; i < np; i++) {
    LLVMValueRef p = LLVMBuildAdd(cg->b, p0, cg_int(cg, i), "");
    for (int64_t k = 0; k < m; k++) {
      LLVMValueRef acc = LLVMBuildLoad2(cg->b, t->acc_ty, byte_at(cg, sums, (i * m + k) * AMX_ROW_BYTES), "");
      LLVMSetAlignment(acc, 64);
      tile_finish(cg, t, p, (int)k, acc, i == np - 1 ? lanes : TILE_LANES);
    }
  }
}

int cg_quant_block(const Cg *cg) {
  const TileScheme *t = tile_scheme(cg);
  return t && (cg->isa & t->amx_isa) ? AMX_ROWS : TILE_SAMPLES;
}

/* Panels p0 .. p0+np−1 for every sample, TILE_SAMPLES at a time (or through AMX tiles). */
static void tile_block(Cg *cg, const Tile *t, LLVMValueRef p0, int np, int lanes) {
  if (t->rows) {
    amx_block(cg, t, p0, np, lanes);
    return;
  }
  for (int k0 = 0; k0 < t->samples; k0 += TILE_SAMPLES) {
    int nk = t->samples - k0 < TILE_SAMPLES ? t->samples - k0 : TILE_SAMPLES;
    tile_samples(cg, t, p0, np, lanes, k0, nk);
  }
}

/* Every panel of the set's `rows` rows, `per_pass` at a time; the passes over whole panels
 * fetch t->ahead's lines, if any. */
static void tile_rows(Cg *cg, Tile *t, int64_t rows, int per_pass) {
  int64_t full = rows / TILE_LANES, steps = full / per_pass * t->s->depth;
  if (t->ahead && steps > 0) t->ahead_every = steps > t->ahead_lines ? steps / t->ahead_lines : 1;
  if (full >= per_pass) {
    CgLoop l;
    LLVMValueRef b = cg_loop_begin(cg, &l, cg_int(cg, full / per_pass), "panels");
    t->pass = b;
    tile_block(cg, t, LLVMBuildMul(cg->b, b, cg_int(cg, per_pass), ""), per_pass, TILE_LANES);
    t->pass = NULL;
    cg_loop_end(cg, &l);
  }
  if (full % per_pass) tile_block(cg, t, cg_int(cg, full - full % per_pass), (int)(full % per_pass), TILE_LANES);
  if (rows % TILE_LANES) tile_block(cg, t, cg_int(cg, full), 1, (int)(rows % TILE_LANES));
}

/* z[j] += Σ_i W[j][i]·x[i] for every neuron j of g over the quantized set e. One bf16 sample
 * goes through AMX tiles too where the target has them, a tile of one row: a tile product
 * costs no more for 1 row than for 4, and the one-sample product is then bound by loading the
 * weights from L2, as int8's `vpdpbusd` loop already is, not by `vdpbf16ps`, which on Intel's
 * cores retires half the multiply-adds of an FMA (bench/README.md). */
void cg_emit_quant_forward(Cg *cg, const IrGroup *g, const IrEdges *e, LLVMValueRef V) {
  const IrGroup *src = &cg->net->groups[e->src];
  const CgQuantSet *s = set_of(cg, e);
  LLVMValueRef x = cg_elem(cg, V, cg_int(cg, src->value_offset)), z = cg_elem(cg, V, cg_int(cg, g->value_offset));
  if (s->per_lane) {
    Tile t;
    tile_begin(cg, &t, s, 1);
    if (t.t == &tile_bf16) tile_begin_amx(cg, &t);
    tile_sample(cg, &t, 0, x, src->size, z);
    tile_rows(cg, &t, g->size, t.rows ? AMX_PANELS : TILE_PANELS_ONE);
  } else if (cg->quant == CG_QUANT_BF16) bf16_rows(cg, s, g->size, src->size, x, z);
  else if (sdot_rows(cg)) int8_rows_sdot(cg, s, g->size, src->size, x, z);
  else int8_rows(cg, s, g->size, src->size, x, z);
}

/* --- batches: cg_quant_block samples per pass over the weights ------------------------ */

int cg_quant_multi(const Cg *cg, const IrEdges *e) {
  return cg_quantized(cg, e) && set_of(cg, e)->per_lane && cg->q->batch_fits;
}

/* The quantized set e for cg_quant_block samples at once, V[k] the value vector of sample k:
 * the same kernel as one sample's, lane by lane the same operations in the same order. With
 * ahead (the next block's inputs, ahead_bytes of them), its passes over the weights also
 * prefetch those. */
void cg_emit_quant_forward_multi(Cg *cg, const IrGroup *g, const IrEdges *e, const LLVMValueRef *V, LLVMValueRef ahead,
                                 int64_t ahead_bytes) {
  const IrGroup *src = &cg->net->groups[e->src];
  Tile t;
  tile_begin(cg, &t, set_of(cg, e), cg_quant_block(cg));
  t.ahead = ahead_bytes > 0 ? ahead : NULL;
  t.ahead_lines = (ahead_bytes + CACHE_LINE - 1) / CACHE_LINE;
  tile_begin_amx(cg, &t);
  for (int k = 0; k < t.samples; k++)
    tile_sample(cg, &t, k, cg_elem(cg, V[k], cg_int(cg, src->value_offset)), src->size,
                cg_elem(cg, V[k], cg_int(cg, g->value_offset)));
  tile_rows(cg, &t, g->size, t.rows ? AMX_PANELS : TILE_PANELS_MULTI);
}

/* --- init: the dequantized weights ------------------------------------------------- */

static void init_set(Cg *cg, const IrEdges *e, LLVMValueRef params) {
  const CgQuantSet *s = set_of(cg, e);
  int64_t m = cg->net->groups[e->src].size;
  LLVMValueRef out = cg_elem(cg, params, cg_int(cg, e->param_offset));
  if (!s->w) {
    cg_copy(cg, out, cg_elem(cg, cg->embedded, cg_int(cg, s->rest)), cg_int(cg, e->count));
    return;
  }
  CgLoop lj, li;
  LLVMValueRef j = cg_loop_begin(cg, &lj, cg_int(cg, e->count / m), "qinit_row");
  LLVMValueRef i = cg_loop_begin(cg, &li, cg_int(cg, m), "qinit");
  LLVMValueRef w = dequant_unscaled(cg, s, weight_index(cg, s, j, i));
  if (s->scale) w = LLVMBuildFMul(cg->b, w, cg_load(cg, s->scale, j), "");
  cg_store(cg, out, idx2(cg, j, m, i), w);
  cg_loop_end(cg, &li);
  cg_loop_end(cg, &lj);
}

/* params = every parameter as the quantized module computes with it. */
void cg_emit_quant_init(Cg *cg, LLVMValueRef params) {
  const IrNetwork *n = cg->net;
  for (int i = 0; i < n->n_order; i++) {
    const IrGroup *g = &n->groups[n->order[i]];
    for (int k = 0; k < g->n_in; k++)
      if (g->in[k].param_offset >= 0) init_set(cg, &g->in[k], params);
  }
}
