/* ir_verify.c — checks the invariants ir.h promises; run after every pass that builds or
 * changes the IR. A failure is a compiler bug, reported as an internal error. */
#include <math.h>
#include <stdlib.h>

#include "ir.h"

static int fail(FILE *err, const IrNetwork *n, const char *what, const char *name) {
  fprintf(err, "nnc: internal error: IR of '%s' is invalid: %s (%s)\n", n->name, what, name);
  return 1;
}

static int verify_group_edges(const IrNetwork *n, const IrGroup *g, const int *pos, FILE *err) {
  int biases = 0;
  for (int k = 0; k < g->n_in; k++) {
    const IrEdges *e = &g->in[k];
    if (e->src < 0 || e->src >= n->n_groups) return fail(err, n, "edge from a missing group", g->name);
    if (e->dst != g->id) return fail(err, n, "edge set not naming the group it feeds", g->name);
    const IrGroup *src = &n->groups[e->src];
    if (src->role == ROLE_BIAS) biases++;
    if ((src->role == ROLE_HIDDEN || src->role == ROLE_OUTPUT) && pos[src->id] >= pos[g->id])
      return fail(err, n, "edge against the evaluation order", g->name);
    if (e->kind == EDGES_ONE && (e->src_index < 0 || e->src_index >= src->size))
      return fail(err, n, "edge from a missing neuron", g->name);
    if ((e->weight == WEIGHT_FIXED) != (e->param_offset < 0))
      return fail(err, n, "fixed weights must have no parameters, others must", g->name);
    if (e->values && e->weight == WEIGHT_LEARNED) return fail(err, n, "learned weights with literal values", g->name);
    for (int64_t i = 0; e->values && i < e->count; i++)
      if (!isfinite(e->values[i])) return fail(err, n, "a literal weight that is not finite", g->name);
  }
  if (biases != 1 || n->groups[g->in[g->n_in - 1].src].role != ROLE_BIAS)
    return fail(err, n, "not exactly one bias edge set, last", g->name);
  return 0;
}

/* Parameter blocks in evaluation order must tile [0, n_params). */
static int verify_params(const IrNetwork *n, FILE *err) {
  int64_t next = 0;
  for (int i = 0; i < n->n_order; i++) {
    const IrGroup *g = &n->groups[n->order[i]];
    for (int k = 0; k < g->n_in; k++) {
      if (g->in[k].param_offset < 0) continue;
      if (g->in[k].param_offset != next) return fail(err, n, "parameter blocks do not tile", g->name);
      next += g->in[k].count;
    }
  }
  return next == n->n_params ? 0 : fail(err, n, "parameter count", n->name);
}

int ir_verify(const IrNetwork *n, FILE *err) {
  int *pos = malloc(sizeof(int) * (size_t)(n->n_groups ? n->n_groups : 1));
  if (!pos) return fail(err, n, "out of memory", n->name);
  for (int i = 0; i < n->n_groups; i++) pos[i] = -1;
  for (int i = 0; i < n->n_order; i++) pos[n->order[i]] = i;
  int bad = 0;
  for (int i = 0; i < n->n_groups && !bad; i++) {
    const IrGroup *g = &n->groups[i];
    if (g->id != i) bad = fail(err, n, "group id is not its index", g->name);
    else if ((g->role == ROLE_HIDDEN || g->role == ROLE_OUTPUT) && pos[i] < 0)
      bad = fail(err, n, "group missing from the evaluation order", g->name);
    else if (pos[i] >= 0)
      bad = verify_group_edges(n, g, pos, err);
    else if (g->n_in)
      bad = fail(err, n, "an input or bias with incoming edges", g->name);
  }
  free(pos);
  return bad || verify_params(n, err);
}
