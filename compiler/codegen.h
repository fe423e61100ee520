/* codegen.h — the LLVM module of a network (codegen.c). */
#ifndef NNC_CODEGEN_H
#define NNC_CODEGEN_H

#include <llvm-c/Core.h>

#include "ir.h"

/* Builds the module of n in ctx. train: the settings to record in the descriptor (data
 * paths resolved by the caller). with_main: also define main() calling nnrt_main.
 * weights: trained parameters to compile in (an inference-only module), or NULL. */
LLVMModuleRef cg_build_module(const IrNetwork *n, LLVMContextRef ctx, const nnc_train_settings *train,
                              int with_main, int vec_bytes, const void *weights);
/* Scratch the generated functions need for n samples: fixed + n · per_sample bytes. */
int64_t cg_scratch_bytes(const IrNetwork *n, int vec_bytes);
int64_t cg_scratch_per_sample(const IrNetwork *n, int vec_bytes);
/* A small network (few parameters and little code) has its internal functions inlined
 * everywhere and its loops left to LLVM's unroller; a larger one is made of explicitly tiled
 * kernels that unrolling only makes slower to compile (the 784-256-128-10 net: 1.3 s ->
 * 0.8 s, no change in speed), and its per-sample code is cut into functions of bounded size. */
int cg_is_small_network(const IrNetwork *n);

#endif
