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
 * Afterwards: forward and evaluate read only these arrays; init writes the dequantized
 * weights into params, so the runtime's weights commands see what the kernels compute with. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"

typedef struct CgQuantSet {
  LLVMValueRef w;      /* i16 (bf16) or i8 weights, row-major [dst][src]; NULL: not quantized */
  LLVMValueRef scale;  /* int8: reals s_j per neuron */
  LLVMValueRef wsum;   /* int8: i32 Σ_i w[j][i] per neuron, to undo the +128 of the inputs */
  int64_t rest;        /* not quantized: the set's first parameter in the rest array */
  int64_t stride;      /* int8: a row's length in w, padded with zero weights to whole vectors */
} CgQuantSet;

typedef struct CgQuant {
  CgQuantSet **sets;   /* [group id][set index] */
  int n_groups;
} CgQuant;

const char *cg_quant_name(CgQuantize q) { return q == CG_QUANT_BF16 ? "bf16" : q == CG_QUANT_INT8 ? "int8" : "none"; }

int cg_quantized(const Cg *cg, const IrEdges *e) {
  return cg->quant != CG_QUANT_NONE && e->kind == EDGES_DENSE && e->weight != WEIGHT_FIXED && e->param_offset >= 0 &&
         cg->net->groups[e->src].role != ROLE_BIAS;
}

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

/* With AVX-512 BF16, rows of at least 32 weights go to vdpbf16ps, padded to whole vectors of 32. */
static int dpbf16_rows(const Cg *cg, int64_t m) { return (cg->isa & CG_ISA_BF16_512) && m >= 32; }

static void quantize_bf16(Cg *cg, CgQuantSet *s, const IrEdges *e, int64_t m, const void *w, const char *name) {
  int64_t rows = e->count / m, st = dpbf16_rows(cg, m) ? (m + 31) / 32 * 32 : m;
  s->stride = st;
  int64_t *q = xcalloc((size_t)(rows * st), sizeof(int64_t));
  for (int64_t j = 0; j < rows; j++)
    for (int64_t i = 0; i < m; i++) q[j * st + i] = (int16_t)bf16_of((float)param_at(cg, w, e->param_offset + j * m + i));
  s->w = int_array(cg, LLVMInt16TypeInContext(cg->ctx), q, rows * st, name);
  LLVMSetAlignment(s->w, 64);
  free(q);
}

/* Rows at least a vector long are padded to whole vectors of bytes: the dot product then
 * has no scalar remainder (784 inputs: 13 vectors of 64 instead of 12 and 16 single bytes). */
static int64_t padded_row(const Cg *cg, int64_t m) {
  int64_t v = cg->vec_bytes;
  return m < v ? m : (m + v - 1) / v * v;
}

static void quantize_int8(Cg *cg, CgQuantSet *s, const IrEdges *e, int64_t m, const void *w, const char *name) {
  int64_t rows = e->count / m, st = padded_row(cg, m);
  s->stride = st;
  int64_t *q = xcalloc((size_t)(rows * st), sizeof(int64_t));
  int64_t *wsum = xcalloc((size_t)rows, sizeof(int64_t));
  double *scale = xmalloc(sizeof(double) * (size_t)rows);
  for (int64_t j = 0; j < rows; j++) {
    double amax = 0;
    for (int64_t i = 0; i < m; i++) amax = fmax(amax, fabs(param_at(cg, w, e->param_offset + j * m + i)));
    scale[j] = (float)(amax / 127);
    for (int64_t i = 0; i < m; i++) {
      double v = scale[j] > 0 ? nearbyint(param_at(cg, w, e->param_offset + j * m + i) / scale[j]) : 0;
      q[j * st + i] = (int64_t)fmin(127, fmax(-127, v));
      wsum[j] += q[j * st + i];
    }
  }
  s->w = int_array(cg, cg->i8, q, rows * st, name);
  LLVMSetAlignment(s->w, 64);
  char sname[80];
  snprintf(sname, sizeof sname, "%s.scale", name);
  s->scale = real_array(cg, scale, rows, sname);
  snprintf(sname, sizeof sname, "%s.sum", name);
  s->wsum = int_array(cg, cg->i32, wsum, rows, sname);
  free(wsum);
  free(q);
  free(scale);
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
}

void cg_quant_free(Cg *cg) {
  if (!cg->q) return;
  for (int i = 0; i < cg->q->n_groups; i++) free(cg->q->sets[i]);
  free(cg->q->sets);
  free(cg->q);
  cg->q = NULL;
}

/* --- kernels ------------------------------------------------------------------------ */

/* Rows per pass of the AVX-512 kernels: each vector of inputs loaded once feeds that many. */
#define VNNI_ROWS 8

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

/* nr accumulators of vector type ty on the stack, each zero. */
static void zeroed_accumulators(Cg *cg, LLVMTypeRef ty, LLVMValueRef *acc, int nr) {
  for (int r = 0; r < nr; r++) {
    acc[r] = cg_alloca(cg, ty, "acc");
    LLVMBuildStore(cg->b, LLVMConstNull(ty), acc[r]);
  }
}

/* AVX-512 BF16: the inputs rounded to bf16 once (vcvtneps2bf16), then VNNI_ROWS rows at a
 * time, one vdpbf16ps (32 bf16 pairs into 16 float sums) per row and vector. */
static void dpbf16_block(Cg *cg, const CgQuantSet *s, LLVMValueRef row0, int nr, LLVMValueRef xb, LLVMValueRef z) {
  const char *name = "llvm.x86.avx512bf16.dpbf16ps.512";
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  LLVMTypeRef fty = LLVMIntrinsicGetType(cg->ctx, id, NULL, 0), ops[3];
  LLVMGetParamTypes(fty, ops);
  LLVMTypeRef v16 = ops[0];
  LLVMValueRef acc[VNNI_ROWS];
  zeroed_accumulators(cg, v16, acc, nr);
  CgLoop lv;
  LLVMValueRef off = LLVMBuildMul(cg->b, cg_loop_begin(cg, &lv, cg_int(cg, s->stride / 32), "dpbf16"), cg_int(cg, 32), "");
  LLVMTypeRef i16 = LLVMInt16TypeInContext(cg->ctx);
  LLVMValueRef xv = LLVMBuildLoad2(cg->b, ops[1], LLVMBuildInBoundsGEP2(cg->b, i16, xb, &off, 1, ""), "");
  for (int r = 0; r < nr; r++) {
    LLVMValueRef k = idx2(cg, LLVMBuildAdd(cg->b, row0, cg_int(cg, r), ""), s->stride, off);
    LLVMValueRef wv = LLVMBuildLoad2(cg->b, ops[2], LLVMBuildInBoundsGEP2(cg->b, i16, s->w, &k, 1, ""), "");
    LLVMValueRef args[] = {LLVMBuildLoad2(cg->b, v16, acc[r], ""), xv, wv};
    LLVMBuildStore(cg->b, vnni_call(cg, name, args, 3, NULL), acc[r]);
  }
  cg_loop_end(cg, &lv);
  for (int r = 0; r < nr; r++) {
    LLVMValueRef args[] = {LLVMConstReal(LLVMFloatTypeInContext(cg->ctx), 0.0), LLVMBuildLoad2(cg->b, v16, acc[r], "")};
    LLVMValueRef sum = cg_fast(vnni_call(cg, "llvm.vector.reduce.fadd", args, 2, v16));
    if (cg->real_bytes == 8) sum = LLVMBuildFPExt(cg->b, sum, cg->real, "");
    LLVMValueRef j = LLVMBuildAdd(cg->b, row0, cg_int(cg, r), "");
    cg_store(cg, z, j, cg_fadd(cg, cg_load(cg, z, j), sum));
  }
}

static void dpbf16_rows_all(Cg *cg, const CgQuantSet *s, int64_t rows, int64_t m, LLVMValueRef x, LLVMValueRef z) {
  LLVMTypeRef bf = LLVMBFloatTypeInContext(cg->ctx);
  LLVMValueRef xb = cg_alloca(cg, LLVMArrayType2(bf, (uint64_t)s->stride), "xb");
  LLVMSetAlignment(xb, 64);
  CgLoop l;
  LLVMValueRef i = cg_loop_begin(cg, &l, cg_int(cg, m), "xbf16");
  LLVMValueRef v = cg_load(cg, x, i);
  if (cg->real_bytes == 8) v = LLVMBuildFPTrunc(cg->b, v, LLVMFloatTypeInContext(cg->ctx), "");
  LLVMBuildStore(cg->b, LLVMBuildFPTrunc(cg->b, v, bf, ""), LLVMBuildInBoundsGEP2(cg->b, bf, xb, &i, 1, ""));
  cg_loop_end(cg, &l);
  for (int64_t k = m; k < s->stride; k++) { /* the padding: zeros */
    LLVMValueRef idx = cg_int(cg, k);
    LLVMBuildStore(cg->b, LLVMConstNull(bf), LLVMBuildInBoundsGEP2(cg->b, bf, xb, &idx, 1, ""));
  }
  CgLoop lb;
  LLVMValueRef b = cg_loop_begin(cg, &lb, cg_int(cg, rows / VNNI_ROWS), "dpbf16_rows");
  dpbf16_block(cg, s, LLVMBuildMul(cg->b, b, cg_int(cg, VNNI_ROWS), ""), VNNI_ROWS, xb, z);
  cg_loop_end(cg, &lb);
  if (rows % VNNI_ROWS) dpbf16_block(cg, s, cg_int(cg, rows - rows % VNNI_ROWS), (int)(rows % VNNI_ROWS), xb, z);
}

static void bf16_rows(Cg *cg, const CgQuantSet *s, int64_t rows, int64_t m, LLVMValueRef x, LLVMValueRef z) {
  if (dpbf16_rows(cg, m)) {
    dpbf16_rows_all(cg, s, rows, m, x, z);
    return;
  }
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

static LLVMValueRef fabs_real(Cg *cg, LLVMValueRef v) {
  LLVMValueRef neg = LLVMBuildFCmp(cg->b, LLVMRealOLT, v, cg_real(cg, 0.0), "");
  return LLVMBuildSelect(cg->b, neg, LLVMBuildFNeg(cg->b, v, ""), v, "");
}

/* max_i |x_i| over the m values at x. */
static LLVMValueRef abs_max(Cg *cg, LLVMValueRef x, int64_t m) {
  LLVMValueRef mx = cg_alloca(cg, cg->real, "qmax");
  LLVMBuildStore(cg->b, cg_real(cg, 0.0), mx);
  CgLoop l;
  LLVMValueRef i = cg_loop_begin(cg, &l, cg_int(cg, m), "qabs");
  LLVMBuildStore(cg->b, cg_fmax(cg, fabs_real(cg, cg_load(cg, x, i)), LLVMBuildLoad2(cg->b, cg->real, mx, "")), mx);
  cg_loop_end(cg, &l);
  return LLVMBuildLoad2(cg->b, cg->real, mx, "");
}

/* v rounded half away from zero and clamped to [−127, 127], as an i8: compares, an add and a
 * conversion, no call to a C library. */
static LLVMValueRef to_int8(Cg *cg, LLVMValueRef v) {
  LLVMValueRef neg = LLVMBuildFCmp(cg->b, LLVMRealOLT, v, cg_real(cg, 0.0), "");
  LLVMValueRef r = LLVMBuildFAdd(cg->b, v, LLVMBuildSelect(cg->b, neg, cg_real(cg, -0.5), cg_real(cg, 0.5), ""), "");
  r = cg_fmin(cg, cg_fmax(cg, r, cg_real(cg, -127.0)), cg_real(cg, 127.0));
  return LLVMBuildFPToSI(cg->b, r, cg->i8, "");
}

/* xq[i] = x[i] / s_x + 128 as an unsigned byte with s_x = max |x| / 127 (unsigned times signed
 * bytes is the operand order of the x86 VNNI dot product); returns s_x (0 when x is all zeros). */
static LLVMValueRef quantize_source(Cg *cg, LLVMValueRef x, int64_t m, int64_t st, LLVMValueRef xq) {
  LLVMValueRef amax = abs_max(cg, x, m);
  LLVMValueRef pos = LLVMBuildFCmp(cg->b, LLVMRealOGT, amax, cg_real(cg, 0.0), "");
  LLVMValueRef inv = LLVMBuildSelect(cg->b, pos, LLVMBuildFDiv(cg->b, cg_real(cg, 127.0), amax, ""), cg_real(cg, 0.0), "");
  CgLoop l;
  LLVMValueRef i = cg_loop_begin(cg, &l, cg_int(cg, m), "qx");
  LLVMValueRef q = to_int8(cg, LLVMBuildFMul(cg->b, cg_load(cg, x, i), inv, ""));
  q = LLVMBuildXor(cg->b, q, LLVMConstInt(cg->i8, 0x80, 0), ""); /* + 128, as unsigned */
  LLVMBuildStore(cg->b, q, LLVMBuildInBoundsGEP2(cg->b, cg->i8, xq, &i, 1, ""));
  cg_loop_end(cg, &l);
  for (int64_t k = m; k < st; k++) /* the padding: any byte (its weights are 0), but defined */
    LLVMBuildStore(cg->b, LLVMConstInt(cg->i8, 0x80, 0), byte_at(cg, xq, k));
  return LLVMBuildFMul(cg->b, amax, cg_real(cg, 1.0 / 127.0), "");
}

/* z[j] += (acc − 128·Σ_i w[j][i]) · s_j · s_x: the dot product of row j made exact and scaled. */
static void int8_finish(Cg *cg, const CgQuantSet *s, LLVMValueRef j, LLVMValueRef acc, LLVMValueRef sx, LLVMValueRef z) {
  LLVMValueRef undo = LLVMBuildShl(cg->b, load_typed(cg, cg->i32, s->wsum, j), LLVMConstInt(cg->i32, 7, 0), "");
  LLVMValueRef dot = LLVMBuildSIToFP(cg->b, LLVMBuildSub(cg->b, acc, undo, ""), cg->real, "");
  LLVMValueRef scale = cg_fmul(cg, cg_load(cg, s->scale, j), sx);
  cg_store(cg, z, j, cg_fmuladd(cg, dot, scale, cg_load(cg, z, j)));
}

/* AVX-512 VNNI: VNNI_ROWS rows at a time, each vector of inputs loaded once for all of them,
 * one vpdpbusd (64 unsigned × signed byte products into 16 i32 sums) per row and vector. */
static void vnni_block(Cg *cg, const CgQuantSet *s, LLVMValueRef row0, int nr, LLVMValueRef xq, LLVMValueRef sx,
                       LLVMValueRef z) {
  LLVMTypeRef v16 = LLVMVectorType(cg->i32, 16);
  LLVMValueRef acc[VNNI_ROWS];
  zeroed_accumulators(cg, v16, acc, nr);
  CgLoop lv;
  LLVMValueRef off = LLVMBuildMul(cg->b, cg_loop_begin(cg, &lv, cg_int(cg, s->stride / 64), "vnni"), cg_int(cg, 64), "");
  LLVMValueRef xv = LLVMBuildLoad2(cg->b, v16, LLVMBuildInBoundsGEP2(cg->b, cg->i8, xq, &off, 1, ""), "");
  for (int r = 0; r < nr; r++) {
    LLVMValueRef k = idx2(cg, LLVMBuildAdd(cg->b, row0, cg_int(cg, r), ""), s->stride, off);
    LLVMValueRef wv = LLVMBuildLoad2(cg->b, v16, LLVMBuildInBoundsGEP2(cg->b, cg->i8, s->w, &k, 1, ""), "");
    LLVMValueRef args[] = {LLVMBuildLoad2(cg->b, v16, acc[r], ""), xv, wv};
    LLVMBuildStore(cg->b, vnni_call(cg, "llvm.x86.avx512.vpdpbusd.512", args, 3, NULL), acc[r]);
  }
  cg_loop_end(cg, &lv);
  for (int r = 0; r < nr; r++) {
    LLVMValueRef v = LLVMBuildLoad2(cg->b, v16, acc[r], "");
    LLVMValueRef sum = vnni_call(cg, "llvm.vector.reduce.add", &v, 1, v16);
    int8_finish(cg, s, LLVMBuildAdd(cg->b, row0, cg_int(cg, r), ""), sum, sx, z);
  }
}

static void vnni_rows(Cg *cg, const CgQuantSet *s, int64_t rows, LLVMValueRef xq, LLVMValueRef sx, LLVMValueRef z) {
  CgLoop lb;
  LLVMValueRef b = cg_loop_begin(cg, &lb, cg_int(cg, rows / VNNI_ROWS), "vnni_rows");
  vnni_block(cg, s, LLVMBuildMul(cg->b, b, cg_int(cg, VNNI_ROWS), ""), VNNI_ROWS, xq, sx, z);
  cg_loop_end(cg, &lb);
  if (rows % VNNI_ROWS) vnni_block(cg, s, cg_int(cg, rows - rows % VNNI_ROWS), (int)(rows % VNNI_ROWS), xq, sx, z);
}

static void int8_rows(Cg *cg, const CgQuantSet *s, int64_t rows, int64_t m, LLVMValueRef x, LLVMValueRef z) {
  int64_t st = s->stride;
  LLVMValueRef xq = cg_alloca(cg, LLVMArrayType2(cg->i8, (uint64_t)st), "xq");
  LLVMSetAlignment(xq, 64);
  LLVMValueRef sx = quantize_source(cg, x, m, st, xq);
  if ((cg->isa & CG_ISA_VNNI512) && st % 64 == 0) {
    vnni_rows(cg, s, rows, xq, sx, z);
    return;
  }
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

/* z[j] += Σ_i W[j][i]·x[i] for every neuron j of g over the quantized set e. */
void cg_emit_quant_forward(Cg *cg, const IrGroup *g, const IrEdges *e, LLVMValueRef V) {
  const IrGroup *src = &cg->net->groups[e->src];
  const CgQuantSet *s = set_of(cg, e);
  LLVMValueRef x = cg_elem(cg, V, cg_int(cg, src->value_offset)), z = cg_elem(cg, V, cg_int(cg, g->value_offset));
  if (cg->quant == CG_QUANT_BF16) bf16_rows(cg, s, g->size, src->size, x, z);
  else int8_rows(cg, s, g->size, src->size, x, z);
}

/* --- batches: several samples per pass over the weights (AVX-512 VNNI) --------------- */

/* Rows per pass of the multi-sample kernel: ROWS × CG_QUANT_SAMPLES accumulators stay in
 * registers, and each weight vector loaded feeds one vpdpbusd per sample. */
#define MULTI_ROWS 4

int cg_quant_multi(const Cg *cg, const IrEdges *e) {
  return cg_quantized(cg, e) && cg->quant == CG_QUANT_INT8 && (cg->isa & CG_ISA_VNNI512) &&
         set_of(cg, e)->stride % 64 == 0;
}

typedef struct MultiPass {
  const CgQuantSet *s;
  LLVMValueRef xq[CG_QUANT_SAMPLES], sx[CG_QUANT_SAMPLES], z[CG_QUANT_SAMPLES];
} MultiPass;

static void multi_block(Cg *cg, const MultiPass *mp, LLVMValueRef row0, int nr) {
  LLVMTypeRef v16 = LLVMVectorType(cg->i32, 16);
  LLVMValueRef acc[MULTI_ROWS][CG_QUANT_SAMPLES];
  for (int r = 0; r < nr; r++)
    for (int k = 0; k < CG_QUANT_SAMPLES; k++) {
      acc[r][k] = cg_alloca(cg, v16, "macc");
      LLVMBuildStore(cg->b, LLVMConstNull(v16), acc[r][k]);
    }
  CgLoop lv;
  LLVMValueRef off = LLVMBuildMul(cg->b, cg_loop_begin(cg, &lv, cg_int(cg, mp->s->stride / 64), "mvnni"), cg_int(cg, 64), "");
  LLVMValueRef xv[CG_QUANT_SAMPLES];
  for (int k = 0; k < CG_QUANT_SAMPLES; k++)
    xv[k] = LLVMBuildLoad2(cg->b, v16, LLVMBuildInBoundsGEP2(cg->b, cg->i8, mp->xq[k], &off, 1, ""), "");
  for (int r = 0; r < nr; r++) {
    LLVMValueRef w = idx2(cg, LLVMBuildAdd(cg->b, row0, cg_int(cg, r), ""), mp->s->stride, off);
    LLVMValueRef wv = LLVMBuildLoad2(cg->b, v16, LLVMBuildInBoundsGEP2(cg->b, cg->i8, mp->s->w, &w, 1, ""), "");
    for (int k = 0; k < CG_QUANT_SAMPLES; k++) {
      LLVMValueRef args[] = {LLVMBuildLoad2(cg->b, v16, acc[r][k], ""), xv[k], wv};
      LLVMBuildStore(cg->b, vnni_call(cg, "llvm.x86.avx512.vpdpbusd.512", args, 3, NULL), acc[r][k]);
    }
  }
  cg_loop_end(cg, &lv);
  for (int r = 0; r < nr; r++)
    for (int k = 0; k < CG_QUANT_SAMPLES; k++) {
      LLVMValueRef v = LLVMBuildLoad2(cg->b, v16, acc[r][k], "");
      LLVMValueRef sum = vnni_call(cg, "llvm.vector.reduce.add", &v, 1, v16);
      int8_finish(cg, mp->s, LLVMBuildAdd(cg->b, row0, cg_int(cg, r), ""), sum, mp->sx[k], mp->z[k]);
    }
}

/* The quantized set e for CG_QUANT_SAMPLES samples at once, V[k] the value vector of sample k. */
void cg_emit_quant_forward_multi(Cg *cg, const IrGroup *g, const IrEdges *e, const LLVMValueRef *V) {
  const IrGroup *src = &cg->net->groups[e->src];
  MultiPass mp = {.s = set_of(cg, e)};
  for (int k = 0; k < CG_QUANT_SAMPLES; k++) {
    mp.xq[k] = cg_alloca(cg, LLVMArrayType2(cg->i8, (uint64_t)mp.s->stride), "mxq");
    LLVMSetAlignment(mp.xq[k], 64);
    mp.sx[k] = quantize_source(cg, cg_elem(cg, V[k], cg_int(cg, src->value_offset)), src->size, mp.s->stride, mp.xq[k]);
    mp.z[k] = cg_elem(cg, V[k], cg_int(cg, g->value_offset));
  }
  CgLoop lb;
  LLVMValueRef b = cg_loop_begin(cg, &lb, cg_int(cg, g->size / MULTI_ROWS), "mrows");
  multi_block(cg, &mp, LLVMBuildMul(cg->b, b, cg_int(cg, MULTI_ROWS), ""), MULTI_ROWS);
  cg_loop_end(cg, &lb);
  if (g->size % MULTI_ROWS) multi_block(cg, &mp, cg_int(cg, g->size - g->size % MULTI_ROWS), g->size % MULTI_ROWS);
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
  LLVMValueRef w = dequant_unscaled(cg, s, idx2(cg, j, s->stride ? s->stride : m, i));
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
