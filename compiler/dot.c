/* dot.c — `nnc --emit-dot`: the network as a Graphviz picture, drawn the way the design's
 * introduction draws networks: neurons as circles (inputs as boxes, bias neurons as small
 * circles labelled 1, outputs doubled), the activation inside each neuron, weights on the
 * edges where they are known, one rank per layer. Groups larger than DOT_MAX_EXPANDED are
 * drawn as one node; an arrow to or from one stands for several weights, drawn bold and
 * labelled with their number, and reaches every node drawn for the other side. */
#include "ir.h"

#define DOT_MAX_EXPANDED 12

static int expanded(const IrGroup *g) { return g->size <= DOT_MAX_EXPANDED; }

static void node_id(const IrGroup *g, int i, FILE *out) {
  if (expanded(g) && g->size > 1)
    fprintf(out, "\"%s_%d\"", g->name, i);
  else
    fprintf(out, "\"%s\"", g->name);
}

static const char *act_symbol(IrAct a) {
  static const char *const s[] = {"id", "σ", "relu", "tanh", "lrelu", "softplus", "softmax", "step"};
  return s[a];
}

static void draw_group(const IrGroup *g, FILE *out) {
  const char *shape = g->role == ROLE_INPUT ? "box" : g->role == ROLE_OUTPUT ? "doublecircle" : "circle";
  int n = expanded(g) ? g->size : 1;
  for (int i = 0; i < n; i++) {
    fputs("  ", out);
    node_id(g, i, out);
    if (g->role == ROLE_BIAS) {
      fputs(" [shape=circle, width=0.3, style=filled, fillcolor=lightgray, label=\"1\"", out);
      if (!g->implicit) fprintf(out, ", xlabel=\"%s\"", g->name); /* a declared bias neuron */
      fputs("];\n", out);
      continue;
    }
    fprintf(out, " [shape=%s, label=\"%s", shape, g->name);
    if (!expanded(g)) fprintf(out, "[%d]", g->size);
    else if (g->size > 1) fprintf(out, "[%d]", i);
    if (g->role != ROLE_INPUT) fprintf(out, "\\n%s", act_symbol(g->act));
    fprintf(out, "\"%s];\n", g->role == ROLE_INPUT ? ", style=filled, fillcolor=palegreen" : "");
  }
}

/* The label of edge k of set e (its index among the set's weights). */
static void edge_label(const IrEdges *e, int64_t k, FILE *out) {
  double w = e->values ? e->values[k] : e->value;
  if (e->weight == WEIGHT_FIXED)
    fprintf(out, " [label=\"%g (fixed)\"]", w);
  else if (e->weight == WEIGHT_INITIAL)
    fprintf(out, " [label=\"%g\"]", w);
}

/* Draws edge set e into g between the nodes that stand for its neurons: every drawn source
 * node (one for EDGES_ONE or a collapsed group, else each neuron) to every drawn node of g.
 * An arrow that stands for several weights is bold and labelled with their number. */
static void draw_edges(const IrNetwork *n, const IrGroup *g, const IrEdges *e, FILE *out) {
  const IrGroup *src = &n->groups[e->src];
  int src_first = e->kind == EDGES_ONE ? e->src_index : 0;
  int n_src = e->kind == EDGES_DENSE && expanded(src) ? src->size : 1;
  int n_dst = expanded(g) ? g->size : 1;
  long long per_arrow = (long long)e->count / ((long long)n_src * n_dst);
  for (int d = 0; d < n_dst; d++) {
    for (int k = 0; k < n_src; k++) {
      fputs("  ", out);
      node_id(src, src_first + k, out);
      fputs(" -> ", out);
      node_id(g, d, out);
      if (per_arrow > 1)
        fprintf(out, " [label=\"%s %lld\", penwidth=2]", e->kind == EDGES_DENSE ? "dense" : "×", per_arrow);
      else
        edge_label(e, e->kind == EDGES_DENSE ? (int64_t)d * src->size + k : d, out);
      fputs(";\n", out);
    }
  }
}

void ir_dump_dot(const IrNetwork *n, FILE *out) {
  fprintf(out, "digraph \"%s\" {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n", n->name);
  int max_depth = 0;
  for (int i = 0; i < n->n_groups; i++)
    if (n->groups[i].depth > max_depth) max_depth = n->groups[i].depth;
  for (int d = 0; d <= max_depth; d++) {
    fprintf(out, " subgraph layer%d {\n  rank=same;\n", d);
    for (int i = 0; i < n->n_groups; i++) {
      const IrGroup *g = &n->groups[i];
      int depth = g->role == ROLE_BIAS ? -1 : g->depth;
      if (depth == d) draw_group(g, out);
    }
    fputs(" }\n", out);
  }
  for (int i = 0; i < n->n_groups; i++)
    if (n->groups[i].role == ROLE_BIAS) draw_group(&n->groups[i], out);
  for (int i = 0; i < n->n_order; i++) {
    const IrGroup *g = &n->groups[n->order[i]];
    for (int k = 0; k < g->n_in; k++) draw_edges(n, g, &g->in[k], out);
  }
  fputs("}\n", out);
}
