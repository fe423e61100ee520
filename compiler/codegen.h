/* codegen.h — the LLVM module of a network (codegen.c). */
#ifndef NNC_CODEGEN_H
#define NNC_CODEGEN_H

#include <llvm-c/Core.h>

#include "ir.h"

/* The input scaling trained weights were fitted with: x' = (x − offset[i]) · mul[i] over the
 * n_inputs inputs; mode is the enum nnc_scale it came from. */
typedef struct CgInputScale {
  int mode;
  const double *offset, *mul;
} CgInputScale;

/* --quantize: how the embedded weights of the dense sets are stored and multiplied. */
typedef enum CgQuantize { CG_QUANT_NONE, CG_QUANT_BF16, CG_QUANT_INT8 } CgQuantize;
const char *cg_quant_name(CgQuantize q); /* "none", "bf16", "int8" (cg_quant.c) */
/* The first parameter of the quantized sets of n (params: n's reals) that scheme q cannot
 * hold finite (bf16: a magnitude that rounds to infinity), or -1 if every one fits. */
int64_t cg_quant_unrepresentable(const IrNetwork *n, const void *params, CgQuantize q);
/* Instructions of the target the quantized kernels call directly (the rest is left to LLVM's
 * vectoriser): AVX-512 VNNI (vpdpbusd) and AVX-512 BF16 (vdpbf16ps) with 64-byte vectors, the
 * Armv8.2 dot product, and AMX tiles (tdpbusd, tdpbf16ps) for batches. */
/* precision bf16's products: none (f32 or f64), AMX tiles, or AVX-512 BF16 dot products. */
typedef enum CgBf16 { CG_BF16_NONE, CG_BF16_AMX, CG_BF16_DOT } CgBf16;
enum { CG_ISA_VNNI512 = 1, CG_ISA_BF16_512 = 2, CG_ISA_SDOT128 = 4, CG_ISA_AMX_INT8 = 8, CG_ISA_AMX_BF16 = 16 };

/* The target's vectors as the generated kernels use them; the batch kernels size their
 * register tiles from it (cg_batch.c). */
typedef struct CgVectorUnit {
  int bytes; /* the widest vector registers worth using: 64, 32 or 16 */
  int regs;  /* how many registers of that width the target has */
  int fma;   /* 1: it fuses multiply-adds (otherwise a product needs a register of its own) */
  uint64_t x86_features; /* the extensions (nnc/cpu_features.h) the target enables: the
                            descriptor records them for the runtime's check of the host */
} CgVectorUnit;

/* Builds the module of n in ctx. train: the settings to record in the descriptor (data
 * paths resolved by the caller). with_main: also define main() calling nnrt_main.
 * weights: trained parameters to compile in (an inference-only module), or NULL.
 * scale: with weights, their input scaling, which forward and evaluate then apply to the raw
 * inputs they are given; NULL: none. prefix: of the exported symbols (PREFIX_forward, ...);
 * NULL: the network's name. quant: with weights, the scheme they are compiled in with; isa: CG_ISA_... bits.
 * vec: the target's vectors. */
LLVMModuleRef cg_build_module(const IrNetwork *n, LLVMContextRef ctx, const nnc_train_settings *train,
                              int with_main, CgVectorUnit vec, const void *weights, const CgInputScale *scale,
                              const char *prefix, CgQuantize quant, unsigned isa);
/* The extensions of nnc/cpu_features.h the code needs of the CPU that runs it: every one the
 * target enables (LLVM may use them anywhere) but AMX's, which only the quantized batch kernels
 * and precision bf16's products call, and only with isa's AMX bits. */
uint64_t cg_x86_requirements(const IrNetwork *n, CgVectorUnit vec, CgQuantize quant, unsigned isa);
/* How precision bf16's products are made for the target (CG_BF16_NONE: they cannot be, or the
 * network has none: not bf16, or no batch kernels). */
CgBf16 cg_bf16_products(const IrNetwork *n, CgVectorUnit vec, unsigned isa);
/* Whether the network gets mini-batch kernels (cg_batch.c), and with them NAME_train_deltas
 * and NAME_train_rows. */
int cg_batch_eligible(const IrNetwork *n);
/* Scratch the generated functions need for n samples: fixed + n · per_sample bytes. */
int64_t cg_scratch_bytes(const IrNetwork *n, int vec_bytes);
int64_t cg_scratch_per_sample(const IrNetwork *n, int vec_bytes);
/* Where loss_grad of a network with dropout reads its callers' masks (nnc_model in nnc/model.h). */
int64_t cg_dropout_mask_offset(const IrNetwork *n);
/* The exact scratch NAME_forward alone needs: `one` bytes for one sample; for n > 1 samples,
 * with the batch kernels (per_sample > 0), per_sample bytes for each of m = min(n, chunk)
 * samples rounded up to a multiple of align, less the row_tail bytes its last row leaves
 * unwritten; without them `one` again. With precision bf16 the products' workspace follows
 * those m samples' buffers: bf16[i] is all of it for m rounded up to align · (i + 1). */
typedef struct CgForwardScratch {
  int64_t one, per_sample, row_tail, chunk, align;
  int64_t bf16[4]; /* precision bf16: the whole size for each padded chunk; 0: f32 or f64 */
} CgForwardScratch;
CgForwardScratch cg_forward_scratch(const IrNetwork *n, int vec_bytes);
/* A small network (few parameters and little code) has its internal functions inlined
 * everywhere and its loops left to LLVM's unroller; a larger one is made of explicitly tiled
 * kernels that unrolling only makes slower to compile (the 784-256-128-10 net: 1.3 s ->
 * 0.8 s, no change in speed), and its per-sample code is cut into functions of bounded size. */
int cg_is_small_network(const IrNetwork *n);

#endif
