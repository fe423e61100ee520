/* cg_math.c — inline math for generated code and the rule of each activation.
 * Consumes: LLVM values of the model's real type. Produces: instructions computing exp,
 * log and every activation with its derivative, built from arithmetic the vectoriser
 * handles (no calls into libm), so dense loops stay vector loops.
 *
 * exp: x = k·ln2 + r (Cody–Waite split of ln2), |r| ≤ ln2/2, e^r by a polynomial
 * (f32: the Cephes minimax of degree 7; f64: Taylor to degree 13, error < 1e-17), then
 * scaled by 2^k built in the exponent bits. log: x = 2^e·m with m in [√½, √2), then
 * log m = 2·atanh(s), s = (m−1)/(m+1), |s| ≤ 0.172, by its odd series.
 *
 * NaN in gives NaN out, in every function here: an ordered compare-and-select maps NaN to one
 * of its arms (a clamp to its bound, max(z, 0) to 0), so each such select is arranged to
 * pass NaN through (see keep_nan and max_keep_nan). */
#include "cg.h"

/* x where x is NaN, otherwise v: for results computed from a clamped x. */
static LLVMValueRef keep_nan(Cg *cg, LLVMValueRef x, LLVMValueRef v) {
  LLVMValueRef nan = LLVMBuildFCmp(cg->b, LLVMRealUNO, x, x, "isnan");
  return LLVMBuildSelect(cg->b, nan, x, v, "");
}

/* max(a, b) that is NaN when a is: b if a < b (ordered), else a, so NaN takes the a arm. The
 * form of x86's maxps b, a, which returns its second operand when either is NaN. */
static LLVMValueRef max_keep_nan(Cg *cg, LLVMValueRef a, LLVMValueRef b) {
  LLVMValueRef below = LLVMBuildFCmp(cg->b, LLVMRealOLT, a, b, "");
  return LLVMBuildSelect(cg->b, below, b, a, "");
}

/* c[0]·x^(n−1) + … + c[n−1] by Estrin's scheme: neighbouring coefficients paired with x,
 * the pairs with x², and so on, so the dependent chain is log2(n) multiply-adds long instead
 * of n − 1 (per-sample training of a small network waits on it for every activation). */
static LLVMValueRef polynomial(Cg *cg, LLVMValueRef x, const double *c, int n) {
  LLVMValueRef v[16];
  for (int i = 0; i < n; i++) v[i] = cg_real(cg, c[n - 1 - i]); /* lowest degree first */
  while (n > 1) {
    int m = 0;
    for (int i = 0; i < n; i += 2) v[m++] = i + 1 < n ? cg_fmuladd(cg, v[i + 1], x, v[i]) : v[i];
    n = m;
    if (n > 1) x = cg_fmul(cg, x, x);
  }
  return v[0];
}

/* 2^k for an integral-valued real k inside the normal exponent range. */
static LLVMValueRef pow2_of(Cg *cg, LLVMValueRef k) {
  int f64 = cg->real_bytes == 8;
  LLVMTypeRef it = f64 ? cg->i64 : cg->i32;
  LLVMValueRef ki = LLVMBuildFPToSI(cg->b, k, it, "k");
  LLVMValueRef biased = LLVMBuildAdd(cg->b, ki, LLVMConstInt(it, f64 ? 1023 : 127, 0), "");
  LLVMValueRef bits = LLVMBuildShl(cg->b, biased, LLVMConstInt(it, f64 ? 52 : 23, 0), "");
  return LLVMBuildBitCast(cg->b, bits, cg->real, "pow2");
}

/* x rounded to the nearest integer (ties to even) for |x| < 2^22 (2^51 in f64): adding and
 * subtracting 1.5·2^23 (1.5·2^52) leaves no fraction bits, as rint does; plain arithmetic,
 * so a target without a rounding instruction (Cortex-M4) calls no rintf. Strict adds: fast
 * math would fold them away. */
static LLVMValueRef round_to_integer(Cg *cg, LLVMValueRef x) {
  LLVMValueRef magic = cg_real(cg, cg->real_bytes == 8 ? 6755399441055744.0 : 12582912.0);
  return LLVMBuildFSub(cg->b, LLVMBuildFAdd(cg->b, x, magic, ""), magic, "rounded");
}

LLVMValueRef cg_exp(Cg *cg, LLVMValueRef arg) {
  int f64 = cg->real_bytes == 8;
  /* the clamp maps NaN to a bound (so that 2^k below stays defined); keep_nan restores it */
  LLVMValueRef x = cg_fmin(cg, cg_fmax(cg, arg, cg_real(cg, f64 ? -708.0 : -87.0)), cg_real(cg, f64 ? 709.0 : 88.0));
  LLVMValueRef kx = cg_fmul(cg, x, cg_real(cg, 1.4426950408889634));
  LLVMValueRef k = round_to_integer(cg, kx);
  double ln2_hi = f64 ? 6.93145751953125e-1 : 0.693359375;
  double ln2_lo = f64 ? 1.42860682030941723212e-6 : -2.12194440e-4;
  LLVMValueRef r = cg_fmuladd(cg, k, cg_real(cg, -ln2_hi), x); /* k·ln2_hi is exact */
  r = cg_fmuladd(cg, k, cg_real(cg, -ln2_lo), r);
  LLVMValueRef p;
  if (f64) {
    static const double c[] = {1.0 / 6227020800, 1.0 / 479001600, 1.0 / 39916800, 1.0 / 3628800,
                               1.0 / 362880,     1.0 / 40320,     1.0 / 5040,     1.0 / 720,
                               1.0 / 120,        1.0 / 24,        1.0 / 6,        0.5,
                               1.0,              1.0};
    p = polynomial(cg, r, c, 14);
  } else {
    static const double c[] = {1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3,
                               4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1};
    LLVMValueRef q = polynomial(cg, r, c, 6);
    LLVMValueRef r2 = cg_fmul(cg, r, r);
    p = cg_fadd(cg, cg_fmuladd(cg, q, r2, r), cg_real(cg, 1.0));
  }
  return keep_nan(cg, arg, cg_fmul(cg, p, pow2_of(cg, k)));
}

LLVMValueRef cg_log(Cg *cg, LLVMValueRef arg) {
  int f64 = cg->real_bytes == 8;
  LLVMTypeRef it = f64 ? cg->i64 : cg->i32;
  LLVMValueRef x = cg_fmax(cg, arg, cg_real(cg, f64 ? 2.2250738585072014e-308 : 1.17549435e-38));
  LLVMValueRef bits = LLVMBuildBitCast(cg->b, x, it, "");
  unsigned shift = f64 ? 52 : 23;
  uint64_t mant_mask = f64 ? 0x000fffffffffffffull : 0x007fffff;
  uint64_t half_exp = f64 ? 0x3fe0000000000000ull : 0x3f000000; /* exponent of [0.5, 1) */
  LLVMValueRef e = LLVMBuildLShr(cg->b, bits, LLVMConstInt(it, shift, 0), "");
  e = LLVMBuildSub(cg->b, e, LLVMConstInt(it, f64 ? 1022 : 126, 0), "e");
  LLVMValueRef mbits = LLVMBuildOr(cg->b, LLVMBuildAnd(cg->b, bits, LLVMConstInt(it, mant_mask, 0), ""),
                                   LLVMConstInt(it, half_exp, 0), "");
  LLVMValueRef m = LLVMBuildBitCast(cg->b, mbits, cg->real, "m"); /* in [0.5, 1) */
  LLVMValueRef ef = LLVMBuildSIToFP(cg->b, e, cg->real, "");
  LLVMValueRef small = LLVMBuildFCmp(cg->b, LLVMRealOLT, m, cg_real(cg, 0.70710678118654752), "");
  m = LLVMBuildSelect(cg->b, small, cg_fadd(cg, m, m), m, "");
  ef = LLVMBuildSelect(cg->b, small, cg_fsub(cg, ef, cg_real(cg, 1.0)), ef, "");
  LLVMValueRef s = LLVMBuildFDiv(cg->b, cg_fsub(cg, m, cg_real(cg, 1.0)), cg_fadd(cg, m, cg_real(cg, 1.0)), "s");
  LLVMValueRef s2 = cg_fmul(cg, s, s);
  static const double c64[] = {2.0 / 21, 2.0 / 19, 2.0 / 17, 2.0 / 15, 2.0 / 13, 2.0 / 11,
                               2.0 / 9,  2.0 / 7,  2.0 / 5,  2.0 / 3,  2.0};
  static const double c32[] = {2.0 / 11, 2.0 / 9, 2.0 / 7, 2.0 / 5, 2.0 / 3, 2.0};
  LLVMValueRef poly = f64 ? polynomial(cg, s2, c64, 11) : polynomial(cg, s2, c32, 6);
  LLVMValueRef logm = cg_fmul(cg, poly, s);
  return keep_nan(cg, arg, cg_fmuladd(cg, ef, cg_real(cg, 0.69314718055994531), logm));
}

static LLVMValueRef sigmoid(Cg *cg, LLVMValueRef z) {
  LLVMValueRef e = cg_exp(cg, LLVMBuildFNeg(cg->b, z, ""));
  return LLVMBuildFDiv(cg->b, cg_real(cg, 1.0), cg_fadd(cg, cg_real(cg, 1.0), e), "sigmoid");
}

/* tanh z = 1 − 2/(e^{2z} + 1); near 0, where that cancels, its odd series (to z⁷ in f32,
 * z¹³ in f64: the first term left out is below 2^-53 relative for |z| < 1/16). */
static LLVMValueRef tanh_(Cg *cg, LLVMValueRef z) {
  LLVMValueRef e = cg_exp(cg, cg_fadd(cg, z, z));
  LLVMValueRef big = cg_fsub(cg, cg_real(cg, 1.0),
                             LLVMBuildFDiv(cg->b, cg_real(cg, 2.0), cg_fadd(cg, e, cg_real(cg, 1.0)), ""));
  LLVMValueRef z2 = cg_fmul(cg, z, z);
  static const double c32[] = {-17.0 / 315, 2.0 / 15, -1.0 / 3, 1.0};
  static const double c64[] = {21844.0 / 6081075, -1382.0 / 155925, 62.0 / 2835, -17.0 / 315, 2.0 / 15, -1.0 / 3, 1.0};
  LLVMValueRef poly = cg->real_bytes == 8 ? polynomial(cg, z2, c64, 7) : polynomial(cg, z2, c32, 4);
  LLVMValueRef small = cg_fmul(cg, poly, z);
  LLVMValueRef az = cg_intrinsic(cg, "llvm.fabs", &z, 1);
  LLVMValueRef is_small = LLVMBuildFCmp(cg->b, LLVMRealOLT, az, cg_real(cg, 0.0625), "");
  return LLVMBuildSelect(cg->b, is_small, small, big, "tanh");
}

/* log(1 + x) without losing x when 1 + x rounds to 1 (x ≥ 0 here): with u = 1 + x rounded,
 * log(u)·x/(u − 1) is log(1 + x) to a few ulps, and x itself when u is 1 (Goldberg's form). */
static LLVMValueRef log1p_(Cg *cg, LLVMValueRef x) {
  /* without fast-math flags, which would let (1 + x) − 1 be reassociated into x */
  LLVMValueRef u = LLVMBuildFAdd(cg->b, cg_real(cg, 1.0), x, "");
  LLVMValueRef um1 = LLVMBuildFSub(cg->b, u, cg_real(cg, 1.0), "");
  LLVMValueRef ratio = LLVMBuildFDiv(cg->b, cg_fmul(cg, cg_log(cg, u), x), um1, "");
  LLVMValueRef exact = LLVMBuildFCmp(cg->b, LLVMRealOEQ, um1, cg_real(cg, 0.0), "");
  return LLVMBuildSelect(cg->b, exact, x, ratio, "log1p");
}

/* e^x − 1 without cancelling when e^x is near 1 (Kahan's form): with u = e^x rounded,
 * (u − 1)·x/log(u); x when u is 1, −1 when u − 1 is (e^x below half an ulp of 1). */
static LLVMValueRef expm1_(Cg *cg, LLVMValueRef x) {
  LLVMValueRef u = cg_exp(cg, x), one = cg_real(cg, 1.0);
  LLVMValueRef um1 = LLVMBuildFSub(cg->b, u, one, ""); /* no fast-math flags, as in log1p_ */
  LLVMValueRef ratio = LLVMBuildFDiv(cg->b, cg_fmul(cg, um1, x), cg_log(cg, u), "");
  LLVMValueRef at_one = LLVMBuildFCmp(cg->b, LLVMRealOEQ, um1, cg_real(cg, 0.0), "");
  LLVMValueRef at_zero = LLVMBuildFCmp(cg->b, LLVMRealOEQ, um1, cg_real(cg, -1.0), "");
  return LLVMBuildSelect(cg->b, at_one, x, LLVMBuildSelect(cg->b, at_zero, um1, ratio, ""), "expm1");
}

/* softplus z = max(z, 0) + log1p(e^{−|z|}): for z ≪ 0 that is e^z to full precision (f32 at
 * z = −20: 2.06e-9, not the 0 that log(1 + e^z) rounds to). */
static LLVMValueRef softplus(Cg *cg, LLVMValueRef z) {
  LLVMValueRef az = cg_intrinsic(cg, "llvm.fabs", &z, 1);
  LLVMValueRef e = cg_exp(cg, LLVMBuildFNeg(cg->b, az, ""));
  return cg_fadd(cg, max_keep_nan(cg, z, cg_real(cg, 0.0)), log1p_(cg, e));
}

static LLVMValueRef positive(Cg *cg, LLVMValueRef v) {
  return LLVMBuildFCmp(cg->b, LLVMRealOGT, v, cg_real(cg, 0.0), "");
}

LLVMValueRef cg_activate(Cg *cg, IrAct act, double param, LLVMValueRef z) {
  return cg_activate_with(cg, act, cg_real(cg, param), z);
}

LLVMValueRef cg_activate_with(Cg *cg, IrAct act, LLVMValueRef param, LLVMValueRef z) {
  switch (act) {
  case ACT_IDENTITY: return z;
  case ACT_SIGMOID: return sigmoid(cg, z);
  case ACT_RELU: return max_keep_nan(cg, z, cg_real(cg, 0.0));
  case ACT_TANH: return tanh_(cg, z);
  case ACT_LEAKY_RELU: return LLVMBuildSelect(cg->b, positive(cg, z), z, cg_fmul(cg, z, param), "");
  case ACT_SOFTPLUS: return softplus(cg, z);
  case ACT_SOFTMAX:
  case ACT_LOG_SOFTMAX: return z; /* normalised over the group by the caller */
  case ACT_STEP: return keep_nan(cg, z, LLVMBuildSelect(cg->b, positive(cg, z), cg_real(cg, 1.0), cg_real(cg, 0.0), ""));
  default: break;
  }
  diag_internal(__FILE__, __LINE__, "unknown activation");
}

/* f'(z) written through y = f(z): σ' = y(1−y), tanh' = 1−y², softplus' = σ(z), which is
 * 1 − e^{−y} exactly, computed as −expm1(−y): for z ≪ 0, y = e^z and σ(z) ≈ e^z keep their
 * precision (1 − e^{−y} in floating point would be 0 once e^{−y} rounds to 1: f32 at z = −20). */
LLVMValueRef cg_derivative(Cg *cg, IrAct act, double param, LLVMValueRef y) {
  return cg_derivative_with(cg, act, cg_real(cg, param), y);
}

LLVMValueRef cg_derivative_with(Cg *cg, IrAct act, LLVMValueRef param, LLVMValueRef y) {
  LLVMValueRef one = cg_real(cg, 1.0), zero = cg_real(cg, 0.0);
  switch (act) {
  case ACT_IDENTITY: return one;
  case ACT_SIGMOID: return cg_fmul(cg, y, cg_fsub(cg, one, y));
  case ACT_RELU: return LLVMBuildSelect(cg->b, positive(cg, y), one, zero, "");
  case ACT_TANH: return cg_fsub(cg, one, cg_fmul(cg, y, y));
  case ACT_LEAKY_RELU: return LLVMBuildSelect(cg->b, positive(cg, y), one, param, "");
  case ACT_SOFTPLUS: return LLVMBuildFNeg(cg->b, expm1_(cg, LLVMBuildFNeg(cg->b, y, "")), "");
  case ACT_STEP: return zero;
  case ACT_SOFTMAX: return one; /* only with cross-entropy, whose delta is y − t directly */
  case ACT_LOG_SOFTMAX: return one; /* never trained: backend_run refuses to (inference only) */
  default: break;
  }
  diag_internal(__FILE__, __LINE__, "unknown activation");
}
