/* backend.h — from the checked network IR to files: LLVM code generation (codegen.c),
 * math approximations (cg_math.c), and emission of IR, assembly, objects, the C header
 * and linked executables (emit.c). */
#ifndef NNC_BACKEND_H
#define NNC_BACKEND_H

#include "ir.h"

typedef enum OutputKind { OUT_EXECUTABLE, OUT_OBJECT, OUT_ASSEMBLY, OUT_LLVM } OutputKind;

typedef struct BackendOptions {
  OutputKind kind;
  int opt_level;                        /* 0..3 */
  const char *triple, *cpu, *features;  /* NULL: this machine */
  const char *output;                   /* NULL: derived from the network name */
  const char *header;                   /* NULL: no header */
  const char *weights;                  /* trained weights to embed, or NULL */
  const void *params;                   /* else parameters to embed from memory (an imported model), or NULL */
  int scale_mode;                       /* with params: their input scaling (enum nnc_scale), x' = */
  const double *scale_offset, *scale_mul; /* (x − offset)·mul per input; NNC_SCALE_NONE: none */
  const char *prefix;                   /* of the exported symbols and header macros; NULL: the network's name */
  int quantize;                         /* CgQuantize of the embedded weights (--quantize) */
} BackendOptions;

/* Runs code generation and emission; returns the driver's exit status. */
int backend_run(const IrNetwork *n, const BackendOptions *o);
const char *backend_llvm_version(void);
/* --emit-onnx: the network with its trained weights (weights, or the imported model's params)
 * as an ONNX model, written by libnnrt's writer (nnrt_onnx_model) from the plan of export.c. */
int backend_emit_onnx(const IrNetwork *n, const BackendOptions *o);

#endif
