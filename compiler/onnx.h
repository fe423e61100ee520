/* onnx.h — the ONNX front-end (onnx.c): a model.onnx becomes the .nn source of the same
 * network plus its parameters, so that the ordinary parser and checker build the IR and no
 * later pass knows where the network came from. */
#ifndef NNC_ONNX_H
#define NNC_ONNX_H

#include <stddef.h>
#include <stdio.h>

#include "ir.h"

/* The largest model file nnc reads. */
#define ONNX_MAX_BYTES ((size_t)64 << 20)

typedef struct OnnxModel OnnxModel;

/* 1 if the file looks like an ONNX model: its name ends in .onnx, or its first byte is the
 * tag of ModelProto's ir_version (a .nn file cannot start with it). */
int onnx_is_model(const char *path, const char *bytes, size_t len);
/* Reads the model in bytes (the contents of path). NULL after one message on err:
 * `path: error: not a valid ONNX model (...)`, `path: node 'n' (Op): not supported`, ... */
OnnxModel *onnx_import(const char *path, const unsigned char *bytes, size_t len, FILE *err);
/* The .nn source of the network, NUL-terminated; owned by the model. */
const char *onnx_nn_source(const OnnxModel *m, size_t *len);
/* The model's parameters in the order of net (the IR the checker built from the source), as
 * net->real_bytes reals; malloc'd. */
void *onnx_params(const OnnxModel *m, const IrNetwork *net);
/* The input scaling the model applies before its first layers, x' = (x − offset[i])·mul[i]
 * over the network's inputs in double (docs/onnx.md): its enum nnc_scale (NNC_SCALE_FACTOR
 * or NNC_SCALE_ZSCORE for any offsets and multipliers), or NNC_SCALE_NONE and NULLs. */
int onnx_input_scaling(const OnnxModel *m, const double **offset, const double **mul);
void onnx_free(OnnxModel *m);

#endif
