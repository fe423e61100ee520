/* dot.c — `nnc --emit-dot`: the network as a Graphviz picture, drawn the way the design's
 * introduction draws networks: neurons as circles (inputs as boxes, bias neurons as small
 * circles labelled 1, outputs doubled), the activation inside each neuron, weights on the
 * edges where they are known, one rank per layer. Inputs form the first rank and outputs the
 * last, each in io order (neurons of a group in index order, groups by their io column),
 * held in that order by invisible edges within the rank. Groups larger than DOT_MAX_EXPANDED
 * are drawn as one node labelled with name, size and activation; an arrow to or from one
 * stands for several weights, drawn bold and labelled with their number, and reaches every
 * node drawn for the other side. An arrow that skips a rank is dashed and coloured so it
 * stays visible beside the arrows between neighbouring ranks. */
#include <stdlib.h>

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
  static const char *const s[] = {"id", "σ", "relu", "tanh", "lrelu", "softplus", "softmax", "step", "logsoftmax"};
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
    if (!expanded(g) && g->role == ROLE_INPUT) fprintf(out, "\\n%d inputs", g->size);
    else if (!expanded(g)) fprintf(out, "\\n%d × %s", g->size, act_symbol(g->act));
    else if (g->size > 1) fprintf(out, "[%d]", i);
    if (expanded(g) && g->role != ROLE_INPUT) fprintf(out, "\\n%s", act_symbol(g->act));
    fprintf(out, "\"%s];\n", g->role == ROLE_INPUT ? ", style=filled, fillcolor=palegreen" : "");
  }
}

/* The rank each group is drawn in: inputs first, outputs last (out_rank) unless another
 * group reads them, other groups by depth; -1 for bias neurons, which are drawn outside the
 * ranks. Computed once for all groups: asked per group and per rank it made a deep network
 * quadratic (a chain of 100000 neurons took ten minutes). */
static int *group_ranks(const IrNetwork *n, int out_rank) {
  int *rank = xcalloc((size_t)n->n_groups + 1, sizeof *rank); /* first: 1 if read */
  for (int i = 0; i < n->n_groups; i++)
    for (int k = 0; k < n->groups[i].n_in; k++) rank[n->groups[i].in[k].src] = 1;
  for (int i = 0; i < n->n_groups; i++) {
    const IrGroup *g = &n->groups[i];
    rank[i] = g->role == ROLE_BIAS ? -1
            : g->role == ROLE_OUTPUT && !rank[i] ? out_rank
            : g->role == ROLE_INPUT ? 0 : g->depth;
  }
  return rank;
}

static int output_rank(const IrNetwork *n) {
  int r = 1;
  for (int i = 0; i < n->n_groups; i++)
    if (n->groups[i].role != ROLE_BIAS && n->groups[i].depth > r) r = n->groups[i].depth;
  return r;
}

/* The label of edge k of set e (its index among the set's weights), opening the arrow's
 * attribute list; returns whether it wrote one. */
static int edge_label(const IrEdges *e, int64_t k, FILE *out) {
  double w = e->values ? e->values[k] : e->value;
  if (e->weight == WEIGHT_FIXED)
    fprintf(out, " [label=\"%g (fixed)\"", w);
  else if (e->weight == WEIGHT_INITIAL)
    fprintf(out, " [label=\"%g\"", w);
  return e->weight == WEIGHT_FIXED || e->weight == WEIGHT_INITIAL;
}

#define DOT_SKIP_STYLE "style=dashed, color=steelblue, fontcolor=steelblue"

/* Draws edge set e into g between the nodes that stand for its neurons: every drawn source
 * node (one for EDGES_ONE or a collapsed group, else each neuron) to every drawn node of g.
 * An arrow that stands for several weights is bold and labelled with their number. */
static void draw_edges(const IrNetwork *n, const IrGroup *g, const IrEdges *e, const int *rank, FILE *out) {
  const IrGroup *src = &n->groups[e->src];
  int skip = src->role != ROLE_BIAS && rank[g->id] - rank[src->id] > 1;
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
      int open = 1;
      if (per_arrow > 1)
        fprintf(out, " [label=\"%s %lld\", penwidth=2", e->kind == EDGES_DENSE ? "dense" : "×", per_arrow);
      else
        open = edge_label(e, e->kind == EDGES_DENSE ? (int64_t)d * src->size + k : d, out);
      if (skip) fputs(open ? ", " DOT_SKIP_STYLE : " [" DOT_SKIP_STYLE, out);
      fputs(open || skip ? "];\n" : ";\n", out);
    }
  }
}

/* Io order within a rank: inputs and outputs by their io column, hidden groups by id. */
static int by_io_order(const void *a, const void *b) {
  const IrGroup *x = *(const IrGroup *const *)a, *y = *(const IrGroup *const *)b;
  int kx = x->role == ROLE_OUTPUT, ky = y->role == ROLE_OUTPUT;
  if (kx != ky) return kx - ky;
  int64_t ox = x->io_offset >= 0 ? x->io_offset : x->id, oy = y->io_offset >= 0 ? y->io_offset : y->id;
  return (ox > oy) - (ox < oy);
}

/* Holds the nodes of one rank in their order with a chain of invisible edges. */
static void chain_rank(const IrGroup *const *gs, int n_gs, FILE *out) {
  int first = 1;
  for (int k = 0; k < n_gs; k++)
    for (int i = 0; i < (expanded(gs[k]) ? gs[k]->size : 1); i++) {
      fputs(first ? "  " : " -> ", out);
      node_id(gs[k], i, out);
      first = 0;
    }
  fputs(" [style=invis];\n", out);
}

/* One rank's groups, gs[0..n_gs) (in id order), drawn in io order. */
static void draw_rank(int rank, const IrGroup **gs, int n_gs, FILE *out) {
  int n_nodes = 0;
  if (n_gs == 0) return;
  qsort(gs, (size_t)n_gs, sizeof *gs, by_io_order);
  fprintf(out, " subgraph layer%d {\n  rank=same;\n", rank);
  for (int k = 0; k < n_gs; k++) {
    draw_group(gs[k], out);
    n_nodes += expanded(gs[k]) ? gs[k]->size : 1;
  }
  if (n_nodes > 1) chain_rank(gs, n_gs, out);
  fputs(" }\n", out);
}

/* Every rank, its groups gathered by one counting sort over the ranks. */
static void draw_ranks(const IrNetwork *n, const int *rank, int out_rank, FILE *out) {
  int *first = xcalloc((size_t)out_rank + 2, sizeof *first);
  const IrGroup **gs = xmalloc(((size_t)n->n_groups + 1) * sizeof *gs);
  for (int i = 0; i < n->n_groups; i++)
    if (rank[i] >= 0) first[rank[i] + 1]++;
  for (int r = 0; r <= out_rank; r++) first[r + 1] += first[r];
  for (int i = 0; i < n->n_groups; i++)
    if (rank[i] >= 0) gs[first[rank[i]]++] = &n->groups[i];
  for (int r = 0, start = 0; r <= out_rank; start = first[r], r++) draw_rank(r, gs + start, first[r] - start, out);
  free(first);
  free(gs);
}

void ir_dump_dot(const IrNetwork *n, FILE *out) {
  fprintf(out, "digraph \"%s\" {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n", n->name);
  int out_rank = output_rank(n);
  int *rank = group_ranks(n, out_rank);
  draw_ranks(n, rank, out_rank, out);
  for (int i = 0; i < n->n_groups; i++)
    if (n->groups[i].role == ROLE_BIAS) draw_group(&n->groups[i], out);
  for (int i = 0; i < n->n_order; i++) {
    const IrGroup *g = &n->groups[n->order[i]];
    for (int k = 0; k < g->n_in; k++) draw_edges(n, g, &g->in[k], rank, out);
  }
  free(rank);
  fputs("}\n", out);
}
