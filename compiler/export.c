/* export.c — the network IR as an ONNX export plan: the words nnc_model.onnx_plan holds
 * (the format is in nnc/model.h). Consumes a checked IrNetwork; produces the plan bytes,
 * which codegen embeds in the model's descriptor and `nnc --emit-onnx` hands to the
 * runtime's writer with trained weights. Nothing here knows ONNX: the writer
 * (runtime/onnx.c) turns groups and edge sets into operators. */
#include <stdint.h>
#include <string.h>

#include "export.h"

typedef struct Plan {
  unsigned char *bytes;
  size_t len, cap;
} Plan;

static void put_bytes(Plan *p, const void *data, size_t len) {
  if (p->len + len > p->cap) {
    while (p->len + len > p->cap) p->cap = p->cap ? 2 * p->cap : 4096;
    p->bytes = xrealloc(p->bytes, p->cap);
  }
  memcpy(p->bytes + p->len, data, len);
  p->len += len;
}

/* One word, little-endian whatever the host. */
static void put_u64(Plan *p, uint64_t v) {
  unsigned char w[8];
  for (int i = 0; i < 8; i++) w[i] = (unsigned char)(v >> (8 * i));
  put_bytes(p, w, 8);
}

static void put_int(Plan *p, int64_t v) { put_u64(p, (uint64_t)v); }

static void put_real(Plan *p, double v) {
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits);
  put_u64(p, bits);
}

static void put_name(Plan *p, const char *name) {
  size_t len = strlen(name), padded = (len + 7) / 8 * 8;
  static const unsigned char zeros[8];
  put_int(p, (int64_t)len);
  put_bytes(p, name, len);
  put_bytes(p, zeros, padded - len);
}

/* An edge set: where its weights are (parameters) or what they are (fixed). */
static void put_edges(Plan *p, const IrEdges *e) {
  put_int(p, e->kind);
  put_int(p, e->src);
  put_int(p, e->src_index);
  put_int(p, e->weight == WEIGHT_FIXED ? -1 : e->param_offset);
  put_int(p, e->count);
  if (e->weight != WEIGHT_FIXED) {
    put_int(p, 0);
  } else if (!e->values) {
    put_int(p, 1);
    put_real(p, e->value);
  } else {
    put_int(p, e->count);
    for (int64_t k = 0; k < e->count; k++) put_real(p, e->values[k]);
  }
}

static void put_group(Plan *p, const IrGroup *g) {
  put_int(p, g->role);
  put_int(p, g->size);
  put_int(p, g->act);
  put_real(p, g->act_param);
  put_int(p, g->io_offset);
  put_name(p, g->name);
  put_int(p, g->n_in);
  for (int k = 0; k < g->n_in; k++) put_edges(p, &g->in[k]);
}

unsigned char *export_plan(const IrNetwork *n, size_t *len) {
  Plan p = {0};
  put_u64(&p, NNC_ONNX_PLAN_MAGIC);
  put_int(&p, n->n_groups);
  put_int(&p, n->n_order);
  for (int i = 0; i < n->n_order; i++) put_int(&p, n->order[i]);
  for (int i = 0; i < n->n_groups; i++) put_group(&p, &n->groups[i]);
  *len = p.len;
  return p.bytes;
}
