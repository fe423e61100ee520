/* ir.c — small queries over the network IR shared by every pass: names of kinds, fan-in and
 * fan-out, and the structural fingerprint that weights files are checked against. */
#include <stdio.h>
#include <string.h>

#include "ir.h"

const char *ir_act_name(IrAct a) {
  static const char *const names[] = {"identity", "sigmoid", "relu",    "tanh",
                                      "leaky_relu", "softplus", "softmax", "step", "log_softmax"};
  return a < ACT_COUNT ? names[a] : "?";
}

const char *ir_role_name(IrRole r) {
  static const char *const names[] = {"input", "bias", "hidden", "output"};
  return names[r];
}

const char *ir_init_name(IrInit i) {
  static const char *const names[] = {"uniform", "normal", "xavier", "he", "zero", "torch", "constant"};
  return names[i];
}

const char *ir_init_text(const IrInitSpec *spec, char *buf, size_t size) {
  if (spec->kind == INIT_UNIFORM || spec->kind == INIT_NORMAL)
    snprintf(buf, size, "%s(%g, %g)", ir_init_name((IrInit)spec->kind), spec->a, spec->b);
  else if (spec->kind == INIT_CONSTANT)
    snprintf(buf, size, "%g", spec->a);
  else
    snprintf(buf, size, "%s", ir_init_name((IrInit)spec->kind));
  return buf;
}

const IrGroup *ir_group(const IrNetwork *n, int id) { return &n->groups[id]; }

int64_t ir_fan_in(const IrNetwork *n, const IrGroup *g) {
  int64_t fan = 0;
  for (int k = 0; k < g->n_in; k++) {
    const IrGroup *src = &n->groups[g->in[k].src];
    if (src->role == ROLE_BIAS) continue;
    fan += g->in[k].kind == EDGES_DENSE ? src->size : 1;
  }
  return fan;
}

int64_t ir_fan_out(const IrNetwork *n, int group_id) {
  int64_t fan = 0;
  for (int i = 0; i < n->n_order; i++) {
    const IrGroup *g = &n->groups[n->order[i]];
    for (int k = 0; k < g->n_in; k++)
      if (g->in[k].src == group_id) fan += g->size;
  }
  return fan;
}

static uint64_t fnv(uint64_t h, const void *data, size_t len) {
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

static uint64_t fnv_i64(uint64_t h, int64_t v) { return fnv(h, &v, sizeof v); }

/* Hash of everything that decides what the parameters mean: groups, activations, edge sets,
 * fixed weights (each one of a set with per-edge values), parameter offsets and precision.
 * Names and initial values are left out. */
uint64_t ir_fingerprint(const IrNetwork *n) {
  uint64_t h = 1469598103934665603ull;
  h = fnv_i64(h, n->real_bytes);
  h = fnv_i64(h, n->n_params);
  for (int i = 0; i < n->n_groups; i++) {
    const IrGroup *g = &n->groups[i];
    h = fnv_i64(h, g->role);
    h = fnv_i64(h, g->size);
    h = fnv_i64(h, g->act);
    h = fnv(h, &g->act_param, sizeof g->act_param);
    for (int k = 0; k < g->n_in; k++) {
      const IrEdges *e = &g->in[k];
      h = fnv_i64(h, e->kind);
      h = fnv_i64(h, e->src);
      h = fnv_i64(h, e->src_index);
      h = fnv_i64(h, e->weight == WEIGHT_FIXED);
      if (e->weight == WEIGHT_FIXED && e->values) h = fnv(h, e->values, sizeof(double) * (size_t)e->count);
      else if (e->weight == WEIGHT_FIXED) h = fnv(h, &e->value, sizeof e->value);
      h = fnv_i64(h, e->param_offset);
    }
  }
  return h;
}
