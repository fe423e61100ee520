/* cg_util.c — small builders shared by the code generator: constants, element access,
 * counted loops, fast-math arithmetic and intrinsic calls. */
#include <string.h>

#include <llvm-c/DebugInfo.h>

#include "cg.h"

LLVMValueRef cg_real(Cg *cg, double v) { return LLVMConstReal(cg->real, v); }
LLVMValueRef cg_int(Cg *cg, int64_t v) { return LLVMConstInt(cg->i64, (unsigned long long)v, 1); }

LLVMValueRef cg_private_constant(Cg *cg, LLVMValueRef init, const char *name) {
  LLVMValueRef g = LLVMAddGlobal(cg->mod, LLVMTypeOf(init), name);
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  return g;
}

LLVMValueRef cg_const_array(Cg *cg, LLVMTypeRef ty, LLVMValueRef *elems, int64_t n, const char *name) {
  LLVMValueRef zero = LLVMConstNull(ty);
  return cg_private_constant(cg, LLVMConstArray2(ty, n ? elems : &zero, (uint64_t)(n ? n : 1)), name);
}

LLVMValueRef cg_alloca(Cg *cg, LLVMTypeRef t, const char *name) {
  LLVMBasicBlockRef here = LLVMGetInsertBlock(cg->b);
  LLVMValueRef first = LLVMGetFirstInstruction(cg->entry);
  if (first)
    LLVMPositionBuilderBefore(cg->b, first);
  else
    LLVMPositionBuilderAtEnd(cg->b, cg->entry);
  LLVMValueRef a = LLVMBuildAlloca(cg->b, t, name);
  LLVMPositionBuilderAtEnd(cg->b, here);
  return a;
}

LLVMValueRef cg_elem(Cg *cg, LLVMValueRef base, LLVMValueRef index) {
  return LLVMBuildInBoundsGEP2(cg->b, cg->real, base, &index, 1, "");
}

LLVMValueRef cg_load(Cg *cg, LLVMValueRef base, LLVMValueRef index) {
  LLVMValueRef v = LLVMBuildLoad2(cg->b, cg->real, cg_elem(cg, base, index), "");
  LLVMSetAlignment(v, (unsigned)cg->real_bytes);
  return v;
}

void cg_store(Cg *cg, LLVMValueRef base, LLVMValueRef index, LLVMValueRef v) {
  LLVMValueRef s = LLVMBuildStore(cg->b, v, cg_elem(cg, base, index));
  LLVMSetAlignment(s, (unsigned)cg->real_bytes);
}

/* Reassociation, contraction, no signed zeros, reciprocals; NaNs and infinities are kept
 * meaningful so that divergence is still seen by the runtime. */
LLVMValueRef cg_fast(LLVMValueRef inst) {
  if (LLVMIsAInstruction(inst) && LLVMCanValueUseFastMathFlags(inst))
    LLVMSetFastMathFlags(inst, LLVMFastMathAllowReassoc | LLVMFastMathAllowContract |
                                   LLVMFastMathNoSignedZeros | LLVMFastMathAllowReciprocal);
  return inst;
}

LLVMValueRef cg_fadd(Cg *cg, LLVMValueRef a, LLVMValueRef b) { return cg_fast(LLVMBuildFAdd(cg->b, a, b, "")); }
LLVMValueRef cg_fsub(Cg *cg, LLVMValueRef a, LLVMValueRef b) { return cg_fast(LLVMBuildFSub(cg->b, a, b, "")); }
LLVMValueRef cg_fmul(Cg *cg, LLVMValueRef a, LLVMValueRef b) { return cg_fast(LLVMBuildFMul(cg->b, a, b, "")); }
LLVMValueRef cg_fmuladd(Cg *cg, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c) {
  return cg_fadd(cg, cg_fmul(cg, a, b), c);
}

LLVMValueRef cg_intrinsic(Cg *cg, const char *name, LLVMValueRef *args, unsigned n) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  LLVMTypeRef types[1] = {LLVMTypeOf(args[0])};
  LLVMValueRef fn = LLVMGetIntrinsicDeclaration(cg->mod, id, types, 1);
  LLVMTypeRef fty = LLVMIntrinsicGetType(cg->ctx, id, types, 1);
  return cg_fast(LLVMBuildCall2(cg->b, fty, fn, args, n, ""));
}

LLVMValueRef cg_call_intrinsic(Cg *cg, const char *name, LLVMValueRef *args, unsigned n) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  LLVMValueRef fn = LLVMGetIntrinsicDeclaration(cg->mod, id, NULL, 0);
  return LLVMBuildCall2(cg->b, LLVMGlobalGetValueType(fn), fn, args, n, "");
}

LLVMValueRef cg_i16(Cg *cg, int64_t v) { return LLVMConstInt(LLVMInt16TypeInContext(cg->ctx), (unsigned long long)v, 0); }

LLVMValueRef cg_fmax(Cg *cg, LLVMValueRef a, LLVMValueRef b) {
  LLVMValueRef gt = LLVMBuildFCmp(cg->b, LLVMRealOGT, a, b, "");
  return LLVMBuildSelect(cg->b, gt, a, b, "");
}

LLVMValueRef cg_fmin(Cg *cg, LLVMValueRef a, LLVMValueRef b) {
  LLVMValueRef lt = LLVMBuildFCmp(cg->b, LLVMRealOLT, a, b, "");
  return LLVMBuildSelect(cg->b, lt, a, b, "");
}

LLVMValueRef cg_loop_begin(Cg *cg, CgLoop *l, LLVMValueRef count, const char *name) {
  LLVMBasicBlockRef pre = LLVMGetInsertBlock(cg->b);
  l->header = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, name);
  l->body = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "body");
  l->exit = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "done");
  LLVMBuildBr(cg->b, l->header);
  LLVMPositionBuilderAtEnd(cg->b, l->header);
  l->i = LLVMBuildPhi(cg->b, cg->i64, name);
  LLVMValueRef zero = cg_int(cg, 0);
  LLVMAddIncoming(l->i, &zero, &pre, 1);
  LLVMValueRef more = LLVMBuildICmp(cg->b, LLVMIntSLT, l->i, count, "");
  LLVMBuildCondBr(cg->b, more, l->body, l->exit);
  LLVMPositionBuilderAtEnd(cg->b, l->body);
  return l->i;
}

/* Marks a loop's back edge llvm.loop.unroll.disable: the loop's id is a node that names
 * itself, made through a temporary node. */
static void keep_rolled(Cg *cg, LLVMValueRef back_edge) {
  LLVMMetadataRef temp = LLVMTemporaryMDNode(cg->ctx, NULL, 0);
  LLVMMetadataRef disable = LLVMMDStringInContext2(cg->ctx, "llvm.loop.unroll.disable", 24);
  LLVMMetadataRef ops[] = {temp, LLVMMDNodeInContext2(cg->ctx, &disable, 1)};
  LLVMMetadataRef id = LLVMMDNodeInContext2(cg->ctx, ops, 2);
  LLVMMetadataReplaceAllUsesWith(temp, id);
  LLVMSetMetadata(back_edge, LLVMGetMDKindIDInContext(cg->ctx, "llvm.loop", 9), LLVMMetadataAsValue(cg->ctx, id));
}

void cg_loop_end(Cg *cg, CgLoop *l) {
  LLVMValueRef next = LLVMBuildNSWAdd(cg->b, l->i, cg_int(cg, 1), "");
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(cg->b);
  LLVMValueRef back_edge = LLVMBuildBr(cg->b, l->header);
  if (cg->rolled) keep_rolled(cg, back_edge);
  LLVMAddIncoming(l->i, &next, &latch, 1);
  LLVMPositionBuilderAtEnd(cg->b, l->exit);
}

/* --- vectors of the target's widest useful width ---------------------------------- */

int cg_vec_len(const Cg *cg) { return cg->vec_bytes / cg->real_bytes; }

LLVMTypeRef cg_vec_type(Cg *cg) { return LLVMVectorType(cg->real, (unsigned)cg_vec_len(cg)); }

LLVMValueRef cg_splat(Cg *cg, LLVMValueRef s) {
  LLVMTypeRef vt = cg_vec_type(cg);
  LLVMValueRef v = LLVMBuildInsertElement(cg->b, LLVMGetUndef(vt), s, LLVMConstInt(cg->i32, 0, 0), "");
  LLVMValueRef zeros = LLVMConstNull(LLVMVectorType(cg->i32, (unsigned)cg_vec_len(cg)));
  return LLVMBuildShuffleVector(cg->b, v, LLVMGetUndef(vt), zeros, "splat");
}

/* Mask of the first `lanes` lanes, or NULL for a full vector. */
LLVMValueRef cg_lane_mask(Cg *cg, int lanes) {
  int vl = cg_vec_len(cg);
  if (lanes >= vl) return NULL;
  LLVMValueRef bits[64];
  for (int i = 0; i < vl; i++) bits[i] = LLVMConstInt(cg->i1, i < lanes, 0);
  return LLVMConstVector(bits, (unsigned)vl);
}

static LLVMValueRef masked_intrinsic(Cg *cg, const char *name, LLVMTypeRef *types, LLVMValueRef *args, unsigned n) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  LLVMValueRef fn = LLVMGetIntrinsicDeclaration(cg->mod, id, types, 2);
  LLVMTypeRef fty = LLVMIntrinsicGetType(cg->ctx, id, types, 2);
  return LLVMBuildCall2(cg->b, fty, fn, args, n, "");
}

LLVMValueRef cg_vload(Cg *cg, LLVMValueRef p, LLVMValueRef mask) {
  if (!mask) {
    LLVMValueRef v = LLVMBuildLoad2(cg->b, cg_vec_type(cg), p, "");
    LLVMSetAlignment(v, (unsigned)cg->real_bytes);
    return v;
  }
  LLVMTypeRef types[] = {cg_vec_type(cg), cg->ptr};
  LLVMValueRef args[] = {p, LLVMConstInt(cg->i32, (unsigned)cg->real_bytes, 0), mask, LLVMConstNull(cg_vec_type(cg))};
  return masked_intrinsic(cg, "llvm.masked.load", types, args, 4);
}

void cg_vstore(Cg *cg, LLVMValueRef v, LLVMValueRef p, LLVMValueRef mask) {
  if (!mask) {
    LLVMValueRef s = LLVMBuildStore(cg->b, v, p);
    LLVMSetAlignment(s, (unsigned)cg->real_bytes);
    return;
  }
  LLVMTypeRef types[] = {cg_vec_type(cg), cg->ptr};
  LLVMValueRef args[] = {v, p, LLVMConstInt(cg->i32, (unsigned)cg->real_bytes, 0), mask};
  masked_intrinsic(cg, "llvm.masked.store", types, args, 4);
}

/* a·b + c, fused where the target has fused multiply-add (a libm call for llvm.fma where it
 * has not: fmaf lane by lane, with no libm to link on a microcontroller). */
LLVMValueRef cg_vfma(Cg *cg, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c) {
  LLVMValueRef args[] = {a, b, c};
  unsigned id = LLVMLookupIntrinsicID("llvm.fmuladd", 12);
  LLVMTypeRef t = cg_vec_type(cg);
  LLVMValueRef fn = LLVMGetIntrinsicDeclaration(cg->mod, id, &t, 1);
  return LLVMBuildCall2(cg->b, LLVMIntrinsicGetType(cg->ctx, id, &t, 1), fn, args, 3, "");
}

/* Loops instead of llvm.memset / llvm.memcpy, which become calls to memset and memcpy (or
 * __aeabi_memclr8, __aeabi_memcpy4 on Arm) for sizes LLVM does not expand: the objects nnc
 * writes call no C library. LLVM vectorises the loops; "no-builtins" on every function
 * (emit.c) keeps it from turning them back into calls. */
void cg_zero(Cg *cg, LLVMValueRef p, LLVMValueRef count) {
  CgLoop l;
  LLVMValueRef i = cg_loop_begin(cg, &l, count, "zero");
  cg_store(cg, p, i, cg_real(cg, 0.0));
  cg_loop_end(cg, &l);
}

void cg_copy(Cg *cg, LLVMValueRef dst, LLVMValueRef src, LLVMValueRef count) {
  CgLoop l;
  LLVMValueRef i = cg_loop_begin(cg, &l, count, "copy");
  cg_store(cg, dst, i, cg_load(cg, src, i));
  cg_loop_end(cg, &l);
}
