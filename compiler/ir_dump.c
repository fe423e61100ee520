/* ir_dump.c — `nnc --emit-ir`: the network IR as text. Groups in declaration order with
 * their edge sets and parameter ranges, then the evaluation order, the layers (groups by
 * depth) and the training settings. Deterministic: names and numbers only. */
#include <stdlib.h>

#include "ir.h"
#include "nnc/optim.h"
#include "nnc/schedule.h"

static const char *weight_name(IrWeightKind w) {
  static const char *const names[] = {"learned", "initial", "fixed"};
  return names[w];
}

/* Per-edge weights as the language writes them: [a, b] per neuron of the group; a dense
 * set as a matrix [[...], ...], one row per neuron of the group. */
static void dump_values(const IrNetwork *n, const IrEdges *e, FILE *out) {
  int64_t cols = e->kind == EDGES_DENSE ? n->groups[e->src].size : 1;
  fputs(" [", out);
  for (int64_t k = 0; k < e->count; k++) {
    if (k) fputs(", ", out);
    if (cols > 1 && k % cols == 0) fputc('[', out);
    fprintf(out, "%.9g", e->values[k]);
    if (cols > 1 && k % cols == cols - 1) fputc(']', out);
  }
  fputc(']', out);
}

static void dump_edges(const IrNetwork *n, const IrGroup *g, const IrEdges *e, FILE *out) {
  const IrGroup *src = &n->groups[e->src];
  if (src->role == ROLE_BIAS)
    fprintf(out, "    bias  %s -> %s", src->name, g->name);
  else if (e->kind == EDGES_DENSE)
    fprintf(out, "    dense %s[%d] -> %s[%d]", src->name, src->size, g->name, g->size);
  else
    fprintf(out, "    one   %s[%d] -> %s", src->name, e->src_index, g->name);
  fprintf(out, " %s", weight_name(e->weight));
  if (e->values)
    dump_values(n, e, out);
  else if (e->weight != WEIGHT_LEARNED)
    fprintf(out, " %.9g", e->value);
  if (e->param_offset >= 0)
    fprintf(out, " params %lld..%lld\n", (long long)e->param_offset, (long long)(e->param_offset + e->count - 1));
  else
    fprintf(out, " (%lld constant%s)\n", (long long)e->count, e->count == 1 ? "" : "s");
}

static void dump_group(const IrNetwork *n, const IrGroup *g, FILE *out) {
  fprintf(out, "  %s %s[%d]", ir_role_name(g->role), g->name, g->size);
  if (g->role == ROLE_HIDDEN || g->role == ROLE_OUTPUT) {
    fprintf(out, " %s", ir_act_name(g->act));
    if (g->act == ACT_LEAKY_RELU) fprintf(out, "(%g)", g->act_param);
    fprintf(out, " depth %d", g->depth);
    if (g->vectorisable) fputs(" vector", out);
  }
  if (g->implicit) fputs(" implicit", out);
  char spec[80];
  if (g->init.kind >= 0) fprintf(out, " init %s", ir_init_text(&g->init, spec, sizeof spec));
  if (g->bias_init.kind >= 0) fprintf(out, " bias_init %s", ir_init_text(&g->bias_init, spec, sizeof spec));
  if (g->dropout > 0) fprintf(out, " dropout %g", g->dropout);
  if (g->io_offset >= 0)
    fprintf(out, " %s %lld..%lld", g->role == ROLE_INPUT ? "x" : "y", (long long)g->io_offset,
            (long long)(g->io_offset + g->size - 1));
  fputc('\n', out);
  for (int k = 0; k < g->n_in; k++) dump_edges(n, g, &g->in[k], out);
}

/* The groups of each depth in evaluation order: one counting sort by depth, so that a
 * network of 100000 layers is dumped in linear time (a pass over the order per depth was
 * quadratic: minutes). */
static void dump_layers(const IrNetwork *n, FILE *out) {
  int max_depth = 0;
  for (int i = 0; i < n->n_order; i++)
    if (n->groups[n->order[i]].depth > max_depth) max_depth = n->groups[n->order[i]].depth;
  int *first = xcalloc((size_t)max_depth + 2, sizeof *first), *by_depth = xmalloc(sizeof(int) * (size_t)(n->n_order + 1));
  for (int i = 0; i < n->n_order; i++) first[n->groups[n->order[i]].depth + 1]++;
  for (int d = 0; d <= max_depth; d++) first[d + 1] += first[d];
  for (int i = 0; i < n->n_order; i++) by_depth[first[n->groups[n->order[i]].depth]++] = n->order[i];
  for (int d = 1, k = first[0]; d <= max_depth; d++) { /* first[d] is now where depth d ends */
    fprintf(out, "layer %d:", d);
    for (; k < first[d]; k++) fprintf(out, " %s", n->groups[by_depth[k]].name);
    fputc('\n', out);
  }
  free(first);
  free(by_depth);
}

/* A string in double quotes, written back with the escapes of the language (\" and \\). */
static void dump_string(const char *text, FILE *out) {
  fputc('"', out);
  for (const char *c = text; *c; c++) {
    if (*c == '"' || *c == '\\') fputc('\\', out);
    fputc(*c, out);
  }
  fputc('"', out);
}

static const char *plural(long long n) { return n == 1 ? "" : "s"; }

static void dump_source(const char *what, const nnc_data_source *d, FILE *out) {
  static const char *const formats[] = {"auto", "csv", "idx", "fann"};
  static const char *const scales[] = {"none", "factor", "zscore", "minmax"};
  if (!d->path) return;
  fprintf(out, "  %s ", what);
  dump_string(d->path, out);
  fprintf(out, " format %s", formats[d->format]);
  if (d->labels) {
    fputs(" labels ", out);
    dump_string(d->labels, out);
  }
  if (d->header >= 0) fprintf(out, " header %d", d->header);
  fputs(" inputs", out);
  for (int i = 0; i < d->n_input_cols; i++) fprintf(out, " %d", d->input_cols[i]);
  if (!d->n_input_cols) fputs(" rest", out);
  fputs(" targets", out);
  for (int i = 0; i < d->n_target_cols; i++) fprintf(out, " %d", d->target_cols[i]);
  if (!d->n_target_cols) fputs(" last", out);
  if (d->onehot) fputs(" onehot", out);
  if (d->delimiter && d->delimiter != ',') fprintf(out, " delimiter %d", d->delimiter);
  fprintf(out, " scale %s", scales[d->scale]);
  if (d->scale == NNC_SCALE_FACTOR) fprintf(out, " %.9g", d->scale_factor);
  fputc('\n', out);
}

/* The optimizer's line, for all but plain SGD (whose settings the line above holds). */
static void dump_optimizer(const nnc_train_settings *t, FILE *out) {
  if (!nnc_optimizer_in_runtime(t)) return;
  fprintf(out, "  optimizer %s", nnc_optimizer_get(t->optimizer)->name);
  if (t->optimizer == NNC_OPT_ADAM || t->optimizer == NNC_OPT_ADAMW)
    fprintf(out, " betas %g %g eps %g amsgrad %s", t->beta1, t->beta2, t->eps, t->amsgrad ? "on" : "off");
  if (t->optimizer == NNC_OPT_RMSPROP)
    fprintf(out, " alpha %g eps %g centered %s", t->alpha, t->eps, t->centered ? "on" : "off");
  if (nnc_optimizer_full_batch(t->optimizer)) {
    fprintf(out, " etas %g %g step_sizes %g %g full_batch\n", t->eta_minus, t->eta_plus, t->step_min, t->step_max);
    return;
  }
  if (t->optimizer == NNC_OPT_SGD) fprintf(out, " nesterov %s dampening %g", t->nesterov ? "on" : "off", t->dampening);
  fprintf(out, " weight_decay %g\n", t->weight_decay);
}

static void dump_train(const IrNetwork *n, FILE *out) {
  const nnc_train_settings *t = &n->train;
  char sched[256];
  fputs("train:\n", out);
  dump_source("data", &t->data, out);
  dump_source("test", &t->test, out);
  fprintf(out, "  loss %s rate %g decay %s", t->loss == NNC_LOSS_SQUARED ? "squared" : "cross_entropy",
          t->rate, nnc_schedule_get(t->decay)->name);
  if (t->decay && t->decay < NNC_DECAY_COSINE) fprintf(out, " %g", t->decay_rate);
  if (t->decay == NNC_DECAY_STEP) fprintf(out, " every %d", t->decay_every);
  fprintf(out, " momentum %g batch %d epochs %d restarts %d\n", t->momentum, t->batch, t->epochs, t->restarts);
  fprintf(out, "  init %s", ir_init_name(n->init_kind));
  if (n->init_kind == INIT_UNIFORM || n->init_kind == INIT_NORMAL) fprintf(out, "(%g, %g)", n->init_a, n->init_b);
  if (n->bias_init.kind >= 0) fprintf(out, " bias_init %s", ir_init_text(&n->bias_init, sched, sizeof sched));
  fprintf(out, " seed %llu validation %g patience %d", (unsigned long long)t->seed, t->validation, t->patience);
  if (t->checkpoint) {
    fputs(" checkpoint ", out);
    dump_string(t->checkpoint, out);
    fprintf(out, " every %d", t->checkpoint_every);
  }
  if (t->shuffle_off) fputs(" shuffle off", out);
  fputc('\n', out);
  if (*nnc_schedule_text(t, sched, sizeof sched)) fprintf(out, "  schedule %s\n", sched);
  dump_optimizer(t, out);
}

void ir_dump(const IrNetwork *n, FILE *out) {
  fprintf(out, "network %s: %d input%s, %d output%s, %lld neuron%s, %lld parameter%s, %s%s\n", n->name,
          n->n_inputs, plural(n->n_inputs), n->n_outputs, plural(n->n_outputs), (long long)n->n_values,
          plural(n->n_values), (long long)n->n_params, plural(n->n_params), n->real_bytes == 8 ? "f64" : n->bf16_products ? "bf16" : "f32",
          n->classifier ? ", classifier" : "");
  for (int i = 0; i < n->n_groups; i++) dump_group(n, &n->groups[i], out);
  fputs("order:", out);
  for (int i = 0; i < n->n_order; i++) fprintf(out, " %s", n->groups[n->order[i]].name);
  fputc('\n', out);
  dump_layers(n, out);
  dump_train(n, out);
}
