/* export.h — the network IR as the ONNX export plan of nnc/model.h (export.c). */
#ifndef NNC_EXPORT_H
#define NNC_EXPORT_H

#include <stddef.h>

#include "ir.h"

/* The plan of n, allocated (xmalloc: the caller frees it); *len its size in bytes. */
unsigned char *export_plan(const IrNetwork *n, size_t *len);

#endif
