/* target_features.cpp — whether a target machine's CPU and feature list enable a feature,
 * asked of LLVM's subtarget: the C API names the features of the host CPU only, so a --cpu
 * without --features (skylake-avx512, cortex-m4) needs this to size its vectors.
 * Consumes: an LLVMTargetMachineRef (emit.c). Produces: 1 or 0; an unknown name is 0. */
#include <llvm-c/TargetMachine.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/Target/TargetMachine.h>

extern "C" int nnc_target_has_feature(LLVMTargetMachineRef tm, const char *feature) {
  const llvm::MCSubtargetInfo *sti = reinterpret_cast<llvm::TargetMachine *>(tm)->getMCSubtargetInfo();
  if (!sti) return 0;
  for (const llvm::SubtargetFeatureKV &kv : sti->getAllProcessorFeatures())
    if (llvm::StringRef(kv.Key) == feature) return sti->getFeatureBits().test(kv.Value);
  return 0;
}
